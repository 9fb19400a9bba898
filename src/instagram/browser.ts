/**
 * The only module that imports Playwright. Logs an Instagram account in with a real headless
 * Chromium (reference/instagram-web.md §1) and returns the cookies, or why it could not.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page, Response } from 'playwright-core';
import type { ProxySpec } from '../domain/proxyUrl.js';
import { UnavailableError } from '../errors.js';
import { findChromium } from './chromium.js';
import { chooseDevice, type DeviceIdentity, type StorageState } from './device.js';
import { firstCodeTime, retryCodeTime } from './totp.js';
import { XHR_HEADERS, CURRENT_USER_PATH } from './webApi.js';
import {
  BrowserLoginError,
  browserFailureReason,
  parseAnswer,
  readAnswerJson,
  readMessage,
  type Verdict,
} from './loginAnswers.js';

export interface BrowserCookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  expires: number;
  httpOnly: boolean;
  secure: boolean;
}

export type LoginOutcome = (
  | {
      kind: 'ok';
      cookies: BrowserCookie[];
      sessionid: string;
      verified: boolean;
      state: StorageState;
      /** The restored session still worked: no login was made. */
      reused?: boolean;
    }
  | { kind: 'checkpoint'; url: string }
  | { kind: 'bad_password'; message: string }
  | { kind: 'rate_limited'; message: string }
  | { kind: 'two_factor_failed'; message: string }
  | { kind: 'error'; message: string }
) & {
  /** The device identity the browser used (chosen now when the request had none). */
  device?: DeviceIdentity;
  /** What decided the login: Instagram's XHR answers, or (plain form post) the page. */
  decidedBy?: 'xhr' | 'page';
  /** A legacy persistent profile directory was read into the state and deleted. */
  migratedProfile?: boolean;
};

export interface BrowserLoginRequest {
  baseUrl: string;
  username: string;
  password: string;
  /** The TOTP code for a given time (seconds); null when the account has no secret. */
  totp: ((epochSeconds: number) => Promise<string>) | null;
  proxy: ProxySpec | null;
  /** The account's browser state from the store (cookies + localStorage), restored into a fresh context. */
  storageState?: StorageState | null;
  /** The account's stable device identity; null → one is chosen (seeded by `deviceSeed`) and returned. */
  device?: DeviceIdentity | null;
  deviceSeed?: number;
  /** A persistent profile directory from an older acctctl: read once into the state, then deleted. */
  legacyProfileDir?: string;
  /** Delay before each typed key, ms (default: 40–160 ms at random; tests: 0). */
  keyDelayMs?: () => number;
  /** The waits after a successful login (default: LOGIN_SETTLE; tests may shorten them). */
  settle?: Partial<LoginSettle>;
  /**
   * A Chromium already launched (tests: one per file): the login gets a fresh context in it, with
   * the account's proxy set on that context, and closes only the context. Without it the login
   * launches its own Chromium (the proxy set on the browser and the context) and closes it.
   */
  browser?: Browser;
  /**
   * How the login and 2FA answers are captured before the page can navigate away from them
   * (README "Instagram login"): `response-stage` (default) pauses the answer in Chromium's own
   * network stack and reads it there; `route` re-sends the request from Node (route.fetch) and
   * fulfils the page with it; `event` reads the body from the response event (what acctctl did
   * before: loses it when the page navigates). The last two are kept for the measurement.
   */
  capture?: CaptureMethod;
  /** Waits (the TOTP "next window" pause); default: real time. */
  sleep?: (ms: number) => Promise<void>;
  chromiumPath: string | undefined;
  /** Where Playwright's own browsers are (config's PLAYWRIGHT_BROWSERS_PATH), searched when chromiumPath is unset. */
  playwrightBrowsersPath?: string | undefined;
  timeoutMs?: number;
  /** Extra Chromium flags (tests: route loopback through the proxy). */
  extraArgs?: string[];
  nowMs?: () => number;
}

export type BrowserLogin = (req: BrowserLoginRequest) => Promise<LoginOutcome>;

/**
 * How long a successful login lets the page move on and answers its prompts ("Save your login
 * info?", notifications) before reading the cookies. Only time depends on them: the session
 * cookie is set already, and the outcome is read from the context afterwards.
 */
