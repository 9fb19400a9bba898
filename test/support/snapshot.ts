import { sql } from 'kysely';
import type { Store } from '../../src/store/store.js';

export const TABLES = [
  'tenants',
  'proxies',
  'telegram_accounts',
  'api_keys',
  'ig_accounts',
  'targets',
  'watches',
  'check_jobs',
  'check_job_items',
  'action_log',
  'events',
  'locks',
  'settings',
  'limit_resets',
  'ig_requests',
  'removed_subjects',
  'kysely_migration',
] as const;

/** Every row of every table, in a stable order: two equal snapshots mean an unchanged database. */
export async function snapshot(store: Store): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) {
    const r = await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(store.db);
    out[t] = r.rows.map((row) => JSON.stringify(row)).sort();
  }
  return JSON.stringify(out);
}
