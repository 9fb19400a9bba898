import { isIP } from 'node:net';

import { fail, ok, type ParseResult } from './result.js';

/** A parsed proxy. `password` and `secret` are secret: never log or print them. */
export interface ProxySpec {
  scheme: 'socks5' | 'socks4' | 'http' | 'mtproxy';
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** MTProxy secret, lowercase hex (16 bytes, or 17 starting with dd). */
  secret?: string;
  /** The stored proxy's row, when it came from the store (health is tracked per row). */
  id?: number;
}

const SCHEMES: Readonly<Record<string, ProxySpec['scheme']>> = {
  socks5: 'socks5',
  socks5h: 'socks5',
  socks4: 'socks4',
  http: 'http',
  mtproxy: 'mtproxy',
};

const REASON_FAKE_TLS = 'fake-TLS (ee…) MTProxy secrets are not supported by gramjs';
const REASON_SECRET_SIZE = 'MTProxy secret must be 16 bytes, or 17 bytes starting with dd';
const REASON_PORT = 'port must be 1-65535';

const HOSTNAME_LABEL_RE = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function decodeBase64Any(s: string): Buffer | undefined {
  const m = /^([A-Za-z0-9+/_-]+)(={0,2})$/.exec(s);
  if (!m) return undefined;
  const body = m[1] ?? '';
  const pad = m[2] ?? '';
  if (/[+/]/.test(body) && /[-_]/.test(body)) return undefined;
  if (body.length % 4 === 1) return undefined;
  if (pad.length > 0 && body.length % 4 !== 4 - pad.length) return undefined;
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** Normalises an MTProxy secret (hex, base64 or base64url) to lowercase hex. */
function parseMtproxySecret(secret: string): ParseResult<string> {
  const candidates: Buffer[] = [];
  if (/^[0-9a-f]+$/i.test(secret) && secret.length % 2 === 0) {
    candidates.push(Buffer.from(secret, 'hex'));
  }
  const b64 = decodeBase64Any(secret);
  if (b64 !== undefined) candidates.push(b64);
  for (const c of candidates) {
    if (c.length === 16 || (c.length === 17 && c[0] === 0xdd)) return ok(c.toString('hex'));
  }
  if (candidates.some((c) => c.length >= 17 && c[0] === 0xee)) return fail(REASON_FAKE_TLS);
  if (candidates.length === 0) return fail('MTProxy secret must be hex or base64');
  return fail(REASON_SECRET_SIZE);
}

function decodeComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function parseHost(raw: string): ParseResult<string> {
  if (raw === '') return fail('host is empty');
  if (raw.startsWith('[')) {
    if (!raw.endsWith(']')) return fail('invalid IPv6 address');
    const inner = raw.slice(1, -1);
    if (isIP(inner) !== 6) return fail('invalid IPv6 address');
    return ok(inner.toLowerCase());
  }
  if (raw.includes(':')) return fail('IPv6 addresses must be in brackets');
  const host = raw.toLowerCase();
  if (isIP(host) === 4) return ok(host);
  if (/^[\d.]+$/.test(host)) return fail('invalid IPv4 address');
  const labels = host.split('.');
  if (host.length > 253 || !labels.every((l) => HOSTNAME_LABEL_RE.test(l))) {
    return fail('invalid host');
  }
  return ok(host);
}

function parseHostPort(raw: string): ParseResult<{ host: string; port: number }> {
  let hostPart: string;
  let portPart: string | undefined;
  if (raw.startsWith('[')) {
    const close = raw.indexOf(']');
    if (close === -1) return fail('invalid IPv6 address');
    hostPart = raw.slice(0, close + 1);
    const after = raw.slice(close + 1);
    if (after === '') portPart = undefined;
    else if (after.startsWith(':')) portPart = after.slice(1);
    else return fail('invalid host');
  } else {
    const colon = raw.lastIndexOf(':');
    if (colon !== -1 && raw.indexOf(':') !== colon) return fail('IPv6 addresses must be in brackets');
    hostPart = colon === -1 ? raw : raw.slice(0, colon);
    portPart = colon === -1 ? undefined : raw.slice(colon + 1);
  }
  const host = parseHost(hostPart);
  if (!host.ok) return host;
  if (portPart === undefined || portPart === '') return fail('port is required');
  if (!/^\d{1,5}$/.test(portPart)) return fail(REASON_PORT);
  const port = Number(portPart);
  if (port < 1 || port > 65535) return fail(REASON_PORT);
  return ok({ host: host.value, port });
}

/**
 * Parses `socks5://[user[:pass]@]host:port` (also socks5h), `socks4://[user@]host:port`,
 * `http://[user[:pass]@]host:port` and `mtproxy://SECRET@host:port`.
 * Reasons never contain the password or secret.
 */
export function parseProxyUrl(input: string): ParseResult<ProxySpec> {
  const s = input.trim();
  if (s === '') return fail('proxy URL is empty');
  if (/\s/.test(s)) return fail('proxy URL must not contain spaces');
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(s);
  if (!m) return fail('proxy URL must look like scheme://host:port');
  const schemeName = (m[1] ?? '').toLowerCase();
  if (schemeName === 'https') return fail('use http:// for an HTTP CONNECT proxy');
  const scheme = SCHEMES[schemeName];
  if (scheme === undefined) {
    return fail('unsupported proxy scheme; use socks5, socks4, http or mtproxy');
  }

  let rest = m[2] ?? '';
  // Credentials may contain unescaped '@', so the host starts after the last one.
  const at = rest.lastIndexOf('@');
  const userinfo = at === -1 ? undefined : rest.slice(0, at);
  rest = at === -1 ? rest : rest.slice(at + 1);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#]/.test(rest)) return fail('proxy URL must not have a path, query or fragment');

  const hp = parseHostPort(rest);
  if (!hp.ok) return hp;
  const spec: ProxySpec = { scheme, host: hp.value.host, port: hp.value.port };

  if (scheme === 'mtproxy') {
    if (userinfo === undefined || userinfo === '') {
      return fail('mtproxy URL needs a secret: mtproxy://SECRET@host:port');
    }
    if (userinfo.includes(':')) return fail('mtproxy takes a secret, not a username and password');
    const decoded = decodeComponent(userinfo);
    if (decoded === undefined) return fail('invalid percent-encoding in MTProxy secret');
    const secret = parseMtproxySecret(decoded);
    if (!secret.ok) return secret;
    spec.secret = secret.value;
    return ok(spec);
  }

  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const rawUser = colon === -1 ? userinfo : userinfo.slice(0, colon);
    const rawPass = colon === -1 ? undefined : userinfo.slice(colon + 1);
    const username = decodeComponent(rawUser);
    if (username === undefined) return fail('invalid percent-encoding in username');
    const password = rawPass === undefined ? undefined : decodeComponent(rawPass);
    if (rawPass !== undefined && password === undefined) {
      return fail('invalid percent-encoding in password');
    }
    if (username === '') {
      return fail(
        password !== undefined && password !== '' ? 'password given without a username' : 'username is empty',
      );
    }
    if (scheme === 'socks4' && password !== undefined && password !== '') {
      return fail('socks4 does not support a password');
    }
    spec.username = username;
    if (password !== undefined && password !== '') spec.password = password;
  }
  return ok(spec);
}

/** Safe display form: no password, no secret. */
export function proxyDisplay(p: ProxySpec): string {
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  const user =
    p.scheme !== 'mtproxy' && p.username !== undefined && p.username !== '' ? `${encodeURIComponent(p.username)}@` : '';
  return `${p.scheme}://${user}${host}:${p.port}`;
}
