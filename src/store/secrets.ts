import { sql, type Kysely } from 'kysely';
import { SecretBox } from '../security/secretBox.js';
import { SECRET_COLUMNS, type Database, type SecretTable } from './schema.js';
import type { Store } from './store.js';

/**
 * The key ids the stored secrets of `tables` are encrypted under, each with one column that uses it
 * (for the message). One DISTINCT over a fixed-length prefix per column: a handful of rows back,
 * however many secrets there are.
 */
export async function storedKeyIds(
  store: Store,
  tables: readonly SecretTable[] = Object.keys(SECRET_COLUMNS) as SecretTable[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const table of tables) {
    for (const col of SECRET_COLUMNS[table]) {
      const rows = await sql<{ p: string }>`select distinct substr(${sql.ref(col)}, 1, 17) as p
        from ${sql.table(table)} where ${sql.ref(col)} is not null`.execute(store.db);
      for (const r of rows.rows) {
        // `v1.<keyId>.` with keyId = k + 12 hex digits; anything else is a per-row data problem.
        const m = /^v1\.(k[0-9a-f]{12})\./.exec(r.p + '.');
        if (m && !found.has(m[1]!)) found.set(m[1]!, `${table}.${col}`);
      }
    }
  }
  return found;
}

export interface SecretCensus {
  /** Number of stored secrets per key id. */
  byKey: Record<string, number>;
}

const PAGE = 500;

/** Page through one secret column by id (keyset), never holding more than a page in memory. */
async function* secretPages(
  db: Kysely<Database>,
  table: SecretTable,
  col: string,
  opts: { notUnder?: string } = {},
): AsyncGenerator<{ id: number; v: string }[]> {
  let after = -1;
  for (;;) {
    const filter = opts.notUnder === undefined ? sql`` : sql`and ${sql.ref(col)} not like ${opts.notUnder + '%'}`;
    const rows = (
      await sql<{ id: number; v: string }>`select id, ${sql.ref(col)} as v from ${sql.table(table)}
        where id > ${after} and ${sql.ref(col)} is not null ${filter} order by id limit ${PAGE}`.execute(db)
    ).rows;
    if (rows.length === 0) return;
    yield rows;
    after = rows[rows.length - 1]!.id;
    if (rows.length < PAGE) return;
  }
}

/**
 * A write transaction that seals secrets: it takes the key lock shared (Postgres; SQLite's write
 * lock already orders it), then reads the key file again, so everything sealed inside is under
 * the key that is primary now — a `keys rotate` that wrote a new key waits for this transaction
 * before it re-encrypts, and a `keys remove` never runs between the read and the commit.
 */
export function sealingTx<T>(store: Store, box: SecretBox, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return store.writeTx(async (tx) => {
    if (store.caps.keyLock) await sql.raw(store.caps.keyLock.shared).execute(tx);
    box.refresh();
    return fn(tx);
  });
}

/** A write transaction that changes the keys: no sealing transaction runs meanwhile (see sealingTx). */
export function keyChangeTx<T>(store: Store, fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
  return store.writeTx(async (tx) => {
    if (store.caps.keyLock) await sql.raw(store.caps.keyLock.exclusive).execute(tx);
    return fn(tx);
  });
}

export async function secretCensus(store: Store | Kysely<Database>): Promise<SecretCensus> {
  const db = 'writeTx' in store ? store.db : store;
  const byKey: Record<string, number> = {};
  for (const table of Object.keys(SECRET_COLUMNS) as SecretTable[]) {
    for (const col of SECRET_COLUMNS[table]) {
      for await (const rows of secretPages(db, table, col)) {
        for (const r of rows) {
          const kid = SecretBox.keyIdOf(r.v) ?? 'invalid';
          byKey[kid] = (byKey[kid] ?? 0) + 1;
        }
      }
    }
  }
  return { byKey };
}

/** Up to `limit` secrets of one column not sealed under `prefix` (the primary key), after id `after`. */
export async function secretsNotUnder(
  tx: Kysely<Database>,
  table: SecretTable,
  col: string,
  prefix: string,
  after: number,
  limit: number,
): Promise<{ id: number; v: string }[]> {
  const rows = await sql<{ id: number; v: string }>`select id, ${sql.ref(col)} as v from ${sql.table(table)}
    where id > ${after} and ${sql.ref(col)} is not null and ${sql.ref(col)} not like ${prefix + '%'}
    order by id limit ${limit}`.execute(tx);
  return rows.rows;
}

/** Replace one secret, only if it is still the value read (a concurrent write wins). */
export async function replaceSecret(
  tx: Kysely<Database>,
  table: SecretTable,
  col: string,
  row: { id: number; v: string },
  sealed: string,
): Promise<void> {
  await sql`update ${sql.table(table)} set ${sql.ref(col)} = ${sealed} where id = ${row.id} and ${sql.ref(col)} = ${row.v}`.execute(
    tx,
  );
}
