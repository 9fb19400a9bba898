import type { ProxySpec } from '../domain/proxyUrl.js';
import { chooseDevice, DEFAULT_CHROME_VERSION, parseDevice } from '../instagram/device.js';
import type { HttpResponse } from '../instagram/http.js';
import {
  absorbSetCookies,
  apiMessage,
  browserHeaders,
  CURRENT_USER_PATH,
  loggedOut,
  profileVerdict,
  sessionJar,
  sessionVerified,
  type JarCookie,
} from '../instagram/webApi.js';
import {
  activeBackoffs,
  clearBackoff,
  igAccountEvent,
  igTenantOf,
  markIgUsed,
  igRequestsSince,
  recordIgRequest,
  throttleBackoff,
  updateIgAccount,
  updateIgAccountSealed,
  validSessions,
} from '../store/igAccounts.js';
import { igRoute } from '../store/proxies.js';
import { logSessionAttempt } from '../store/sessionHealth.js';
import { errorText, type CheckDeps } from './checkDeps.js';
import { proxiedGet } from './checkRoutes.js';

/** A tenant's Instagram session as check uses it. */
export interface Session {
  id: number;
  username: string;
  sessionid: string;
  proxy: ProxySpec | null;
  /** The session's whole cookie jar (sessionid, csrftoken, ds_user_id, mid, ig_did, rur…), kept current. */
  jar: Map<string, string>;
  userAgent: string;
  /** Throttle strikes for the kind it was chosen for (cleared after a request that works). */
  strikes: number;
  /** When an authenticated request last worked, as stored (last_verified_at). */
  verifiedAt: number | null;
  /** When check last sent a request with it, as stored (last_used_at). */
  usedAt: number | null;
}

/** `last_verified_at` is written at most once per session in this long (a busy session would write per request). */
export const VERIFIED_WRITE_EVERY_MS = 5 * 60_000;
/** `last_used_at` likewise, at most once a minute per session. */
export const USED_WRITE_EVERY_MS = 60_000;

/**
 * check's Instagram sessions: which one may send now (rate window, back-offs, its one proxy),
 * a request through it as a browser would send it, and what its answers mean for it (throttled,
 * logged out, blocked).
 */
export class IgSessions {
  constructor(
    private readonly deps: Pick<CheckDeps, 'store' | 'box' | 'clock' | 'log' | 'instagramUrl' | 'rate' | 'refresh'>,
  ) {}

  /** The tenant's best valid session with room in its rate window for `kind`, and not resting for it. */
  async pick(tenantId: number, kind: string, exclude: Set<number>): Promise<Session | null> {
    const { store, box, clock, log } = this.deps;
    const now = clock.now();
    for (const s of await validSessions(store, tenantId)) {
      if (exclude.has(s.id) || (s.rate_limited_until ?? 0) > now) continue;
      const backoff = (await activeBackoffs(store, s.id)).get(kind);
      if (backoff && backoff.until > now) continue;
      if ((await this.windowUse(s.id, kind, now)) >= this.deps.rate.requests) continue;
      // One identity: the proxy refresh-session logs this account in through; none usable → skip it.
      const route = await igRoute(store, box, s.id);
      if (route.kind === 'blocked') {
        log.debug('session not used', { session: s.username, why: route.why });
        exclude.add(s.id);
        continue;
      }
      const open = (v: string, column: string) => box.open(v, { table: 'ig_accounts', column, rowId: s.id });
      const sessionid = open(s.sessionid_enc!, 'sessionid_enc');
      let cookies: string | null = null;
      try {
        cookies = s.cookies_enc ? open(s.cookies_enc, 'cookies_enc') : null;
      } catch {
        cookies = null; // an unreadable jar: the sessionid alone
      }
      const jar = sessionJar(sessionid, cookies);
      let device = parseDevice(s.device_json);
      if (!device) {
        // Chosen once and kept: refresh-session's browser will show the same identity.
        device = chooseDevice(s.id, DEFAULT_CHROME_VERSION);
        await updateIgAccount(store, s.id, { device_json: JSON.stringify(device) }, { ifNoDevice: true });
      }
      return {
        id: s.id,
        username: s.username,
        sessionid,
        proxy: route.kind === 'proxy' ? route.proxy : null,
        jar,
        userAgent: device.userAgent,
        strikes: backoff?.strikes ?? 0,
        verifiedAt: s.last_verified_at,
        usedAt: s.last_used_at,
      };
    }
    return null;
  }

  /** Requests of `kind` the session made in the rate window ending now. */
  windowUse(igId: number, kind: string, now: number): Promise<number> {
    return igRequestsSince(this.deps.store, igId, kind, now - this.deps.rate.windowMs);
  }

  /** A GET with the session, counted in its window and (but verify probes) in its health figures. */
  async get(s: Session, kind: string, path: string): Promise<HttpResponse> {
    const { store, clock, instagramUrl } = this.deps;
    const now = clock.now();
    await recordIgRequest(store, s.id, kind, now);
    if (s.usedAt === null || now - s.usedAt >= USED_WRITE_EVERY_MS) {
      s.usedAt = now;
      await markIgUsed(store, s.id, now);
    }
    let ok = false;
    try {
      const res = await proxiedGet(
        this.deps,
        new URL(path, instagramUrl).toString(),
        browserHeaders(s.jar, s.userAgent, instagramUrl),
        s.proxy,
      );
      await this.absorbCookies(s, res);
      // A correct "not found" is an answer too: the session worked.
      ok = res.status === 200 || (kind === 'profile' && profileVerdict(res) === 'not_found');
      if (ok) await this.verified(s, now);
      return res;
    } finally {
      // Session-health figures: the check success rate per session (not the verify probes).
      if (kind !== 'verify') await logSessionAttempt(store, { igAccountId: s.id, what: 'check', at: now, ok });
    }
  }