export interface LoginSettle {
  /** The whole prompt-answering step at most (capped by the login's timeout). */
  budgetMs: number;
  /** On the home page: one look for a late prompt before done. */
  latePromptMs: number;
}
export const LOGIN_SETTLE: LoginSettle = { budgetMs: 6_000, latePromptMs: 300 };

/** Flags for a headless, quiet Chromium that never leaks the real address through WebRTC. */
export const CHROMIUM_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-gpu',
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
  '--enforce-webrtc-ip-permission-check',
  // Nothing but the login page may leave through the account's proxy: no Google services,
  // updaters, safe browsing or autofill calls (Debian's wrapper sets Google API keys).
  '--disable-client-side-phishing-detection',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-breakpad',
  '--no-pings',
  '--no-default-browser-check',
  '--safebrowsing-disable-auto-update',
  // Debian's Chromium still asks Google's updater and sign-in servers: point them at a dead
  // loopback port so those requests never leave the machine (or go out through the proxy).
  '--component-updater=url-source=http://127.0.0.1:9/',
  '--gaia-url=http://127.0.0.1:9/',
  '--google-apis-url=http://127.0.0.1:9/',
  '--lso-url=http://127.0.0.1:9/',
  // Its push-messaging client (GCM) checks in with android.clients.google.com now and then, even
  // with background networking off: seen once through a test's proxy. Dead loopback too.
  '--gcm-checkin-url=http://127.0.0.1:9/',
  '--gcm-registration-url=http://127.0.0.1:9/',
  '--gcm-mcs-endpoint=http://127.0.0.1:9/',
  // A fresh (non-persistent) context has no profile preferences to turn autofill off, and its
  // form-type queries would go to content-autofill.googleapis.com through the account's proxy.
  // --disable-features replaces Playwright's own list, so that list is repeated here first.
  `--disable-features=${[
    'AvoidUnnecessaryBeforeUnloadCheckSync',
    'DestroyProfileOnBrowserClose',
    'HttpsUpgrades',
    'HttpsFirstBalancedModeAutoEnable',
    'LensOverlay',
    'MediaRouter',
    'PaintHolding',
    'ThirdPartyStoragePartitioning',
    'AvoidCorsURLLoaderRestartOnRedirect',
    'OptimizationHints',
    'NetworkTimeServiceQuerying',
    'AimEnabled',
    'PreconnectToSearch',
    'AutofillServerCommunication',
  ].join(',')}`,
];

const USER_FIELD = 'input[name="username"], input[name="email"], input[type="text"]';
const PASS_FIELD = 'input[name="password"], input[name="pass"], input[type="password"]';
const SUBMIT = 'button[type="submit"], button:has-text("Log in")';
const ALERT = '#slfErrorAlert, [role="alert"]';

function proxyOption(p: ProxySpec | null): { server: string; username?: string; password?: string } | undefined {
  if (!p) return undefined;
  if (p.scheme === 'http') {
    return {
      server: `http://${p.host}:${p.port}`,
      ...(p.username ? { username: p.username } : {}),
      ...(p.password ? { password: p.password } : {}),
    };
  }
  if (p.scheme === 'socks5' && !p.password) return { server: `socks5://${p.host}:${p.port}` };
  throw new UnavailableError(
    `this account's ${p.scheme} proxy cannot be used by Chromium → give it an http:// proxy, or SOCKS5 without a password`,
  );
}

/** The login and 2FA XHRs, current and legacy paths (reference §1.3, §1.6). */
const LOGIN_XHR = /^(?:\/api\/v1\/web)?\/accounts\/login\/ajax\/$/;
const TWO_FACTOR_XHR = /^(?:\/api\/v1\/web)?\/accounts\/login\/ajax\/two_factor\/$/;
/** What stands between the visitor and the form, or after the login: consent and the prompts. */
const CONSENT_BUTTONS = ['Decline optional cookies', 'Only allow essential cookies', 'Allow all cookies'];
const PROMPT_BUTTON = /^not now$/i;

/** Hide what marks an automated browser (the page sees navigator.webdriver === false, as in Chrome). */
const STEALTH = `Object.defineProperty(Navigator.prototype, 'webdriver', { get: () => false, configurable: true });`;

async function firstVisible(page: Page, selector: string, timeoutMs: number) {
  const loc = page.locator(selector).filter({ visible: true }).first();
  await loc.waitFor({ state: 'visible', timeout: timeoutMs });
  return loc;
}

