import { sql, type Selectable } from 'kysely';
import type { NewEvent } from './events.js';
import type { CheckJobsTable } from './schema.js';
import type { Store } from './store.js';

/**
 * Follower / following fetches (check_jobs) and the pages they saved (check_job_items). A job is
 * worked under a lease; every write of a page is fenced by the lease token.
 */
export type CheckJobRow = Selectable<CheckJobsTable>;

/** A follower or followed account as a page gave it. */
export interface JobItem {
  id: string;
  username: string | null;
  fullName: string | null;
  isPrivate: number | null;
}

/** The watch's unfinished fetch (the newest in progress or paused), if any. */
export async function openJob(store: Store, watchId: number): Promise<CheckJobRow | undefined> {
  return store.db
    .selectFrom('check_jobs')
    .selectAll()
    .where('watch_id', '=', watchId)
    .where('status', 'in', ['in_progress', 'paused'])
    .orderBy('id', 'desc')
    .executeTakeFirst();
}

/** A new fetch of a watch, in progress from the first page, for the given Instagram user id. */
export async function createJob(
  store: Store,
  job: { watchId: number; kind: string; targetUserId: string; now: number },
): Promise<CheckJobRow> {
  return store.db
    .insertInto('check_jobs')
    .values({
      watch_id: job.watchId,
      kind: job.kind,
      status: 'in_progress',
      cursor: null,
      cursor_expires_at: null,
      expected_total: null,
      ig_account_id: null,
      lease_holder: null,
      lease_token: null,
      lease_expires_at: null,
      last_error: null,
      started_at: job.now,
      updated_at: job.now,
      completed_at: null,
      target_user_id: job.targetUserId,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Take the job's lease when nobody holds it (or the holder's lease ran out). Whether we got it. */
export async function claimJob(
  store: Store,
  lease: { jobId: number; holder: string; token: number; now: number; expiresAt: number },
): Promise<boolean> {
  return store.writeTx(async (tx) => {
    const r =
      await sql`update check_jobs set lease_holder = ${lease.holder}, lease_token = ${lease.token}, lease_expires_at = ${lease.expiresAt}
      where id = ${lease.jobId} and (lease_holder is null or lease_expires_at <= ${lease.now})`.execute(tx);
    return Number(r.numAffectedRows ?? 0n) === 1;
  });
}

/**
 * One page: its items and the cursor after it, in one transaction fenced by the lease token; the
 * lease is extended. False when the lease is no longer ours (nothing written).
 */
export async function savePage(
  store: Store,
  page: {
    jobId: number;
    token: number;
    items: JobItem[];
    cursor: string | null;
    cursorExpiresAt: number;
    igAccountId: number;
    now: number;
    leaseExpiresAt: number;
  },
): Promise<boolean> {
  const { jobId } = page;
  return store.writeTx(async (tx) => {
    const held = await tx
      .selectFrom('check_jobs')
      .select('id')
      .where('id', '=', jobId)
      .where('lease_token', '=', page.token)
      .executeTakeFirst();
    if (!held) return false;
    if (page.items.length) {
      await tx
        .insertInto('check_job_items')
        .values(
          page.items.map((u) => ({
            job_id: jobId,
            ig_user_id: u.id,
            username: u.username,
            full_name: u.fullName,
            is_private: u.isPrivate,
          })),
        )
        .onConflict((oc) => oc.columns(['job_id', 'ig_user_id']).doNothing())
        .execute();
    }
    const count = await tx
      .selectFrom('check_job_items')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('job_id', '=', jobId)
      .executeTakeFirst();
    await tx
      .updateTable('check_jobs')
      .set({
        cursor: page.cursor,
        cursor_expires_at: page.cursorExpiresAt,
        fetched: Number(count?.n ?? 0),
        ig_account_id: page.igAccountId,
        updated_at: page.now,
        lease_expires_at: page.leaseExpiresAt,
        status: 'in_progress',
        last_error: null,
      })
      .where('id', '=', jobId)
      .execute();
    return true;
  });
}

/** Stop working the job for now (paused / in_progress) and let its lease go, if it is still ours. */
export async function releaseJob(
  store: Store,
  job: { jobId: number; token: number; status: string; lastError: string | null; now: number },
): Promise<void> {
  await store.writeTx(async (tx) => {
    await tx
      .updateTable('check_jobs')
      .set({
        status: job.status,
        last_error: job.lastError,
        updated_at: job.now,
        lease_holder: null,
        lease_token: null,
        lease_expires_at: null,
      })
      .where('id', '=', job.jobId)
      .where('lease_token', '=', job.token)
      .execute();
  });
}

/** What a completed snapshot gained and lost against the watch's previous completed one. */
export interface SnapshotDiff {
  gained: { ig_user_id: string; username: string | null }[];
  lost: { ig_user_id: string; username: string | null }[];
  /** Items in the new snapshot. */
  total: number;
}

/**
 * Completion, in one transaction: when the watch has a previous completed snapshot, `describe`
 * turns the difference into an event (written); the job is completed and the watch found, next
 * checked at `nextCheckAt`. The previous snapshot stays (watch followers --new/--lost);
 * reset-limits prunes old ones.
 */
export async function completeJob(
  store: Store,
  job: { jobId: number; watchId: number; now: number; nextCheckAt: number },
  describe: (diff: SnapshotDiff) => NewEvent,
): Promise<void> {
  const { jobId, watchId, now } = job;
  await store.writeTx(async (tx) => {
    const prev = await tx
      .selectFrom('check_jobs')
      .select('id')
      .where('watch_id', '=', watchId)
      .where('status', '=', 'completed')
      .orderBy('id', 'desc')
      .executeTakeFirst();
    const total = Number(
      (
        await tx
          .selectFrom('check_job_items')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('job_id', '=', jobId)
          .executeTakeFirst()
      )?.n ?? 0,
    );
    if (prev) {
      const gained = await sql<{
        ig_user_id: string;
        username: string | null;
      }>`select ig_user_id, username from check_job_items n where n.job_id = ${jobId}
        and not exists (select 1 from check_job_items o where o.job_id = ${prev.id} and o.ig_user_id = n.ig_user_id) order by ig_user_id`.execute(
        tx,
      );
      const lost = await sql<{
        ig_user_id: string;
        username: string | null;
      }>`select ig_user_id, username from check_job_items o where o.job_id = ${prev.id}
        and not exists (select 1 from check_job_items n where n.job_id = ${jobId} and n.ig_user_id = o.ig_user_id) order by ig_user_id`.execute(
        tx,
      );
      await tx
        .insertInto('events')
        .values(describe({ gained: gained.rows, lost: lost.rows, total }))
        .execute();
    }
    await tx
      .updateTable('check_jobs')
      .set({
        status: 'completed',
        completed_at: now,
        updated_at: now,
        expected_total: total,
        lease_holder: null,
        lease_token: null,
        lease_expires_at: null,
      })
      .where('id', '=', jobId)
      .execute();
    await tx
      .updateTable('watches')
      .set({ last_result: 'found', checked_at: now, next_check_at: job.nextCheckAt, changed_at: now })
      .where('id', '=', watchId)
      .execute();
  });
}
