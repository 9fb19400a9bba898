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

const WARMUP_MS = 24 * 3_600_000;

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