async function visibleNow(page: Page, selector: string) {
  const loc = page.locator(selector).filter({ visible: true }).first();
  return (await loc.count()) > 0 ? loc : null;
}

/** Click the first visible button with one of these names; whether one was there. */
async function clickButton(page: Page, names: string[]): Promise<boolean> {
  for (const name of names) {
    const b = page.getByRole('button', { name, exact: true }).filter({ visible: true }).first();
    if ((await b.count()) > 0 && (await b.isEnabled().catch(() => false))) {
      await b.click({ timeout: 5_000 }).catch(() => {});
      return true;
    }
  }
  return false;
}

/** Type like a person: one key at a time, a random pause before each. */
async function humanType(page: Page, selector: string, text: string, delay: () => number, timeout: number) {
  const field = await firstVisible(page, selector, timeout);
  // A dialog (cookie consent) may hold the form disabled until it is answered.
  for (const until = Date.now() + timeout; !(await field.isEnabled());) {
    if (!(await clickButton(page, CONSENT_BUTTONS)) && Date.now() > until) break;
    await page.waitForTimeout(100);
  }
  await field.click();
  await field.fill('');
  const pauses = [...text].map(() => delay());
  if (pauses.every((ms) => ms <= 0))
    await page.keyboard.type(text); // still one key event each
  else
    for (const [i, ch] of [...text].entries()) {
      if (pauses[i]! > 0) await page.waitForTimeout(pauses[i]!);
      await page.keyboard.type(ch);
    }
  // An input method or a page script can eat keys: make sure the field holds what was meant.
  if ((await field.inputValue()) !== text) await field.fill(text);
}

export type CaptureMethod = 'response-stage' | 'route' | 'event';

/** An answer to the login or 2FA XHR: its status and body (null: the body could not be read). */
interface XhrAnswer {
  path: string;
  status: number;
  body: string | null;
}

/** Login and 2FA XHR paths, any of them (for the capture's URL pattern). */
const ANY_LOGIN_XHR = /^(?:\/api\/v1\/web)?\/accounts\/login\/ajax\/(?:two_factor\/)?$/;

/**
 * The login and 2FA answers, captured as they arrive — before the page can see them, so before
 * it can navigate and make Chromium free the body (Playwright issues #3617, #7831, #41512).
 */
class AnswerTap {
  private readonly seen: XhrAnswer[] = [];
  private readonly waiters: { path: RegExp; from: number; resolve: (a: XhrAnswer) => void }[] = [];
  /** Answers that arrived so far (an index to wait from). */
  mark(): number {
    return this.seen.length;
  }
  push(a: XhrAnswer): void {
    this.seen.push(a);
    for (const w of [...this.waiters]) {
      if (w.path.test(a.path)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(a);
      }
    }
  }
  /** The first answer to a matching path after `from`, or null on timeout. */
  next(path: RegExp, from: number, timeoutMs: number): Promise<XhrAnswer | null> {
    const got = this.seen.slice(from).find((a) => path.test(a.path));
    if (got) return Promise.resolve(got);
    return new Promise((resolve) => {
      const w = { path, from, resolve: (a: XhrAnswer | null) => (clearTimeout(timer), resolve(a)) };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(w);
    });
  }
}

const isAnswer = (method: string, resourceType: string, url: string) =>
  method === 'POST' &&
  ['xhr', 'fetch'].includes(resourceType.toLowerCase()) &&
  ANY_LOGIN_XHR.test(new URL(url).pathname);

/**
 * Start capturing the login and 2FA answers of this page. `response-stage`: Chromium pauses
 * each answer at the response stage (CDP Fetch), acctctl reads the whole body there, then lets
 * it go on to the page unchanged — the request itself went out from Chromium's own network stack
 * (same proxy, TLS, headers, cookies; Set-Cookie applied by the browser).
 */
