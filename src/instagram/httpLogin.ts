/**
 * The browserless login (issue 26, item 6), refresh-session's fallback when Chromium is missing or
 * failed for a technical reason: the web login the way instaloader does it
 * (instaloadercontext.py login() and two_factor_login(); reference/instagram-web.md §1.2–1.7) —
 * GET the home page for the csrftoken cookie, POST the login XHR with `enc_password`
 * `#PWD_INSTAGRAM_BROWSER:0:<time>:<password>`, then the 2FA XHR with the TOTP code — through
 * the account's proxy only (never direct) and with its device's user agent. The answers are read
 * as the browser reads them (./loginAnswers.ts); the result has the browser login's shape, so the
 * session is stored the same way.
 */
import type { ProxySpec } from '../domain/proxyUrl.js';
import { registerSecret } from '../security/redact.js';
import type { BrowserCookie, LoginOutcome } from './browser.js';
import type { DeviceIdentity, StorageState } from './device.js';
import { httpSend, type HttpResponse } from './http.js';
import { parseAnswer, readAnswerJson, type Verdict } from './loginAnswers.js';
import { firstCodeTime, retryCodeTime } from './totp.js';
import { browserHeaders, CURRENT_USER_PATH, sessionVerified } from './webApi.js';

export interface HttpLoginRequest {
  baseUrl: string;
  username: string;
  password: string;
  /** The TOTP code for a given time (seconds); null when the account has no secret. */
  totp: ((epochSeconds: number) => Promise<string>) | null;
  /** The account's own route: required — this login never goes direct. */
  proxy: ProxySpec;
  /** The account's device: its user agent is sent with every request. */
  device: DeviceIdentity;
  nowMs?: () => number;
  /** Waits (before a second 2FA code, for the next TOTP window); default: real time. */
  sleep?: (ms: number) => Promise<void>;
  timeoutMs?: number;
}

export type HttpLogin = (req: HttpLoginRequest) => Promise<LoginOutcome>;

/** The current login XHR, then the one instaloader-era scripts used (reference §1.3). */
const LOGIN_PATHS = ['/api/v1/web/accounts/login/ajax/', '/accounts/login/ajax/'] as const;

type JarEntry = BrowserCookie & { sameSite: 'Strict' | 'Lax' | 'None' };

/** A cookie jar that keeps each cookie's attributes (they go into the stored browser state). */
class Jar {
  private readonly cookies = new Map<string, JarEntry>();
  constructor(
    private readonly host: string,
    private readonly nowMs: () => number,
  ) {}

