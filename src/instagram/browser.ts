/**
 * The only module that imports Playwright. Logs an Instagram account in with a real headless
 * Chromium (reference/instagram-web.md §1) and returns the cookies, or why it could not.
 */
import { createRequire } from 'node:module';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import type { ProxySpec } from '../domain/proxyUrl.js';
import { UnavailableError } from '../errors.js';
import { findChromium } from './chromium.js';
import { TOTP_PERIOD_S } from './totp.js';

export interface BrowserCookie {
  name: string;
  value: string;
  domain: string;
  path: string;
  expires: number;
  httpOnly: boolean;
  secure: boolean;
}

export type LoginOutcome =
  | { kind: 'ok'; cookies: BrowserCookie[]; sessionid: string; verified: boolean }
  | { kind: 'checkpoint'; url: string }
  | { kind: 'bad_password'; message: string }
  | { kind: 'rate_limited'; message: string }
  | { kind: 'two_factor_failed'; message: string }
  | { kind: 'error'; message: string };

export interface BrowserLoginRequest {
  baseUrl: string;
  username: string;
  password: string;
  /** The TOTP code for a given time (seconds); null when the account has no secret. */
  totp: ((epochSeconds: number) => Promise<string>) | null;
  proxy: ProxySpec | null;
  /** Persistent profile (device identity); created mode 0700. */
  profileDir: string;
  chromiumPath: string | undefined;
  timeoutMs?: number;
  /** Extra Chromium flags (tests: route loopback through the proxy). */
  extraArgs?: string[];
  nowMs?: () => number;
}

export type BrowserLogin = (req: BrowserLoginRequest) => Promise<LoginOutcome>;

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
  // (No --disable-features here: it would replace Playwright's own list, which already turns off
  // network-time queries, optimization hints and the accounts.google.com ListAccounts call.)
];

/** Profile preferences: no password manager, leak check, or safe-browsing lookups. */
const PROFILE_PREFS = {
  credentials_enable_service: false,
  profile: { password_manager_enabled: false, password_manager_leak_detection: false },
  safebrowsing: { enabled: false, enhanced: false },
  autofill: { profile_enabled: false, credit_card_enabled: false },
  translate: { enabled: false },
};

function writeProfilePrefs(profileDir: string): void {
  const dir = join(profileDir, 'Default');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'Preferences');
  let prefs: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      prefs = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch {
      prefs = {};
    }
  }
  const merged: Record<string, unknown> = { ...prefs };
  for (const [k, v] of Object.entries(PROFILE_PREFS)) {
    merged[k] = typeof v === 'object' ? { ...((prefs[k] as object | undefined) ?? {}), ...v } : v;
  }
  writeFileSync(file, JSON.stringify(merged), { mode: 0o600 });
}

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

async function firstVisible(page: Page, selector: string, timeoutMs: number) {
  const loc = page.locator(selector).filter({ visible: true }).first();
  await loc.waitFor({ state: 'visible', timeout: timeoutMs });
  return loc;
}

type Where = 'logged_in' | 'two_factor' | 'checkpoint' | 'alert' | 'login';