async function tapAnswers(context: BrowserContext, page: Page, method: CaptureMethod): Promise<AnswerTap> {
  const tap = new AnswerTap();
  if (method === 'response-stage') {
    const cdp: CDPSession = await context.newCDPSession(page);
    cdp.on('Fetch.requestPaused', (e) => {
      void (async () => {
        const status = e.responseStatusCode;
        if (
          status !== undefined &&
          !(status >= 300 && status < 400) &&
          isAnswer(e.request.method, e.resourceType, e.request.url)
        ) {
          let body: string | null = null;
          try {
            const b = await cdp.send('Fetch.getResponseBody', { requestId: e.requestId });
            body = b.base64Encoded ? Buffer.from(b.body, 'base64').toString('utf8') : b.body;
          } catch {
            body = null;
          }
          tap.push({ path: new URL(e.request.url).pathname, status, body });
        }
        await cdp.send('Fetch.continueRequest', { requestId: e.requestId }).catch(() => {});
      })();
    });
    const patterns = (['XHR', 'Fetch'] as const).map((resourceType) => ({
      urlPattern: '*/accounts/login/ajax/*',
      resourceType,
      requestStage: 'Response' as const,
    }));
    await cdp.send('Fetch.enable', { patterns });
  } else if (method === 'route') {
    await context.route(
      (u) => ANY_LOGIN_XHR.test(u.pathname),
      async (route) => {
        const r = route.request();
        if (!isAnswer(r.method(), r.resourceType(), r.url())) return route.fallback();
        const resp = await route.fetch().catch(() => null);
        if (!resp) return route.abort('failed').catch(() => {});
        const body = await resp.body().catch(() => null);
        tap.push({ path: new URL(r.url()).pathname, status: resp.status(), body: body ? body.toString('utf8') : null });
        await route.fulfill({ response: resp, ...(body ? { body } : {}) }).catch(() => {});
      },
    );
  } else {
    page.on('response', (r: Response) => {
      if (!isAnswer(r.request().method(), r.request().resourceType(), r.url())) return;
      void r
        .body()
        .then((b) => b.toString('utf8'))
        .catch(() => null)
        .then((body) => tap.push({ path: new URL(r.url()).pathname, status: r.status(), body }));
    });
  }
  return tap;
}

type Where = 'logged_in' | 'two_factor' | 'checkpoint' | 'alert' | 'login';

/**
 * Page state, for a plain form post (no XHR seen): where the page went after the submit. Only a
 * change counts — a URL other than `fromPath`, a sessionid cookie, or an alert.
 */
