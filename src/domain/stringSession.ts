import { isIP } from 'node:net';

import { fail, ok, type ParseResult } from './result.js';

/**
 * A decoded gramjs/Telethon string session. `authKey` is secret: never log or print it.
 */
export interface DecodedSession {
  format: 'gramjs' | 'telethon';
  dcId: number;
  serverAddress: string;
  port: number;
  authKey: Buffer;
}

const VERSION = '1';
const AUTH_KEY_LEN = 256;
/** Telethon: dc(1) + ipv4(4) + port(2) + key(256); base64 length 352 with padding. */
const TELETHON_V4_LEN = 1 + 4 + 2 + AUTH_KEY_LEN;
/** Telethon: dc(1) + ipv6(16) + port(2) + key(256); base64 length 368 with padding. */
const TELETHON_V6_LEN = 1 + 16 + 2 + AUTH_KEY_LEN;
/** Longest textual IP address (IPv4-mapped IPv6). */
const MAX_ADDR_TEXT_LEN = 45;

/**
 * Strict base64 decoder for one alphabet (standard or url-safe, not mixed), padding optional.
 * Returns undefined for anything that is not base64.
 */
function decodeBase64(s: string): Buffer | undefined {
  const m = /^([A-Za-z0-9+/_-]*)(={0,2})$/.exec(s);
  if (!m) return undefined;
  const body = m[1] ?? '';
  const pad = m[2] ?? '';
  if (/[+/]/.test(body) && /[-_]/.test(body)) return undefined;
  if (body.length % 4 === 1) return undefined;
  if (pad.length > 0 && body.length % 4 !== 4 - pad.length) return undefined;
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

function formatIPv6(bytes: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  // Compress the longest run (>= 2) of zero groups, as RFC 5952 recommends.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function checkDcId(dcId: number): string | undefined {
  return Number.isInteger(dcId) && dcId >= 1 && dcId <= 5 ? undefined : 'dc id must be 1-5';
}

function checkPort(port: number): string | undefined {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : 'port must be 1-65535';
}

function finish(
  format: DecodedSession['format'],
  dcId: number,
  serverAddress: string,
  port: number,
  authKey: Buffer,
): ParseResult<DecodedSession> {
  const reason = checkDcId(dcId) ?? checkPort(port);
  if (reason !== undefined) return fail(reason);
  if (authKey.length < AUTH_KEY_LEN) return fail('session is truncated: auth key is shorter than 256 bytes');
  if (authKey.length > AUTH_KEY_LEN) return fail('unexpected trailing bytes after the auth key');
  // Copy into a dedicated (unpooled) buffer so the key does not alias the decoded session.
  const key = Buffer.alloc(AUTH_KEY_LEN);
  authKey.copy(key);
  return ok({ format, dcId, serverAddress, port, authKey: key });
}

function parseTelethon(buf: Buffer, ipLen: 4 | 16): ParseResult<DecodedSession> {
  const dcId = buf.readUInt8(0);
  const ip = buf.subarray(1, 1 + ipLen);
  const address = ipLen === 4 ? Array.from(ip).join('.') : formatIPv6(ip);
  const port = buf.readUInt16BE(1 + ipLen);
  return finish('telethon', dcId, address, port, buf.subarray(1 + ipLen + 2));
}

type GramjsHeader = ParseResult<{ dcId: number; address: string; port: number; keyStart: number }>;

function readGramjsHeader(buf: Buffer): GramjsHeader {
  if (buf.length < 3) return fail('session is truncated');
  const dcId = buf.readUInt8(0);
  const addrLen = buf.readInt16BE(1);
  if (addrLen <= 0 || addrLen > MAX_ADDR_TEXT_LEN) {
    return fail('invalid server address length');
  }
  const portAt = 3 + addrLen;
  if (buf.length < portAt + 2) return fail('session is truncated');
  const raw = buf.subarray(3, portAt);
  if (!raw.every((b) => b >= 0x21 && b <= 0x7e)) {
    return fail('server address is not a valid IP address');
  }
  const address = raw.toString('latin1');
  if (isIP(address) === 0) return fail('server address is not a valid IP address');
  return ok({ dcId, address, port: buf.readUInt16BE(portAt), keyStart: portAt + 2 });
}

/**
 * Validates a gramjs (`"1" + base64(dc|addrLen|addr|port|key)`) or Telethon
 * (`"1" + base64(dc|ip4 or ip6|port|key)`) string session offline. Surrounding whitespace
 * is ignored. Problems never contain session or key bytes.
 *
 * Note: gramjs recognises Telethon sessions only by a padded length of 352 and cannot load
 * Telethon IPv6 sessions at all; store `encodeStringSession(value)` for a canonical form.
 */
export function parseStringSession(s: string): ParseResult<DecodedSession> {
  const str = s.trim();
  if (str === '') return fail('session is empty');
  if (str[0] !== VERSION) return fail('unsupported session version');
  const buf = decodeBase64(str.slice(1));
  if (buf === undefined) return fail('session is not valid base64');
  if (buf.length === 0) return fail('session is truncated');

  if (buf.length === TELETHON_V4_LEN) return parseTelethon(buf, 4);
  const header = readGramjsHeader(buf);
  if (buf.length === TELETHON_V6_LEN && !header.ok) return parseTelethon(buf, 16);
  if (!header.ok) return header;
  const h = header.value;
  return finish('gramjs', h.dcId, h.address, h.port, buf.subarray(h.keyStart));
}

/**
 * Builds a gramjs-format string session (standard base64 with padding, as gramjs writes it).
 * Throws RangeError on invalid input; messages never contain the key.
 */
export function encodeStringSession(s: Omit<DecodedSession, 'format'>): string {
  const reason =
    checkDcId(s.dcId) ??
    checkPort(s.port) ??
    (isIP(s.serverAddress) === 0 ? 'server address must be an IP address' : undefined) ??
    (s.authKey.length !== AUTH_KEY_LEN ? 'auth key must be 256 bytes' : undefined);
  if (reason !== undefined) throw new RangeError(reason);
  const addr = Buffer.from(s.serverAddress, 'latin1');
  const head = Buffer.alloc(3);
  head.writeUInt8(s.dcId, 0);
  head.writeInt16BE(addr.length, 1);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(s.port, 0);
  return VERSION + Buffer.concat([head, addr, port, s.authKey]).toString('base64');
}

/**
 * Builds a Telethon-format string session (`"1"` + url-safe base64 of dc, packed IPv4/IPv6, port,
 * key), the one layout both Telethon and gramjs read. Throws RangeError on invalid input.
 */
export function encodeTelethonStringSession(s: Omit<DecodedSession, 'format'>): string {
  encodeStringSession(s); // the same checks
  const v6 = isIP(s.serverAddress) === 6;
  const ip = v6 ? ipv6Bytes(s.serverAddress) : Buffer.from(s.serverAddress.split('.').map(Number));
  const dc = Buffer.from([s.dcId]);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(s.port, 0);
  return (
    VERSION +
    Buffer.concat([dc, ip, port, s.authKey])
      .toString('base64url')
      .padEnd(v6 ? 368 : 352, '=')
  );
}

function ipv6Bytes(addr: string): Buffer {
  const [head = '', tail] = addr.split('::');
  const parts = (x: string) => (x ? x.split(':') : []);
  const h = parts(head);
  const t = tail === undefined ? [] : parts(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}
