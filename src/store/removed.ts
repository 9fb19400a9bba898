import type { Kysely } from 'kysely';
import type { Database, RemovedSubjectsTable } from './schema.js';

/**
 * Keep what a removed thing was called (and whose it was), so its events stay readable under
 * that name: ids are never reused (sql/0009), so (type, id) names it for good.
 */
export async function rememberRemoved(
  tx: Kysely<Database>,
  rows: RemovedSubjectsTable | RemovedSubjectsTable[],
): Promise<void> {
  const list = Array.isArray(rows) ? rows : [rows];
  if (list.length === 0) return;
  await tx
    .insertInto('removed_subjects')
    .values(list)
    .onConflict((oc) => oc.columns(['subject_type', 'subject_id']).doNothing())
    .execute();
}
