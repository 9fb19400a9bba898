import { holderId } from './holder.js';
import type { EventKind } from '../domain/events.js';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { UnavailableError } from '../errors.js';
import type { BrowserLogin, BrowserLoginRequest, LoginOutcome } from '../instagram/browser.js';
import { chooseDevice, DEFAULT_CHROME_VERSION, parseDevice, type StorageState } from '../instagram/device.js';
import type { HttpLogin } from '../instagram/httpLogin.js';
import { BrowserLoginError } from '../instagram/loginAnswers.js';
import { totpCode } from '../instagram/totp.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import { acquireLock, lockHeld, releaseLock } from '../store/locks.js';
import type { Store } from '../store/store.js';
import type { NewEvent } from '../store/events.js';
import {
  igAccountEvent,
  igLoginRows,
  igRefreshState,
  updateIgAccount,
  updateIgAccountSealed,
  type IgLoginRow,
} from '../store/igAccounts.js';
import { igRoute } from '../store/proxies.js';
import { logSessionAttempt } from '../store/sessionHealth.js';

export const REFRESH_EVERY_MS = 2 * 24 * 3_600_000;
const JITTER = 0.1;
const LOCK_TTL_MS = 5 * 60_000;
const BACKOFF_BASE_MS = 15 * 60_000;
const BACKOFF_MAX_MS = 12 * 3_600_000;
/** After this many failures in a row the account needs a person. */
export const MAX_FAILURES = 5;

export type RefreshStatus = 'refreshed' | 'needs_manual' | 'failed' | 'backing_off' | 'locked' | 'skipped';

export interface RefreshResult {
  tenant: string;
  username: string;
  status: RefreshStatus;
  detail: string | null;
  nextRefreshAt: number | null;
}

export interface RefreshDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  log: Logger;
  login: BrowserLogin;
  instagramUrl: string;
  chromiumPath: string | undefined;
  playwrightBrowsersPath?: string | undefined;
  /**
   * Where older acctctl versions kept a persistent Chromium profile per account: a directory
   * found there is read into the store once (encrypted) and deleted.
   */
  legacyProfileRoot?: string;
  extraArgs?: string[];
  /** Delay before each typed key (default: the login's human-like 40–160 ms; tests: 0). */
  keyDelayMs?: () => number;
  /** The waits after a successful login (default: the login's own; tests: shorter). */
  settle?: BrowserLoginRequest['settle'];
  /** A Chromium already launched (tests: one per file); each login gets a fresh context in it. */
  browser?: BrowserLoginRequest['browser'];
  /**
   * The time a browser login's 2FA step reads and its wait for the next TOTP window after a
   * refused code (default: real time; tests: simulated, so no real 30 s passes).
   */
  totpTime?: { nowMs: () => number; sleep: (ms: number) => Promise<void> };
  /** Wait used while another process holds an account's lock (reactive path). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The browserless login (../instagram/httpLogin.ts), for tenants that opted in
   * (`tenants set T --login-fallback http`): used only when the browser failed for a technical
   * reason before Instagram answered, and only through the account's proxy. Absent: none.
   */
  httpLogin?: HttpLogin;
}

/** How a login was made: the browser, or the HTTP fallback. */
export type LoginVia = 'browser' | 'http';

type IgRow = IgLoginRow;

function jitter(ms: number, seed: number): number {
  const f = 1 - JITTER + (((seed * 2654435761) % 1000) / 1000) * 2 * JITTER;
  return Math.round(ms * f);
}

/**
 * refresh-session: log Instagram accounts in again with a real browser before their
 * sessions die (proactive), or when check hits a 401 (reactive). One login per account at a
 * time: a lock in the store across processes, and one shared promise within a process.
 */
export class SessionRefresher {
  private readonly inFlight = new Map<number, Promise<RefreshResult>>();
  constructor(private readonly deps: RefreshDeps) {}

  private rows(where: {
    due?: number;
    username?: string | undefined;
    all?: boolean | undefined;
    id?: number;
  }): Promise<IgRow[]> {
    return igLoginRows(this.deps.store, where);
  }

  /** Due accounts (next_refresh_at passed), one account, or all. */
  async refresh(opts: { account?: string; all?: boolean } = {}): Promise<RefreshResult[]> {
    const rows = await this.rows({ due: this.deps.clock.now(), username: opts.account, all: opts.all });
    const out: RefreshResult[] = [];
    for (const r of rows) out.push(await this.refreshOne(r.id));
    return out;
  }

  /** The reactive path: `check` calls this on a 401; concurrent callers share one login. */
  async reactive(igAccountId: number): Promise<RefreshResult> {
    return this.refreshOne(igAccountId, { waitForOther: true });
  }

