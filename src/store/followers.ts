import { sql } from 'kysely';
import { UsageError, UnavailableError } from '../errors.js';
import type { Store } from './store.js';

/** One follower (or followed account) as `watch followers --json` prints it. */
export interface FollowerView {
  username: string | null;
  id: string;
  full_name: string | null;
  is_private: boolean | null;
}

export interface FollowerQuery {
  tenant: string;
  username: string;
  kind: 'followers' | 'following';
  /** The latest snapshot, or what it gained / lost against the previous one. */
  diff?: 'new' | 'lost' | undefined;
}

export interface FollowerSnapshot {
  watch: { tenant: string; username: string; kind: string };
  snapshot: { jobId: number; completedAt: number | null; previousJobId: number | null };
  users: FollowerView[];
}

/** The latest completed snapshot of a followers/following watch (or its diff from the one before). */
export async function followerSnapshot(store: Store, q: FollowerQuery): Promise<FollowerSnapshot> {
  const username = q.username.replace(/^@/, '').toLowerCase();
  const watch = await store.db
    .selectFrom('watches as w')
    .innerJoin('tenants as t', 't.id', 'w.tenant_id')
    .select(['w.id'])
    .where('t.name', '=', q.tenant)
    .where('w.username', '=', username)
    .where('w.kind', '=', q.kind)
    .executeTakeFirst();
  if (!watch) {
    throw new UsageError(
      `tenant ${q.tenant} has no ${q.kind} watch for @${username} → add it with acctctl watch import (kind ${q.kind})`,
    );
  }
  const jobs = await store.db
    .selectFrom('check_jobs')
    .select(['id', 'completed_at'])
    .where('watch_id', '=', watch.id)
    .where('status', '=', 'completed')
    .orderBy('id', 'desc')
    .limit(2)
    .execute();
  const [latest, previous] = jobs;
  if (!latest) {
    throw new UnavailableError(`@${username} ${q.kind}: no completed fetch yet → run acctctl check (it resumes)`);
  }
  if (q.diff && !previous) {
    throw new UnavailableError(
      `@${username} ${q.kind}: only one completed fetch so far, nothing to compare → wait for the next check`,
    );
  }
  const [from, against] = q.diff === 'lost' ? [previous!.id, latest.id] : [latest.id, previous?.id ?? null];
  const rows = await store.db
    .selectFrom('check_job_items as i')
    .select(['i.ig_user_id', 'i.username', 'i.full_name', 'i.is_private'])
    .where('i.job_id', '=', from)
    .$if(q.diff !== undefined, (qb) =>
      qb.where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('check_job_items as o')
              .select(sql`1`.as('one'))
              .where('o.job_id', '=', against!)
              .whereRef('o.ig_user_id', '=', 'i.ig_user_id'),
          ),
        ),
      ),
    )
    .orderBy('i.username')
    .orderBy('i.ig_user_id')
    .execute();
  return {
    watch: { tenant: q.tenant, username, kind: q.kind },
    snapshot: { jobId: latest.id, completedAt: latest.completed_at, previousJobId: previous?.id ?? null },
    users: rows.map((r) => ({
      username: r.username,
      id: r.ig_user_id,
      full_name: r.full_name,
      is_private: r.is_private === null ? null : r.is_private === 1,
    })),
  };
}
