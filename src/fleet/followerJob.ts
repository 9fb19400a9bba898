import { randomInt } from 'node:crypto';
import { HttpError, type HttpResponse } from '../instagram/http.js';
import { apiMessage, followerPage, friendshipsPath, loggedOut } from '../instagram/webApi.js';
import { claimJob, createJob, openJob, releaseJob, savePage, type CheckJobRow } from '../store/checkJobs.js';
import type { DueWatch } from '../store/watches.js';
import { CURSOR_SHELF_LIFE_MS, JOB_LEASE_MS, type CheckDeps } from './checkDeps.js';
import type { Lookups } from './checkLookup.js';
import type { IgSessions, Session } from './checkSessions.js';
import { completeWithDiff } from './followerDiff.js';
import { holderId } from './holder.js';

export type FollowerWatch = DueWatch & { kind: 'followers' | 'following' };

/** What one page request came to. */
type Step =
  | { kind: 'saved'; count: number; next: string | null }
  /** Another session may try (this one handed over, or was refreshed). */
  | { kind: 'retry'; error: string }
  | { kind: 'pause'; error: string }
  /** Our lease was taken over: stop without writing. */
  | { kind: 'fenced' };

/** A job being worked: its lease token, and where the paging stands. */
interface Run {
  job: CheckJobRow;
  token: number;
  cursor: string | null;
  tried: Set<number>;
  tries: Map<number, number>;
}

/**
 * Follower / following fetches: the watch's job (resumed, or started after one profile lookup
 * for the user id), worked under a lease; every page's items and cursor are saved as it comes,
 * so nothing fetched is lost and any valid session of the tenant can resume. States:
 * in_progress → paused (no session, trouble) → in_progress … → completed (with its diff).
 */
export class FollowerJobs {
  constructor(
    private readonly deps: CheckDeps,
    private readonly sessions: IgSessions,
    private readonly lookups: Lookups,
  ) {}

  async fetch(tenantId: number, w: FollowerWatch): Promise<{ status: string; fetched: number }> {
    const { store, clock, log } = this.deps;
    const token = randomInt(1, 2 ** 47);
    const job = await this.openOrStart(tenantId, w);
    if (!('id' in job)) return job;
    const now = clock.now();
    if (
      !(await claimJob(store, { jobId: job.id, holder: holderId('check'), token, now, expiresAt: now + JOB_LEASE_MS }))
    )
      return { status: job.status, fetched: 0 };
    let cursor = job.cursor;
    if (job.cursor_expires_at !== null && job.cursor_expires_at < clock.now()) {
      log.info('cursor past its best-before: paging again from the start (items kept)', { job: job.id });
      cursor = null;
    }
    const run: Run = { job, token, cursor, tried: new Set(), tries: new Map() };
    let fetched = 0;
    let status: 'paused' | 'completed';
    let lastError: string | null = null;
    for (;;) {
      const s = await this.sessions.pick(tenantId, 'friendships', run.tried);
      if (!s) {
        status = 'paused';
        lastError = lastError ?? 'no session with room in its rate window';
        break;
      }
      const step = await this.page(run, w, s);
      if (step.kind === 'fenced') return { status: 'in_progress', fetched };
      if (step.kind === 'retry') {
        lastError = step.error;
        continue;
      }
      if (step.kind === 'pause') {
        status = 'paused';
        lastError = step.error;
        break;
      }
      fetched += step.count;
      run.cursor = step.next;
      if (step.next === null) {
        status = 'completed';
        break;
      }
    }
    const end = clock.now();
    if (status === 'completed') await completeWithDiff(store, tenantId, w, job.id, end);
    else await releaseJob(store, { jobId: job.id, token, status, lastError, now: end });
    return { status, fetched };
  }

  /**
   * The watch's open job, or a new one once the user's id is known. A user that does not exist
   * completes the watch at once (not_found); no answer → paused, nothing created.
   */
  private async openOrStart(
    tenantId: number,
    w: FollowerWatch,
  ): Promise<CheckJobRow | { status: string; fetched: number }> {
    const job = await openJob(this.deps.store, w.id);
    if (job) return job;
    // Resolve the user id first (one profile lookup with a session).
    const found = await this.lookups.withSession(tenantId, w.username);
    if (found.verdict === 'not_found') {
      await this.lookups.record(tenantId, w, 'not_found');
      return { status: 'completed', fetched: 0 };
    }
    if (found.verdict === 'error' || found.userId === null) return { status: 'paused', fetched: 0 };
    return createJob(this.deps.store, {
      watchId: w.id,
      kind: w.kind,
      targetUserId: found.userId,
      now: this.deps.clock.now(),
    });
  }

  /** One page with session `s`: saved, or why not (and what the session's answer meant for it). */
  private async page(run: Run, w: FollowerWatch, s: Session): Promise<Step> {
    const { sessions } = this;
    let res: HttpResponse;
    try {
      res = await sessions.get(s, 'friendships', friendshipsPath(String(run.job.target_user_id), w.kind, run.cursor));
    } catch (e) {
      return { kind: 'pause', error: e instanceof HttpError ? e.message : String(e) };
    }
    if (loggedOut(res)) {
      if (!(await sessions.confirmLogout(s, 'friendships', String(res.status)))) {
        run.tried.add(s.id);
        return { kind: 'retry', error: `throttled (${res.status})` };
      }
      if (!(await sessions.lost(s, run.tries))) run.tried.add(s.id);
      return { kind: 'retry', error: 'login_required' };
    }
    if (res.status === 429) {
      await sessions.tooMany(s, 'friendships');
      run.tried.add(s.id);
      return { kind: 'retry', error: '429' };
    }
    if (await sessions.blocked(s, res)) {
      run.tried.add(s.id);
      return { kind: 'retry', error: String(apiMessage(res) ?? res.status) };
    }
    const page = followerPage(res);
    if (!page) return { kind: 'pause', error: `unexpected answer ${res.status}` };
    const now = this.deps.clock.now();
    // Items and cursor in one transaction, fenced by our lease token.
    const saved = await savePage(this.deps.store, {
      jobId: run.job.id,
      token: run.token,
      items: page.users,
      cursor: page.next,
      cursorExpiresAt: now + CURSOR_SHELF_LIFE_MS,
      igAccountId: s.id,
      now,
      leaseExpiresAt: now + JOB_LEASE_MS,
    });
    if (!saved) return { kind: 'fenced' };
    await sessions.worked(s, 'friendships');
    this.deps.log.debug('page saved', { job: run.job.id, page: page.users.length, cursor: page.next ?? 'end' });
    return { kind: 'saved', count: page.users.length, next: page.next };
  }
}
