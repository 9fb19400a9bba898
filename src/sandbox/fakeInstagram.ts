import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { totpValid } from '../instagram/totp.js';

/**
 * A loopback fake of Instagram's web login (reference/instagram-web.md §1), for tests and the
 * demo: the login form in three plain-form variants (legacy username/password, fb email/pass,
 * inputs without names) and `spa`, the way the real site behaves: a script-built form that
 * submits by XHR (`/api/v1/web/accounts/login/ajax/`, or the legacy `/accounts/login/ajax/`),
 * a 2FA step that submits by XHR to `…/two_factor/` and navigates client-side only after the
 * answer (and a moment later), the cookie-consent dialog covering the form, the "Save your login
 * info?" and "Turn on Notifications" prompts, csrftoken checks and rotation, and the API's
 * throttle, checkpoint and logout answers.
 */
export type FormVariant = 'legacy' | 'fb' | 'noname' | 'spa';

/**
 * How the SPA page moves on after the login and 2FA answers (the real site does each):
 * - `client`: history.pushState a moment (`navDelayMs`) after the answer was read;
 * - `full`: `location.href = …` as soon as the answer was read (a full navigation, which makes
 *   Chromium drop the answer's body);
 * - `early`: the answer's body arrives in two chunks (`navDelayMs` apart) and the page navigates
 *   (`location.href`) as soon as the first chunk tells it where to go — while the body is still
 *   being read.
 */
export type NavStyle = 'client' | 'full' | 'early';
export const NAV_STYLES: readonly NavStyle[] = ['client', 'full', 'early'];

export interface FakeIgUser {
  password: string;
  totpSecret?: string;
  /** What happens after a right password. */
  /** `cut`: the login answer's connection drops halfway through its body (a flaky proxy does that). */
  /**
   * `challenge`: the mobile-style 400 `challenge_required` (reference §1.5); `blocked`: a blocked
   * IP's HTML page instead of JSON (instaloader: "JSON decode fail").
   */
  behaviour?: 'ok' | 'checkpoint' | 'rate_limited' | 'cut' | 'challenge' | 'blocked';
  pk?: string;
}

/**
 * Injected API faults. `401` and `302` are what Instagram sends a *live* session it throttles
 * (the session keeps working: current_user still answers); `logout` and `302-logout` kill the
 * session first (expired cookies in the answer), as a real logout does.
 */
export type Fault = '401' | '302' | '429' | 'checkpoint' | 'challenge' | 'feedback' | 'logout' | '302-logout';

export const IG_APP_ID = '936619743392459';

const PHONE_VERIFICATION = {
  max_sms_count: 2,
  resend_sms_delay_sec: 60,
  robocall_count_down_time_sec: 30,
  robocall_after_max_sms: true,
};

export interface FakeFriend {
  pk: string;
  username: string;
  full_name?: string;
  is_private?: boolean;
}

export interface FakeProfile {
  id: string;
  followers?: number;
  following?: number;
  /** Explicit lists (they win over the generated `followers`/`following` counts). */
  friends?: Partial<Record<'followers' | 'following', FakeFriend[]>>;
}

export interface FakeInstagram {
  /** API requests (profile lookups and friendship pages) per sessionid ('' = anonymous). */
  apiCalls: Map<string, number>;
  url: string;
  /** Every request: method and path. */
  requests: { method: string; path: string }[];
  /** Login form submissions per username. */
  logins: Map<string, number>;
  /** Sessions issued (sessionid values). */
  sessions: Set<string>;
  /** Add a session as if logged in (tests that need a valid sessionid without a browser). */
  grantSession(username: string): string;
  setVariant(v: FormVariant): void;
  /** SPA only: show the cookie-consent dialog over the login form (EU visitors). */
  setConsent(on: boolean): void;
  /** SPA only: post the login and 2FA XHRs to the legacy `/accounts/login/ajax/…` paths. */
  setLegacyXhr(on: boolean): void;
  /** SPA only: how the page moves on after an answer. */
  setNavStyle(s: NavStyle): void;
  /** SPA only: the login form's field names (reference §0.2: username/password, email/pass, none). */
  setSpaFields(f: Exclude<FormVariant, 'spa'>): void;
  /** SPA: the keydowns the login page's script saw in each field ([key, ms on the page's clock]), per login submitted. */
  keyDowns: Record<'username' | 'password', [string, number][]>[];
  /** API requests with the headers they carried (lower-case names). */
  apiRequests: { path: string; headers: Record<string, string | string[] | undefined> }[];
  /** Login XHRs (and form posts) per endpoint path. */
  loginPosts: string[];
  /** SPA login XHRs: what the page saw as navigator.webdriver, and the request's User-Agent. */
  loginClients: { webdriver: string | null; userAgent: string | undefined }[];
  /** Login and 2FA XHRs: the headers they carried (lower-case names, in the order sent). */
  loginHeaders: string[][];
  /** Forget a session (Instagram logged it out). */
  expire(sid: string): void;
  /**
   * Every request's source, as Instagram sees it: the address it came from (a proxy's outgoing
   * address, or this host's own when sent direct) and whose live session it carried (null: none).
   */
  sources: RequestSource[];
  close(): Promise<void>;
}

