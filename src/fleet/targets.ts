import { sql, type Kysely } from 'kysely';
import type { TargetRef } from '../domain/links.js';
import type { Database, TargetStatus } from '../store/schema.js';
import type { Store } from '../store/store.js';

export interface ClaimedTarget {
  id: number;
  ref: string;
  target: TargetRef;
  attempts: number;
  /** Set when an earlier run crashed mid-join with this account: only it may try again. */
  pinnedAccountId: number | null;
}

export const WARMUP_MS = 24 * 3_600_000;
/** How often join asks Telegram whether a pending join request was approved. */
export const PENDING_RECHECK_MS = 6 * 3_600_000;

function refOf(kind: string, value: string): TargetRef {
  return kind === 'invite' ? { kind: 'invite', hash: value } : { kind: 'username', username: value };
}

/** SQL: a target of `niche` that a join run may take now. */
function claimable(niche: string, now: number) {
  return sql`niche = ${niche}
    and (status = 'new' or (status = 'joining' and lease_expires_at <= ${now}))
    and (next_attempt_at is null or next_attempt_at <= ${now})
    and (lease_holder is null or lease_expires_at <= ${now})`;
}

/** Claim up to `batch` targets in one atomic statement; overlapping runs never get the same one. */
export async function claimTargets(
  store: Store,
  opts: { niche: string; batch: number; holder: string; token: number; ttlMs: number; now: number },
): Promise<ClaimedTarget[]> {
  const r = await sql<{
    id: number;
    ref: string;
    kind: string;
    value: string;
    attempts: number;
    account_id: number | null;
  }>`
    update targets set status = 'joining', lease_holder = ${opts.holder}, lease_token = ${opts.token},
      lease_expires_at = ${opts.now + opts.ttlMs}, updated_at = ${opts.now}
    where id in (
      select id from targets where ${claimable(opts.niche, opts.now)}
      order by id limit ${opts.batch} ${sql.raw(store.caps.claimLock)}
    )
    returning id, ref, kind, value, attempts, account_id`.execute(store.db);
  return r.rows
    .sort((a, b) => a.id - b.id)
    .map((t) => ({
      id: t.id,
      ref: t.ref,
      target: refOf(t.kind, t.value),
      attempts: t.attempts,
      pinnedAccountId: t.account_id,
    }));
}

/** What `join --dry-run` would claim: the same condition, read-only. */
export async function peekTargets(store: Store, opts: { niche: string; batch: number; now: number }) {
  const r = await sql<{ id: number; ref: string; kind: string; value: string; account_id: number | null }>`
    select id, ref, kind, value, account_id from targets where ${claimable(opts.niche, opts.now)}
    order by id limit ${opts.batch}`.execute(store.db);
  return r.rows;
}

type TargetUpdate = {
  status: TargetStatus;
  accountId: number | null;
  errorMessage?: string | null;
  nextAttemptAt?: number | null;
  joined?: boolean;
  countAttempt?: boolean;
};

/** Write a target's outcome, only while this run still holds it (fenced by its token). */
export async function finishTarget(
  tx: Kysely<Database>,
  t: { id: number; token: number },
  u: TargetUpdate,
  now: number,
): Promise<boolean> {
  const r = await tx
    .updateTable('targets')
    .set((eb) => ({
      status: u.status,
      account_id: u.accountId,
      lease_holder: null,
      lease_token: null,
      lease_expires_at: null,
      updated_at: now,
      ...(u.errorMessage !== undefined ? { error_message: u.errorMessage } : {}),
      ...(u.nextAttemptAt !== undefined ? { next_attempt_at: u.nextAttemptAt } : {}),
      ...(u.joined ? { joined_at: now, warmup_ends_at: now + WARMUP_MS } : {}),
      // A join request: re-checked by join on a schedule, expired after N days (fleet/pending.ts).
      ...(u.status === 'pending_approval' ? { requested_at: now, next_attempt_at: now + PENDING_RECHECK_MS } : {}),
      ...(u.countAttempt ? { attempts: eb('attempts', '+', 1) } : {}),
    }))
    .where('id', '=', t.id)
    .where('lease_token', '=', t.token)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Pin a claimed target to the account about to try it (survives a crash mid-join) and extend the
 * claim. Fenced: false when the claim is no longer this run's (another run took it after it
 * expired) — the caller must then not touch Telegram for this target.
 */
export async function pinTarget(
  store: Store,
  t: { id: number; token: number },
  accountId: number,
  now: number,
  ttlMs: number,
): Promise<boolean> {
  const r = await store.db
    .updateTable('targets')
    .set({ account_id: accountId, updated_at: now, lease_expires_at: now + ttlMs })
    .where('id', '=', t.id)
    .where('lease_token', '=', t.token)
    .where('status', '=', 'joining')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Extend this run's claims (fenced by its token); returns the ids still held. A claim that was
 * taken over by another run is not ours any more and is never written again.
 */
export async function renewClaims(
  store: Store,
  ids: number[],
  token: number,
  ttlMs: number,
  now: number,
): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await store.db
    .updateTable('targets')
    .set({ lease_expires_at: now + ttlMs })
    .where('id', 'in', ids)
    .where('lease_token', '=', token)
    .where('status', '=', 'joining')
    .returning('id')
    .execute();
  return new Set(rows.map((r) => r.id));
}

/** Give back targets this run claimed but did not finish. */
export async function releaseTargets(store: Store, ids: number[], token: number, now: number): Promise<void> {
  if (ids.length === 0) return;
  await store.db
    .updateTable('targets')
    .set({ status: 'new', lease_holder: null, lease_token: null, lease_expires_at: null, updated_at: now })
    .where('id', 'in', ids)
    .where('lease_token', '=', token)
    .execute();
}

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
    let q = tx.selectFrom('targets').select(['id', 'ref', 'status', 'lease_holder', 'lease_expires_at']).orderBy('id');
    if (opts.niche) q = q.where('niche', '=', opts.niche);
    if (opts.refs?.length) q = q.where('ref', 'in', opts.refs);
    else q = q.where('status', 'in', statuses);
    const rows = await q.execute();
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
    if (requeue.length) {
      await tx
        .updateTable('targets')
        .set((eb) => ({
          status: 'new',
          // An expired request stays with the account that sent it; other failures are anyone's.
          account_id: eb.case().when('status', '=', 'expired').then(eb.ref('account_id')).else(null).end(),
          attempts: 0,
          next_attempt_at: null,
          error_message: null,
          requested_at: null,
          lease_holder: null,
          lease_token: null,
          lease_expires_at: null,
          updated_at: opts.now,
        }))
        .where('id', 'in', requeue)
        .execute();
    }
    if (recheck.length) {
      await tx
        .updateTable('targets')
        .set({ next_attempt_at: opts.now, updated_at: opts.now })
        .where('id', 'in', recheck)
        .execute();
    }
    return out;
  });
}
