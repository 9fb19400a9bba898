/**
 * Instagram's web protocol as a browser speaks it (reference/instagram-web.md): the URLs check
 * and refresh-session call, the app id, the headers of an XHR, and how answers are read. No I/O:
 * requests go through ./http.ts (check) or the browser (./browser.ts).
 */
import type { HttpResponse } from './http.js';

/** The web app's id, sent as X-IG-App-ID with every API request (defined here only). */
export const IG_APP_ID = '936619743392459';

/** A profile lookup's verdict. */
export type LookupResult = 'found' | 'not_found' | 'error';

/** Whether the session lives (and its cookies): the browser's own check after a login. */
export const CURRENT_USER_PATH = '/api/v1/accounts/current_user/?edit=true';

export function profilePath(username: string): string {
  return `/api/v1/users/web_profile_info/?username=${encodeURIComponent(username)}`;
}

/** One page (12) of a user's followers or followings, after `cursor` (null: the first page). */
export function friendshipsPath(userId: string, kind: 'followers' | 'following', cursor: string | null): string {
  return `/api/v1/friendships/${userId}/${kind}/?count=12${cursor ? `&max_id=${encodeURIComponent(cursor)}` : ''}&search_surface=follow_list_page`;
}

/** The two headers that make a request an XHR of the web app (an anonymous lookup sends only these). */
export const XHR_HEADERS: Readonly<Record<string, string>> = {
  'x-ig-app-id': IG_APP_ID,
  'x-requested-with': 'XMLHttpRequest',
};

/** What a browser sends with an XHR to Instagram's web API, for a session (reference §1.3, §3.2). */
export function browserHeaders(jar: Map<string, string>, userAgent: string, baseUrl: string): Record<string, string> {
  const csrftoken = jar.get('csrftoken');
  return {
    accept: '*/*',
    'accept-language': 'en-US,en;q=0.9',
    cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
    ...(csrftoken ? { 'x-csrftoken': csrftoken } : {}),
    'x-ig-app-id': IG_APP_ID,
    'x-asbd-id': '129477',
    'x-ig-www-claim': '0',
    'x-requested-with': 'XMLHttpRequest',
    referer: new URL('/', baseUrl).toString(),
    'user-agent': userAgent,
  };
}

/** One cookie of a session's stored jar. */
export interface JarCookie {
  name: string;
  value: string;
  domain?: string;
  path?: string;
  expires?: number;
  httpOnly?: boolean;
  secure?: boolean;
}

/**
 * A session's cookie jar: its stored cookies (JSON of JarCookie[], or null), then its sessionid,
 * and ds_user_id taken from the sessionid when the jar has none.
 */
export function sessionJar(sessionid: string, cookiesJson: string | null): Map<string, string> {
  const jar = new Map<string, string>();
  if (cookiesJson !== null) {
    try {
      for (const c of JSON.parse(cookiesJson) as JarCookie[]) jar.set(c.name, c.value);
    } catch {
      jar.clear();
    }
  }
  jar.set('sessionid', sessionid);
  if (!jar.has('ds_user_id')) {
    const uid = /^(\d+)(?:%3A|:)/.exec(sessionid)?.[1];
    if (uid) jar.set('ds_user_id', uid);
  }
  return jar;
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

/**
 * Keep the jar current from an answer's Set-Cookie (csrftoken and rur rotate). A deletion of the
 * session's own cookies is not taken on trust: whether the session lives is for current_user to
 * say. Returns whether the jar changed.
 */
export function absorbSetCookies(jar: Map<string, string>, res: HttpResponse): boolean {
  let changed = false;
  for (const c of parseSetCookies(res.headers['set-cookie'])) {
    if (c.remove) {
      if (c.name !== 'sessionid' && c.name !== 'ds_user_id' && jar.delete(c.name)) changed = true;
    } else if (c.name !== 'sessionid' && jar.get(c.name) !== c.value) {
      jar.set(c.name, c.value);
      changed = true;
    }
  }
  return changed;
}

/** 401, 302 to login, login_required: the session is no good (or Instagram says so to throttle). */
export function loggedOut(r: HttpResponse): boolean {
  const body = r.json as { require_login?: boolean; message?: string } | undefined;
  return (
    r.status === 401 ||
    (r.status === 302 && /\/accounts\/login/.test(String(r.headers.location ?? ''))) ||
    body?.message === 'login_required' ||
    body?.require_login === true
  );
}

/** current_user's answer says the session works. */
export function sessionVerified(r: HttpResponse | null): boolean {
  return r?.status === 200 && (r.json as { status?: string } | undefined)?.status === 'ok';
}

/** The `message` of an API answer (checkpoint_required, feedback_required…), if any. */
export function apiMessage(r: HttpResponse): unknown {
  return (r.json as { message?: unknown } | undefined)?.message;
}

/** web_profile_info's answer. */
export function profileVerdict(res: HttpResponse): LookupResult | 'logged_out' | 'throttled' {
  if (loggedOut(res)) return 'logged_out';
  if (res.status === 429) return 'throttled';
  if (res.status === 404) return 'not_found';
  const j = res.json as { data?: { user?: unknown }; status?: string } | undefined;
  if (res.status === 200 && j?.data && 'user' in j.data) return j.data.user ? 'found' : 'not_found';
  return 'error';
}

/** The user id in a web_profile_info answer that found the user (else null). */
export function profileUserId(res: HttpResponse, verdict: string): string | null {
  const id = (res.json as { data?: { user?: { id?: unknown } | null } } | undefined)?.data?.user?.id;
  return verdict === 'found' && id !== undefined && id !== null ? String(id) : null;
}

/** One follower / followed account as a friendships page lists it. */
export interface FollowerItem {
  id: string;
  username: string | null;
  fullName: string | null;
  isPrivate: number | null;
}

/** A friendships page: its users and the cursor of the next page (null: the last page); null when it is not one. */
export function followerPage(res: HttpResponse): { users: FollowerItem[]; next: string | null } | null {
  const body = res.json as
    | {
        users?: { pk?: number | string; pk_id?: string; username?: string; full_name?: string; is_private?: boolean }[];
        next_max_id?: string | number;
      }
    | undefined;
  if (res.status !== 200 || !Array.isArray(body?.users)) return null;
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
  return { users, next };
}