async function pageState(
  page: Page,
  context: BrowserContext,
  fromPath: string,
  deadline: number,
  stop: { done: boolean },
  staleSid?: string,
): Promise<{ where: Where; alert?: string } | null> {
  while (!stop.done) {
    const url = page.url();
    const path = new URL(url).pathname;
    if (/\/challenge\/|\/checkpoint\//.test(path)) return { where: 'checkpoint' };
    if (path !== fromPath && /\/accounts\/login\/two_factor/.test(path)) return { where: 'two_factor' };
    // A new sessionid (not one restored from the store) and a page that left the login.
    const sid = (await context.cookies()).find((c) => c.name === 'sessionid' && c.value && c.value !== staleSid);
    if (sid && !/\/accounts\/login/.test(path)) return { where: 'logged_in' };
    const alert = await visibleNow(page, ALERT);
    if (alert) {
      const text = (await alert.textContent())?.trim() ?? '';
      if (text) return { where: 'alert', alert: text };
    }
    if (Date.now() > deadline) return { where: 'login' };
    await page.waitForTimeout(100);
  }
  return null;
}

type Step =
  | { via: 'xhr'; answer: XhrAnswer }
  | { via: 'page'; where: Where; alert?: string }
  | { via: 'lost'; answer: XhrAnswer; where: Where; alert?: string }
  | { via: 'none' };

/** The answer's JSON, or null when its body was lost or is not JSON. */
function answerJson(a: XhrAnswer): Record<string, unknown> | null {
  return parseAnswer(a.body);
}

/** Submit and wait for what decides: the XHR answer first; the page only when no XHR comes. */
async function submitAndRead(
  page: Page,
  context: BrowserContext,
  tap: AnswerTap,
  xhrPath: RegExp,
  submit: () => Promise<void>,
  timeout: number,
): Promise<Step> {
  const fromPath = new URL(page.url()).pathname;
  const staleSid = (await context.cookies()).find((c) => c.name === 'sessionid')?.value;
  const stop = { done: false };
  const xhr = tap.next(xhrPath, tap.mark(), timeout);
  await submit();
  const viaXhr = xhr.then((a) => (a ? ({ via: 'xhr', answer: a } as const) : null));
  // A plain form post shows itself as a navigation; an XHR login leaves the URL alone until the
  // answer is in, so the page is read only when no XHR has been sent at all.
  const viaPage = (async () => {
    await page.waitForTimeout(100);
    const s = await pageState(page, context, fromPath, Date.now() + timeout, stop, staleSid);
    return s ? ({ via: 'page', ...s } as const) : null;
  })();
  const first = await Promise.race([viaXhr, viaPage.then((p) => (p && p.where !== 'login' ? p : null))]);
  if (first?.via === 'xhr') {
    stop.done = true;
    if (answerJson(first.answer)) return first;
    // The answer came but its body could not be read: decide from where the page goes.
    const s = await pageState(
      page,
      context,
      fromPath,
      Date.now() + Math.min(timeout, 10_000),
      { done: false },
      staleSid,
    );
    return { via: 'lost', answer: first.answer, where: s?.where ?? 'login', ...(s?.alert ? { alert: s.alert } : {}) };
  }
  // The page moved first: an XHR may still be in flight (the page shows its answer); prefer it.
  const late = await Promise.race([viaXhr, new Promise<null>((r) => setTimeout(() => r(null), 300))]);
  stop.done = true;
  if (late && answerJson(late.answer)) return late;
  const p = first ?? (await viaPage);
  return p ?? { via: 'none' };
}

/** What an XHR answer means (reference §1.4–1.6); null when it has no JSON to read. */
function readAnswer(a: XhrAnswer, baseUrl: string): Verdict | null {
  const j = answerJson(a);
  return j ? readAnswerJson(j, a.status, baseUrl) : null;
}

/** A step's verdict: the answer when it could be read, else the page; and what decided. */
function readStep(
  step: Step,
  page: Page,
  baseUrl: string,
  what: 'login' | '2FA code',
): Verdict & { by: 'xhr' | 'page' } {
  if (step.via === 'xhr') {
    const v = readAnswer(step.answer, baseUrl);
    if (v) return { ...v, by: 'xhr' };
  }
  if (step.via === 'page') return { ...readPage(step, page), by: 'page' };
  if (step.via === 'lost') {
    const fromPage = readPage(step, page);
    if (step.where !== 'login' && fromPage.kind !== 'error') return { ...fromPage, by: 'page' };
    const { status, body } = step.answer;
    const says = step.where === 'alert' && step.alert ? `; the page says "${step.alert}"` : '';
    return {
      kind: 'error',
      message:
        body === null
          ? `Instagram's answer to the ${what} (HTTP ${status}) was lost before it could be read${says || ', and the page shows neither a session nor the 2FA step'} → run refresh-session again; if it repeats, look at the login in a browser`
          : `Instagram's answer to the ${what} (HTTP ${status}) could not be read: it holds no JSON (cut short, or a blocked IP's page)${says} → run refresh-session again; if it repeats, try another proxy for this account`,
      by: 'page',
    };
  }
  return { kind: 'error', message: `no answer to the ${what}`, by: 'page' };
}

function readPage(s: { where: Where; alert?: string }, page: Page): Verdict {
  if (s.where === 'logged_in') return { kind: 'logged_in' };
  if (s.where === 'two_factor') return { kind: 'two_factor' };
  if (s.where === 'checkpoint') return { kind: 'checkpoint', url: page.url() };
  if (s.where === 'alert') return readMessage(s.alert ?? '');
  return { kind: 'error', message: `the login did not finish (stuck at ${new URL(page.url()).pathname})` };
}

/** Read a persistent profile from an older acctctl into a storage state, then delete it. */
async function migrateProfile(
  chromium: typeof import('playwright-core').chromium,
  executablePath: string,
  dir: string,
): Promise<StorageState | null> {
  if (!existsSync(dir)) return null;
  let state: StorageState | null = null;
  try {
    const ctx = await chromium.launchPersistentContext(dir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, '--proxy-server=http://127.0.0.1:9'],
    });
    try {
      state = (await ctx.storageState()) as StorageState;
    } finally {
      await ctx.close().catch(() => {});
    }
  } catch {
    state = null;
  }
  rmSync(dir, { recursive: true, force: true });
  return state;
}

/** Where Playwright puts a launched Chromium's temporary profile (~1.2 MB), under $TMPDIR. */
const PROFILE_PREFIX = 'playwright_chromiumdev_profile-';
/** The file acctctl leaves in a profile it launched: `pid:starttime` of the process that owns it. */
const OWNER_FILE = 'acctctl-owner';

/** `pid:starttime` of a live process (Linux /proc), or null when there is none. */
function processIdentity(pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, starttime field 22.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return `${pid === 'self' ? process.pid : pid}:${f[19]}`;
  } catch {
    return null;
  }
}

