import type { Store } from './store.js';

/** Which watches a listing shows: `--tenant`, and `--status` (the last result, or `unchecked`). */
export interface WatchFilter {
  tenant?: string | undefined;
  status?: string | undefined;
}

export interface WatchListRow {
  id: number;
  tenant: string;
  username: string;
  kind: string;
  last_result: string | null;
  checked_at: number | null;
  next_check_at: number | null;
  changed_at: number | null;
}

function filtered(store: Store, f: WatchFilter) {
  let q = store.db.selectFrom('watches as w').innerJoin('tenants as t', 't.id', 'w.tenant_id');
  if (f.tenant !== undefined) q = q.where('t.name', '=', f.tenant);
  if (f.status === 'unchecked') q = q.where('w.last_result', 'is', null);
  else if (f.status !== undefined) q = q.where('w.last_result', '=', f.status);
  return q;
}

export async function countWatches(store: Store, f: WatchFilter): Promise<number> {
  const r = await filtered(store, f)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** A page ordered by tenant, then username (offset paging: watches number in the thousands). */
export async function watchesPage(
  store: Store,
  f: WatchFilter,
  offset: number,
  limit: number,
): Promise<WatchListRow[]> {
  return filtered(store, f)
    .select([
      'w.id',
      't.name as tenant',
      'w.username',
      'w.kind',
      'w.last_result',
      'w.checked_at',
      'w.next_check_at',
      'w.changed_at',
    ])
    .orderBy('t.name')
    .orderBy('w.username')
    .orderBy('w.id')
    .limit(limit)
    .offset(offset)
    .execute();
}
