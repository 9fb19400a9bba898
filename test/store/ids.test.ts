import { Migrator, sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrateToLatest, SqlFileMigrationProvider } from '../../src/store/migrations.js';
import type { Database } from '../../src/store/schema.js';
import { openStore, type Store } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';

/** Every table whose ids leave the process (tokens, listings, events, outbox rows). */
const ID_TABLES = [
  'tenants',
  'proxies',
  'telegram_accounts',
  'api_keys',
  'ig_accounts',
  'targets',
  'events',
  'deliveries',
] as const;
type IdTable = (typeof ID_TABLES)[number];

let seq = 0;
/** One row of `table` (its parents given), by raw SQL as an importer would write it; its id. */
async function insertRow(db: Kysely<Database>, table: IdTable, p: { tenant: number; event: number }): Promise<number> {
  const n = ++seq;
  const q = {
    tenants: sql`insert into tenants (name, created_at) values (${`t${n}`}, 0)`,
    proxies: sql`insert into proxies (tenant_id, url_key, scheme, host, port, created_at)
      values (${p.tenant}, ${`socks5://h${n}:1`}, 'socks5', ${`h${n}`}, 1, 0)`,
    telegram_accounts: sql`insert into telegram_accounts (session_name, tenant_id, api_id, api_hash_enc,
      string_session_enc, created_at, updated_at) values (${`a${n}`}, ${p.tenant}, 1, 'x', 'x', 0, 0)`,
    api_keys: sql`insert into api_keys (tenant_id, provider, key_enc, created_at) values (${p.tenant}, 'p', 'x', 0)`,
    ig_accounts: sql`insert into ig_accounts (tenant_id, username, created_at, updated_at)
      values (${p.tenant}, ${`ig${n}`}, 0, 0)`,
    targets: sql`insert into targets (ref, kind, value, created_at, updated_at) values (${`@g${n}`}, 'username', ${`g${n}`}, 0, 0)`,
    events: sql`insert into events (at, kind, subject_type, message) values (0, 'k', 'tenant', 'm')`,
    deliveries: sql`insert into deliveries (event_id, sink, next_attempt_at, created_at) values (${p.event}, ${`s${n}`}, 0, 0)`,
  }[table];
  await q.execute(db);
  const r = await sql<{ id: number }>`select max(id) as id from ${sql.table(table)}`.execute(db);
  return Number(r.rows[0]!.id);
}

describe.each(DIALECTS)('ids are never reused on $name', ({ skip, create }) => {
  let t: TestDb;
  let store: Store;
  beforeEach(async () => {
    if (skip) return;
    t = await create();
    store = await openStore(t.target, { schema: 'none' });
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  it.skipIf(skip)('deleting the newest row never gives its id to the next one, in every table', async () => {
    await migrateToLatest(store.db, store.caps);
    const tenant = await insertRow(store.db, 'tenants', { tenant: 0, event: 0 });
    const event = await insertRow(store.db, 'events', { tenant, event: 0 });
    for (const table of ID_TABLES) {
      const p = { tenant, event };
      const a = await insertRow(store.db, table, p);
      const b = await insertRow(store.db, table, p);
      await sql`delete from ${sql.table(table)} where id = ${b}`.execute(store.db);
      const c = await insertRow(store.db, table, p);
      expect(c, table).toBeGreaterThan(b);
      expect(b).toBeGreaterThan(a);
    }
    // Ids reserved ahead of a bulk import (secrets sealed to their row) are never used ones either.
    const gone = await insertRow(store.db, 'telegram_accounts', { tenant, event });
    await sql`delete from telegram_accounts where id = ${gone}`.execute(store.db);
    const reserved = await store.writeTx(
      async (tx) => (await sql.raw<{ id: number }>(store.caps.reserveIdsSql('telegram_accounts', 2)).execute(tx)).rows,
    );
    expect(Number(reserved[0]!.id)).toBeGreaterThan(gone);
  });

  it.skipIf(skip)('an existing database keeps every row and reference, and its ids go on above them', async () => {
    const migrator = new Migrator({ db: store.db, provider: new SqlFileMigrationProvider(store.caps) });
    expect((await migrator.migrateTo('0008_fleet_scale')).error).toBeUndefined();
    const tenant = await insertRow(store.db, 'tenants', { tenant: 0, event: 0 });
    const event = await insertRow(store.db, 'events', { tenant, event: 0 });
    const p = { tenant, event };
    const proxy = await insertRow(store.db, 'proxies', p);
    const acc = await insertRow(store.db, 'telegram_accounts', p);
    await sql`update telegram_accounts set proxy_id = ${proxy}, fence = 7 where id = ${acc}`.execute(store.db);
    await insertRow(store.db, 'api_keys', p);
    await insertRow(store.db, 'ig_accounts', p);
    const target = await insertRow(store.db, 'targets', p);
    await sql`update targets set account_id = ${acc}, status = 'joined' where id = ${target}`.execute(store.db);
    await insertRow(store.db, 'deliveries', p);
    await sql`insert into action_log (account_id, action, at, ok) values (${acc}, 'join', 0, 1)`.execute(store.db);
    const count = async (table: string) =>
      Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n);
    const before = Object.fromEntries(
      await Promise.all([...ID_TABLES, 'action_log'].map(async (x) => [x, await count(x)] as const)),
    );

    await migrateToLatest(store.db, store.caps);
    for (const [table, n] of Object.entries(before)) expect(await count(table), table).toBe(n);
    const a = await store.db
      .selectFrom('telegram_accounts')
      .selectAll()
      .where('id', '=', acc)
      .executeTakeFirstOrThrow();
    expect(a).toMatchObject({ proxy_id: proxy, tenant_id: tenant, fence: 7 });
    const tg = await store.db.selectFrom('targets').selectAll().where('id', '=', target).executeTakeFirstOrThrow();
    expect(tg).toMatchObject({ account_id: acc, status: 'joined' });
    // Foreign keys still act: removing the tenant takes its proxies, keys and Instagram accounts.
    // The newest account, deleted after the upgrade: its id is not handed out again.
    const newest = await insertRow(store.db, 'telegram_accounts', p);
    await sql`delete from telegram_accounts where id = ${newest}`.execute(store.db);
    expect(await insertRow(store.db, 'telegram_accounts', p)).toBeGreaterThan(newest);
    await store.db.deleteFrom('tenants').where('id', '=', tenant).execute();
    expect(await count('proxies')).toBe(0);
    expect(await count('ig_accounts')).toBe(0);
    expect(await count('api_keys')).toBe(0);
  });
});