/** Command lines of the running processes, by pid (Linux /proc). */
function commandLines(): Map<number, { ppid: number; cmdline: string }> {
  const out = new Map<number, { ppid: number; cmdline: string }>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return out;
  }
  for (const d of pids) {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.set(Number(d), { ppid, cmdline: readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Mark the temporary profiles of the Chromiums this process launched as acctctl's own, so that
 * a later run can tell its leftovers (a login killed before Playwright could remove them) from
 * other programs' profiles.
 */
function markOwnProfiles(): void {
  const me = processIdentity('self');
  if (!me) return;
  for (const { ppid, cmdline } of commandLines().values()) {
    if (ppid !== process.pid) continue;
    const dir = /--user-data-dir=(\S+)/.exec(cmdline)?.[1];
    if (!dir || !dir.startsWith(join(tmpdir(), PROFILE_PREFIX))) continue;
    try {
      if (!existsSync(join(dir, OWNER_FILE))) writeFileSync(join(dir, OWNER_FILE), me);
    } catch {
      // Chromium removed it meanwhile
    }
  }
}

/**
 * Remove acctctl's own temporary Chromium profiles that a killed login left in $TMPDIR: only
 * those marked as ours whose owning process is gone and that no running process uses. Returns
 * the directories removed.
 */
export function sweepStaleProfiles(dir = tmpdir()): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(PROFILE_PREFIX));
  } catch {
    return [];
  }
  const removed: string[] = [];
  let procs: Map<number, { ppid: number; cmdline: string }> | null = null;
  for (const n of names) {
    const path = join(dir, n);
    let owner: string;
    try {
      if (!statSync(path).isDirectory()) continue;
      owner = readFileSync(join(path, OWNER_FILE), 'utf8').trim();
    } catch {
      continue; // not ours (or not marked yet)
    }
    const pid = Number(owner.split(':')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || processIdentity(pid) === owner) continue; // its owner still runs
    procs ??= commandLines();
    if ([...procs.values()].some((p) => p.cmdline.includes(`--user-data-dir=${path}`))) continue; // still in use
    rmSync(path, { recursive: true, force: true });
    removed.push(path);
  }
  return removed;
}

/** Launch a headless Chromium with acctctl's flags (a login's own, or a test file's shared one). */
export async function launchChromium(opts: {
  chromiumPath: string | undefined;
  playwrightBrowsersPath?: string | undefined;
  proxy?: ProxySpec | null;
  extraArgs?: string[];
  timeoutMs?: number;
}): Promise<Browser> {
  const found = findChromium(opts.chromiumPath, opts.playwrightBrowsersPath);
  if (!('path' in found)) throw new UnavailableError(`${found.problem} → ${found.fix}`);
  const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
  const proxy = proxyOption(opts.proxy ?? null);
  // A login killed earlier left its profile behind: remove our own such leftovers first.
  sweepStaleProfiles();
  const browser = await chromium.launch({
    executablePath: found.path,
    headless: true,
    args: [...CHROMIUM_ARGS, '--disable-blink-features=AutomationControlled', ...(opts.extraArgs ?? [])],
    ...(proxy ? { proxy } : {}),
    timeout: opts.timeoutMs ?? 30_000,
  });
  markOwnProfiles();
  return browser;
}

/**
 * The browser login. Whatever the browser itself does wrong — no Chromium, a launch that fails,
 * a crash, a timeout — is thrown as a BrowserLoginError saying which, and whether Instagram had
 * already answered the login (refresh-session's HTTP fallback is allowed only before that).
 * Instagram's own answers (wrong password, 2FA, checkpoint, throttle) are returned, never thrown.
 */
export const playwrightLogin: BrowserLogin = async (req) => {
  const track = { answered: false, launched: req.browser !== undefined };
  if (req.browser === undefined) {
    const found = findChromium(req.chromiumPath, req.playwrightBrowsersPath);
    if (!('path' in found)) throw new BrowserLoginError(`${found.problem} → ${found.fix}`, 'missing', false);
  }
  try {
    return await browserLogin(req, track);
  } catch (e) {
    if (e instanceof BrowserLoginError) throw e;
    const reason = browserFailureReason(e, track.launched ? 'login' : 'launch');
    throw new BrowserLoginError(e instanceof Error ? e.message : String(e), reason, track.answered, { cause: e });
  }
};

