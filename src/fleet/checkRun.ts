import type { VerifyMode } from '../domain/tenants.js';
import { usableApiKeys } from '../store/apiKeys.js';
import { expiredSessionsDue, hasValidSession, validSessionIds } from '../store/igAccounts.js';
import { igRoute } from '../store/proxies.js';
import { tenantResources, tenantsToCheck } from '../store/tenants.js';
import { dueWatches } from '../store/watches.js';
import { errorText, methodsOf, type CheckDeps } from './checkDeps.js';
import { Lookups } from './checkLookup.js';
import { tenantProxy } from './checkRoutes.js';
import { IgSessions } from './checkSessions.js';
import { FollowerJobs, type FollowerWatch } from './followerJob.js';
import { preflightResources, tenantPreflight } from './preflight.js';

/**
 * check (the original Python auto-checker's): each tenant's due watches, through the methods of its verify mode,
 * with its own resources only. Tenants run in parallel and are isolated: one tenant's failure
 * never touches another's results. Follower/following fetches page through REST and save the
 * cursor and items after every page, so nothing fetched is ever lost and any valid session of
 * the tenant can resume (./followerJob.ts).
 */
export type { CheckDeps, Method } from './checkDeps.js';
export { methodsOf } from './checkDeps.js';
export type { LookupResult } from '../instagram/webApi.js';

export interface TenantCheckResult {
  tenant: string;
  mode: string;
  skipped: string | null;
  checked: number;
  found: number;
  notFound: number;
  errors: number;
  changed: number;
  jobs: { completed: number; paused: number; inProgress: number; fetched: number };
  error: string | null;
}

export class Checker {
  private readonly sessions: IgSessions;
  private readonly lookups: Lookups;
  private readonly followers: FollowerJobs;

  constructor(private readonly deps: CheckDeps) {
    this.sessions = new IgSessions(deps);
    this.lookups = new Lookups(deps, this.sessions);
    this.followers = new FollowerJobs(deps, this.sessions, this.lookups);
  }

