import { completeJob, type SnapshotDiff } from '../store/checkJobs.js';
import type { NewEvent } from '../store/events.js';
import type { Store } from '../store/store.js';
import { CHECK_INTERVAL_MS } from './checkDeps.js';

/** At most this many gained / lost accounts are listed in a diff event (the counts are whole). */
const DIFF_LIST_MAX = 1000;

/** The `followers_diff` / `following_diff` event of a completed snapshot against the one before. */
export function diffEvent(
  tenantId: number,
  w: { id: number; username: string; kind: string },
  d: SnapshotDiff,
  now: number,
): NewEvent {
  return {
    at: now,
    kind: w.kind === 'following' ? 'following_diff' : 'followers_diff',
    subject_type: 'watch',
    subject_id: w.id,
    tenant_id: tenantId,
    message: `@${w.username} ${w.kind}: +${d.gained.length} new, -${d.lost.length} lost (${d.total} now)`,
    data_json: JSON.stringify({
      new: d.gained.slice(0, DIFF_LIST_MAX),
      lost: d.lost.slice(0, DIFF_LIST_MAX),
      total: d.total,
    }),
  };
}

/**
 * Completion: the difference from the previous completed snapshot becomes an event (none for the
 * first snapshot); the job is completed and the watch is next due after its kind's interval.
 */
export async function completeWithDiff(
  store: Store,
  tenantId: number,
  w: { id: number; username: string; kind: string },
  jobId: number,
  now: number,
): Promise<void> {
  await completeJob(store, { jobId, watchId: w.id, now, nextCheckAt: now + (CHECK_INTERVAL_MS[w.kind] ?? 0) }, (d) =>
    diffEvent(tenantId, w, d, now),
  );
}