async function browserLogin(
  req: BrowserLoginRequest,
  track: { answered: boolean; launched: boolean },
): Promise<LoginOutcome> {
  const timeout = req.timeoutMs ?? 30_000;
  const proxy = proxyOption(req.proxy);
  let restored = req.storageState ?? null;
  let migratedProfile = false;
  if (req.legacyProfileDir && existsSync(req.legacyProfileDir)) {
    const found = findChromium(req.chromiumPath, req.playwrightBrowsersPath);
    if (!('path' in found)) throw new BrowserLoginError(`${found.problem} → ${found.fix}`, 'missing', false);
    const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
    const old = await migrateProfile(chromium, found.path, req.legacyProfileDir);
    migratedProfile = true;
    restored ??= old;
  }
  // Our own Chromium (production): its proxy is the account's too, so that nothing the browser
  // itself sends can leave another way. A shared one (tests) gets the proxy on the context only.
  const own = req.browser === undefined;
  const browser =
    req.browser ??
    (await launchChromium({
      chromiumPath: req.chromiumPath,
      playwrightBrowsersPath: req.playwrightBrowsersPath,
      proxy: req.proxy,
      ...(req.extraArgs ? { extraArgs: req.extraArgs } : {}),
      timeoutMs: timeout,
    }));
  track.launched = true;
  const device = req.device ?? chooseDevice(req.deviceSeed ?? Math.floor(Math.random() * 1e9), browser.version());
  const keyDelay = req.keyDelayMs ?? (() => 40 + Math.floor(Math.random() * 120));
  const extra = { device, ...(migratedProfile ? { migratedProfile } : {}) };
  let context: BrowserContext | null = null;
  try {
    context = await browser.newContext({
      userAgent: device.userAgent,
      viewport: device.viewport,
      locale: device.locale,
      timezoneId: device.timezoneId,
      ...(proxy ? { proxy } : {}),
      ...(restored ? { storageState: restored } : {}),
    });
    context.setDefaultTimeout(timeout);
    await context.addInitScript(STEALTH);
    const page = await context.newPage();
    const tap = await tapAnswers(context, page, req.capture ?? 'response-stage');
    await page.goto(new URL('/accounts/login/', req.baseUrl).toString(), { waitUntil: 'domcontentloaded' });

    // A restored session that still works shows the home page instead of the form.
    const home = page.locator('[aria-label="Home"]').first();
    const form = page.locator(USER_FIELD).filter({ visible: true }).first();
    await Promise.race([
      home.waitFor({ state: 'attached', timeout }).catch(() => {}),
      form.waitFor({ state: 'visible', timeout }).catch(() => {}),
    ]);
    let decidedBy: 'xhr' | 'page' = 'page';
    let verdict: Verdict;
    let reused = false;
    if ((await home.count()) > 0 && (await context.cookies()).some((c) => c.name === 'sessionid' && c.value)) {
      verdict = { kind: 'logged_in' };
      reused = true;
    } else {
      await clickButton(page, CONSENT_BUTTONS);
      await humanType(page, USER_FIELD, req.username, keyDelay, timeout);
      await humanType(page, PASS_FIELD, req.password, keyDelay, timeout);
      await clickButton(page, CONSENT_BUTTONS);
      const step = await submitAndRead(
        page,
        context,
        tap,
        LOGIN_XHR,
        async () => {
          const submit = await firstVisible(page, SUBMIT, timeout);
          // From the press on, Instagram may have the password (whatever it says, even if this
          // browser dies before reading the answer): no other way may try it again.
          track.answered = true;
          await submit.click();
        },
        timeout,
      );
      const { by, ...v } = readStep(step, page, req.baseUrl, 'login');
      decidedBy = by;
      verdict = v;
    }

    if (verdict.kind === 'two_factor') {
      if (!req.totp)
        return {
          kind: 'two_factor_failed',
          message: 'Instagram asks for a 2FA code and no TOTP secret is stored',
          decidedBy,
          ...extra,
        };
      const nowMs = req.nowMs ?? Date.now;
      const sleep = req.sleep ?? ((ms: number) => page.waitForTimeout(ms));
      const now = () => nowMs() / 1000;
      // Near the end of a 30 s window, the code may expire in flight: use the next one.
      let t = firstCodeTime(now());
      for (let attempt = 0; attempt < 2; attempt++) {
        const code = await req.totp(t);
        // The 2FA form appears once the page has moved there (client-side, after the answer).
        await humanType(page, 'input[name="verificationCode"]', code, keyDelay, timeout);
        const step = await submitAndRead(
          page,
          context,
          tap,
          TWO_FACTOR_XHR,
          async () => (await firstVisible(page, SUBMIT + ', form button', timeout)).click(),
          timeout,
        );
        const { by, ...v } = readStep(step, page, req.baseUrl, '2FA code');
        decidedBy = by;
        verdict = v;
        if (verdict.kind === 'two_factor') verdict = { kind: 'error', message: 'Instagram asked for a 2FA code again' };
        if (verdict.kind !== 'two_factor_failed' && !(verdict.kind === 'error' && /code/i.test(verdict.message))) break;
        // Rejected: retry once, with the code of the next window (waiting for it to begin).
        if (attempt === 0) {
          const next = retryCodeTime(t, nowMs());
          t = next.t;
          if (next.waitMs > 0) await sleep(next.waitMs + 500);
        } else {
          verdict = { kind: 'two_factor_failed', message: verdict.message };
        }
      }
    }
    if (verdict.kind === 'checkpoint') return { kind: 'checkpoint', url: verdict.url, decidedBy, ...extra };
    if (verdict.kind !== 'logged_in') return { ...verdict, decidedBy, ...extra } as LoginOutcome;

    // Logged in. Let the page move on and get past "Save your login info?" and notifications,
    // as a person would (a few seconds at most; the session cookie is already set). Each step
    // awaits what the page does: a prompt to appear, the clicked one to go, the URL to move on.
    const settle = { ...LOGIN_SETTLE, ...req.settle };
    const until = Date.now() + Math.min(timeout, settle.budgetMs);
    const rest = () => Math.max(1, until - Date.now());
    const prompt = page.getByRole('button', { name: PROMPT_BUTTON }).filter({ visible: true }).first();
    const left = (u: URL) => !/\/accounts\/(login|onetap)/.test(u.pathname);
    for (let clicks = 0; clicks < 4 && Date.now() < until;) {
      const shown =
        (await prompt.count()) > 0 ? await prompt.elementHandle({ timeout: 1_000 }).catch(() => null) : null;
      if (shown) {
        await shown.click({ timeout: rest() }).catch(() => {});
        clicks++;
        await shown.waitForElementState('hidden', { timeout: rest() }).catch(() => {});
        await shown.dispose().catch(() => {});
        continue;
      }
      // Home: one short look for a late dialog, then done.
      if (left(new URL(page.url()))) {
        if (
          !(await prompt.waitFor({ state: 'visible', timeout: Math.max(1, settle.latePromptMs) }).then(
            () => true,
            () => false,
          ))
        )
          break;
        continue;
      }
      await Promise.race([
        prompt.waitFor({ state: 'visible', timeout: rest() }),
        page.waitForURL(left, { timeout: rest() }),
      ]).catch(() => {});
    }

    const all = await context.cookies();
    const cookies = all.map((c) => ({
      name: c.name,
      value: c.value,
      domain: c.domain,
      path: c.path,
      expires: c.expires,
      httpOnly: c.httpOnly,
      secure: c.secure,
    }));
    const sessionid = cookies.find((c) => c.name === 'sessionid' && c.value)?.value;
    if (!sessionid) return { kind: 'error', message: 'Instagram said yes but set no sessionid', decidedBy, ...extra };
    // Verify with an authenticated request from the same context (same proxy, cookies and UA).
    const csrftoken = cookies.find((c) => c.name === 'csrftoken')?.value;
    const check = await context.request.get(new URL(CURRENT_USER_PATH, req.baseUrl).toString(), {
      headers: {
        ...XHR_HEADERS,
        ...(csrftoken ? { 'x-csrftoken': csrftoken } : {}),
        referer: new URL('/', req.baseUrl).toString(),
      },
      failOnStatusCode: false,
    });
    const verified = check.ok() && ((await check.json().catch(() => ({}))) as { status?: string }).status === 'ok';
    const state = (await context.storageState()) as StorageState;
    return { kind: 'ok', cookies, sessionid, verified, state, decidedBy, ...(reused ? { reused } : {}), ...extra };
  } finally {
    if (own) await browser.close().catch(() => {});
    else await context?.close().catch(() => {});
  }
}
