import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { FernetError, fernetDecrypt, fernetEncrypt, looksLikeFernetToken } from '../../src/security/fernet.js';

interface GenerateVector {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}
interface VerifyVector {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}
interface InvalidVector {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

function loadVectors<T>(name: string): T[] {
  const url = new URL(`../fixtures/fernet-spec/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as T[];
}

const generate = loadVectors<GenerateVector>('generate');
const verify = loadVectors<VerifyVector>('verify');
const invalid = loadVectors<InvalidVector>('invalid');

const SPEC_KEY = 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=';
const OTHER_KEY = Buffer.alloc(32, 7).toString('base64url');
const IV = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
const NOW = new Date('2024-05-01T12:00:00Z');

function b64urlPadded(b: Buffer): string {
  return b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function decodeToken(t: string): Buffer {
  return Buffer.from(t, 'base64url');
}

/** Re-signs raw token bytes with the spec key so only the non-MAC defect remains. */
function resign(body: Buffer, key = SPEC_KEY): string {
  const signing = Buffer.from(key, 'base64url').subarray(0, 16);
  const mac = createHmac('sha256', signing).update(body).digest();
  return b64urlPadded(Buffer.concat([body, mac]));
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('fernet spec vectors', () => {
  it('loads every vector file', () => {
    expect(generate).toHaveLength(1);
    expect(verify).toHaveLength(1);
    expect(invalid).toHaveLength(8);
  });

  it.each(generate)('generate: encrypt($src) with fixed iv and now', (v) => {
    const token = fernetEncrypt(Buffer.from(v.src, 'utf8'), v.secret, {
      iv: Buffer.from(v.iv),
      now: new Date(v.now),
    });
    expect(token).toBe(v.token);
    expect(fernetDecrypt(token, v.secret).toString('utf8')).toBe(v.src);
  });

  it.each(verify)('verify: decrypt to $src', (v) => {
    const out = fernetDecrypt(v.token, v.secret, { ttlSec: v.ttl_sec, now: new Date(v.now) });
    expect(out.toString('utf8')).toBe(v.src);
  });

  const expectedMessage: Record<string, RegExp> = {
    'incorrect mac': /signature is invalid/,
    'too short': /too short/,
    'invalid base64': /not valid url-safe base64/,
    'payload size not multiple of block size': /not a multiple of the block size/,
    'payload padding error': /padding is invalid/,
    'far-future TS (unacceptable clock skew)': /too far in the future/,
    'expired TTL': /has expired/,
    'incorrect IV (causes padding error)': /padding is invalid/,
  };

  it('has an expected message for every invalid vector', () => {
    expect(invalid.map((v) => v.desc).sort()).toEqual(Object.keys(expectedMessage).sort());
  });

  it.each(invalid)('invalid: $desc', (v) => {
    const err = thrown(() => fernetDecrypt(v.token, v.secret, { ttlSec: v.ttl_sec, now: new Date(v.now) }));
    expect(err).toBeInstanceOf(FernetError);
    const message = (err as FernetError).message;
    expect(message).toMatch(expectedMessage[v.desc] ?? /^$/);
    expect(message).not.toContain(v.secret);
    expect(message).not.toContain(v.token);
  });
});

describe('fernetDecrypt', () => {
  const token = fernetEncrypt(Buffer.from('top secret plaintext'), SPEC_KEY, { iv: IV, now: NOW });

  it('round-trips arbitrary bytes, including empty and block-sized input', () => {
    for (const len of [0, 1, 15, 16, 17, 31, 32, 1000]) {
      const pt = Buffer.alloc(len, 0xab);
      const t = fernetEncrypt(pt, SPEC_KEY);
      expect(fernetDecrypt(t, SPEC_KEY).equals(pt)).toBe(true);
    }
  });

  it('uses a random iv by default', () => {
    const a = fernetEncrypt(Buffer.from('x'), SPEC_KEY, { now: NOW });
    const b = fernetEncrypt(Buffer.from('x'), SPEC_KEY, { now: NOW });
    expect(a).not.toBe(b);
  });

  it('does not check time without ttlSec', () => {
    const old = fernetEncrypt(Buffer.from('x'), SPEC_KEY, {
      now: new Date('2000-01-01T00:00:00Z'),
    });
    expect(fernetDecrypt(old, SPEC_KEY, { now: NOW }).toString()).toBe('x');
  });

  it('accepts tokens without base64 padding and surrounding whitespace', () => {
    expect(fernetDecrypt(`  ${token.replace(/=+$/, '')}\n`, SPEC_KEY).toString()).toBe('top secret plaintext');
  });

  it.each([
    // [label, age in seconds (negative = future), ttl, expected error or null]
    ['exactly ttl old', 60, 60, null],
    ['one second past ttl', 61, 60, /has expired/],
    ['60 s in the future', -60, 60, null],
    ['61 s in the future', -61, 60, /too far in the future/],
    ['ttl 0, same second', 0, 0, null],
    ['ttl 0, one second later', 1, 0, /has expired/],
  ] as const)('ttl boundary: %s', (_label, age, ttl, expected) => {
    const now = new Date(NOW.getTime() + age * 1000);
    const call = (): Buffer => fernetDecrypt(token, SPEC_KEY, { ttlSec: ttl, now });
    if (expected === null) expect(call().toString()).toBe('top secret plaintext');
    else expect(call).toThrow(expected);
  });

  it('rejects a negative ttl', () => {
    expect(() => fernetDecrypt(token, SPEC_KEY, { ttlSec: -1, now: NOW })).toThrow(FernetError);
  });

  const raw = decodeToken(token);
  const body = raw.subarray(0, raw.length - 32);

  it.each([
    ['wrong key', () => fernetDecrypt(token, OTHER_KEY), /signature is invalid/],
    ['empty token', () => fernetDecrypt('', SPEC_KEY), /too short/],
    [
      'standard-alphabet chars',
      () => fernetDecrypt(token.slice(0, 10) + '+' + token.slice(11), SPEC_KEY),
      /not valid url-safe base64/,
    ],
    ['padding in the middle', () => fernetDecrypt('gAAA=AAA', SPEC_KEY), /not valid url-safe base64/],
    ['impossible base64 length', () => fernetDecrypt('gAAAA', SPEC_KEY), /not valid url-safe base64/],
    [
      'version byte 0x81',
      () => fernetDecrypt(resign(Buffer.concat([Buffer.from([0x81]), body.subarray(1)])), SPEC_KEY),
      /unsupported Fernet version/,
    ],
    [
      'flipped ciphertext bit',
      () => {
        const t = Buffer.from(raw);
        t[30] = (t[30] ?? 0) ^ 1;
        return fernetDecrypt(b64urlPadded(t), SPEC_KEY);
      },
      /signature is invalid/,
    ],
    [
      'flipped MAC bit',
      () => {
        const t = Buffer.from(raw);
        t[t.length - 1] = (t[t.length - 1] ?? 0) ^ 1;
        return fernetDecrypt(b64urlPadded(t), SPEC_KEY);
      },
      /signature is invalid/,
    ],
    ['no ciphertext block (validly signed)', () => fernetDecrypt(resign(body.subarray(0, 25)), SPEC_KEY), /too short/],
    [
      'truncated ciphertext (validly signed)',
      () => fernetDecrypt(resign(body.subarray(0, body.length - 1)), SPEC_KEY),
      /not a multiple of the block size/,
    ],
  ] as const)('rejects %s', (_label, fn, expected) => {
    const err = thrown(fn);
    expect(err).toBeInstanceOf(FernetError);
    expect((err as Error).message).toMatch(expected);
  });

  it.each([
    ['empty', ''],
    ['16 bytes', Buffer.alloc(16, 1).toString('base64url')],
    ['33 bytes', Buffer.alloc(33, 1).toString('base64url')],
    ['invalid chars', '!'.repeat(44)],
    ['standard alphabet', Buffer.alloc(32, 0xfb).toString('base64')],
  ])('rejects a bad key (%s) without echoing it', (_label, key) => {
    const err = thrown(() => fernetDecrypt(token, key));
    expect(err).toBeInstanceOf(FernetError);
    expect((err as Error).message).toBe('Fernet key must be 32 bytes of url-safe base64');
  });

  it('accepts a key without padding', () => {
    expect(fernetDecrypt(token, SPEC_KEY.replace(/=$/, '')).toString()).toBe('top secret plaintext');
  });
});

describe('fernetEncrypt', () => {
  it('rejects an iv that is not 16 bytes', () => {
    expect(() => fernetEncrypt(Buffer.from('x'), SPEC_KEY, { iv: Buffer.alloc(8) })).toThrow(
      new FernetError('IV must be 16 bytes'),
    );
  });

  it('writes the timestamp big-endian after the version byte', () => {
    const t = fernetEncrypt(Buffer.from('x'), SPEC_KEY, { iv: IV, now: NOW });
    const raw = decodeToken(t);
    expect(raw[0]).toBe(0x80);
    expect(raw.readBigUInt64BE(1)).toBe(BigInt(NOW.getTime() / 1000));
    expect(raw.subarray(9, 25).equals(IV)).toBe(true);
    expect(raw.length).toBe(1 + 8 + 16 + 16 + 32);
    expect(t.endsWith('=')).toBe(true);
  });

  it('rejects a bad key', () => {
    expect(() => fernetEncrypt(Buffer.from('x'), 'short')).toThrow(FernetError);
  });
});

describe('looksLikeFernetToken', () => {
  const token = fernetEncrypt(Buffer.from('hello'), SPEC_KEY, { iv: IV, now: NOW });
  it.each([
    ['a real token', token, true],
    ['the spec token', generate[0]?.token ?? '', true],
    ['a real token without padding', token.replace(/=+$/, ''), true],
    ['empty', '', false],
    ['plain text', 'hello world', false],
    ['prefix only', 'gAAAAA', false],
    ['prefix plus garbage', 'gAAAAAhello', false],
    ['invalid chars', `${token.slice(0, 20)}%${token.slice(21)}`, false],
    ['standard alphabet char', `${token.slice(0, 20)}/${token.slice(21)}`, false],
    ['truncated by one block', b64urlPadded(decodeToken(token).subarray(0, 57)), false],
    ['odd ciphertext length', b64urlPadded(Buffer.concat([decodeToken(token), Buffer.alloc(1)])), false],
    ['different version prefix', `hAAAAA${token.slice(6)}`, false],
  ])('%s → %s', (_label, s, expected) => {
    expect(looksLikeFernetToken(s)).toBe(expected);
  });
});