/** Poll until the page shows where the login went. */
async function whereNow(
  page: Page,
  context: BrowserContext,
  deadline: number,
): Promise<{ where: Where; alert?: string }> {
  for (;;) {
    const url = page.url();
    if (/\/challenge\/|\/checkpoint\//.test(url)) return { where: 'checkpoint' };
    if (/\/accounts\/login\/two_factor/.test(url)) return { where: 'two_factor' };
    const sid = (await context.cookies()).find((c) => c.name === 'sessionid' && c.value);
    if (sid && !/\/accounts\/login/.test(url)) return { where: 'logged_in' };
    const alert = page.locator(ALERT).filter({ visible: true }).first();
    if ((await alert.count()) > 0) {
      const text = (await alert.textContent())?.trim() ?? '';
      if (text) return { where: 'alert', alert: text };
    }
    if (Date.now() > deadline) return { where: 'login' };
    await page.waitForTimeout(100);
  }
}

export const playwrightLogin: BrowserLogin = async (req) => {
  const found = findChromium(req.chromiumPath);
  if (!('path' in found)) throw new UnavailableError(`${found.problem} → ${found.fix}`);
  const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
  mkdirSync(req.profileDir, { recursive: true, mode: 0o700 });
  chmodSync(req.profileDir, 0o700);
  writeProfilePrefs(req.profileDir);
  const timeout = req.timeoutMs ?? 30_000;
  const proxy = proxyOption(req.proxy);
  const context = await chromium.launchPersistentContext(req.profileDir, {
    executablePath: found.path,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(req.extraArgs ?? [])],
    ...(proxy ? { proxy } : {}),
    timeout,
    locale: 'en-US',
  });
  try {
    context.setDefaultTimeout(timeout);
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(new URL('/accounts/login/', req.baseUrl).toString(), { waitUntil: 'domcontentloaded' });
    await (await firstVisible(page, USER_FIELD, timeout)).fill(req.username);
    await (await firstVisible(page, PASS_FIELD, timeout)).fill(req.password);
    await Promise.all([page.waitForLoadState('domcontentloaded'), (await firstVisible(page, SUBMIT, timeout)).click()]);
    let at = await whereNow(page, context, Date.now() + timeout);

    if (at.where === 'two_factor') {
      if (!req.totp)
        return { kind: 'two_factor_failed', message: 'Instagram asks for a 2FA code and no TOTP secret is stored' };
      const now = () => (req.nowMs ?? Date.now)() / 1000;
      // Near the end of a 30 s window, the code may expire in flight: use the next one.
      let t = now();
      if (TOTP_PERIOD_S - (t % TOTP_PERIOD_S) < 3) t += TOTP_PERIOD_S;
      for (let attempt = 0; attempt < 2; attempt++) {
        const code = await req.totp(t);
        const field = await firstVisible(page, 'input[name="verificationCode"]', timeout);
        await field.fill(code);
        await Promise.all([
          page.waitForLoadState('domcontentloaded'),
          (await firstVisible(page, SUBMIT + ', form button', timeout)).click(),
        ]);
        at = await whereNow(page, context, Date.now() + timeout);
        if (at.where !== 'alert' || !/security code|code/i.test(at.alert ?? '')) break;
        // Rejected: retry once, with the code of the next window.
        t = Math.floor(now() / TOTP_PERIOD_S + 1) * TOTP_PERIOD_S;
        if (attempt === 0) {
          const wait = t * 1000 - (req.nowMs ?? Date.now)();
          if (wait > 0 && wait < 31_000 && !req.nowMs) await page.waitForTimeout(wait + 500);
        } else {
          return { kind: 'two_factor_failed', message: at.alert ?? 'the 2FA code was rejected' };
        }
      }
    }
    if (at.where === 'checkpoint') return { kind: 'checkpoint', url: page.url() };
    if (at.where === 'alert') {
      const msg = at.alert ?? '';
      if (/wait a few minutes|try again later/i.test(msg)) return { kind: 'rate_limited', message: msg };
      if (/password was incorrect|doesn.t belong to an account/i.test(msg))
        return { kind: 'bad_password', message: msg };
      if (/security code/i.test(msg)) return { kind: 'two_factor_failed', message: msg };
      return { kind: 'error', message: msg };
    }
    if (at.where !== 'logged_in')
      return { kind: 'error', message: `the login did not finish (stuck at ${new URL(page.url()).pathname})` };

    const cookies = (await context.cookies()).map((c) => ({
      name: c.name,
      value: c.value,
      domain: c.domain,
      path: c.path,
      expires: c.expires,
      httpOnly: c.httpOnly,
      secure: c.secure,
    }));
    const sessionid = cookies.find((c) => c.name === 'sessionid')!.value;
    // Verify with an authenticated request from the same context (same proxy, same cookies).
    const check = await context.request.get(
      new URL('/api/v1/accounts/current_user/?edit=true', req.baseUrl).toString(),
      {
        headers: { 'x-ig-app-id': '936619743392459' },
        failOnStatusCode: false,
      },
    );
    const verified = check.ok() && ((await check.json().catch(() => ({}))) as { status?: string }).status === 'ok';
    return { kind: 'ok', cookies, sessionid, verified };
  } finally {
    await context.close().catch(() => {});
  }
};
