import { sql, type Kysely } from 'kysely';
import type { TargetRef } from '../domain/links.js';
import { PENDING_RECHECK_MS, targetRefOf, WARMUP_MS } from '../domain/targets.js';
import type { Database, TargetStatus } from './schema.js';
import type { Store } from './store.js';

export interface ClaimedTarget {
  id: number;
  ref: string;
  target: TargetRef;
  attempts: number;
  /** Set when an earlier run crashed mid-join with this account: only it may try again. */
  pinnedAccountId: number | null;
}

/** SQL: a target of `niche` (and of the tenant, when given) that a join run may take now. */
function claimable(niche: string, now: number, tenantId?: number | undefined) {
  return sql`niche = ${niche}
    ${tenantId === undefined ? sql`` : sql`and tenant_id = ${tenantId}`}
    and (status = 'new' or (status = 'joining' and lease_expires_at <= ${now}))
    and (next_attempt_at is null or next_attempt_at <= ${now})
    and (lease_holder is null or lease_expires_at <= ${now})`;
}

/** Claim up to `batch` targets in one atomic statement; overlapping runs never get the same one. */
export async function claimTargets(
  store: Store,
  opts: {
    niche: string;
    batch: number;
    holder: string;
    token: number;
    ttlMs: number;
    now: number;
    tenantId?: number | undefined;
  },
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
      select id from targets where ${claimable(opts.niche, opts.now, opts.tenantId)}
      order by id limit ${opts.batch} ${sql.raw(store.caps.claimLock)}
    )
    returning id, ref, kind, value, attempts, account_id`.execute(store.db);
  return r.rows
    .sort((a, b) => a.id - b.id)
    .map((t) => ({
      id: t.id,
      ref: t.ref,
      target: targetRefOf(t.kind, t.value),
      attempts: t.attempts,
      pinnedAccountId: t.account_id,
    }));
}

/** What `join --dry-run` would claim: the same condition, read-only. */
export async function peekTargets(
  store: Store,
  opts: { niche: string; batch: number; now: number; tenantId?: number | undefined },
) {
  const r = await sql<{ id: number; ref: string; kind: string; value: string; account_id: number | null }>`
    select id, ref, kind, value, account_id from targets where ${claimable(opts.niche, opts.now, opts.tenantId)}
    order by id limit ${opts.batch}`.execute(store.db);
  return r.rows;
}

/** Targets of a niche a join could claim now (for "N targets waiting" when no account is free). */
export async function countWaitingTargets(
  store: Store,
  niche: string,
  now: number,
  tenantId?: number | undefined,
): Promise<number> {
  const r = await sql<{
    n: number | string;
  }>`select count(*) as n from targets where ${claimable(niche, now, tenantId)}`.execute(store.db);
  return Number(r.rows[0]?.n ?? 0);
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

export interface RetryCandidate {
  id: number;
  ref: string;
  status: TargetStatus;
}

/** The targets `targets retry` looks at: the named ones, else those in `statuses`; of a niche. */
export async function retryCandidates(
  tx: Kysely<Database>,
  opts: { niche?: string | undefined; refs?: string[] | undefined; statuses: readonly TargetStatus[] },
): Promise<RetryCandidate[]> {
  let q = tx.selectFrom('targets').select(['id', 'ref', 'status']).orderBy('id');
  if (opts.niche) q = q.where('niche', '=', opts.niche);
  if (opts.refs?.length) q = q.where('ref', 'in', opts.refs);
  else q = q.where('status', 'in', [...opts.statuses]);
  return q.execute();
}

/** Back to `new` with a clean slate; an expired request stays with the account that sent it. */
export async function requeueTargets(tx: Kysely<Database>, ids: number[], now: number): Promise<void> {
  if (ids.length === 0) return;
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
      updated_at: now,
    }))
    .where('id', 'in', ids)
    .execute();
}

/** Pending join requests asked about again on the next join run. */
export async function recheckTargetsNow(tx: Kysely<Database>, ids: number[], now: number): Promise<void> {
  if (ids.length === 0) return;
  await tx.updateTable('targets').set({ next_attempt_at: now, updated_at: now }).where('id', 'in', ids).execute();
}

export interface DueRecheck {
  id: number;
  ref: string;
  target: TargetRef;
  accountId: number;
  account: string;
  /** When the request was sent (its last update for requests older than that column). */
  requestedAt: number;
}

/** Join requests of `niche` whose next check is due, soonest first. */
export async function dueRechecks(
  store: Store,
  opts: { niche: string; limit: number; now: number },
): Promise<DueRecheck[]> {
  const rows = await store.db
    .selectFrom('targets as t')
    .innerJoin('telegram_accounts as a', 'a.id', 't.account_id')
    .select(['t.id', 't.ref', 't.kind', 't.value', 't.account_id', 't.requested_at', 't.updated_at', 'a.session_name'])
    .where('t.niche', '=', opts.niche)
    .where('t.status', '=', 'pending_approval')
    .where((eb) => eb.or([eb('t.next_attempt_at', 'is', null), eb('t.next_attempt_at', '<=', opts.now)]))
    .orderBy('t.next_attempt_at')
    .orderBy('t.id')
    .limit(opts.limit)
    .execute();
  return rows.map((t) => ({
    id: t.id,
    ref: t.ref,
    target: targetRefOf(t.kind, t.value),
    accountId: t.account_id!,
    account: t.session_name,
    requestedAt: t.requested_at ?? t.updated_at,
  }));
}

/** Take a due re-check: move its next check time; false when another run took it first. */
export async function takeRecheck(store: Store, id: number, now: number): Promise<boolean> {
  const took = await store.db
    .updateTable('targets')
    .set({ next_attempt_at: now + PENDING_RECHECK_MS, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'pending_approval')
    .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
    .executeTakeFirst();
  return Number(took.numUpdatedRows) === 1;
}

/**
 * End a pending join request (only while it is still pending): `joined` (approved: warm-up
 * starts now), or `expired` / `error` / `banned` with the reason.
 */
export async function settlePending(
  db: Kysely<Database>,
  id: number,
  to: { status: 'joined' } | { status: 'expired' | 'error' | 'banned'; why: string },
  now: number,
): Promise<void> {
  await db
    .updateTable('targets')
    .set(
      to.status === 'joined'
        ? {
            status: 'joined',
            joined_at: now,
            warmup_ends_at: now + WARMUP_MS,
            next_attempt_at: null,
            error_message: null,
            updated_at: now,
          }
        : { status: to.status, error_message: to.why, next_attempt_at: null, updated_at: now },
    )
    .where('id', '=', id)
    .where('status', '=', 'pending_approval')
    .execute();
}

/** A failed try that leaves the target claimed by this run but unpinned (another account may take it). */
export async function unpinClaimed(tx: Kysely<Database>, t: { id: number; token: number }, now: number): Promise<void> {
  await tx
    .updateTable('targets')
    .set((eb) => ({ account_id: null, attempts: eb('attempts', '+', 1), updated_at: now }))
    .where('id', '=', t.id)
    .where('lease_token', '=', t.token)
    .execute();
}

/** Keep a claimed target bound to `accountId` (fenced by this run's token). */
export async function bindClaimed(store: Store, t: { id: number; token: number }, accountId: number): Promise<void> {
  await store.db
    .updateTable('targets')
    .set({ account_id: accountId })
    .where('id', '=', t.id)
    .where('lease_token', '=', t.token)
    .execute();
}