  /** The tenants (one, or all) with `concurrency` at once, each with up to `batch` due watches. */
  async run(opts: { tenant?: string; batch?: number } = {}): Promise<TenantCheckResult[]> {
    const tenants = await tenantsToCheck(this.deps.store, opts.tenant);
    const results: TenantCheckResult[] = new Array(tenants.length);
    let next = 0;
    const worker = async () => {
      while (next < tenants.length) {
        const i = next++;
        const t = tenants[i]!;
        results[i] = await this.tenant(t.id, t.name, t.verify_mode as VerifyMode, opts.batch ?? 100);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.concurrency, tenants.length) }, worker));
    return results;
  }

  /** Requests of `kind` a session made in its rate window ending at `now`. */
  windowUse(igId: number, kind: string, now: number): Promise<number> {
    return this.sessions.windowUse(igId, kind, now);
  }

  private empty(tenant: string, mode: string): TenantCheckResult {
    return {
      tenant,
      mode,
      skipped: null,
      checked: 0,
      found: 0,
      notFound: 0,
      errors: 0,
      changed: 0,
      jobs: { completed: 0, paused: 0, inProgress: 0, fetched: 0 },
      error: null,
    };
  }

  /** One tenant, isolated: whatever goes wrong stays in its result. */
  private async tenant(tenantId: number, name: string, mode: VerifyMode, batch: number): Promise<TenantCheckResult> {
    const r = this.empty(name, mode);
    try {
      await this.startLine(name);
      const watches = await dueWatches(this.deps.store, tenantId, this.deps.clock.now(), batch);
      if (watches.length === 0) return r;
      if (methodsOf(mode).includes('instagram') || watches.some((w) => w.kind !== 'exists'))
        await this.bringBackSessions(tenantId, name);
      const missing = await this.missingResources(
        tenantId,
        mode,
        watches.some((w) => w.kind !== 'exists'),
      );
      if (missing) {
        r.skipped = missing;
        this.deps.log.warn('tenant skipped', { tenant: name, reason: missing });
        return r;
      }
      for (const w of watches) {
        if (w.kind === 'exists') {
          const res = await this.lookups.lookup(tenantId, mode, w.username);
          r.checked++;
          if (res === 'found') r.found++;
          else if (res === 'not_found') r.notFound++;
          else r.errors++;
          if (await this.lookups.record(tenantId, w, res)) r.changed++;
        } else {
          const j = await this.followers.fetch(tenantId, w as FollowerWatch);
          r.jobs.fetched += j.fetched;
          if (j.status === 'completed') r.jobs.completed++;
          else if (j.status === 'paused') r.jobs.paused++;
          else r.jobs.inProgress++;
        }
      }
    } catch (e) {
      r.error = errorText(e);
      this.deps.log.error('tenant check failed', { tenant: name, error: r.error });
    }
    return r;
  }

  /**
   * One start line per tenant on the log (stderr; never stdout): its mode and what it has of each
   * resource, and what it lacks — the original auto-checker's per-user start lines.
   */
  private async startLine(name: string): Promise<void> {
    const now = this.deps.clock.now();
    const [res] = await tenantResources(this.deps.store, now, name);
    if (!res) return;
    const p = tenantPreflight(res, new Set(this.deps.providers.keys()));
    this.deps.log.info('tenant check starting', {
      tenant: name,
      mode: p.mode,
      resources: preflightResources(p),
      ...(p.problems.length ? { missing: p.problems.map((m) => m.resource).join(', ') } : {}),
    });
  }

  /**
   * Sessions come back: with a browser at hand (deps.refresh), the tenant's expired sessions whose
   * refresh is due (a failed login's back-off is honoured) are logged in again before anything is
   * skipped for want of a session. refresh-session's lock and shared promise keep it to one login.
   */
  private async bringBackSessions(tenantId: number, tenant: string): Promise<void> {
    if (!this.deps.refresh) return;
    for (const a of await expiredSessionsDue(this.deps.store, tenantId, this.deps.clock.now())) {
      try {
        const r = await this.deps.refresh(a.id);
        this.deps.log.info('expired session refreshed before the run', {
          tenant,
          session: a.username,
          status: r.status,
        });
      } catch (e) {
        this.deps.log.warn('expired session could not be refreshed', {
          tenant,
          session: a.username,
          error: errorText(e),
        });
      }
    }
  }

  /**
   * What the tenant's mode needs and it does not have, when nothing is left to check with (null:
   * at least one of its methods can answer — they are tried in order, until one gives a definite
   * answer, so `api+instagram` with no healthy key but a valid session checks through Instagram).
   */
  private async missingResources(tenantId: number, mode: VerifyMode, needsSession: boolean): Promise<string | null> {
    const { store } = this.deps;
    const lacks: string[] = [];
    const methods = methodsOf(mode);
    let sessionLacking = false;
    for (const m of methods) {
      if (m === 'api') {
        const keys = await usableApiKeys(store, tenantId, this.deps.clock.now());
        if (keys.length === 0)
          lacks.push('no healthy API key (acctctl apikeys import; keys out of quota come back after an hour)');
        else if (!keys.some((k) => this.deps.providers.has(k.provider)))
          lacks.push(`no configured provider for its API keys (ACCTCTL_API_PROVIDERS)`);
      }
      if (m === 'instagram') {
        sessionLacking = true;
        if (!(await hasValidSession(store, tenantId)))
          lacks.push('no valid Instagram session (acctctl ig import / refresh-session)');
        else {
          const why = await this.sessionsBlocked(tenantId);
          if (why) lacks.push(`its Instagram sessions send nothing: ${why}`);
          else sessionLacking = false;
        }
      }
      if (m === 'proxy' && !(await tenantProxy(this.deps, tenantId)))
        lacks.push('no healthy proxy (acctctl proxies import --tenant)');
    }
    const methodsLacking = lacks.length;
    if (needsSession && !methods.includes('instagram') && !(await hasValidSession(store, tenantId))) {
      lacks.push('follower checks need a valid Instagram session');
    }
    if (lacks.length === 0) return null;
    // Follower fetches have no other way than a session: without one the tenant is skipped.
    if (methodsLacking < methods.length && lacks.length === methodsLacking && !(needsSession && sessionLacking)) {
      this.deps.log.info('tenant checked with what it has', { mode, lacking: lacks.join('; ') });
      return null;
    }
    return `mode ${mode}: ${lacks.join('; ')}`;
  }

  /** Why none of the tenant's valid sessions may send anything (its one proxy unusable), or null. */
  private async sessionsBlocked(tenantId: number): Promise<string | null> {
    let why: string | null = null;
    for (const r of await validSessionIds(this.deps.store, tenantId)) {
      const route = await igRoute(this.deps.store, this.deps.box, r.id);
      if (route.kind !== 'blocked') return null;
      why ??= route.why;
    }
    return why;
  }
}
