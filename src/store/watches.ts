import { DataError, UsageError } from '../errors.js';
import type { Store } from './store.js';

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