  /**
   * An authenticated request worked: the session is verified now. Stored at most once per
   * VERIFIED_WRITE_EVERY_MS per session, so "last verified" means what it says without a write
   * per request.
   */
  private async verified(s: Session, now: number): Promise<void> {
    if (s.verifiedAt !== null && now - s.verifiedAt < VERIFIED_WRITE_EVERY_MS) return;
    s.verifiedAt = now;
    await updateIgAccount(this.deps.store, s.id, { last_verified_at: now });
  }

  /**
   * A 429 for `kind`: the session rests for this endpoint kind only (exponentially, as after a
   * throttling 401), not as a whole; other kinds go on with it.
   */
  async tooMany(s: Session, kind: string): Promise<void> {
    const b = await throttleBackoff(this.deps.store, s.id, kind, 'throttled (429)', this.deps.clock.now());
    this.deps.log.info('instagram throttled a live session', {
      session: s.username,
      kind,
      until: new Date(b.until).toISOString(),
      strikes: b.strikes,
    });
  }

  /** Keep the stored jar current from Set-Cookie (see absorbSetCookies). */
  private async absorbCookies(s: Session, res: HttpResponse): Promise<void> {
    if (!absorbSetCookies(s.jar, res)) return;
    const cookies: JarCookie[] = [...s.jar].map(([name, value]) => ({ name, value }));
    await updateIgAccountSealed(this.deps.store, this.deps.box, s.id, (box) => ({
      cookies_enc: box.seal(JSON.stringify(cookies), {
        table: 'ig_accounts',
        column: 'cookies_enc',
        rowId: s.id,
      }),
    }));
  }

  /** A request of `kind` worked: forget the session's throttle strikes for it. */
  async worked(s: Session, kind: string): Promise<void> {
    if (s.strikes > 0) {
      await clearBackoff(this.deps.store, s.id, kind);
      s.strikes = 0;
    }
  }

  /**
   * After a 401 / 302-to-login: does the session still work? Ask current_user with the same
   * cookies. Yes → Instagram throttled it: it rests for this endpoint kind (exponentially) and
   * the caller hands over. No (401/302/login_required) → a confirmed logout.
   */
  async confirmLogout(s: Session, kind: string, why: string): Promise<boolean> {
    let res: HttpResponse | null = null;
    try {
      res = await this.get(s, 'verify', CURRENT_USER_PATH);
    } catch (e) {
      this.deps.log.debug('session verify failed', { session: s.username, error: errorText(e) });
    }
    if (res && (loggedOut(res) || res.status === 403)) return true;
    const b = await throttleBackoff(
      this.deps.store,
      s.id,
      kind,
      sessionVerified(res) ? `throttled (${why}), session verified` : `throttled (${why})`,
      this.deps.clock.now(),
    );
    this.deps.log.info('instagram throttled a live session', {
      session: s.username,
      kind,
      until: new Date(b.until).toISOString(),
      strikes: b.strikes,
    });
    return false;
  }

  /** After a logged-out answer: refresh (at most 2 tries), else mark the session expired. */
  async lost(s: Session, tries: Map<number, number>): Promise<boolean> {
    const n = tries.get(s.id) ?? 0;
    if (this.deps.refresh && n < 2) {
      tries.set(s.id, n + 1);
      try {
        const r = await this.deps.refresh(s.id);
        if (r.status === 'refreshed') return true;
      } catch (e) {
        this.deps.log.warn('reactive refresh failed', { session: s.username, error: errorText(e) });
      }
    }
    // Expired, and due for refresh-session at once (a failed login sets its own back-off).
    const now = this.deps.clock.now();
    const changed = await updateIgAccount(
      this.deps.store,
      s.id,
      { state: 'expired', last_error: 'login_required', updated_at: now, next_refresh_at: now },
      { ifState: 'valid' },
    );
    // Said now, not when the 24 h stale alert comes: once, by the run that saw it go.
    if (changed) {
      const tenant = await igTenantOf(this.deps.store, s.id);
      await igAccountEvent(
        this.deps.store,
        {
          at: now,
          kind: 'ig_session_lost',
          subject_type: 'ig_account',
          subject_id: s.id,
          tenant_id: tenant.tenant_id,
          message: `${tenant.name}/${s.username}: session lost during check (logged out) → refresh-session logs it in at its next run (due now); if that fails, see acctctl ig list`,
          data_json: JSON.stringify({ reactiveRefreshes: tries.get(s.id) ?? 0 }),
        },
        null,
      );
    }
    return false;
  }

  /**
   * checkpoint_required / challenge_required on an API request: the session needs a person
   * (needs_manual); feedback_required: it pauses 12 h. Whether the answer was one of these.
   */
  async blocked(s: Session, res: HttpResponse): Promise<boolean> {
    const message = apiMessage(res);
    if (message === 'checkpoint_required' || message === 'challenge_required') {
      await this.backOff(s, 0, message, 'needs_manual');
      await updateIgAccount(this.deps.store, s.id, { next_refresh_at: null });
      return true;
    }
    if (message === 'feedback_required') {
      await this.backOff(s, 12 * 3_600_000, 'feedback_required');
      return true;
    }
    return false;
  }

  /** The session rests `ms` (0: only the error is noted), optionally moving to `state`. */
  async backOff(s: Session, ms: number, why: string, state?: string): Promise<void> {
    const now = this.deps.clock.now();
    await updateIgAccount(this.deps.store, s.id, {
      rate_limited_until: now + ms,
      last_error: why,
      updated_at: now,
      ...(state ? { state } : {}),
    });
  }
}
