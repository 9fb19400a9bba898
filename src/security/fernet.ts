import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Fernet (https://github.com/fernet/spec), to read data written by the Python system.
 * Token: 0x80 | timestamp:uint64BE | iv:16 | AES-128-CBC(PKCS7) ciphertext | HMAC-SHA256:32,
 * url-safe base64. Key: url-safe base64 of 32 bytes (16 signing, then 16 encryption).
 */

/** Raised for any invalid key or token. Messages never contain key material or plaintext. */
export class FernetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FernetError';
  }
}

const VERSION = 0x80;
const HEADER_LEN = 1 + 8 + 16;
const MAC_LEN = 32;
const BLOCK = 16;
const MAX_CLOCK_SKEW_SEC = 60;
/** Shortest possible token: header, one ciphertext block, MAC. */
const MIN_TOKEN_LEN = HEADER_LEN + BLOCK + MAC_LEN;

/** Strict url-safe base64 (padding optional); undefined if the text is not base64url. */
function decodeBase64Url(s: string): Buffer | undefined {
  const m = /^([A-Za-z0-9_-]*)(={0,2})$/.exec(s);
  if (!m) return undefined;
  const body = m[1] ?? '';
  const pad = m[2] ?? '';
  if (body.length % 4 === 1) return undefined;
  if (pad.length > 0 && body.length % 4 !== 4 - pad.length) return undefined;
  return Buffer.from(body, 'base64url');
}

function encodeBase64UrlPadded(b: Buffer): string {
  return b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function splitKey(key: string): { signing: Buffer; encryption: Buffer } {
  const raw = decodeBase64Url(key.trim());
  if (raw === undefined || raw.length !== 32) {
    throw new FernetError('Fernet key must be 32 bytes of url-safe base64');
  }
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
}

function nowSeconds(now: Date | undefined): number {
  const ms = (now ?? new Date()).getTime();
  if (!Number.isFinite(ms)) throw new FernetError('invalid current time');
  return Math.floor(ms / 1000);
}

/**
 * Decrypts and verifies a Fernet token. With `ttlSec`, tokens older than the TTL and tokens
 * stamped more than 60 s in the future are rejected. Throws FernetError.
 */
export function fernetDecrypt(token: string, key: string, opts: { ttlSec?: number; now?: Date } = {}): Buffer {
  const { signing, encryption } = splitKey(key);
  const data = decodeBase64Url(token.trim());
  if (data === undefined) throw new FernetError('Fernet token is not valid url-safe base64');
  if (data.length < 1) throw new FernetError('Fernet token is too short');
  if (data[0] !== VERSION) throw new FernetError('unsupported Fernet version');
  if (data.length < HEADER_LEN + MAC_LEN) throw new FernetError('Fernet token is too short');
  const ciphertextLen = data.length - HEADER_LEN - MAC_LEN;
  if (ciphertextLen % BLOCK !== 0) {
    throw new FernetError('Fernet ciphertext is not a multiple of the block size');
  }
  if (ciphertextLen === 0) throw new FernetError('Fernet token is too short');

  const signed = data.subarray(0, data.length - MAC_LEN);
  const mac = data.subarray(data.length - MAC_LEN);
  const expected = createHmac('sha256', signing).update(signed).digest();
  if (!timingSafeEqual(mac, expected)) throw new FernetError('Fernet token signature is invalid');

  if (opts.ttlSec !== undefined) {
    if (!Number.isFinite(opts.ttlSec) || opts.ttlSec < 0) {
      throw new FernetError('ttl must be a non-negative number of seconds');
    }
    const ts = data.readBigUInt64BE(1);
    const now = BigInt(nowSeconds(opts.now));
    if (ts + BigInt(Math.floor(opts.ttlSec)) < now) throw new FernetError('Fernet token has expired');
    if (now + BigInt(MAX_CLOCK_SKEW_SEC) < ts) {
      throw new FernetError('Fernet token timestamp is too far in the future');
    }
  }

  const iv = data.subarray(9, HEADER_LEN);
  const ciphertext = data.subarray(HEADER_LEN, data.length - MAC_LEN);
  const decipher = createDecipheriv('aes-128-cbc', encryption, iv);
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const padLen = padded[padded.length - 1] ?? 0;
  let padOk = padLen >= 1 && padLen <= BLOCK;
  for (let i = 1; padOk && i <= padLen; i++) {
    if (padded[padded.length - i] !== padLen) padOk = false;
  }
  if (!padOk) throw new FernetError('Fernet plaintext padding is invalid');
  return padded.subarray(0, padded.length - padLen);
}

/** Encrypts to a Fernet token (padded url-safe base64, as Python's cryptography writes it). */
export function fernetEncrypt(plaintext: Buffer, key: string, opts: { now?: Date; iv?: Buffer } = {}): string {
  const { signing, encryption } = splitKey(key);
  const iv = opts.iv ?? randomBytes(16);
  if (iv.length !== 16) throw new FernetError('IV must be 16 bytes');
  const ts = nowSeconds(opts.now);
  if (ts < 0) throw new FernetError('invalid current time');
  const header = Buffer.alloc(HEADER_LEN);
  header.writeUInt8(VERSION, 0);
  header.writeBigUInt64BE(BigInt(ts), 1);
  iv.copy(header, 9);
  const cipher = createCipheriv('aes-128-cbc', encryption, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const signed = Buffer.concat([header, ciphertext]);
  const mac = createHmac('sha256', signing).update(signed).digest();
  return encodeBase64UrlPadded(Buffer.concat([signed, mac]));
}

/**
 * True when `s` is structurally a Fernet token: starts with "gAAAAA", is url-safe base64 and
 * decodes to a plausible length (header + whole blocks + MAC). Does not verify anything.
 */
export function looksLikeFernetToken(s: string): boolean {
  if (!s.startsWith('gAAAAA')) return false;
  const data = decodeBase64Url(s);
  if (data === undefined || data.length < MIN_TOKEN_LEN) return false;
  return (data.length - HEADER_LEN - MAC_LEN) % BLOCK === 0;
}
