import { sql } from 'kysely';
import type { RetentionConfig } from '../config/config.js';
import type { Store } from './store.js';

const DAY = 86_400_000;

export interface RetentionResult {
  eventsPruned: number;
  deliveriesPruned: number;
  igRequestsPruned: number;
  snapshotsPruned: number;
}

/**
 * What reset-limits prunes besides the action log: events (their deliveries go with them),
 * delivered or abandoned deliveries, Instagram request and session logs, and follower snapshots
 * past their retention. The latest completed snapshot of every watch is always kept.
 */
export async function pruneRetention(store: Store, now: number, r: RetentionConfig): Promise<RetentionResult> {
  const { db } = store;
  const events = await db
    .deleteFrom('events')
    .where('at', '<', now - r.eventsDays * DAY)
    .executeTakeFirst();
  const deliveries = await db
    .deleteFrom('deliveries')
    .where('status', 'in', ['delivered', 'dead'])
    .where(sql<number>`coalesce(delivered_at, created_at)`, '<', now - r.deliveriesDays * DAY)
    .executeTakeFirst();
  const igCut = now - r.igRequestsDays * DAY;
  const ig = await db.deleteFrom('ig_requests').where('at', '<', igCut).executeTakeFirst();
  await db.deleteFrom('ig_session_log').where('at', '<', igCut).execute();
  const old = sql`select j.id from check_jobs j where j.status = 'completed' and j.completed_at < ${now - r.snapshotsDays * DAY}
    and exists (select 1 from check_jobs n where n.watch_id = j.watch_id and n.status = 'completed' and n.id > j.id)`;
  const snaps = await store.writeTx(async (tx) => {
    await sql`delete from check_job_items where job_id in (${old})`.execute(tx);
    const d = await sql`delete from check_jobs where id in (${old})`.execute(tx);
    return Number(d.numAffectedRows ?? 0n);
  });
  return {
    eventsPruned: Number(events.numDeletedRows),
    deliveriesPruned: Number(deliveries.numDeletedRows),
    igRequestsPruned: Number(ig.numDeletedRows),
    snapshotsPruned: snaps,
  };
}