export interface RequestSource {
  path: string;
  from: string;
  user: string | null;
}

/** Where a request came from (IPv4-mapped addresses unwrapped) and the live session it carried. */
function requestSource(req: IncomingMessage, path: string, sessionUser: Map<string, string>): RequestSource {
  const from = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const sid = cookies(req).sessionid;
  return { path, from, user: (sid && sessionUser.get(sid)) || null };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><main>${body}</main></body></html>`;
}

function loginForm(variant: FormVariant, alert?: string): string {
  const [u, p] =
    variant === 'legacy'
      ? ['name="username"', 'name="password"']
      : variant === 'fb'
        ? ['name="email"', 'name="pass"']
        : ['', ''];
  return page(
    'Login • Instagram',
    `<form id="loginForm" method="post" action="/accounts/login/ajax/">
       <input type="text" ${u} aria-label="Phone number, username, or email" autocomplete="username">
       <input type="password" ${p} aria-label="Password" autocomplete="current-password">
       ${variant === 'noname' ? '<input type="hidden" name="_variant" value="noname">' : ''}
       <button type="submit">Log in</button>
     </form>
     ${alert ? `<p aria-atomic="true" data-testid="login-error-message" id="slfErrorAlert" role="alert">${esc(alert)}</p>` : ''}
     <script>
       // The noname variant has no field names: post them the way the page's own script would.
       document.getElementById('loginForm').addEventListener('submit', (e) => {
         const f = e.target; const t = f.querySelector('input[type=text]'); const p = f.querySelector('input[type=password]');
         if (!t.name) { const a = document.createElement('input'); a.type = 'hidden'; a.name = 'username'; a.value = t.value; f.appendChild(a);
                        const b = document.createElement('input'); b.type = 'hidden'; b.name = 'password'; b.value = p.value; f.appendChild(b); }
       });
     </script>`,
  );
}

function twoFactorForm(alert?: string): string {
  return page(
    'Login • Instagram',
    `<form method="post" action="/accounts/login/ajax/two_factor/">
       <p id="verificationCodeDescription">Enter the 6-digit code from your authentication app.</p>
       <div><input name="verificationCode" type="tel" autocomplete="one-time-code"></div>
       <div><button type="submit">Confirm</button></div>
     </form>
     ${alert ? `<p role="alert" id="twoFactorErrorAlert">${esc(alert)}</p>` : ''}`,
  );
}

/**
 * The SPA shell: one page whose script renders the login form, posts it by XHR, and moves on
 * client-side (history.pushState) only after Instagram's answer — as www.instagram.com does.
 */
function spaShell(o: {
  consent: boolean;
  legacyXhr: boolean;
  navDelayMs: number;
  nav: NavStyle;
  live: boolean;
  fields: Exclude<FormVariant, 'spa'>;
}): string {
  const [u, p] = o.fields === 'legacy' ? ['username', 'password'] : o.fields === 'fb' ? ['email', 'pass'] : ['', ''];
  const api = o.legacyXhr ? '/accounts/login/ajax/' : '/api/v1/web/accounts/login/ajax/';
  return page(
    'Instagram',
    `<div id="app"></div>
     <div id="overlay"></div>
     <script>
     (() => {
       const APP = document.getElementById('app');
       const OVERLAY = document.getElementById('overlay');
       const API = ${JSON.stringify(api)};
       const NAV_DELAY = ${o.navDelayMs};
       const NAV = ${JSON.stringify(o.nav)};
       let consentOpen = ${o.consent ? '!/(?:^|; )ig_cb=/.test(document.cookie)' : 'false'};
       // A full navigation loses the page's state: the 2FA step keeps it in sessionStorage.
       let twoFactorIdentifier = sessionStorage.getItem('tfid'); let who = sessionStorage.getItem('who') || '';
       const csrf = () => (/(?:^|; )csrftoken=([^;]*)/.exec(document.cookie) || [])[1] || '';
       const go = (path, render) => NAV === 'client'
         ? setTimeout(() => { history.pushState({}, '', path); render(); }, NAV_DELAY)
         : (location.href = path);
       // 'early': the page decides where to go from the first chunk of the answer and leaves at
       // once, while the rest of the body is still on its way.
       const early = (text) => {
         if (/"authenticated":\\s*true/.test(text)) return '/accounts/onetap/?next=%2F';
         const id = /"two_factor_identifier":\\s*"([^"]+)"/.exec(text);
         if (id) { sessionStorage.setItem('tfid', id[1]); sessionStorage.setItem('who', who); return '/accounts/login/two_factor?next=%2F'; }
         return null;
       };
       const post = (path, data) => fetch(path, { method: 'POST', credentials: 'include',
         headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrftoken': csrf(),
                    'x-ig-app-id': '${IG_APP_ID}', 'x-requested-with': 'XMLHttpRequest', 'x-instagram-ajax': '1' },
         body: new URLSearchParams(data).toString() }).then(async (r) => {
           if (NAV === 'early' && r.body) {
             const reader = r.body.getReader(); const dec = new TextDecoder(); let text = '';
             for (;;) { const { done, value } = await reader.read(); if (done) break;
               text += dec.decode(value, { stream: true });
               const to = early(text); if (to) { location.href = to; return new Promise(() => {}); } }
             let j = {}; try { j = JSON.parse(text); } catch {} return { status: r.status, j };
           }
           return { status: r.status, j: await r.json().catch(() => ({})) };
         });
       const alertBox = (id, text) => { let p = document.getElementById(id);
         if (!p) { p = document.createElement('p'); p.id = id; p.setAttribute('role', 'alert');
           p.setAttribute('data-testid', 'login-error-message'); p.setAttribute('aria-atomic', 'true'); APP.appendChild(p); }
         p.textContent = text; };
       function dialog(title, buttons, done) {
         OVERLAY.innerHTML = '<div role="dialog" aria-modal="true" style="position:fixed;inset:0;z-index:10;background:rgba(0,0,0,.6)">'
           + '<div style="background:#fff;margin:10vh auto;width:400px;padding:16px"><h2></h2></div></div>';
         OVERLAY.querySelector('h2').textContent = title;
         const box = OVERLAY.querySelector('h2').parentNode;
         for (const b of buttons) { const el = document.createElement('button'); el.type = 'button'; el.textContent = b;
           el.onclick = () => { OVERLAY.innerHTML = ''; done(b); }; box.appendChild(el); }
       }
       function home() {
         APP.innerHTML = '<nav><a aria-label="Home" href="/">Home</a></nav><section>Feed</section>';
         dialog('Turn on Notifications', ['Turn On', 'Not Now'], () => {});
       }
       function onetap() {
         APP.innerHTML = '<section><h2>Save your login info?</h2><p>We can save your login info on this browser.</p></section>';
         const s = APP.querySelector('section');
         for (const b of ['Save info', 'Not now']) { const el = document.createElement('button'); el.type = 'button'; el.textContent = b;
           el.onclick = () => go('/', home); s.appendChild(el); }
       }
       function answered(r) {
         const j = r.j;
         if (j.authenticated === true) return go('/accounts/onetap/?next=%2F', onetap);
         if (j.two_factor_required) { twoFactorIdentifier = j.two_factor_info.two_factor_identifier;
           sessionStorage.setItem('tfid', twoFactorIdentifier); sessionStorage.setItem('who', who);
           return go('/accounts/login/two_factor?next=%2F', twoFactor); }
         if (j.checkpoint_url) return NAV === 'client'
           ? setTimeout(() => { location.href = j.checkpoint_url; }, NAV_DELAY) : (location.href = j.checkpoint_url);
         if (j.authenticated === false) return alertBox('slfErrorAlert', j.user === false
           ? "The username you entered doesn't belong to an account. Please check your username and try again."
           : 'Sorry, your password was incorrect. Please double-check your password.');
         alertBox('slfErrorAlert', j.message || 'Sorry, there was a problem with your request.');
       }
       function login() {
         APP.innerHTML = '<form id="loginForm"><div><input type="text" ${u ? `name="${u}"` : ''} aria-label="Phone number, username, or email" autocomplete="username"></div>'
           + '<div><input type="password" ${p ? `name="${p}"` : ''} aria-label="Password" autocomplete="current-password"></div>'
           + '<div><button type="submit">Log in</button></div></form>';
         const f = document.getElementById('loginForm');
         // What a bot detector sees: when each key went down in each field.
         const field = { username: f.querySelector('input[type=text]'), password: f.querySelector('input[type=password]') };
         const keys = { username: [], password: [] };
         for (const n of ['username', 'password']) field[n].addEventListener('keydown', (e) => keys[n].push([e.key, performance.now()]));
         const lock = () => f.querySelectorAll('input,button').forEach((e) => (e.disabled = consentOpen));
         lock();
         if (consentOpen) dialog('Allow the use of cookies from Instagram on this browser?',
           ['Decline optional cookies', 'Allow all cookies'], (b) => {
             document.cookie = 'ig_cb=' + (b.startsWith('Allow') ? '2' : '1') + '; path=/; max-age=31536000';
             consentOpen = false; lock(); });
         f.addEventListener('submit', (e) => { e.preventDefault();
           who = field.username.value;
           navigator.sendBeacon('/__fake/keys', JSON.stringify(keys));
           post(API, { client_webdriver: String(navigator.webdriver), username: who, enc_password: '#PWD_INSTAGRAM_BROWSER:0:' + Math.floor(Date.now() / 1000) + ':' + field.password.value,
                       queryParams: '{}', optIntoOneTap: 'false', trustedDeviceRecords: '{}' }).then(answered); });
       }
       function twoFactor() {
         APP.innerHTML = '<form id="twoFactorForm"><p id="verificationCodeDescription">Enter the 6-digit code from your authentication app.</p>'
           + '<div><input name="verificationCode" type="tel" autocomplete="one-time-code" aria-label="Security Code"></div>'
           + '<div><button type="submit">Confirm</button></div></form>';
         const f = document.getElementById('twoFactorForm');
         f.addEventListener('submit', (e) => { e.preventDefault();
           sessionStorage.removeItem('tfid');
           post(API + 'two_factor/', { identifier: twoFactorIdentifier, verificationCode: f.verificationCode.value, username: who,
                                       queryParams: '{"next":"/"}', trust_signal: 'true', verification_method: '3' })
             .then((r) => r.j.authenticated === true && r.j.status === 'ok'
               ? go('/accounts/onetap/?next=%2F', onetap)
               : alertBox('twoFactorErrorAlert', r.j.message || 'Please check the security code and try again.')); });
       }
       ${
         o.live
           ? 'if (/^\\/accounts\\/onetap/.test(location.pathname)) onetap(); else home();'
           : 'if (/two_factor/.test(location.pathname) && twoFactorIdentifier) twoFactor(); else login();'
       }
     })();
     </script>`,
  );
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await text(req));
}

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** The followers (or following) of a fake profile: deterministic, `count` of them. */
export function fakeFriends(p: FakeProfile, kind: 'followers' | 'following'): FakeFriend[] {
  const list = p.friends?.[kind];
  if (list) return list;
  const n = (kind === 'followers' ? p.followers : p.following) ?? 0;
  return Array.from({ length: n }, (_, i) => ({
    pk: `${p.id}${kind === 'followers' ? 1 : 2}${String(i).padStart(6, '0')}`,
    username: `${kind[0]}${p.id}_${i}`,
  }));
}

export async function startFakeInstagram(opts: {
  users: Record<string, FakeIgUser>;
  variant?: FormVariant;
  latencyMs?: number;
  now?: () => number;
  /** Profiles that exist, by lowercased username. */
  profiles?: Record<string, FakeProfile>;
  /** How a missing profile answers: 404 (default) or 200 with data.user null. */
  missingAs?: '404' | 'null';
  /** Whether profile lookups work without a session (the `proxy` method). Default true. */
  anonymous?: boolean;
  /** Injected faults for API requests; `n` counts API requests from 1. */
  fault?: (r: { path: string; sessionid: string | null; n: number }) => Fault | null;
  pageSize?: number;
  /** SPA: the cookie-consent dialog covers the form until answered. */
  consent?: boolean;
  /** SPA: the XHRs go to the legacy `/accounts/login/ajax/…` paths. */
  legacyXhr?: boolean;
  /** SPA: client-side navigation happens this long after the XHR answer (default 400 ms); `early`: the gap between the answer's two chunks. */
  navDelayMs?: number;
  /** SPA: how the page moves on after an answer (default `client`). */
  navStyle?: NavStyle;
  /** Every Nth API answer sets a new csrftoken and rur (they rotate on the real site). */
  rotateCsrfEvery?: number;
  /**
   * How a wrong password is answered by the login XHR (reference §1.4): `fail` (2023+: 400,
   * "Sorry, your password was incorrect…", the default) or `legacy` (200 `authenticated: false`).
   */
  badPassword?: 'fail' | 'legacy';
  /** Before 2023 only `/accounts/login/ajax/…` existed: `/api/v1/web/…` login XHRs are then 404. */
  legacyLoginOnly?: boolean;
}): Promise<FakeInstagram> {
  const apiCalls = new Map<string, number>();
  let apiN = 0;
  let variant: FormVariant = opts.variant ?? 'legacy';
  let consent = opts.consent ?? false;
  let legacyXhr = opts.legacyXhr ?? false;
  let navStyle: NavStyle = opts.navStyle ?? 'client';
  let spaFields: Exclude<FormVariant, 'spa'> = 'legacy';
  const navDelayMs = opts.navDelayMs ?? 400;
  const keyDowns: FakeInstagram['keyDowns'] = [];
  const requests: { method: string; path: string }[] = [];
  const apiRequests: FakeInstagram['apiRequests'] = [];
  const loginPosts: string[] = [];
  const loginClients: FakeInstagram['loginClients'] = [];
  const loginHeaders: string[][] = [];
  const logins = new Map<string, number>();
  const sessions = new Set<string>();
  const pendingTwoFactor = new Map<string, string>(); // identifier → username
  const usedTwoFactor = new Set<string>(); // identifiers already spent (a second use: invalid_nonce)
  const sessionUser = new Map<string, string>();
  const sources: RequestSource[] = [];
  const nowS = () => Math.floor((opts.now?.() ?? Date.now()) / 1000);
  const pkOf = (username: string) =>
    opts.users[username]?.pk ??
    String(1_000_000 + ([...username].reduce((a, c) => a * 31 + c.charCodeAt(0), 7) % 1_000_000));
  const csrf = () => randomBytes(16).toString('hex');
  const rur = (pk: string) => `rur="LDC\\054${pk}\\054${nowS() + 31536000}:${randomBytes(4).toString('hex')}"`;

  /** A new session's cookies (reference §1.7; no Domain/Secure on loopback http). */
  const sessionCookies = (username: string): string[] => {
    const pk = pkOf(username);
    const sid = `${pk}%3A${randomBytes(7).toString('hex')}%3A${10 + (sessions.size % 80)}%3AAY${randomBytes(20).toString('base64url')}`;
    sessions.add(sid);
    sessionUser.set(sid, username);
    return [
      `csrftoken=${csrf()}; Max-Age=31449600; Path=/`,
      `${rur(pk)}; Path=/; HttpOnly; SameSite=Lax`,
      `ds_user_id=${pk}; Max-Age=7776000; Path=/`,
      `sessionid=${sid}; Max-Age=31536000; Path=/; HttpOnly`,
    ];
  };
  const preLoginCookies = (req: IncomingMessage): string[] => {
    const have = cookies(req);
    return [
      ...(have.csrftoken ? [] : [`csrftoken=${csrf()}; Max-Age=31449600; Path=/`]),
      ...(have.mid ? [] : [`mid=${randomBytes(14).toString('base64url')}; Max-Age=63072000; Path=/`]),
      ...(have.ig_did
        ? []
        : [`ig_did=${randomBytes(16).toString('hex').toUpperCase()}; Max-Age=63072000; Path=/; HttpOnly`]),
      ...(have.ig_nrcb ? [] : ['ig_nrcb=1; Max-Age=31536000; Path=/']),
    ];
  };
  const expired = (names: string[]) =>
    names.map((n) => `${n}=""; expires=Thu, 01-Jan-1970 00:00:00 GMT; Max-Age=0; Path=/`);

  const issue = (res: ServerResponse, username: string, location: string) => {
    res.writeHead(302, { location, 'set-cookie': sessionCookies(username) });
    res.end();
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ method: req.method ?? 'GET', path: url.pathname });
      sources.push(requestSource(req, url.pathname, sessionUser));
      const html = (status: number, text: string, headers: Record<string, string | string[]> = {}) => {
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
        res.end(text);
      };
      const jsonC = (status: number, data: unknown, setCookie: string[] = []) => {
        res.writeHead(status, {
          'content-type': 'application/json',
          ...(setCookie.length ? { 'set-cookie': setCookie } : {}),
        });
        res.end(JSON.stringify(data));
      };
      const json = jsonC;
      /** A login/2FA answer: in the `early` style the body comes in two chunks, navDelayMs apart. */
      const answer = (status: number, data: unknown, setCookie: string[] = []) => {
        if (navStyle !== 'early' || variant !== 'spa') return jsonC(status, data, setCookie);
        const text = JSON.stringify(data);
        res.writeHead(status, {
          'content-type': 'application/json',
          ...(setCookie.length ? { 'set-cookie': setCookie } : {}),
        });
        res.write(text.slice(0, -16));
        setTimeout(() => res.end(text.slice(-16)), navDelayMs);
      };
      const xhr = req.headers['x-requested-with'] === 'XMLHttpRequest';
      const spaPage =
        variant === 'spa' &&
        req.method === 'GET' &&
        (url.pathname === '/' ||
          url.pathname.startsWith('/accounts/login') ||
          url.pathname.startsWith('/accounts/onetap'));
      if (spaPage) {
        const sid = cookies(req).sessionid;
        const live = sid !== undefined && sessions.has(sid);
        return html(200, spaShell({ consent, legacyXhr, navDelayMs, nav: navStyle, live, fields: spaFields }), {
          'set-cookie': preLoginCookies(req),
        });
      }
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/accounts/login/')) {
        const sid = cookies(req).sessionid;
        if (url.pathname === '/' && sid && sessions.has(sid)) {
          return html(200, page('Instagram', '<nav><a aria-label="Home" href="/">Home</a></nav>'));
        }
        return html(200, loginForm(variant), { 'set-cookie': preLoginCookies(req) });
      }
      if (req.method === 'POST' && url.pathname === '/__fake/keys') {
        keyDowns.push(JSON.parse(await text(req)) as FakeInstagram['keyDowns'][number]);
        res.writeHead(204);
        return res.end();
      }
      const loginXhr = /^(\/api\/v1\/web)?\/accounts\/login\/ajax\/(two_factor\/)?$/.exec(url.pathname);
      if (req.method === 'POST' && loginXhr && loginXhr[1] && opts.legacyLoginOnly)
        return html(404, page('Page not found', '<h2>Sorry, this page isn&#39;t available.</h2>'));
      if (req.method === 'POST' && loginXhr && xhr) {
        loginPosts.push(url.pathname);
        loginHeaders.push(req.rawHeaders.flatMap((h, i) => (i % 2 === 0 ? [h.toLowerCase()] : [])));
        const c = cookies(req);
        if (!c.csrftoken || req.headers['x-csrftoken'] !== c.csrftoken)
          return json(403, { message: 'CSRF token missing or incorrect', status: 'fail' });
        const f = await body(req);
        if (loginXhr[2]) {
          const identifier = f.get('identifier') ?? '';
          const username = pendingTwoFactor.get(identifier);
          const u = username ? opts.users[username] : undefined;
          if (usedTwoFactor.has(identifier))
            return answer(400, {
              message: 'This code is no longer valid. Please request a new one.',
              status: 'fail',
              error_type: 'invalid_nonce',
            });
          if (!username || !u?.totpSecret)
            return answer(400, {
              message: 'Sorry, there was a problem with your request.',
              status: 'fail',
              error_type: 'invalid_identifier',
            });
          if (!(await totpValid(u.totpSecret, (f.get('verificationCode') ?? '').trim(), nowS(), 1)))
            return answer(400, {
              message: 'Please check the security code and try again.',
              status: 'fail',
              error_type: 'sms_code_validation_code_invalid',
            });
          pendingTwoFactor.delete(identifier);
          usedTwoFactor.add(identifier);
          return answer(
            200,
            { authenticated: true, user: true, userId: pkOf(username), oneTapPrompt: true, status: 'ok' },
            sessionCookies(username),
          );
        }
        loginClients.push({ webdriver: f.get('client_webdriver'), userAgent: req.headers['user-agent'] });
        const username = (f.get('username') ?? '').trim().toLowerCase();
        const enc = /^#PWD_INSTAGRAM_BROWSER:0:\d+:([\s\S]*)$/.exec(f.get('enc_password') ?? '');
        const password = enc ? enc[1]! : (f.get('password') ?? '');
        logins.set(username, (logins.get(username) ?? 0) + 1);
        const u = opts.users[username];
        if (u?.behaviour === 'rate_limited')
          return answer(400, { message: 'Please wait a few minutes before you try again.', status: 'fail' });
        if (!u) return answer(200, { authenticated: false, user: false, status: 'ok' });
        if (u.behaviour === 'cut' && u.password === password) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"authenticated": tr');
          return void setTimeout(() => res.destroy(), 50);
        }
        if (u.behaviour === 'blocked') {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return res.end(page('Error', '<p>Oops, an error occurred.</p>'));
        }
        if (u.password !== password)
          return opts.badPassword === 'legacy'
            ? answer(200, { authenticated: false, user: true, status: 'ok' })
            : answer(400, {
                message: 'Sorry, your password was incorrect. Please double-check your password.',
                status: 'fail',
              });
        if (u.behaviour === 'challenge')
          return answer(400, {
            message: 'challenge_required',
            challenge: {
              url: `https://i.instagram.com/challenge/${pkOf(username)}/atwWXYmeVP/`,
              api_path: '/challenge/',
              hide_webview_header: false,
              lock: true,
              logout: false,
              native_flow: false,
              flow_render_type: 4,
            },
            status: 'fail',
          });
        if (u.behaviour === 'checkpoint')
          return answer(400, {
            message: 'checkpoint_required',
            checkpoint_url: `/challenge/${pkOf(username)}/atwWXYmeVP/`,
            lock: false,
            flow_render_type: 0,
            status: 'fail',
          });
        if (u.totpSecret) {
          const id = randomBytes(32).toString('base64url');
          pendingTwoFactor.set(id, username);
          return answer(400, {
            message: '',
            two_factor_required: true,
            // The whole shape a real answer has (reference §1.4), not only what a client reads.
            two_factor_info: {
              pk: Number(pkOf(username)),
              username,
              sms_two_factor_on: false,
              whatsapp_two_factor_on: false,
              totp_two_factor_on: true,
              eligible_for_multiple_totp: false,
              obfuscated_phone_number: '',
              obfuscated_phone_number_2: '',
              two_factor_identifier: id,
              show_messenger_code_option: false,
              show_new_login_screen: true,
              show_trusted_device_option: false,
              should_opt_in_trusted_device_option: true,
              pending_trusted_notification: false,
              sms_not_allowed_reason: null,
              trusted_notification_polling_nonce: null,
              is_trusted_device: false,
              device_id: c.mid ?? null,
              is_in_sowa_experience: false,
              phone_verification_settings: PHONE_VERIFICATION,
            },
            phone_verification_settings: PHONE_VERIFICATION,
            status: 'fail',
            error_type: 'two_factor_required',
          });
        }
        return answer(
          200,
          { authenticated: true, user: true, userId: pkOf(username), oneTapPrompt: true, status: 'ok' },
          sessionCookies(username),
        );
      }
      if (req.method === 'POST' && url.pathname === '/accounts/login/ajax/') {
        loginPosts.push(url.pathname);
        const f = await body(req);
        const username = (f.get('username') ?? f.get('email') ?? '').trim().toLowerCase();
        const password = f.get('password') ?? f.get('pass') ?? '';
        logins.set(username, (logins.get(username) ?? 0) + 1);
        const u = opts.users[username];
        if (u?.behaviour === 'rate_limited')
          return html(200, loginForm(variant, 'Please wait a few minutes before you try again.'));
        if (!u)
          return html(
            200,
            loginForm(
              variant,
              "The username you entered doesn't belong to an account. Please check your username and try again.",
            ),
          );
        if (u.password !== password)
          return html(
            200,
            loginForm(variant, 'Sorry, your password was incorrect. Please double-check your password.'),
          );
        if (u.behaviour === 'checkpoint') {
          res.writeHead(302, { location: `/challenge/${u.pk ?? '12061502575'}/atwWXYmeVP/` });
          return res.end();
        }
        if (u.totpSecret) {
          const id = randomBytes(24).toString('base64url');
          pendingTwoFactor.set(id, username);
          res.writeHead(302, { location: '/accounts/login/two_factor?next=%2F', 'set-cookie': `tf_id=${id}; Path=/` });
          return res.end();
        }
        return issue(res, username, '/accounts/onetap/?next=%2F');
      }
      if (req.method === 'GET' && url.pathname.startsWith('/accounts/login/two_factor'))
        return html(200, twoFactorForm());
      if (req.method === 'POST' && url.pathname === '/accounts/login/ajax/two_factor/') {
        const f = await body(req);
        const username = pendingTwoFactor.get(cookies(req).tf_id ?? '');
        const u = username ? opts.users[username] : undefined;
        if (!username || !u?.totpSecret)
          return html(400, twoFactorForm('Sorry, there was a problem with your request.'));
        if (!(await totpValid(u.totpSecret, (f.get('verificationCode') ?? '').trim(), nowS(), 0))) {
          return html(200, twoFactorForm('Please check the security code and try again.'));
        }
        pendingTwoFactor.delete(cookies(req).tf_id!);
        return issue(res, username, '/accounts/onetap/?next=%2F');
      }
      if (req.method === 'GET' && url.pathname.startsWith('/accounts/onetap/')) {
        return html(
          200,
          page(
            'Save your login info?',
            `<section><button onclick="location.href='/'">Save info</button><button onclick="location.href='/'">Not now</button></section>`,
          ),
        );
      }
      if (url.pathname.startsWith('/challenge/')) {
        return html(
          200,
          page('Instagram', '<h2>We Detected An Unusual Login Attempt</h2><button>Send Security Code</button>'),
        );
      }
      const friendship = /^\/api\/v1\/friendships\/(\d+)\/(followers|following)\/$/.exec(url.pathname);
      if (url.pathname === '/api/v1/users/web_profile_info/' || friendship) {
        const sid = cookies(req).sessionid ?? null;
        const known = sid !== null && sessions.has(sid);
        apiCalls.set(known ? sid! : '', (apiCalls.get(known ? sid! : '') ?? 0) + 1);
        apiRequests.push({ path: url.pathname + url.search, headers: { ...req.headers } });
        const n = ++apiN;
        const f = opts.fault?.({ path: url.pathname, sessionid: known ? sid : null, n }) ?? null;
        // csrftoken and rur rotate: every Nth answer sets new ones (only for a live session).
        const rotate =
          known && opts.rotateCsrfEvery && n % opts.rotateCsrfEvery === 0
            ? [
                `csrftoken=${csrf()}; Max-Age=31449600; Path=/`,
                `${rur(pkOf(sessionUser.get(sid!)!))}; Path=/; HttpOnly; SameSite=Lax`,
              ]
            : [];
        const json = (status: number, data: unknown) => jsonC(status, data, rotate);
        if ((f === 'logout' || f === '302-logout') && known) {
          sessions.delete(sid!);
          const gone = expired(['sessionid', 'ds_user_id', 'rur']);
          if (f === '302-logout') {
            res.writeHead(302, {
              location: `/accounts/login/?next=${encodeURIComponent(url.pathname)}`,
              'set-cookie': gone,
            });
            return res.end();
          }
          return jsonC(
            401,
            { message: 'Please wait a few minutes before you try again.', require_login: true, status: 'fail' },
            gone,
          );
        }
        if (f === 'challenge')
          return json(400, {
            message: 'challenge_required',
            challenge: { url: '/challenge/', api_path: '/challenge/', lock: true, logout: false, native_flow: false },
            status: 'fail',
          });
        // A throttled live session: the answer says "log in" and clears the cookies (reference
        // §6), yet the session itself keeps working (current_user still answers).
        if (f === '401')
          return jsonC(
            401,
            { message: 'Please wait a few minutes before you try again.', require_login: true, status: 'fail' },
            [...rotate, ...expired(['sessionid', 'ds_user_id'])],
          );
        if (f === '302') {
          res.writeHead(302, { location: `/accounts/login/?next=${encodeURIComponent(url.pathname)}` });
          return res.end();
        }
        if (f === '429')
          return json(429, { message: 'Please wait a few minutes before you try again.', status: 'fail' });
        if (f === 'checkpoint')
          return json(400, {
            message: 'checkpoint_required',
            checkpoint_url: '/challenge/1/x/',
            lock: false,
            flow_render_type: 0,
            status: 'fail',
          });
        if (f === 'feedback')
          return json(400, {
            message: 'feedback_required',
            spam: true,
            feedback_title: 'Action Blocked',
            status: 'fail',
          });
        if (sid !== null && !known)
          return json(401, {
            message: 'Please wait a few minutes before you try again.',
            require_login: true,
            status: 'fail',
          });
        if (friendship) {
          if (!known) return json(401, { message: 'login_required', require_login: true, status: 'fail' });
          const p = Object.values(opts.profiles ?? {}).find((x) => x.id === friendship[1]);
          if (!p) return json(400, { message: 'unable to fetch followers', status: 'fail' });
          const all = fakeFriends(p, friendship[2] as 'followers' | 'following');
          const size = opts.pageSize ?? 12;
          const from = Number(url.searchParams.get('max_id') ?? 0);
          const page = all.slice(from, from + size);
          const more = from + size < all.length;
          return json(200, {
            users: page.map((u) => ({
              pk: Number(u.pk),
              pk_id: u.pk,
              username: u.username,
              full_name: u.full_name ?? '',
              is_private: u.is_private ?? false,
            })),
            big_list: more,
            page_size: size,
            ...(more ? { next_max_id: String(from + size) } : {}),
            has_more: more,
            should_limit_list_of_followers: false,
            status: 'ok',
          });
        }
        if (!known && opts.anonymous === false)
          return json(401, {
            message: 'Please wait a few minutes before you try again.',
            require_login: true,
            status: 'fail',
          });
        if (req.headers['x-ig-app-id'] !== '936619743392459')
          return json(400, { message: 'useragent mismatch', status: 'fail' });
        const username = (url.searchParams.get('username') ?? '').toLowerCase();
        const p = opts.profiles?.[username];
        if (!p)
          return opts.missingAs === 'null'
            ? json(200, { data: { user: null }, status: 'ok' })
            : json(404, { message: 'User not found', status: 'fail' });
        return json(200, {
          data: {
            user: {
              id: p.id,
              username,
              full_name: username,
              is_private: false,
              edge_followed_by: { count: p.followers ?? 0 },
              edge_follow: { count: p.following ?? 0 },
            },
          },
          status: 'ok',
        });
      }
      if (url.pathname === '/api/v1/accounts/current_user/') {
        apiRequests.push({ path: url.pathname + url.search, headers: { ...req.headers } });
        const sid = cookies(req).sessionid;
        const user = sid && sessions.has(sid) ? sessionUser.get(sid) : undefined;
        if (!user) {
          res.writeHead(401, { 'content-type': 'application/json' });
          return res.end(JSON.stringify({ message: 'login_required', require_login: true, status: 'fail' }));
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ user: { username: user }, status: 'ok' }));
      }
      html(404, page('Page not found', '<h2>Sorry, this page isn&#39;t available.</h2>'));
    })().catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    apiCalls,
    apiRequests,
    loginPosts,
    loginClients,
    loginHeaders,
    url: `http://127.0.0.1:${port}`,
    setConsent: (on) => (consent = on),
    setLegacyXhr: (on) => (legacyXhr = on),
    setNavStyle: (st) => (navStyle = st),
    setSpaFields: (f) => (spaFields = f),
    keyDowns,
    expire: (sid) => void sessions.delete(sid),
    sources,
    requests,
    logins,
    sessions,
    grantSession: (username) => {
      const sid = `${pkOf(username)}%3A${randomBytes(7).toString('hex')}%3A11%3AAY${randomBytes(20).toString('base64url')}`;
      sessions.add(sid);
      sessionUser.set(sid, username);
      return sid;
    },
    setVariant: (v) => (variant = v),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
