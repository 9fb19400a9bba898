import { UsageError } from '../errors.js';
import { TARGET_STATUSES, type TargetStatus } from './schema.js';
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