  absorb(res: HttpResponse): void {
    const h = res.headers['set-cookie'];
    for (const line of h === undefined ? [] : Array.isArray(h) ? h : [h]) {
      const [pair, ...attrs] = line.split(';');
      const i = pair!.indexOf('=');
      if (i <= 0) continue;
      const name = pair!.slice(0, i).trim();
      const value = pair!.slice(i + 1).trim();
      const attr = new Map<string, string>();
      for (const a of attrs) {
        const j = a.indexOf('=');
        attr.set((j < 0 ? a : a.slice(0, j)).trim().toLowerCase(), j < 0 ? '' : a.slice(j + 1).trim());
      }
      const maxAge = attr.has('max-age') ? Number(attr.get('max-age')) : null;
      const expiresAt = attr.has('expires') ? Date.parse(attr.get('expires')!) : NaN;
      const expires =
        maxAge !== null && Number.isFinite(maxAge)
          ? Math.floor(this.nowMs() / 1000) + maxAge
          : Number.isFinite(expiresAt)
            ? Math.floor(expiresAt / 1000)
            : -1;
      if (
        value === '' ||
        value === '""' ||
        (maxAge !== null && maxAge <= 0) ||
        (expires !== -1 && expires * 1000 <= this.nowMs())
      ) {
        this.cookies.delete(name);
        continue;
      }
      const same = (attr.get('samesite') ?? 'lax').toLowerCase();
      this.cookies.set(name, {
        name,
        value,
        domain: attr.get('domain') || this.host,
        path: attr.get('path') || '/',
        expires,
        httpOnly: attr.has('httponly'),
        secure: attr.has('secure'),
        sameSite: same === 'strict' ? 'Strict' : same === 'none' ? 'None' : 'Lax',
      });
    }
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  values(): Map<string, string> {
    return new Map([...this.cookies.values()].map((c) => [c.name, c.value]));
  }

  all(): JarEntry[] {
    return [...this.cookies.values()];
  }
}

export const httpLogin: HttpLogin = async (req) => {
  registerSecret(req.password);
  const nowMs = req.nowMs ?? Date.now;
  const timeoutMs = req.timeoutMs ?? 30_000;
  const base = new URL(req.baseUrl);
  const jar = new Jar(base.hostname, nowMs);
  const ua = req.device.userAgent;
  const device = req.device;
  const url = (path: string) => new URL(path, base).toString();
  const send = async (method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string) => {
    const res = await httpSend(method, url(path), {
      headers,
      ...(body !== undefined ? { body } : {}),
      proxy: req.proxy,
      timeoutMs,
    });
    jar.absorb(res);
    return res;
  };
  /** What the web app sends with its login XHRs (instaloader's default header + the browser's). */
  const xhr = (): Record<string, string> => ({
    ...browserHeaders(jar.values(), ua, req.baseUrl),
    'content-type': 'application/x-www-form-urlencoded',
    origin: base.origin,
    referer: url('/accounts/login/'),
    'x-instagram-ajax': '1',
  });

  // 1. The home page sets csrftoken (and mid, ig_did) — instaloader's first GET.
  await send('GET', '/', {
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en-US,en;q=0.9',
    'user-agent': ua,
  });
  if (!jar.get('csrftoken')) {
    const page = await send('GET', '/accounts/login/', {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'user-agent': ua,
    });
    if (!jar.get('csrftoken'))
      return {
        kind: 'error',
        message: `Instagram set no csrftoken cookie (HTTP ${page.status}) → the proxy may be blocked; try another proxy for this account`,
        decidedBy: 'xhr',
        device,
      };
  }

  // 2. The login XHR (the current path; the legacy one where the current is not there).
  const form = new URLSearchParams({
    username: req.username,
    enc_password: `#PWD_INSTAGRAM_BROWSER:0:${Math.floor(nowMs() / 1000)}:${req.password}`,
    queryParams: '{}',
    optIntoOneTap: 'false',
    trustedDeviceRecords: '{}',
  }).toString();
  let loginPath: string = LOGIN_PATHS[0];
  let res = await send('POST', loginPath, xhr(), form);
  if (res.status === 404) {
    loginPath = LOGIN_PATHS[1];
    res = await send('POST', loginPath, xhr(), form);
  }
  let verdict = readHttpAnswer(res, req.baseUrl, 'login');

  // 3. 2FA: the code from the TOTP secret; one more try with the next window's code.
  if (verdict.kind === 'two_factor') {
    if (!req.totp)
      return {
        kind: 'two_factor_failed',
        message: 'Instagram asks for a 2FA code and no TOTP secret is stored',
        decidedBy: 'xhr',
        device,
      };
    const identifier = twoFactorIdentifier(res);
    if (!identifier)
      return { kind: 'error', message: 'Instagram asked for 2FA without an identifier', decidedBy: 'xhr', device };
    const sleep = req.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let t = firstCodeTime(nowMs() / 1000);
    for (let attempt = 0; attempt < 2; attempt++) {
      const code = await req.totp(t);
      const two = await send(
        'POST',
        `${loginPath}two_factor/`,
        xhr(),
        new URLSearchParams({
          identifier,
          verificationCode: code,
          username: req.username,
          queryParams: '{"next":"/"}',
          trust_signal: 'true',
          verification_method: '3',
        }).toString(),
      );
      verdict = readHttpAnswer(two, req.baseUrl, '2FA code');
      if (verdict.kind === 'two_factor') verdict = { kind: 'error', message: 'Instagram asked for a 2FA code again' };
      if (verdict.kind !== 'two_factor_failed' || attempt === 1) break;
      const next = retryCodeTime(t, nowMs());
      t = next.t;
      if (next.waitMs > 0) await sleep(next.waitMs + 500);
    }
  }
  if (verdict.kind === 'checkpoint') return { kind: 'checkpoint', url: verdict.url, decidedBy: 'xhr', device };
  if (verdict.kind !== 'logged_in') return { ...verdict, decidedBy: 'xhr', device } as LoginOutcome;

  const sessionid = jar.get('sessionid');
  if (!sessionid)
    return { kind: 'error', message: 'Instagram said yes but set no sessionid', decidedBy: 'xhr', device };
  // 4. Verified the way the browser login does: current_user with the new cookies, same route.
  const check = await send('GET', CURRENT_USER_PATH, browserHeaders(jar.values(), ua, req.baseUrl)).catch(() => null);
  const entries = jar.all();
  const cookies: BrowserCookie[] = entries.map(({ sameSite: _, ...c }) => c);
  const state: StorageState = { cookies: entries, origins: [] };
  return { kind: 'ok', cookies, sessionid, verified: sessionVerified(check), state, decidedBy: 'xhr', device };
};

/** An answer's verdict; one without JSON (a blocked IP's page, a 403 for a missing csrftoken) is an error. */
function readHttpAnswer(res: HttpResponse, baseUrl: string, what: 'login' | '2FA code'): Verdict {
  const j = parseAnswer(res.text);
  if (j) return readAnswerJson(j, res.status, baseUrl);
  return {
    kind: 'error',
    message:
      res.status === 403
        ? `Instagram refused the ${what} (HTTP 403: CSRF token missing or incorrect) → run refresh-session again`
        : `Instagram's answer to the ${what} (HTTP ${res.status}) holds no JSON (a blocked IP's page?) → run refresh-session again; if it repeats, try another proxy for this account`,
  };
}

function twoFactorIdentifier(res: HttpResponse): string | null {
  const info = (parseAnswer(res.text)?.two_factor_info ?? null) as { two_factor_identifier?: unknown } | null;
  return typeof info?.two_factor_identifier === 'string' ? info.two_factor_identifier : null;
}
