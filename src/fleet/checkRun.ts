import { holderId } from './holder.js';
import { sql, type Kysely } from 'kysely';
import { randomInt } from 'node:crypto';
import type { Clock } from '../domain/clock.js';
import type { ApiProvider } from '../domain/providers.js';
import { providerUrl, readProvider } from '../domain/providers.js';
import type { ProxySpec } from '../domain/proxyUrl.js';
import type { VerifyMode } from '../domain/tenants.js';
import { chooseDevice, DEFAULT_CHROME_VERSION, parseDevice } from '../instagram/device.js';
import { HttpError, httpGet, type HttpResponse } from '../instagram/http.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { recordApiKeyUse, usableApiKeys } from '../store/apiKeys.js';
import { activeBackoffs, clearBackoff, throttleBackoff } from '../store/igAccounts.js';
import { igRoute, loadProxy, markProxy } from '../store/proxies.js';

/**
 * check (seeds 000 and 001): each tenant's due watches, through the methods of its verify mode,
 * with its own resources only. Tenants run in parallel and are isolated: one tenant's failure
 * never touches another's results. Follower/following fetches page through REST and save the
 * cursor and items after every page, so nothing fetched is ever lost and any valid session of
 * the tenant can resume.
 */
export type Method = 'api' | 'instagram' | 'proxy';
export type LookupResult = 'found' | 'not_found' | 'error';

export interface CheckDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  log: Logger;
  instagramUrl: string;
  providers: Map<string, ApiProvider>;
  rate: { requests: number; windowMs: number };
  /**
   * Refresh-session's login (shared lock + promise), when a browser is available: for a logout
   * confirmed on a 401/302, and for expired sessions of a tenant before it runs. Absent → a
   * confirmed logout only marks the session expired (and due for refresh-session at once).
   */
  refresh?: (igAccountId: number) => Promise<{ status: string }>;
  concurrency?: number;
}

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

const CHECK_INTERVAL_MS: Record<string, number> = {
  exists: 6 * 3_600_000,
  followers: 24 * 3_600_000,
  following: 24 * 3_600_000,
};
const RETRY_AFTER_ERROR_MS = 15 * 60_000;
const CURSOR_SHELF_LIFE_MS = 29 * 86_400_000;
const JOB_LEASE_MS = 2 * 60_000;
const APP_ID = '936619743392459';

export function methodsOf(mode: string): Method[] {
  return mode.split('+') as Method[];
}

interface Session {
  id: number;
  username: string;
  sessionid: string;
  proxy: ProxySpec | null;
  /** The session's whole cookie jar (sessionid, csrftoken, ds_user_id, mid, ig_did, rur…), kept current. */
  jar: Map<string, string>;
  userAgent: string;
  /** Throttle strikes for the kind it was chosen for (cleared after a request that works). */
  strikes: number;
}

interface JarCookie {
  name: string;
  value: string;
  domain?: string;
  path?: string;
  expires?: number;
  httpOnly?: boolean;
  secure?: boolean;
}

/** Set-Cookie headers → name, value, and whether it deletes the cookie. */
export function parseSetCookies(h: string | string[] | undefined): { name: string; value: string; remove: boolean }[] {
  const list = h === undefined ? [] : Array.isArray(h) ? h : [h];
  return list.flatMap((line) => {
    const [pair, ...attrs] = line.split(';');
    const i = pair!.indexOf('=');
    if (i <= 0) return [];
    const name = pair!.slice(0, i).trim();
    const value = pair!.slice(i + 1).trim();
    const remove =
      value === '' ||
      value === '""' ||
      attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a)) ||
      attrs.some((a) => /^\s*expires\s*=.*1970/i.test(a));
    return [{ name, value, remove }];
  });
}

export class Checker {
  constructor(private readonly deps: CheckDeps) {}