  refreshOne(id: number, opts: { waitForOther?: boolean } = {}): Promise<RefreshResult> {
    const running = this.inFlight.get(id);
    if (running) return running;
    const p = this.doRefresh(id, opts).finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, p);
    return p;
  }

  /** The browser state to restore: the stored state, its cookies brought up to date from check's jar. */
  private restoredState(row: IgRow): StorageState | null {
    const open = (v: string | null, column: string) =>
      v === null ? null : this.deps.box.open(v, { table: 'ig_accounts', column, rowId: row.id });
    try {
      const state = JSON.parse(open(row.browser_state_enc, 'browser_state_enc') ?? 'null') as StorageState | null;
      const jar = JSON.parse(open(row.cookies_enc, 'cookies_enc') ?? '[]') as { name: string; value: string }[];
      if (!state) return null;
      const latest = new Map(jar.map((c) => [c.name, c.value]));
      return {
        ...state,
        cookies: state.cookies.map((c) => (latest.has(c.name) ? { ...c, value: latest.get(c.name)! } : c)),
      };
    } catch {
      return null;
    }
  }

  private async doRefresh(id: number, opts: { waitForOther?: boolean }): Promise<RefreshResult> {
    const { store, clock, box, log } = this.deps;
    const [row] = await this.rows({ id });
    if (!row) throw new UnavailableError(`Instagram account ${id} no longer exists`);
    const base = { tenant: row.tenant, username: row.username };
    if (row.disabled_at !== null) {
      return {
        ...base,
        status: 'skipped',
        detail: `disabled by an operator: nothing sent → \`acctctl ig enable ${row.username} --tenant ${row.tenant}\` first`,
        nextRefreshAt: null,
      };
    }
    const trigger = opts.waitForOther ? 'reactive' : 'proactive';
    const lockName = `ig-refresh:${id}`;
    const holder = holderId('refresh-session');
    let token = await acquireLock(store, lockName, holder, LOCK_TTL_MS, clock.now());
    if (token === null) {
      if (!opts.waitForOther)
        return { ...base, status: 'locked', detail: 'another run is logging this account in', nextRefreshAt: null };
      // Another process is logging in: wait for it and use its session.
      const sleep = this.deps.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
      while (await lockHeld(store, lockName, clock.now())) await sleep(500);
      const after = await igRefreshState(store, id);
      return {
        ...base,
        status: after.state === 'valid' ? 'refreshed' : 'skipped',
        detail: 'logged in by another run',
        nextRefreshAt: after.next_refresh_at,
      };
    }
    try {
      if (!row.password_enc) {
        return await this.finish(
          row,
          {
            kind: 'error',
            message: 'no password stored → ig import it again with a password',
          },
          trigger,
        );
      }
      // One identity: the same proxy check uses; none usable where one is configured → nothing is sent.
      const route = await igRoute(store, box, id);
      if (route.kind === 'blocked') {
        await updateIgAccount(store, id, {
          last_error: `not sent: ${route.why}`.slice(0, 300),
          updated_at: clock.now(),
        });
        log.warn('instagram login not sent', { tenant: row.tenant, username: row.username, why: route.why });
        return { ...base, status: 'skipped', detail: `nothing sent: ${route.why}`, nextRefreshAt: null };
      }
      await updateIgAccount(store, id, { state: 'refreshing', updated_at: clock.now() });
      const password = box.open(row.password_enc, { table: 'ig_accounts', column: 'password_enc', rowId: id });
      const secret = row.totp_secret_enc
        ? box.open(row.totp_secret_enc, { table: 'ig_accounts', column: 'totp_secret_enc', rowId: id })
        : null;
      let outcome: LoginOutcome;
      let via: LoginVia = 'browser';
      let fellBack: string | null = null;
      try {
        outcome = await this.deps.login({
          baseUrl: this.deps.instagramUrl,
          username: row.username,
          password,
          totp: secret ? (t) => totpCode(secret, t) : null,
          proxy: route.kind === 'proxy' ? route.proxy : null,
          storageState: this.restoredState(row),
          device: parseDevice(row.device_json),
          deviceSeed: row.id,
          ...(this.deps.legacyProfileRoot
            ? { legacyProfileDir: join(this.deps.legacyProfileRoot, `${row.tenant}-${row.username}`) }
            : {}),
          chromiumPath: this.deps.chromiumPath,
          playwrightBrowsersPath: this.deps.playwrightBrowsersPath,
          ...(this.deps.extraArgs ? { extraArgs: this.deps.extraArgs } : {}),
          ...(this.deps.keyDelayMs ? { keyDelayMs: this.deps.keyDelayMs } : {}),
          ...(this.deps.settle ? { settle: this.deps.settle } : {}),
          ...(this.deps.browser ? { browser: this.deps.browser } : {}),
          ...(this.deps.totpTime ? { nowMs: this.deps.totpTime.nowMs, sleep: this.deps.totpTime.sleep } : {}),
        });
      } catch (e) {
        const why = e instanceof Error ? e.message.split('\n')[0]! : String(e);
        const fallback = this.fallbackFor(row, e, route);
        if (fallback.use) {
          // The browser could not even ask: log in over HTTP, the same route and device.
          log.warn('browser login failed, logging in over HTTP', {
            tenant: row.tenant,
            username: row.username,
            reason: (e as BrowserLoginError).reason,
            error: why,
          });
          via = 'http';
          fellBack = why;
          outcome = await this.deps.httpLogin!({
            baseUrl: this.deps.instagramUrl,
            username: row.username,
            password,
            totp: secret ? (t) => totpCode(secret, t) : null,
            proxy: fallback.proxy,
            device: parseDevice(row.device_json) ?? chooseDevice(row.id, DEFAULT_CHROME_VERSION),
            nowMs: () => clock.now(),
          }).catch((he: unknown) => ({
            kind: 'error' as const,
            message: he instanceof Error ? he.message.split('\n')[0]! : String(he),
          }));
        } else {
          if (fallback.why)
            log.warn('no HTTP login fallback', { tenant: row.tenant, username: row.username, why: fallback.why });
          if (e instanceof BrowserLoginError ? e.reason === 'missing' : e instanceof UnavailableError) throw e;
          outcome = { kind: 'error', message: why };
        }
      }
      log.info('instagram login', { tenant: row.tenant, username: row.username, outcome: outcome.kind, via });
      return await this.finish(row, outcome, trigger, via, fellBack);
    } catch (e) {
      await updateIgAccount(store, id, { state: 'expired' }, { ifState: 'refreshing' });
      throw e;
    } finally {
      if (token !== null) await releaseLock(store, lockName, token);
      token = null;
    }
  }

  /**
   * Whether the HTTP login may follow a browser login that threw: the tenant opted in, the
   * browser failed for a technical reason (missing, launch, crash, timeout) before Instagram
   * answered anything, and the account has a proxy to send it through (never direct). `why`:
   * an opted-in tenant's reason it is not used.
   */
  private fallbackFor(
    row: IgRow,
    e: unknown,
    route: Awaited<ReturnType<typeof igRoute>>,
  ): { use: true; proxy: Extract<typeof route, { kind: 'proxy' }>['proxy'] } | { use: false; why: string | null } {
    if (row.login_fallback !== 'http' || !this.deps.httpLogin) return { use: false, why: null };
    if (!(e instanceof BrowserLoginError))
      return { use: false, why: 'the browser failed in a way that is not its own' };
    if (e.answered)
      return { use: false, why: 'Instagram had already answered the browser: no second login another way' };
    if (route.kind !== 'proxy')
      return {
        use: false,
        why: 'the account has no proxy, and the HTTP login never goes direct → give it one (acctctl ig proxy USER --tenant T PROXY)',
      };
    return { use: true, proxy: route.proxy };
  }

  private async finish(
    row: IgRow,
    o: LoginOutcome,
    trigger: 'proactive' | 'reactive',
    via: LoginVia = 'browser',
    fellBack: string | null = null,
  ): Promise<RefreshResult> {
    const { store, clock, box } = this.deps;
    const now = clock.now();
    const base = { tenant: row.tenant, username: row.username };
    // Session-health figures: every login attempt, proactive or reactive, and whether it worked.
    await logSessionAttempt(store, { igAccountId: row.id, what: trigger, at: now, ok: o.kind === 'ok' && o.verified });
    if (o.device && !row.device_json) {
      await updateIgAccount(store, row.id, { device_json: JSON.stringify(o.device) });
      row.device_json = JSON.stringify(o.device);
    }
    /** Needs-a-person events open the alert too, so the alert scan does not repeat them. */
    const event = (kind: EventKind, message: string, needsPerson = false) => {
      const e: NewEvent = {
        at: now,
        kind,
        subject_type: 'ig_account',
        subject_id: row.id,
        tenant_id: null,
        message:
          via === 'http' ? `${message}; logged in over HTTP (the browser failed: ${fellBack ?? 'unknown'})` : message,
        data_json: JSON.stringify({ trigger, via }),
      };
      return igAccountEvent(store, e, needsPerson ? `needs_person:ig:${row.id}` : null);
    };
    if (o.kind === 'ok' && o.verified) {
      const next = now + jitter(REFRESH_EVERY_MS, now + row.id);
      // Sealed at commit: a `keys rotate` + `keys remove` during the login cannot strand them.
      await updateIgAccountSealed(store, box, row.id, (box) => ({
        sessionid_enc: box.seal(o.sessionid, { table: 'ig_accounts', column: 'sessionid_enc', rowId: row.id }),
        cookies_enc: box.seal(JSON.stringify(o.cookies), {
          table: 'ig_accounts',
          column: 'cookies_enc',
          rowId: row.id,
        }),
        browser_state_enc: box.seal(JSON.stringify(o.state), {
          table: 'ig_accounts',
          column: 'browser_state_enc',
          rowId: row.id,
        }),
        state: 'valid',
        session_created_at: now,
        last_verified_at: now,
        next_refresh_at: next,
        fail_count: 0,
        last_error: null,
        updated_at: now,
      }));
      await event(
        'ig_refreshed',
        `${row.tenant}/${row.username}: ${o.reused ? 'stored session still valid (no login), verified' : 'new session, verified'}`,
      );
      if (o.migratedProfile) {
        const msg = `${row.tenant}/${row.username}: the old Chromium profile directory was read into the store (encrypted) and deleted`;
        await event('ig_profile_migrated', msg);
        return {
          ...base,
          status: 'refreshed',
          detail: 'old Chromium profile moved into the store (encrypted) and deleted',
          nextRefreshAt: next,
        };
      }
      return {
        ...base,
        status: 'refreshed',
        detail: via === 'http' ? 'logged in over HTTP (the browser failed)' : null,
        nextRefreshAt: next,
      };
    }
    if (o.kind === 'checkpoint') {
      await updateIgAccount(store, row.id, {
        state: 'needs_manual',
        last_error: 'checkpoint',
        next_refresh_at: null,
        updated_at: now,
      });
      await event(
        'ig_needs_manual',
        `${row.tenant}/${row.username}: Instagram asks for a checkpoint (${o.url}) → solve it in a browser, then ig import the new sessionid`,
        true,
      );
      return { ...base, status: 'needs_manual', detail: 'checkpoint: solve it in a browser', nextRefreshAt: null };
    }
    if (o.kind === 'bad_password') {
      await updateIgAccount(store, row.id, {
        state: 'failed',
        last_error: 'wrong password',
        next_refresh_at: null,
        updated_at: now,
      });
      await event(
        'ig_failed',
        `${row.tenant}/${row.username}: wrong password → ig import it again with the right one`,
        true,
      );
      return { ...base, status: 'failed', detail: o.message, nextRefreshAt: null };
    }
    const fails = row.fail_count + 1;
    const detail = o.kind === 'ok' ? 'the new session did not verify' : o.message;
    if (fails >= MAX_FAILURES) {
      await updateIgAccount(store, row.id, {
        state: 'needs_manual',
        fail_count: fails,
        last_error: detail,
        next_refresh_at: null,
        updated_at: now,
      });
      await event(
        'ig_needs_manual',
        `${row.tenant}/${row.username}: ${fails} failed logins in a row (${detail})`,
        true,
      );
      return { ...base, status: 'needs_manual', detail, nextRefreshAt: null };
    }
    const next = now + Math.min(BACKOFF_BASE_MS * 2 ** (fails - 1), BACKOFF_MAX_MS);
    await updateIgAccount(store, row.id, {
      state: 'expired',
      fail_count: fails,
      last_error: detail,
      next_refresh_at: next,
      updated_at: now,
    });
    await event(
      'ig_refresh_failed',
      `${row.tenant}/${row.username}: ${o.kind} (${detail}); next try ${new Date(next).toISOString()}`,
    );
    return { ...base, status: 'backing_off', detail: `${o.kind}: ${detail}`, nextRefreshAt: next };
  }
}

/**
 * The refresher the CLI uses (refresh-session, and check's reactive path): Playwright's login
 * (loaded only now), the configured Instagram and Chromium.
 */
export async function browserRefresher(deps: {
  store: Store;
  box: SecretBox;
  clock: Clock;
  log: Logger;
  config: Pick<Config, 'instagramUrl' | 'chromiumPath' | 'playwrightBrowsersPath' | 'legacyProfileDir'>;
}): Promise<SessionRefresher> {
  const { playwrightLogin } = await import('../instagram/browser.js');
  const { httpLogin } = await import('../instagram/httpLogin.js');
  const { config } = deps;
  return new SessionRefresher({
    store: deps.store,
    box: deps.box,
    clock: deps.clock,
    log: deps.log,
    login: playwrightLogin,
    // For tenants that opted in (tenants set T --login-fallback http): when the browser cannot.
    httpLogin,
    instagramUrl: config.instagramUrl,
    chromiumPath: config.chromiumPath,
    playwrightBrowsersPath: config.playwrightBrowsersPath,
    // Older versions kept a Chromium profile per account here: migrated into the store, then deleted.
    legacyProfileRoot: config.legacyProfileDir,
  });
}
