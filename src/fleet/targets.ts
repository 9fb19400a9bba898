import { rejectProblems } from '../config/inputFiles.js';
import type { Clock } from '../domain/clock.js';
import { parseTargets } from '../domain/files/targets.js';
import type { TargetRef } from '../domain/links.js';
import { UsageError } from '../errors.js';
import type { TargetStatus } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { recheckTargetsNow, requeueTargets, retryCandidates } from '../store/targetClaims.js';
import { tenantIdByName } from '../store/tenants.js';
import { insertTarget, targetsPage, type TargetFilter, type TargetListRow } from '../store/targets.js';

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

const NICHE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** One link per line; blank lines and `#` comments skipped; any unknown form rejects the file. */
export function parseTargetsFile(path: string, text: string): TargetRef[] {
  const r = parseTargets(text);
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
}

export interface ImportTargetsResult {
  niche: string;
  /** Whose targets they are (null: the fleet has at most one tenant and none was named). */
  tenant: string | null;
  added: number;
  alreadyKnown: number;
}

export async function importTargets(
  deps: { store: Store; clock: Clock },
  refs: TargetRef[],
  niche: string,
  tenant?: string | undefined,
): Promise<ImportTargetsResult> {
  if (!NICHE_RE.test(niche))
    throw new UsageError(`--niche "${niche}" is not allowed → letters, digits, _ . - (up to 64)`);
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    const tenantId = tenant === undefined ? null : await tenantIdByName(tx, tenant);
    let added = 0;
    for (const ref of refs) {
      if (await insertTarget(tx, ref, niche, now, tenantId)) added++;
    }
    return { niche, tenant: tenant ?? null, added, alreadyKnown: refs.length - added };
  });
}

export type TargetRow = Omit<TargetListRow, 'id'>;

const LIST_PAGE = 1000;

/** Every matching target (import order). Listings page through `targetsPage` instead. */
export async function listTargets(store: Store, filter: TargetFilter): Promise<TargetRow[]> {
  const out: TargetRow[] = [];
  for (let after: number | null = null; ;) {
    const page = await targetsPage(store, filter, after, LIST_PAGE);
    for (const { id: _id, ...r } of page) out.push(r);
    if (page.length < LIST_PAGE) return out;
    after = page[page.length - 1]!.id;
  }
}