  async run(opts: { tenant?: string; batch?: number } = {}): Promise<TenantCheckResult[]> {
    let q = this.deps.store.db.selectFrom('tenants').select(['id', 'name', 'verify_mode']).orderBy('name');
    if (opts.tenant) q = q.where('name', '=', opts.tenant);
    const tenants = await q.execute();
    const results: TenantCheckResult[] = new Array(tenants.length);
    let next = 0;
    const worker = async () => {
      while (next < tenants.length) {
        const i = next++;
        const t = tenants[i]!;
        results[i] = await this.tenant(t.id, t.name, t.verify_mode as VerifyMode, opts.batch ?? 100);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.concurrency ?? 4, tenants.length) }, worker));
    return results;
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
      const now = this.deps.clock.now();
      const watches = await this.deps.store.db
        .selectFrom('watches')
        .select(['id', 'username', 'kind', 'last_result'])
        .where('tenant_id', '=', tenantId)
        .where((eb) => eb.or([eb('next_check_at', 'is', null), eb('next_check_at', '<=', now)]))
        .orderBy('next_check_at')
        .orderBy('id')
        .limit(batch)
        .execute();
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
          const res = await this.lookup(tenantId, mode, w.username);
          r.checked++;
          if (res === 'found') r.found++;
          else if (res === 'not_found') r.notFound++;
          else r.errors++;
          if (await this.recordResult(tenantId, w, res)) r.changed++;
        } else {
          const j = await this.fetchJob(
            tenantId,
            w as { id: number; username: string; kind: 'followers' | 'following'; last_result: string | null },
          );
          r.jobs.fetched += j.fetched;
          if (j.status === 'completed') r.jobs.completed++;
          else if (j.status === 'paused') r.jobs.paused++;
          else r.jobs.inProgress++;
        }
      }
    } catch (e) {
      r.error = e instanceof Error ? e.message : String(e);
      this.deps.log.error('tenant check failed', { tenant: name, error: r.error });
    }
    return r;
  }

  /**
   * Sessions come back: with a browser at hand (deps.refresh), the tenant's expired sessions whose
   * refresh is due (a failed login's back-off is honoured) are logged in again before anything is
   * skipped for want of a session. refresh-session's lock and shared promise keep it to one login.
   */
  private async bringBackSessions(tenantId: number, tenant: string): Promise<void> {
    if (!this.deps.refresh) return;
    const now = this.deps.clock.now();
    const due = await this.deps.store.db
      .selectFrom('ig_accounts')
      .select(['id', 'username'])
      .where('tenant_id', '=', tenantId)
      .where('state', '=', 'expired')
      .where('password_enc', 'is not', null)
      .where((eb) => eb.or([eb('next_refresh_at', 'is', null), eb('next_refresh_at', '<=', now)]))
      .orderBy('priority', 'desc')
      .orderBy('id')
      .execute();
    for (const a of due) {
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
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
  }

  /** What the tenant's mode needs and it does not have (null: all there). */
  private async missingResources(tenantId: number, mode: VerifyMode, needsSession: boolean): Promise<string | null> {
    const lacks: string[] = [];
    for (const m of methodsOf(mode)) {
      if (m === 'api') {
        const keys = await usableApiKeys(this.deps.store, tenantId, this.deps.clock.now());
        if (keys.length === 0)
          lacks.push('no healthy API key (acctctl apikeys import; keys out of quota come back after an hour)');
        else if (!keys.some((k) => this.deps.providers.has(k.provider)))
          lacks.push(`no configured provider for its API keys (ACCTCTL_API_PROVIDERS)`);
      }
      if (m === 'instagram') {
        if (!(await this.anySession(tenantId)))
          lacks.push('no valid Instagram session (acctctl ig import / refresh-session)');
        else {
          const why = await this.sessionsBlocked(tenantId);
          if (why) lacks.push(`its Instagram sessions send nothing: ${why}`);
        }
      }
      if (m === 'proxy' && !(await this.tenantProxy(tenantId)))
        lacks.push('no healthy proxy (acctctl proxies import --tenant)');
    }
    if (needsSession && !methodsOf(mode).includes('instagram') && !(await this.anySession(tenantId))) {
      lacks.push('follower checks need a valid Instagram session');
    }
    return lacks.length ? `mode ${mode}: ${lacks.join('; ')}` : null;
  }

  private async anySession(tenantId: number): Promise<boolean> {
    const r = await this.deps.store.db
      .selectFrom('ig_accounts')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('state', '=', 'valid')
      .where('sessionid_enc', 'is not', null)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Why none of the tenant's valid sessions may send anything (its one proxy unusable), or null. */
  private async sessionsBlocked(tenantId: number): Promise<string | null> {
    const rows = await this.deps.store.db
      .selectFrom('ig_accounts')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('state', '=', 'valid')
      .where('sessionid_enc', 'is not', null)
      .execute();
    let why: string | null = null;
    for (const r of rows) {
      const route = await igRoute(this.deps.store, this.deps.box, r.id);
      if (route.kind !== 'blocked') return null;
      why ??= route.why;
    }
    return why;
  }

  private proxyRow(id: number): Promise<ProxySpec | null> {
    return loadProxy(this.deps.store, this.deps.box, id);
  }

  /**
   * The proxy the tenant's traffic goes through: `none` when it has none (direct), `down` when it
   * has proxies but none is healthy — then nothing may go out at all (fail closed, never direct).
   */
  private async tenantRoute(
    tenantId: number,
  ): Promise<{ kind: 'none' } | { kind: 'down' } | { kind: 'ok'; proxy: ProxySpec }> {
    const all = await this.deps.store.db
      .selectFrom('proxies')
      .select(['id', 'healthy'])
      .where('tenant_id', '=', tenantId)
      .where('scheme', 'in', ['http', 'socks5', 'socks4'])
      .orderBy('fail_count')
      .orderBy('id')
      .execute();
    if (all.length === 0) return { kind: 'none' };
    const healthy = all.find((p) => p.healthy === 1);
    const proxy = healthy ? await this.proxyRow(healthy.id) : null;
    return proxy ? { kind: 'ok', proxy } : { kind: 'down' };
  }

  private async tenantProxy(tenantId: number): Promise<ProxySpec | null> {
    const r = await this.tenantRoute(tenantId);
    return r.kind === 'ok' ? r.proxy : null;
  }

  /** The tenant's best valid session with room in its rate window for `kind`, and not resting for it. */
  private async session(tenantId: number, kind: string, exclude: Set<number>): Promise<Session | null> {
    const now = this.deps.clock.now();
    const rows = await this.deps.store.db
      .selectFrom('ig_accounts')
      .select(['id', 'username', 'sessionid_enc', 'cookies_enc', 'device_json', 'rate_limited_until'])
      .where('tenant_id', '=', tenantId)
      .where('state', '=', 'valid')
      .where('sessionid_enc', 'is not', null)
      .orderBy('priority', 'desc')
      .orderBy('id')
      .execute();
    for (const s of rows) {
      if (exclude.has(s.id) || (s.rate_limited_until ?? 0) > now) continue;
      const backoff = (await activeBackoffs(this.deps.store, s.id)).get(kind);
      if (backoff && backoff.until > now) continue;
      if ((await this.windowUse(s.id, kind, now)) >= this.deps.rate.requests) continue;
      // One identity: the proxy refresh-session logs this account in through; none usable → skip it.
      const route = await igRoute(this.deps.store, this.deps.box, s.id);
      if (route.kind === 'blocked') {
        this.deps.log.debug('session not used', { session: s.username, why: route.why });
        exclude.add(s.id);
        continue;
      }
      const open = (v: string, column: string) => this.deps.box.open(v, { table: 'ig_accounts', column, rowId: s.id });
      const sessionid = open(s.sessionid_enc!, 'sessionid_enc');
      const jar = new Map<string, string>();
      if (s.cookies_enc) {
        try {
          for (const c of JSON.parse(open(s.cookies_enc, 'cookies_enc')) as JarCookie[]) jar.set(c.name, c.value);
        } catch {
          jar.clear();
        }
      }
      jar.set('sessionid', sessionid);
      if (!jar.has('ds_user_id')) {
        const uid = /^(\d+)(?:%3A|:)/.exec(sessionid)?.[1];
        if (uid) jar.set('ds_user_id', uid);
      }
      let device = parseDevice(s.device_json);
      if (!device) {
        // Chosen once and kept: refresh-session's browser will show the same identity.
        device = chooseDevice(s.id, DEFAULT_CHROME_VERSION);
        await this.deps.store.db
          .updateTable('ig_accounts')
          .set({ device_json: JSON.stringify(device) })
          .where('id', '=', s.id)
          .where('device_json', 'is', null)
          .execute();
      }
      return {
        id: s.id,
        username: s.username,
        sessionid,
        proxy: route.kind === 'proxy' ? route.proxy : null,
        jar,
        userAgent: device.userAgent,
        strikes: backoff?.strikes ?? 0,
      };
    }
    return null;
  }

  async windowUse(igId: number, kind: string, now: number): Promise<number> {
    const r = await this.deps.store.db
      .selectFrom('ig_requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('ig_account_id', '=', igId)
      .where('kind', '=', kind)
      .where('at', '>', now - this.deps.rate.windowMs)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** HTTP through a proxy, recording the proxy's health (a proxy failure is never retried direct). */
  private async http(url: string, headers: Record<string, string>, proxy: ProxySpec | null): Promise<HttpResponse> {
    const now = this.deps.clock.now();
    try {
      const r = await httpGet(url, { headers, proxy });
      await markProxy(this.deps.store, proxy, true, now);
      return r;
    } catch (e) {
      if (e instanceof HttpError && e.kind === 'proxy') await markProxy(this.deps.store, proxy, false, now, e.message);
      throw e;
    }
  }

  /** What a browser sends with an XHR to Instagram's web API, for this session (reference §1.3, §3.2). */
  private browserHeaders(s: Session): Record<string, string> {
    const csrftoken = s.jar.get('csrftoken');
    return {
      accept: '*/*',
      'accept-language': 'en-US,en;q=0.9',
      cookie: [...s.jar].map(([k, v]) => `${k}=${v}`).join('; '),
      ...(csrftoken ? { 'x-csrftoken': csrftoken } : {}),
      'x-ig-app-id': APP_ID,
      'x-asbd-id': '129477',
      'x-ig-www-claim': '0',
      'x-requested-with': 'XMLHttpRequest',
      referer: new URL('/', this.deps.instagramUrl).toString(),
      'user-agent': s.userAgent,
    };
  }

  /**
   * Keep the jar current from Set-Cookie (csrftoken and rur rotate). A deletion of the session's
   * own cookies is not taken on trust: whether the session lives is for current_user to say.
   */
  private async absorbCookies(s: Session, res: HttpResponse): Promise<void> {
    let changed = false;
    for (const c of parseSetCookies(res.headers['set-cookie'])) {
      if (c.remove) {
        if (c.name !== 'sessionid' && c.name !== 'ds_user_id' && s.jar.delete(c.name)) changed = true;
      } else if (c.name !== 'sessionid' && s.jar.get(c.name) !== c.value) {
        s.jar.set(c.name, c.value);
        changed = true;
      }
    }
    if (!changed) return;
    const cookies: JarCookie[] = [...s.jar].map(([name, value]) => ({ name, value }));
    await this.deps.store.db
      .updateTable('ig_accounts')
      .set({
        cookies_enc: this.deps.box.seal(JSON.stringify(cookies), {
          table: 'ig_accounts',
          column: 'cookies_enc',
          rowId: s.id,
        }),
      })
      .where('id', '=', s.id)
      .execute();
  }

  private async igGet(s: Session, kind: string, path: string): Promise<HttpResponse> {
    const now = this.deps.clock.now();
    await this.deps.store.db.insertInto('ig_requests').values({ ig_account_id: s.id, kind, at: now }).execute();
    let ok = false;
    try {
      const res = await this.http(new URL(path, this.deps.instagramUrl).toString(), this.browserHeaders(s), s.proxy);
      await this.absorbCookies(s, res);
      ok = res.status === 200;
      return res;
    } finally {
      // Session-health figures: the check success rate per session (not the verify probes).
      if (kind !== 'verify') {
        await this.deps.store.db
          .insertInto('ig_session_log')
          .values({ ig_account_id: s.id, what: 'check', at: now, ok: ok ? 1 : 0 })
          .execute();
      }
    }
  }

  /** A request of `kind` worked: forget the session's throttle strikes for it. */
  private async worked(s: Session, kind: string): Promise<void> {
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
  private async confirmLogout(s: Session, kind: string, why: string): Promise<boolean> {
    let res: HttpResponse | null = null;
    try {
      res = await this.igGet(s, 'verify', '/api/v1/accounts/current_user/?edit=true');
    } catch (e) {
      this.deps.log.debug('session verify failed', {
        session: s.username,
        error: e instanceof Error ? e.message : String(e),
      });
    }
    const body = res?.json as { status?: string } | undefined;
    if (res && (Checker.loggedOut(res) || res.status === 403)) return true;
    const b = await throttleBackoff(
      this.deps.store,
      s.id,
      kind,
      res?.status === 200 && body?.status === 'ok' ? `throttled (${why}), session verified` : `throttled (${why})`,
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

  /** 401, 302 to login, login_required: the session is no good. */
  private static loggedOut(r: HttpResponse): boolean {
    const body = r.json as { require_login?: boolean; message?: string } | undefined;
    return (
      r.status === 401 ||
      (r.status === 302 && /\/accounts\/login/.test(String(r.headers.location ?? ''))) ||
      body?.message === 'login_required' ||
      body?.require_login === true
    );
  }

  /** After a logged-out answer: refresh (at most 2 tries), else mark the session expired. */
  private async sessionLost(s: Session, tries: Map<number, number>): Promise<boolean> {
    const n = tries.get(s.id) ?? 0;
    if (this.deps.refresh && n < 2) {
      tries.set(s.id, n + 1);
      try {
        const r = await this.deps.refresh(s.id);
        if (r.status === 'refreshed') return true;
      } catch (e) {
        this.deps.log.warn('reactive refresh failed', {
          session: s.username,
          error: e instanceof Error ? e.message : String(e),
        });
      }
    }
    // Expired, and due for refresh-session at once (a failed login sets its own back-off).
    const now = this.deps.clock.now();
    await this.deps.store.db
      .updateTable('ig_accounts')
      .set({ state: 'expired', last_error: 'login_required', updated_at: now, next_refresh_at: now })
      .where('id', '=', s.id)
      .where('state', '=', 'valid')
      .execute();
    return false;
  }

  /**
   * checkpoint_required / challenge_required on an API request: the session needs a person
   * (needs_manual); feedback_required: it pauses 12 h. Whether the answer was one of these.
   */
  private async blocked(s: Session, res: HttpResponse): Promise<boolean> {
    const message = (res.json as { message?: unknown } | undefined)?.message;
    if (message === 'checkpoint_required' || message === 'challenge_required') {
      await this.backOff(s, 0, message, 'needs_manual');
      await this.deps.store.db
        .updateTable('ig_accounts')
        .set({ next_refresh_at: null })
        .where('id', '=', s.id)
        .execute();
      return true;
    }
    if (message === 'feedback_required') {
      await this.backOff(s, 12 * 3_600_000, 'feedback_required');
      return true;
    }
    return false;
  }

  private async backOff(s: Session, ms: number, why: string, state?: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.db
      .updateTable('ig_accounts')
      .set({ rate_limited_until: now + ms, last_error: why, updated_at: now, ...(state ? { state } : {}) })
      .where('id', '=', s.id)
      .execute();
  }

  private async lookup(tenantId: number, mode: VerifyMode, username: string): Promise<LookupResult> {
    for (const m of methodsOf(mode)) {
      try {
        const r =
          m === 'api'
            ? await this.viaApi(tenantId, username)
            : m === 'instagram'
              ? await this.viaSession(tenantId, username)
              : await this.viaProxy(tenantId, username);
        if (r !== 'error') return r;
      } catch (e) {
        this.deps.log.debug('lookup method failed', { method: m, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return 'error';
  }

  private async viaApi(tenantId: number, username: string): Promise<LookupResult> {
    const keys = await usableApiKeys(this.deps.store, tenantId, this.deps.clock.now());
    const route = await this.tenantRoute(tenantId);
    if (route.kind === 'down') return 'error'; // fail closed: never direct
    const proxy = route.kind === 'ok' ? route.proxy : null;
    for (const k of keys) {
      const p = this.deps.providers.get(k.provider);
      if (!p) continue;
      const key = this.deps.box.open(k.key_enc, { table: 'api_keys', column: 'key_enc', rowId: k.id });
      const res = await this.http(providerUrl(p, username), { [p.keyHeader]: key }, proxy);
      const verdict = readProvider(p, res.status, res.json);
      // Out of quota: the key rests (until its quota resets) and the next one is used.
      await recordApiKeyUse(
        this.deps.store,
        k,
        { quota: verdict === 'quota', status: res.status },
        this.deps.clock.now(),
      );
      if (verdict === 'quota') continue;
      return verdict === 'error' ? 'error' : verdict;
    }
    return 'error';
  }

  private static profile(res: HttpResponse): LookupResult | 'logged_out' | 'throttled' {
    if (Checker.loggedOut(res)) return 'logged_out';
    if (res.status === 429) return 'throttled';
    if (res.status === 404) return 'not_found';
    const j = res.json as { data?: { user?: unknown }; status?: string } | undefined;
    if (res.status === 200 && j?.data && 'user' in j.data) return j.data.user ? 'found' : 'not_found';
    return 'error';
  }

  /**
   * A profile lookup with the tenant's sessions: a logged-out session is refreshed or given up,
   * a throttled one rests, network trouble moves on to the next; `error` when none is left.
   */
  private async profileWithSession(
    tenantId: number,
    username: string,
  ): Promise<{ verdict: LookupResult; userId: string | null }> {
    const tried = new Set<number>();
    const tries = new Map<number, number>();
    for (;;) {
      const s = await this.session(tenantId, 'profile', tried);
      if (!s) return { verdict: 'error', userId: null };
      let res: HttpResponse;
      try {
        res = await this.igGet(
          s,
          'profile',
          `/api/v1/users/web_profile_info/?username=${encodeURIComponent(username)}`,
        );
      } catch (e) {
        // Network or proxy trouble (fail closed): try another session.
        this.deps.log.debug('profile lookup failed', {
          session: s.username,
          error: e instanceof Error ? e.message : String(e),
        });
        tried.add(s.id);
        continue;
      }
      const v = Checker.profile(res);
      if (v === 'logged_out') {
        if (!(await this.confirmLogout(s, 'profile', String(res.status)))) tried.add(s.id);
        else if (!(await this.sessionLost(s, tries))) tried.add(s.id);
        continue;
      }
      if (await this.blocked(s, res)) {
        tried.add(s.id);
        continue;
      }
      if (v === 'throttled') {
        await this.backOff(s, this.deps.rate.windowMs, '429');
        tried.add(s.id);
        continue;
      }
      if (v !== 'error') await this.worked(s, 'profile');
      const id = (res.json as { data?: { user?: { id?: unknown } | null } } | undefined)?.data?.user?.id;
      return { verdict: v, userId: v === 'found' && id !== undefined && id !== null ? String(id) : null };
    }
  }

  private async viaSession(tenantId: number, username: string): Promise<LookupResult> {
    return (await this.profileWithSession(tenantId, username)).verdict;
  }

  private async viaProxy(tenantId: number, username: string): Promise<LookupResult> {
    const proxy = await this.tenantProxy(tenantId);
    if (!proxy) return 'error';
    const res = await this.http(
      new URL(
        `/api/v1/users/web_profile_info/?username=${encodeURIComponent(username)}`,
        this.deps.instagramUrl,
      ).toString(),
      { 'x-ig-app-id': APP_ID, 'x-requested-with': 'XMLHttpRequest' },
      proxy,
    );
    const v = Checker.profile(res);
    return v === 'found' || v === 'not_found' ? v : 'error';
  }

  /** Store a lookup's result; a change writes an event. Returns whether it changed. */
  private async recordResult(
    tenantId: number,
    w: { id: number; username: string; kind: string; last_result: string | null },
    res: LookupResult,
  ): Promise<boolean> {
    const now = this.deps.clock.now();
    const changed = res !== 'error' && w.last_result !== null && w.last_result !== res;
    await this.deps.store.writeTx(async (tx) => {
      await tx
        .updateTable('watches')
        .set({
          last_result: res === 'error' && w.last_result && w.last_result !== 'error' ? w.last_result : res,
          checked_at: now,
          next_check_at:
            now + (res === 'error' ? RETRY_AFTER_ERROR_MS : (CHECK_INTERVAL_MS[w.kind] ?? CHECK_INTERVAL_MS.exists!)),
          ...(changed || w.last_result === null ? { changed_at: now } : {}),
        })
        .where('id', '=', w.id)
        .execute();
      if (changed) {
        await tx
          .insertInto('events')
          .values({
            at: now,
            kind: 'watch_changed',
            subject_type: 'watch',
            subject_id: w.id,
            tenant_id: tenantId,
            message: `@${w.username}: ${w.last_result} → ${res}`,
            data_json: JSON.stringify({ from: w.last_result, to: res }),
          })
          .execute();
      }
    });
    return changed;
  }

  // ------------------------------------------------------------------------------------------
  // Follower / following fetches

  private async claimJob(tx: Kysely<Database>, jobId: number, token: number, now: number): Promise<boolean> {
    const r =
      await sql`update check_jobs set lease_holder = ${holderId('check')}, lease_token = ${token}, lease_expires_at = ${now + JOB_LEASE_MS}
      where id = ${jobId} and (lease_holder is null or lease_expires_at <= ${now})`.execute(tx);
    return Number(r.numAffectedRows ?? 0n) === 1;
  }

  private async fetchJob(
    tenantId: number,
    w: { id: number; username: string; kind: 'followers' | 'following'; last_result: string | null },
  ): Promise<{ status: string; fetched: number }> {
    const { store, clock, log } = this.deps;
    const token = randomInt(1, 2 ** 47);
    let job = await store.db
      .selectFrom('check_jobs')
      .selectAll()
      .where('watch_id', '=', w.id)
      .where('status', 'in', ['in_progress', 'paused'])
      .orderBy('id', 'desc')
      .executeTakeFirst();
    const tried = new Set<number>();
    const tries = new Map<number, number>();
    if (!job) {
      // Resolve the user id first (one profile lookup with a session).
      const found = await this.profileWithSession(tenantId, w.username);
      if (found.verdict === 'not_found') {
        await this.recordResult(tenantId, w, 'not_found');
        return { status: 'completed', fetched: 0 };
      }
      if (found.verdict === 'error' || found.userId === null) return { status: 'paused', fetched: 0 };
      const userId = found.userId;
      const now = clock.now();
      job = await store.db
        .insertInto('check_jobs')
        .values({
          watch_id: w.id,
          kind: w.kind,
          status: 'in_progress',
          cursor: null,
          cursor_expires_at: null,
          expected_total: null,
          ig_account_id: null,
          lease_holder: null,
          lease_token: null,
          lease_expires_at: null,
          last_error: null,
          started_at: now,
          updated_at: now,
          completed_at: null,
          target_user_id: userId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
    }
    const jobId = job.id;
    if (!(await store.writeTx((tx) => this.claimJob(tx, jobId, token, clock.now()))))
      return { status: job.status, fetched: 0 };
    let cursor = job.cursor;
    if (job.cursor_expires_at !== null && job.cursor_expires_at < clock.now()) {
      log.info('cursor past its best-before: paging again from the start (items kept)', { job: jobId });
      cursor = null;
    }
    let fetched = 0;
    let status = 'in_progress';
    let lastError: string | null = null;
    for (;;) {
      const s = await this.session(tenantId, 'friendships', tried);
      if (!s) {
        status = 'paused';
        lastError = lastError ?? 'no session with room in its rate window';
        break;
      }
      let res: HttpResponse;
      try {
        res = await this.igGet(
          s,
          'friendships',
          `/api/v1/friendships/${job.target_user_id}/${w.kind}/?count=12${cursor ? `&max_id=${encodeURIComponent(cursor)}` : ''}&search_surface=follow_list_page`,
        );
      } catch (e) {
        status = 'paused';
        lastError = e instanceof HttpError ? e.message : String(e);
        break;
      }
      if (Checker.loggedOut(res)) {
        if (!(await this.confirmLogout(s, 'friendships', String(res.status)))) {
          lastError = `throttled (${res.status})`;
          tried.add(s.id);
          continue;
        }
        lastError = 'login_required';
        if (!(await this.sessionLost(s, tries))) tried.add(s.id);
        continue;
      }
      const body = res.json as
        | {
            users?: {
              pk?: number | string;
              pk_id?: string;
              username?: string;
              full_name?: string;
              is_private?: boolean;
            }[];
            next_max_id?: string | number;
            message?: string;
          }
        | undefined;
      if (res.status === 429) {
        lastError = '429';
        await this.backOff(s, this.deps.rate.windowMs, '429');
        tried.add(s.id);
        continue;
      }
      if (await this.blocked(s, res)) {
        lastError = body?.message ?? String(res.status);
        tried.add(s.id);
        continue;
      }
      if (res.status !== 200 || !Array.isArray(body?.users)) {
        status = 'paused';
        lastError = `unexpected answer ${res.status}`;
        break;
      }
      const next =
        body.next_max_id === undefined || body.next_max_id === null || body.next_max_id === ''
          ? null
          : String(body.next_max_id);
      const users = body.users
        .map((u) => ({
          id: String(u.pk_id ?? u.pk),
          username: u.username ?? null,
          fullName: typeof u.full_name === 'string' ? u.full_name : null,
          isPrivate: typeof u.is_private === 'boolean' ? (u.is_private ? 1 : 0) : null,
        }))
        .filter((u) => u.id !== 'undefined');
      const now = clock.now();
      // Items and cursor in one transaction, fenced by our lease token.
      const ok = await store.writeTx(async (tx) => {
        const held = await tx
          .selectFrom('check_jobs')
          .select('id')
          .where('id', '=', jobId)
          .where('lease_token', '=', token)
          .executeTakeFirst();
        if (!held) return false;
        if (users.length) {
          await tx
            .insertInto('check_job_items')
            .values(
              users.map((u) => ({
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
            cursor: next,
            cursor_expires_at: now + CURSOR_SHELF_LIFE_MS,
            fetched: Number(count?.n ?? 0),
            ig_account_id: s.id,
            updated_at: now,
            lease_expires_at: now + JOB_LEASE_MS,
            status: 'in_progress',
            last_error: null,
          })
          .where('id', '=', jobId)
          .execute();
        return true;
      });
      if (!ok) return { status: 'in_progress', fetched };
      await this.worked(s, 'friendships');
      fetched += users.length;
      log.debug('page saved', { job: jobId, page: users.length, cursor: next ?? 'end' });
      cursor = next;
      if (next === null) {
        status = 'completed';
        break;
      }
    }
    const now = clock.now();
    await store.writeTx(async (tx) => {
      if (status === 'completed') await this.complete(tx, tenantId, w, jobId, now);
      else {
        await tx
          .updateTable('check_jobs')
          .set({
            status,
            last_error: lastError,
            updated_at: now,
            lease_holder: null,
            lease_token: null,
            lease_expires_at: null,
          })
          .where('id', '=', jobId)
          .where('lease_token', '=', token)
          .execute();
      }
    });
    return { status, fetched };
  }

  /** Completion: the difference from the previous completed snapshot becomes an event. */
  private async complete(
    tx: Kysely<Database>,
    tenantId: number,
    w: { id: number; username: string; kind: string },
    jobId: number,
    now: number,
  ): Promise<void> {
    const prev = await tx
      .selectFrom('check_jobs')
      .select('id')
      .where('watch_id', '=', w.id)
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
        .values({
          at: now,
          kind: `${w.kind}_diff`,
          subject_type: 'watch',
          subject_id: w.id,
          tenant_id: tenantId,
          message: `@${w.username} ${w.kind}: +${gained.rows.length} new, -${lost.rows.length} lost (${total} now)`,
          data_json: JSON.stringify({ new: gained.rows.slice(0, 1000), lost: lost.rows.slice(0, 1000), total }),
        })
        .execute();
      // The previous snapshot stays (watch followers --new/--lost); reset-limits prunes old ones.
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
      .set({
        last_result: 'found',
        checked_at: now,
        next_check_at: now + (CHECK_INTERVAL_MS[w.kind] ?? 0),
        changed_at: now,
      })
      .where('id', '=', w.id)
      .execute();
  }
}
