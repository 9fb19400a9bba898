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

/** What a selection reads from. */
export interface FollowerSnapshot {
  watch: { tenant: string; username: string; kind: string };
  snapshot: { jobId: number; completedAt: number | null; previousJobId: number | null };
  users: FollowerView[];
}

/** A snapshot (or diff) to read a page at a time: what it is, how many rows, and its pages. */
export interface FollowerSelection {
  watch: FollowerSnapshot['watch'];
  snapshot: FollowerSnapshot['snapshot'];
  count: () => Promise<number>;
  /**
   * Up to `n` rows after `last`, in the printed order: users with a username by (username, id),
   * then those without one by id (keyset on the (job_id, username, ig_user_id) index).
   */
  page: (last: FollowerView | null, n: number) => Promise<FollowerView[]>;
}

export async function followerSelection(store: Store, q: FollowerQuery): Promise<FollowerSelection> {
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
  const base = () =>
    store.db
      .selectFrom('check_job_items as i')
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
      );
  const cols = ['i.ig_user_id', 'i.username', 'i.full_name', 'i.is_private'] as const;
  const toView = (r: {
    ig_user_id: string;
    username: string | null;
    full_name: string | null;
    is_private: number | null;
  }): FollowerView => ({
    username: r.username,
    id: r.ig_user_id,
    full_name: r.full_name,
    is_private: r.is_private === null ? null : r.is_private === 1,
  });
  const named = async (last: FollowerView | null, n: number) =>
    (
      await base()
        .select(cols)
        .where('i.username', 'is not', null)
        .$if(last !== null, (qb) =>
          // `>=` bounds the index range; the OR sorts out the users sharing the last one's name.
          qb
            .where('i.username', '>=', last!.username!)
            .where((eb) => eb.or([eb('i.username', '>', last!.username!), eb('i.ig_user_id', '>', last!.id)])),
        )
        .orderBy('i.username')
        .orderBy('i.ig_user_id')
        .limit(n)
        .execute()
    ).map(toView);
  const nameless = async (afterId: string | null, n: number) =>
    (
      await base()
        .select(cols)
        .where('i.username', 'is', null)
        .$if(afterId !== null, (qb) => qb.where('i.ig_user_id', '>', afterId!))
        .orderBy('i.ig_user_id')
        .limit(n)
        .execute()
    ).map(toView);
  return {
    watch: { tenant: q.tenant, username, kind: q.kind },
    snapshot: { jobId: latest.id, completedAt: latest.completed_at, previousJobId: previous?.id ?? null },
    count: async () =>
      Number(
        (
          await base()
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirst()
        )?.n ?? 0,
      ),
    page: async (last, n) => {
      if (last !== null && last.username === null) return nameless(last.id, n);
      const rows = await named(last, n);
      return rows.length < n ? [...rows, ...(await nameless(null, n - rows.length))] : rows;
    },
  };
}
