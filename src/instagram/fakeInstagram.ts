import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { totpValid } from './totp.js';

/**
 * A loopback fake of Instagram's web login (reference/instagram-web.md §1), for tests and the
 * demo: the login form in three variants (legacy username/password, fb email/pass, inputs
 * without names), the 2FA page (`verificationCode`, TOTP checked with otplib), a checkpoint,
 * the wrong-password and "Please wait a few minutes" banners, the cookies a real login sets,
 * and an authenticated `current_user` endpoint to verify a session.
 */
export type FormVariant = 'legacy' | 'fb' | 'noname';

export interface FakeIgUser {
  password: string;
  totpSecret?: string;
  /** What happens after a right password. */
  behaviour?: 'ok' | 'checkpoint' | 'rate_limited';
  pk?: string;
}

export type Fault = '401' | '302' | '429' | 'checkpoint' | 'feedback';

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
  close(): Promise<void>;
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

async function body(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
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
}): Promise<FakeInstagram> {
  const apiCalls = new Map<string, number>();
  let apiN = 0;
  let variant: FormVariant = opts.variant ?? 'legacy';
  const requests: { method: string; path: string }[] = [];
  const logins = new Map<string, number>();
  const sessions = new Set<string>();
  const pendingTwoFactor = new Map<string, string>(); // identifier → username
  const sessionUser = new Map<string, string>();
  const nowS = () => Math.floor((opts.now?.() ?? Date.now()) / 1000);

  const issue = (res: ServerResponse, username: string, location: string) => {
    const u = opts.users[username]!;
    const pk = u.pk ?? String(1_000_000 + ([...username].reduce((a, c) => a * 31 + c.charCodeAt(0), 7) % 1_000_000));
    const sid = `${pk}%3A${randomBytes(7).toString('hex')}%3A${10 + (sessions.size % 80)}%3AAY${randomBytes(20).toString('base64url')}`;
    sessions.add(sid);
    sessionUser.set(sid, username);
    res.writeHead(302, {
      location,
      'set-cookie': [
        `csrftoken=${randomBytes(16).toString('hex')}; Max-Age=31449600; Path=/`,
        `ds_user_id=${pk}; Max-Age=7776000; Path=/`,
        `sessionid=${sid}; Max-Age=31536000; Path=/; HttpOnly`,
        `rur="LDC\\054${pk}\\054${nowS() + 31536000}:01f7"; Path=/; HttpOnly; SameSite=Lax`,
      ],
    });
    res.end();
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
      const url = new URL(req.url ?? '/', 'http://x');
      requests.push({ method: req.method ?? 'GET', path: url.pathname });
      const html = (status: number, text: string, headers: Record<string, string | string[]> = {}) => {
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
        res.end(text);
      };
      if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/accounts/login/')) {
        const sid = cookies(req).sessionid;
        if (url.pathname === '/' && sid && sessions.has(sid)) {
          return html(200, page('Instagram', '<nav><a aria-label="Home" href="/">Home</a></nav>'));
        }
        return html(200, loginForm(variant), {
          'set-cookie': [
            `csrftoken=${randomBytes(16).toString('hex')}; Max-Age=31449600; Path=/`,
            `mid=${randomBytes(14).toString('base64url')}; Max-Age=63072000; Path=/`,
          ],
        });
      }
      if (req.method === 'POST' && url.pathname === '/accounts/login/ajax/') {
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
          page('Save your login info?', '<section><button>Save info</button><button>Not now</button></section>'),
        );
      }
      if (url.pathname.startsWith('/challenge/')) {
        return html(
          200,
          page('Instagram', '<h2>We Detected An Unusual Login Attempt</h2><button>Send Security Code</button>'),
        );
      }
      const json = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      const friendship = /^\/api\/v1\/friendships\/(\d+)\/(followers|following)\/$/.exec(url.pathname);
      if (url.pathname === '/api/v1/users/web_profile_info/' || friendship) {
        const sid = cookies(req).sessionid ?? null;
        const known = sid !== null && sessions.has(sid);
        apiCalls.set(known ? sid! : '', (apiCalls.get(known ? sid! : '') ?? 0) + 1);
        const f = opts.fault?.({ path: url.pathname, sessionid: known ? sid : null, n: ++apiN }) ?? null;
        if (f === '401')
          return json(401, {
            message: 'Please wait a few minutes before you try again.',
            require_login: true,
            status: 'fail',
          });
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
    url: `http://127.0.0.1:${port}`,
    requests,
    logins,
    sessions,
    grantSession: (username) => {
      const sid = `${opts.users[username]?.pk ?? '1'}%3A${randomBytes(7).toString('hex')}%3A11%3AAY${randomBytes(20).toString('base64url')}`;
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
