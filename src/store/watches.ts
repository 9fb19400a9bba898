import { DataError, UsageError } from '../errors.js';
import type { NewEvent } from './events.js';
import type { Store } from './store.js';
import { resolveTenants } from './tenants.js';

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

export interface WatchRemoval {
  removed: { tenant: string; username: string; kind: string }[];
  /** Follower/following fetches (and their stored pages) removed with the watches. */
  jobsRemoved: number;
}

/**
 * Remove a tenant's watch of a username (one kind, or every kind). A watch with a follower fetch
 * running now (a live lease on its check job) is refused (DataError, 65) unless `force`; its
 * fetches and stored follower snapshots go with it.
 */
export async function removeWatches(
  store: Store,
  who: { tenant?: string | undefined; username: string; kind?: string | undefined },
  opts: { force: boolean; now: number },
): Promise<WatchRemoval> {
  const username = who.username.trim().replace(/^@/, '').toLowerCase();
  return store.writeTx(async (tx) => {
    let q = tx
      .selectFrom('watches as w')
      .innerJoin('tenants as t', 't.id', 'w.tenant_id')
      .select(['w.id', 't.name as tenant', 'w.username', 'w.kind'])
      .where('w.username', '=', username);
    if (who.tenant !== undefined) q = q.where('t.name', '=', who.tenant);
    if (who.kind !== undefined) q = q.where('w.kind', '=', who.kind);
    const rows = await q.orderBy('w.kind').execute();
    if (rows.length === 0) {
      throw new DataError(
        `no watch of ${username}${who.kind ? ` (${who.kind})` : ''}${who.tenant ? ` in tenant ${who.tenant}` : ''} → see \`acctctl watch list\``,
      );
    }
    const tenants = [...new Set(rows.map((r) => r.tenant))];
    if (tenants.length > 1) {
      throw new UsageError(`${username} is watched by tenants ${tenants.join(', ')} → say which with --tenant`);
    }
    const ids = rows.map((r) => r.id);
    const running = await tx
      .selectFrom('check_jobs')
      .select(['kind', 'lease_holder'])
      .where('watch_id', 'in', ids)
      .where('lease_expires_at', '>', opts.now)
      .execute();
    if (running.length && !opts.force) {
      throw new DataError(
        `the watch of ${username} is in use: ${running.map((j) => `a ${j.kind} fetch is running (${j.lease_holder ?? '?'})`).join('; ')}; ` +
          `nothing was removed → try again when it is done, or pass --force`,
      );
    }
    const jobs = await tx
      .selectFrom('check_jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('watch_id', 'in', ids)
      .executeTakeFirstOrThrow();
    await tx.deleteFrom('watches').where('id', 'in', ids).execute();
    return {
      removed: rows.map(({ tenant, username, kind }) => ({ tenant, username, kind })),
      jobsRemoved: Number(jobs.n),
    };
  });
}

/** A watch as check works it. */
export interface DueWatch {
  id: number;
  username: string;
  kind: string;
  last_result: string | null;
}

/** A tenant's watches due now (never checked first, then the longest waiting), at most `limit`. */
export async function dueWatches(store: Store, tenantId: number, now: number, limit: number): Promise<DueWatch[]> {
  return store.db
    .selectFrom('watches')
    .select(['id', 'username', 'kind', 'last_result'])
    .where('tenant_id', '=', tenantId)
    .where((eb) => eb.or([eb('next_check_at', 'is', null), eb('next_check_at', '<=', now)]))
    .orderBy('next_check_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** A lookup's outcome for a watch, and (when it changed) its event, in one transaction. */
export async function saveWatchResult(
  store: Store,
  watchId: number,
  r: { lastResult: string; checkedAt: number; nextCheckAt: number; changedAt?: number },
  event: NewEvent | null,
): Promise<void> {
  await store.writeTx(async (tx) => {
    await tx
      .updateTable('watches')
      .set({
        last_result: r.lastResult,
        checked_at: r.checkedAt,
        next_check_at: r.nextCheckAt,
        ...(r.changedAt !== undefined ? { changed_at: r.changedAt } : {}),
      })
      .where('id', '=', watchId)
      .execute();
    if (event) await tx.insertInto('events').values(event).execute();
  });
}

/** New watches, due at once; one already there is left as it is. All rows or none. */
export async function addWatches(
  store: Store,
  rows: { tenant: string; username: string; kind: string }[],
  opts: { createTenants: boolean; now: number },
): Promise<{ imported: number; added: number; alreadyWatched: number; tenantsCreated: string[] }> {
  const { now } = opts;
  return store.writeTx(async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.map((r) => r.tenant),
      { create: opts.createTenants, now },
    );
    let added = 0;
    for (const r of rows) {
      const t = { id: tenants.ids.get(r.tenant)! };
      const res = await tx
        .insertInto('watches')
        .values({
          tenant_id: t.id,
          username: r.username,
          kind: r.kind,
          last_result: null,
          checked_at: null,
          next_check_at: now,
          changed_at: null,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'username', 'kind']).doNothing())
        .executeTakeFirst();
      added += Number(res.numInsertedOrUpdatedRows ?? 0n);
    }
    return { imported: rows.length, added, alreadyWatched: rows.length - added, tenantsCreated: tenants.created };
  });
}
