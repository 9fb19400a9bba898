import { sql, type Kysely } from 'kysely';
import { targetKey, type TargetRef } from '../domain/links.js';
import { DataError, UsageError } from '../errors.js';
import { TARGET_STATUSES, type Database, type TargetStatus } from './schema.js';
import { rememberRemoved } from './removed.js';
import type { Store } from './store.js';

/** Which join targets a listing shows (`--niche`, `--status`). */
export interface TargetFilter {
  niche?: string | undefined;
  status?: string | undefined;
}

export interface TargetListRow {
  id: number;
  ref: string;
  niche: string;
  status: string;
  account: string | null;
  joinedAt: number | null;
  warmupEndsAt: number | null;
  attempts: number;
  nextAttemptAt: number | null;
  error: string | null;
}

export function checkTargetFilter(f: TargetFilter): void {
  if (f.status !== undefined && !(TARGET_STATUSES as readonly string[]).includes(f.status)) {
    throw new UsageError(`--status "${f.status}" is unknown → use one of ${TARGET_STATUSES.join(', ')}`);
  }
}

function filtered(store: Store, f: TargetFilter) {
  checkTargetFilter(f);
  let q = store.db.selectFrom('targets as t');
  if (f.niche !== undefined) q = q.where('t.niche', '=', f.niche);
  if (f.status !== undefined) q = q.where('t.status', '=', f.status as TargetStatus);
  return q;
}

export async function countTargets(store: Store, f: TargetFilter): Promise<number> {
  const r = await filtered(store, f)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** One page in import order, after target id `afterId` (keyset paging). */
export async function targetsPage(
  store: Store,
  f: TargetFilter,
  afterId: number | null,
  limit: number,
): Promise<TargetListRow[]> {
  let q = filtered(store, f)
    .leftJoin('telegram_accounts as a', 'a.id', 't.account_id')
    .select([
      't.id',
      't.ref',
      't.niche',
      't.status',
      'a.session_name',
      't.joined_at',
      't.warmup_ends_at',
      't.attempts',
      't.next_attempt_at',
      't.error_message',
    ])
    .orderBy('t.id')
    .limit(limit);
  if (afterId !== null) q = q.where('t.id', '>', afterId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    ref: r.ref,
    niche: r.niche,
    status: r.status,
    account: r.session_name,
    joinedAt: r.joined_at,
    warmupEndsAt: r.warmup_ends_at,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    error: r.error_message,
  }));
}

export interface TargetRemoval {
  removed: string[];
}

/**
 * Remove join targets by key (`@name` or `+HASH`, see domain/links targetKey), all or none. A
 * target in use — a join run is trying it now, or it is joined / pending approval and bound to an
 * account (the binding is what keeps a second account from joining it) — is refused (DataError,
 * 65, naming the account) unless `force`.
 */
export async function removeTargets(
  store: Store,
  refs: readonly string[],
  opts: { force: boolean; now: number },
): Promise<TargetRemoval> {
  return store.writeTx(async (tx) => {
    const rows = await tx
      .selectFrom('targets as t')
      .leftJoin('telegram_accounts as a', 'a.id', 't.account_id')
      .select([
        't.id',
        't.ref',
        't.status',
        't.tenant_id',
        't.lease_holder',
        't.lease_expires_at',
        'a.session_name as account',
      ])
      .where('t.ref', 'in', refs.length ? [...refs] : [''])
      .execute();
    const missing = refs.filter((r) => !rows.some((x) => x.ref === r));
    if (missing.length) {
      throw new DataError(`no target ${missing.join(', ')}; nothing was removed → see \`acctctl targets list\``);
    }
    const problems: string[] = [];
    for (const r of rows) {
      if (r.lease_holder !== null && (r.lease_expires_at ?? 0) > opts.now) {
        problems.push(
          `${r.ref}: a join run is trying it now (${r.lease_holder}${r.account ? `, account ${r.account}` : ''})`,
        );
      } else if ((r.status === 'joined' || r.status === 'pending_approval') && r.account) {
        problems.push(`${r.ref}: ${r.status}, bound to account ${r.account}`);
      }
    }
    if (problems.length && !opts.force) {
      throw new DataError(
        `${problems.length === 1 ? 'a target is' : `${problems.length} targets are`} in use; nothing was removed → ` +
          `wait for the join run, or pass --force (forgetting a binding lets another account join the group if it is imported again)`,
        { details: problems },
      );
    }
    await rememberRemoved(
      tx,
      rows.map((r) => ({
        subject_type: 'target',
        subject_id: r.id,
        name: r.ref,
        tenant_id: r.tenant_id,
        tenant_name: null,
        removed_at: opts.now,
      })),
    );
    await tx
      .deleteFrom('targets')
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    return { removed: rows.map((r) => r.ref).sort() };
  });
}

/** Add a join target; false when its link is known already (nothing changes then). */
export async function insertTarget(
  tx: Kysely<Database>,
  ref: TargetRef,
  niche: string,
  now: number,
  tenantId: number | null = null,
): Promise<boolean> {
  const r = await tx
    .insertInto('targets')
    .values({
      ref: targetKey(ref),
      kind: ref.kind,
      value: ref.kind === 'username' ? ref.username : ref.hash,
      niche,
      tenant_id: tenantId,
      account_id: null,
      joined_at: null,
      warmup_ends_at: null,
      next_attempt_at: null,
      error_message: null,
      lease_holder: null,
      lease_token: null,
      lease_expires_at: null,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('ref').doNothing())
    .executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** How many targets per niche and status. */
export async function targetCounts(store: Store): Promise<{ niche: string; status: string; count: number }[]> {
  const rows = await store.db
    .selectFrom('targets')
    .select(['niche', 'status', sql<number>`count(*)`.as('n')])
    .groupBy(['niche', 'status'])
    .orderBy('niche')
    .orderBy('status')
    .execute();
  return rows.map((r) => ({ niche: r.niche, status: r.status, count: Number(r.n) }));
}
