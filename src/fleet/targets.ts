import type { TargetStatus } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { recheckTargetsNow, requeueTargets, retryCandidates } from '../store/targetClaims.js';

/** Statuses `targets retry` requeues; `pending_approval` is re-checked on the next join instead. */
export const RETRYABLE: readonly TargetStatus[] = ['error', 'expired', 'banned'];

export interface RetryResult {
  /** Back to `new`: the next join run takes them. */
  requeued: string[];
  /** Join requests still pending: re-checked by the next join run. */
  recheck: string[];
  /** Named targets left as they are, with the reason. */
  skipped: { target: string; status: string; why: string }[];
}

/**
 * `targets retry`: requeue targets that ended in `error`/`expired` (default), or `--status S`, of a
 * niche, or the ones named. Joined groups stay bound for good; an expired request stays with the
 * account that sent it (if Telegram approves it late, that account is already in).
 */
export async function retryTargets(
  store: Store,
  opts: { niche?: string | undefined; status?: TargetStatus | undefined; refs?: string[]; now: number },
): Promise<RetryResult> {
  const statuses: TargetStatus[] = opts.status
    ? [opts.status]
    : opts.refs?.length
      ? [...RETRYABLE]
      : ['error', 'expired'];
  return store.writeTx(async (tx) => {
    const rows = await retryCandidates(tx, { niche: opts.niche, refs: opts.refs, statuses });
    const out: RetryResult = { requeued: [], recheck: [], skipped: [] };
    const requeue: number[] = [];
    const recheck: number[] = [];
    for (const r of rows) {
      if ((RETRYABLE as readonly string[]).includes(r.status) && statuses.includes(r.status)) {
        requeue.push(r.id);
        out.requeued.push(r.ref);
      } else if (r.status === 'pending_approval' && (opts.refs?.length || opts.status === 'pending_approval')) {
        recheck.push(r.id);
        out.recheck.push(r.ref);
      } else {
        out.skipped.push({
          target: r.ref,
          status: r.status,
          why:
            r.status === 'joined'
              ? 'joined: bound to its account for good'
              : r.status === 'new' || r.status === 'joining'
                ? 'already queued'
                : `not in ${statuses.join('/')}`,
        });
      }
    }
    for (const ref of opts.refs ?? []) {
      if (!rows.some((r) => r.ref === ref))
        out.skipped.push({ target: ref, status: 'unknown', why: 'not a known target' });
    }
    await requeueTargets(tx, requeue, opts.now);
    await recheckTargetsNow(tx, recheck, opts.now);
    return out;
  });
}
