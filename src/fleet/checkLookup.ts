import type { VerifyMode } from '../domain/tenants.js';
import type { HttpResponse } from '../instagram/http.js';
import { XHR_HEADERS, profilePath, profileUserId, profileVerdict, type LookupResult } from '../instagram/webApi.js';
import { saveWatchResult, type DueWatch } from '../store/watches.js';
import { viaApi } from './apiKeyRotation.js';
import { CHECK_INTERVAL_MS, errorText, methodsOf, RETRY_AFTER_ERROR_MS, type CheckDeps } from './checkDeps.js';
import { proxiedGet, tenantProxy } from './checkRoutes.js';
import type { IgSessions } from './checkSessions.js';

/**
 * Whether a username exists, by the methods of the tenant's verify mode in order (the first
 * answer that is not an error counts), and the result stored on its watch.
 */
export class Lookups {
  constructor(
    private readonly deps: CheckDeps,
    private readonly sessions: IgSessions,
  ) {}

  async lookup(tenantId: number, mode: VerifyMode, username: string): Promise<LookupResult> {
    for (const m of methodsOf(mode)) {
      try {
        const r =
          m === 'api'
            ? await viaApi(this.deps, tenantId, username)
            : m === 'instagram'
              ? (await this.withSession(tenantId, username)).verdict
              : await this.viaProxy(tenantId, username);
        if (r !== 'error') return r;
      } catch (e) {
        this.deps.log.debug('lookup method failed', { method: m, error: errorText(e) });
      }
    }
    return 'error';
  }

  private async viaProxy(tenantId: number, username: string): Promise<LookupResult> {
    const proxy = await tenantProxy(this.deps, tenantId);
    if (!proxy) return 'error';
    const res = await proxiedGet(
      this.deps,
      new URL(profilePath(username), this.deps.instagramUrl).toString(),
      { ...XHR_HEADERS },
      proxy,
    );
    const v = profileVerdict(res);
    return v === 'found' || v === 'not_found' ? v : 'error';
  }

  /**
   * A profile lookup with the tenant's sessions: a logged-out session is refreshed or given up,
   * a throttled one rests, network trouble moves on to the next; `error` when none is left.
   */
  async withSession(tenantId: number, username: string): Promise<{ verdict: LookupResult; userId: string | null }> {
    const { sessions } = this;
    const tried = new Set<number>();
    const tries = new Map<number, number>();
    for (;;) {
      const s = await sessions.pick(tenantId, 'profile', tried);
      if (!s) return { verdict: 'error', userId: null };
      let res: HttpResponse;
      try {
        res = await sessions.get(s, 'profile', profilePath(username));
      } catch (e) {
        // Network or proxy trouble (fail closed): try another session.
        this.deps.log.debug('profile lookup failed', { session: s.username, error: errorText(e) });
        tried.add(s.id);
        continue;
      }
      const v = profileVerdict(res);
      if (v === 'logged_out') {
        if (!(await sessions.confirmLogout(s, 'profile', String(res.status)))) tried.add(s.id);
        else if (!(await sessions.lost(s, tries))) tried.add(s.id);
        continue;
      }
      if (await sessions.blocked(s, res)) {
        tried.add(s.id);
        continue;
      }
      if (v === 'throttled') {
        await sessions.tooMany(s, 'profile');
        tried.add(s.id);
        continue;
      }
      if (v !== 'error') await sessions.worked(s, 'profile');
      return { verdict: v, userId: profileUserId(res, v) };
    }
  }

  /** Store a lookup's result; a change writes an event. Returns whether it changed. */
  async record(tenantId: number, w: DueWatch, res: LookupResult): Promise<boolean> {
    const now = this.deps.clock.now();
    const changed = res !== 'error' && w.last_result !== null && w.last_result !== res;
    await saveWatchResult(
      this.deps.store,
      w.id,
      {
        lastResult: res === 'error' && w.last_result && w.last_result !== 'error' ? w.last_result : res,
        checkedAt: now,
        nextCheckAt:
          now + (res === 'error' ? RETRY_AFTER_ERROR_MS : (CHECK_INTERVAL_MS[w.kind] ?? CHECK_INTERVAL_MS.exists!)),
        ...(changed || w.last_result === null ? { changedAt: now } : {}),
      },
      changed
        ? {
            at: now,
            kind: 'watch_changed',
            subject_type: 'watch',
            subject_id: w.id,
            tenant_id: tenantId,
            message: `@${w.username}: ${w.last_result} → ${res}`,
            data_json: JSON.stringify({ from: w.last_result, to: res }),
          }
        : null,
    );
    return changed;
  }
}
