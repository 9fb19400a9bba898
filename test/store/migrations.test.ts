import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from 'kysely';
import { migrateToLatest, schemaState, SqlFileMigrationProvider, SQL_DIR } from '../../src/store/migrations.js';
import { openStore as openStoreRaw, type Store } from '../../src/store/store.js';
import { baseEnv, runCli, spawnCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { TABLES } from '../support/snapshot.js';

/** Every migration in sql/, in order (a new one is added here once). */
const MIGRATIONS = [
  '0001_init',
  '0002_account_manager',
  '0003_check',
  '0005_ig_identity',
  '0006_ways_back',
  '0007_alerts',
  '0008_fleet_scale',
  '0009_lifecycle',
  '0010_one_route',
  '0011_alerts_trust',
  '0012_telegram_devices',
  '0013_follower_order',
  '0014_pacing',
  '0015_fleet_probe_proxy_check',
  '0017_ig_life',
  '0018_tenant_login_fallback',
];

describe.each(DIALECTS)('migrations on $name', ({ skip, create }) => {
  let t: TestDb;
  // Every store a test opens is closed before the database is dropped, also when the test failed
  // half-way: the cleanup must not need to terminate our own sessions.
  let opened: Store[] = [];
  const openStore = async (...args: Parameters<typeof openStoreRaw>): Promise<Store> => {
    const s = await openStoreRaw(...args);
    opened.push(s);
    return s;
  };
  beforeEach(async () => {
    opened = [];
    if (!skip) t = await create();
  });
  afterEach(async () => {
    await Promise.all(opened.map((s) => s.close().catch(() => {})));
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('creates every table and a second run is a no-op', async () => {
    const store = await openStore(t.target, { schema: 'none' });
    try {
      const first = await migrateToLatest(store.db, store.caps);
      expect(first).toEqual(MIGRATIONS);
      expect(await migrateToLatest(store.db, store.caps)).toEqual([]);
      const tables = (await store.db.introspection.getTables({ withInternalKyselyTables: true })).map((x) => x.name);
      for (const table of TABLES) expect(tables).toContain(table);
      expect((await schemaState(store.db, store.caps)).pending).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it.skipIf(skip)(
    'one rule on both dialects: a store behind is migrated by the next command; read-only commands never create one',
    async () => {
      // Read-only commands (status, listings) on a database with no acctctl schema at all: 66, nothing created.
      const env = baseEnv({ DATABASE_URL: t.url });
      const st = await runCli(['status'], { env });
      expect(st.code, st.stderr).toBe(66);
      expect(st.stderr).toContain('acctctl migrate');
      const probe = await openStore(t.target, { schema: 'none' });
      expect((await schemaState(probe.db, probe.caps)).applied).toEqual([]);
      await probe.close();

      // A store one migration behind (as after an upgrade): the next command migrates it, on either dialect.
      const older = mkdtempSync(join(tmpdir(), 'acctctl-older-sql-'));
      try {
        for (const m of MIGRATIONS.slice(0, -1)) copyFileSync(join(SQL_DIR, `${m}.sql`), join(older, `${m}.sql`));
        const s = await openStore(t.target, { schema: 'none' });
        const r = await new Migrator({
          db: s.db,
          provider: new SqlFileMigrationProvider(s.caps, older + '/'),
        }).migrateToLatest();
        expect(r.error).toBeUndefined();
        expect((await schemaState(s.db, s.caps)).pending).toEqual([MIGRATIONS.at(-1)]);
        await s.close();
      } finally {
        rmSync(older, { recursive: true, force: true });
      }
      const doc = await runCli(['--json', 'doctor'], { env });
      const schemaCheck = (
        JSON.parse(doc.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }
      ).checks.find((c) => c.name === 'database schema');
      expect(schemaCheck).toMatchObject({ ok: true, detail: '1 migration pending (applied by the next command)' });
      const again = await runCli(['status'], { env });
      expect(again.code, again.stderr).toBe(0);
      const after = await openStore(t.target, { schema: 'none' });
      expect((await schemaState(after.db, after.caps)).pending).toEqual([]);
    },
  );

  it.skipIf(skip)('refuses a database written by a newer acctctl and changes nothing', async () => {
    const store = await openStore(t.target, { schema: 'none' });
    await migrateToLatest(store.db, store.caps);
    await sql`insert into kysely_migration (name, timestamp) values ('9999_future', '2030-01-01T00:00:00Z')`.execute(
      store.db,
    );
    await store.close();
    await expect(openStore(t.target)).rejects.toBeInstanceOf(ConfigError);
    await expect(openStore(t.target)).rejects.toThrow(/newer than this acctctl.*9999_future/);
    const r = await runCli(['migrate'], { env: baseEnv({ DATABASE_URL: t.url }) });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/newer than this acctctl/);
    const again = await openStore(t.target, { schema: 'none' });
    const names = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(again.db)).rows;
    expect(names.map((n) => n.name)).toEqual([...MIGRATIONS, '9999_future']);
    await again.close();
  });

  it.skipIf(skip)('four processes migrating one fresh database at once: all succeed, applied once', async () => {
    const env = baseEnv({ DATABASE_URL: t.url });
    const results = await Promise.all([1, 2, 3, 4].map(() => spawnCli(['migrate', '--json'], { env })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const applied = results.flatMap((r) => (JSON.parse(r.stdout) as { applied: string[] }).applied);
    expect(applied).toEqual(MIGRATIONS);
  });
});
