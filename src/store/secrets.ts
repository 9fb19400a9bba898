import { sql } from 'kysely';
import { SECRET_COLUMNS, type SecretTable } from './schema.js';
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
