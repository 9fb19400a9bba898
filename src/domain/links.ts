import { fail, ok, type ParseResult } from './result.js';

/** A Telegram group/channel to join: a public username or a private invite hash. */
export type TargetRef = { kind: 'username'; username: string } | { kind: 'invite'; hash: string };

/** gramjs `Utils.VALID_USERNAME_RE` (5-32 chars, or a few short reserved bot names). */
const VALID_USERNAME_RE = /^([a-z]((?!__)[\w\d]){3,30}[a-z\d]|gif|vid|pic|bing|wiki|imdb|bold|vote|like|coub)$/i;

const INVITE_HASH_RE = /^[A-Za-z0-9_-]{8,}$/;

/** `[scheme://][www.]host[/rest]` for the hosts Telegram serves links on. */
const HTTP_LINK_RE = /^(?:https?:\/\/)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)(?:([/?#])(.*))?$/i;

/** t.me paths that are Telegram features, not usernames (all lowercase). */
const RESERVED_PATHS: ReadonlySet<string> = new Set([
  'addemoji',
  'addlist',
  'addstickers',
  'addtheme',
  'boost',
  'confirmphone',
  'contact',
  'giftcode',
  'invoice',
  'login',
  'proxy',
  'setlanguage',
  'share',
  'socks',
]);

const REASON_USERNAME = 'invalid username: 5-32 letters, digits or underscores, starting with a letter';
const REASON_HASH = 'invalid invite hash: at least 8 of A-Z, a-z, 0-9, _ or -';
const REASON_PHONE = 'phone number links are not group links';
const REASON_NOT_TELEGRAM = 'not a Telegram link';
const REASON_NO_NAME = 'link has no group name';
const REASON_EXTRA_PATH = 'unexpected path after the group name';

function usernameRef(name: string): ParseResult<TargetRef> {
  if (!VALID_USERNAME_RE.test(name)) return fail(REASON_USERNAME);
  return ok({ kind: 'username', username: name.toLowerCase() });
}

function inviteRef(hash: string): ParseResult<TargetRef> {
  if (!INVITE_HASH_RE.test(hash)) return fail(REASON_HASH);
  return ok({ kind: 'invite', hash });
}

function parseTgLink(rest: string): ParseResult<TargetRef> {
  // rest is everything after "tg://"
  const q = rest.indexOf('?');
  const action = (q === -1 ? rest : rest.slice(0, q)).replace(/\/$/, '').toLowerCase();
  const params = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
  if (action === 'join') {
    const hash = params.get('invite');
    if (hash === null || hash === '') return fail('tg://join link has no invite hash');
    return inviteRef(hash);
  }
  if (action === 'resolve') {
    const domain = params.get('domain');
    if (domain === null || domain === '') return fail('tg://resolve link has no domain');
    return usernameRef(domain);
  }
  return fail('unsupported tg:// link');
}

function parseHttpPath(path: string): ParseResult<TargetRef> {
  // Drop query and fragment, then one trailing slash.
  const cut = path.search(/[?#]/);
  let p = cut === -1 ? path : path.slice(0, cut);
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '') return fail(REASON_NO_NAME);
  const segs = p.split('/');
  if (segs.some((s) => s === '')) return fail('link has an empty path segment');
  const first = segs[0] ?? '';
  const rest = segs.slice(1);
  const lower = first.toLowerCase();

  if (first.startsWith('+')) {
    const hash = first.slice(1);
    if (/^\d+$/.test(hash)) return fail(REASON_PHONE);
    if (rest.length > 0) return fail('unexpected path after the invite hash');
    return inviteRef(hash);
  }
  if (lower === 'joinchat') {
    const hash = rest[0];
    if (hash === undefined) return fail('joinchat link has no invite hash');
    if (rest.length > 1) return fail('unexpected path after the invite hash');
    return inviteRef(hash);
  }
  if (lower === 'c') return fail('private t.me/c/ links cannot be joined; use an invite link');
  if (lower === 's') return fail('t.me/s/ preview links are not supported; use t.me/NAME');
  if (first.startsWith('@')) return fail('t.me links take the name without @');
  if (RESERVED_PATHS.has(lower)) return fail('not a group link');

  const ref = usernameRef(first);
  if (!ref.ok) return ref;
  // Message link t.me/name/123, or forum topic message t.me/name/topic/123.
  if (rest.length > 2 || !rest.every((s) => /^\d+$/.test(s))) return fail(REASON_EXTRA_PATH);
  return ref;
}

/**
 * Parses a Telegram group reference: `@name`, `name`, `t.me/name[/123]`, `t.me/+HASH`,
 * `t.me/joinchat/HASH`, `tg://join?invite=HASH`, `tg://resolve?domain=name` (http/https,
 * `www.`, telegram.me and telegram.dog accepted). Usernames are lowercased; hashes keep case.
 */
export function parseTargetLink(input: string): ParseResult<TargetRef> {
  const s = input.trim();
  if (s === '') return fail('link is empty');
  if (/\s/.test(s)) return fail('link must not contain spaces');

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s);
  if (scheme) {
    const name = (scheme[1] ?? '').toLowerCase();
    if (name === 'tg') return parseTgLink(s.slice(scheme[0].length));
    if (name !== 'http' && name !== 'https') return fail(REASON_NOT_TELEGRAM);
  }

  const m = HTTP_LINK_RE.exec(s);
  if (m) {
    const sep = m[1];
    if (sep === undefined || sep !== '/') return fail(REASON_NO_NAME);
    return parseHttpPath(m[2] ?? '');
  }
  if (scheme || /[/.:?#]/.test(s)) return fail(REASON_NOT_TELEGRAM);

  if (s.startsWith('@')) return usernameRef(s.slice(1));
  return usernameRef(s);
}

/** Stable unique key for a target: `@username` or `+hash`. */
export function targetKey(ref: TargetRef): string {
  return ref.kind === 'username' ? `@${ref.username}` : `+${ref.hash}`;
}
