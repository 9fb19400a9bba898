import { describe, expect, it } from 'vitest';

import { encodeStringSession, parseStringSession, type DecodedSession } from '../../src/domain/stringSession.js';

/** A recognisable, non-trivial 256-byte key: bytes 0..255. */
const KEY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Independent re-implementation of gramjs StringSession.save() (standard base64). */
function gramjsSave(dcId: number, address: string, port: number, key: Buffer): string {
  const addr = Buffer.from(address);
  const len = Buffer.alloc(2);
  len.writeInt16BE(addr.length, 0);
  const p = Buffer.alloc(2);
  p.writeInt16BE(port, 0);
  return '1' + Buffer.concat([Buffer.from([dcId]), len, addr, p, key]).toString('base64');
}

/** Gramjs layout from raw parts, so tests can build malformed sessions. */
function gramjsRaw(parts: { dc?: number; addrLen?: number; addr?: Buffer; port?: number; key?: Buffer }): Buffer {
  const addr = parts.addr ?? Buffer.from('149.154.167.51');
  const head = Buffer.alloc(3);
  head.writeUInt8(parts.dc ?? 2, 0);
  head.writeInt16BE(parts.addrLen ?? addr.length, 1);
  const port = Buffer.alloc(2);
  port.writeUInt16BE(parts.port ?? 443, 0);
  return Buffer.concat([head, addr, port, parts.key ?? KEY]);
}

/** Telethon StringSession.save(): '1' + urlsafe_b64encode(pack('>B{4|16}sH256s', ...)). */
function telethonRaw(dc: number, ip: Buffer, port: number, key: Buffer = KEY): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port, 0);
  return Buffer.concat([Buffer.from([dc]), ip, p, key]);
}

const b64 = (b: Buffer): string => '1' + b.toString('base64');
const b64url = (b: Buffer): string => '1' + b.toString('base64url'); // no padding
const b64urlPadded = (b: Buffer): string => '1' + b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

const IPV4 = Buffer.from([149, 154, 167, 91]);
const IPV6 = Buffer.from('20010b28f23f f0010000000000 00000a'.replace(/\s/g, ''), 'hex');

function expectOk(s: string, expected: DecodedSession): void {
  const r = parseStringSession(s);
  if (!r.ok) throw new Error(`expected ok, got: ${r.problems.join('; ')}`);
  expect(r.value.format).toBe(expected.format);
  expect(r.value.dcId).toBe(expected.dcId);
  expect(r.value.serverAddress).toBe(expected.serverAddress);
  expect(r.value.port).toBe(expected.port);
  expect(r.value.authKey.equals(expected.authKey)).toBe(true);
  expect(r.value.authKey.length).toBe(256);
}

describe('parseStringSession: gramjs format', () => {
  it.each<[string, number, string, number]>([
    ['DC2 IPv4 (14-char address, same length as Telethon IPv6)', 2, '149.154.167.51', 443],
    ['DC4 IPv4', 4, '149.154.167.91', 80],
    ['DC1 short IPv4', 1, '1.2.3.4', 443],
    ['DC5 IPv6 address', 5, '2001:b28:f23f:f005::a', 443],
    ['DC3 max signed port', 3, '149.154.175.100', 32767],
    ['port 1', 2, '149.154.167.51', 1],
  ])('%s', (_label, dcId, serverAddress, port) => {
    const s = gramjsSave(dcId, serverAddress, port, KEY);
    expectOk(s, { format: 'gramjs', dcId, serverAddress, port, authKey: KEY });
  });

  it.each<[string, (b: Buffer) => string]>([
    ['standard base64', b64],
    ['url-safe base64 without padding', b64url],
    ['url-safe base64 with padding', b64urlPadded],
    ['standard base64 without padding', (b) => b64(b).replace(/=+$/, '')],
    ['surrounding whitespace', (b) => `  ${b64(b)}\n`],
  ])('accepts %s', (_label, enc) => {
    const raw = gramjsRaw({ dc: 2, addr: Buffer.from('149.154.167.5'), port: 443 });
    expectOk(enc(raw), {
      format: 'gramjs',
      dcId: 2,
      serverAddress: '149.154.167.5',
      port: 443,
      authKey: KEY,
    });
  });

  it('reads ports above 32767 as unsigned', () => {
    expectOk(b64(gramjsRaw({ port: 65535 })), {
      format: 'gramjs',
      dcId: 2,
      serverAddress: '149.154.167.51',
      port: 65535,
      authKey: KEY,
    });
  });

  it('copies the auth key out of the decoded buffer', () => {
    const r = parseStringSession(gramjsSave(2, '1.2.3.4', 443, KEY));
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.value.authKey.buffer.byteLength).toBe(256);
  });
});

describe('parseStringSession: Telethon format', () => {
  it('IPv4, padded url-safe (352 chars, as Telethon writes it)', () => {
    const s = b64urlPadded(telethonRaw(4, IPV4, 443));
    expect(s.length).toBe(353);
    expectOk(s, {
      format: 'telethon',
      dcId: 4,
      serverAddress: '149.154.167.91',
      port: 443,
      authKey: KEY,
    });
  });

  it('IPv4, standard base64 and unpadded', () => {
    const raw = telethonRaw(2, Buffer.from([149, 154, 167, 51]), 80);
    const expected: DecodedSession = {
      format: 'telethon',
      dcId: 2,
      serverAddress: '149.154.167.51',
      port: 80,
      authKey: KEY,
    };
    expectOk(b64(raw), expected);
    expectOk(b64url(raw), expected);
  });

  it('IPv4 with port above 32767', () => {
    expectOk(b64(telethonRaw(1, Buffer.from([10, 0, 0, 1]), 50000)), {
      format: 'telethon',
      dcId: 1,
      serverAddress: '10.0.0.1',
      port: 50000,
      authKey: KEY,
    });
  });

  it('IPv6 (368 chars)', () => {
    const s = b64urlPadded(telethonRaw(2, IPV6, 443));
    expect(s.length).toBe(369);
    expectOk(s, {
      format: 'telethon',
      dcId: 2,
      serverAddress: '2001:b28:f23f:f001::a',
      port: 443,
      authKey: KEY,
    });
  });

  it('reads a 275-byte session whose gramjs header is invalid as Telethon IPv6', () => {
    // dc 2, gramjs addrLen 0x000f (wrong for a 14-byte address): not gramjs, so Telethon IPv6.
    const raw = gramjsRaw({ addrLen: 15 });
    expect(raw.length).toBe(275);
    const r = parseStringSession(b64(raw));
    expect(r.ok && r.value.format).toBe('telethon');
    expect(r.ok && r.value.dcId).toBe(2);
  });

  it.each<[string, string]>([
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['20010db8000100000000000100000001', '2001:db8:1::1:0:1'],
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
    ['00000000000000000000000000000000', '::'],
    ['20010db8000000000000000000000000', '2001:db8::'],
  ])('formats IPv6 %s as %s', (hex, text) => {
    const r = parseStringSession(b64(telethonRaw(2, Buffer.from(hex, 'hex'), 443)));
    expect(r.ok && r.value.serverAddress).toBe(text);
  });
});

describe('parseStringSession: rejected', () => {
  const good = gramjsRaw({});
  it.each<[string, string, string]>([
    ['empty', '', 'session is empty'],
    ['whitespace only', '   ', 'session is empty'],
    ['version 2', '2' + good.toString('base64'), 'unsupported session version'],
    ['no version prefix', good.toString('base64'), 'unsupported session version'],
    ['only the version', '1', 'session is truncated'],
    [
      'invalid base64 char',
      '1' + good.toString('base64').slice(0, 40) + '!' + good.toString('base64').slice(41),
      'session is not valid base64',
    ],
    [
      'inner whitespace',
      '1' + good.toString('base64').slice(0, 40) + ' ' + good.toString('base64').slice(40),
      'session is not valid base64',
    ],
    ['mixed alphabets', '1+_' + good.toString('base64').slice(3), 'session is not valid base64'],
    ['padding in the middle', '1AB=CD', 'session is not valid base64'],
    ['three padding chars', '1AB===', 'session is not valid base64'],
    ['wrong padding amount', '1ABC==', 'session is not valid base64'],
    ['impossible length', '1ABCDE', 'session is not valid base64'],
    ['one byte', b64(Buffer.from([2])), 'session is truncated'],
    ['header cut inside address', b64(good.subarray(0, 10)), 'session is truncated'],
    ['header cut inside port', b64(good.subarray(0, 18)), 'session is truncated'],
    [
      'auth key truncated',
      b64(good.subarray(0, good.length - 1)),
      'session is truncated: auth key is shorter than 256 bytes',
    ],
    ['no auth key', b64(good.subarray(0, 19)), 'session is truncated: auth key is shorter than 256 bytes'],
    ['trailing bytes', b64(Buffer.concat([good, Buffer.from([0])])), 'unexpected trailing bytes after the auth key'],
    ['dc 0', b64(gramjsRaw({ dc: 0 })), 'dc id must be 1-5'],
    ['dc 6', b64(gramjsRaw({ dc: 6 })), 'dc id must be 1-5'],
    ['dc 255', b64(gramjsRaw({ dc: 255 })), 'dc id must be 1-5'],
    ['port 0', b64(gramjsRaw({ port: 0 })), 'port must be 1-65535'],
    ['address length 0', b64(gramjsRaw({ addr: Buffer.alloc(0) })), 'invalid server address length'],
    [
      'negative address length',
      b64(gramjsRaw({ addrLen: -1, addr: Buffer.from('1.2.3.4') })),
      'invalid server address length',
    ],
    [
      'address length 46',
      b64(gramjsRaw({ addrLen: 46, addr: Buffer.from('1.2.3.4') })),
      'invalid server address length',
    ],
    [
      'hostname address',
      b64(gramjsRaw({ addr: Buffer.from('venus.web.telegram.org') })),
      'server address is not a valid IP address',
    ],
    ['bad IPv4', b64(gramjsRaw({ addr: Buffer.from('149.154.167.256') })), 'server address is not a valid IP address'],
    [
      'non-ASCII address',
      b64(gramjsRaw({ addr: Buffer.from([0x31, 0x2e, 0x32, 0x2e, 0x33, 0x2e, 0xb4]) })),
      'server address is not a valid IP address',
    ],
    ['NUL in address', b64(gramjsRaw({ addr: Buffer.from('1.2.3.4\0') })), 'server address is not a valid IP address'],
    ['Telethon IPv4 dc 0', b64(telethonRaw(0, IPV4, 443)), 'dc id must be 1-5'],
    ['Telethon IPv4 port 0', b64(telethonRaw(2, IPV4, 0)), 'port must be 1-65535'],
    ['Telethon IPv6 dc 9', b64(telethonRaw(9, IPV6, 443)), 'dc id must be 1-5'],
    ['Telethon IPv6 port 0', b64(telethonRaw(2, IPV6, 0)), 'port must be 1-65535'],
  ])('%s', (_label, input, reason) => {
    expect(parseStringSession(input)).toEqual({ ok: false, problems: [reason] });
  });

  it('never puts session text or key bytes in a reason', () => {
    const secretKey = Buffer.alloc(256, 0x41); // 'AAAA…' in ASCII
    const bad = [
      b64(gramjsRaw({ dc: 9, key: secretKey })),
      b64(gramjsRaw({ key: Buffer.concat([secretKey, secretKey]) })),
      b64(gramjsRaw({ addr: Buffer.from('AAAAAAAA'), key: secretKey })),
    ];
    for (const s of bad) {
      const r = parseStringSession(s);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.problems.join('; ')).not.toContain(s.slice(1, 20));
        expect(r.problems.join('; ')).not.toContain('AAAA');
        expect(r.problems.join('; ').length).toBeLessThan(80);
      }
    }
  });
});

describe('encodeStringSession', () => {
  it.each<[number, string, number]>([
    [2, '149.154.167.51', 443],
    [4, '149.154.167.91', 80],
    [5, '2001:b28:f23f:f005::a', 443],
    [1, '10.0.0.1', 32767],
  ])('matches gramjs save() byte for byte: dc%i %s:%i', (dcId, serverAddress, port) => {
    expect(encodeStringSession({ dcId, serverAddress, port, authKey: KEY })).toBe(
      gramjsSave(dcId, serverAddress, port, KEY),
    );
  });

  it.each<[number, string, number]>([
    [2, '149.154.167.51', 443],
    [3, '149.154.175.100', 65535],
    [1, '::1', 1],
  ])('round-trips through parseStringSession: dc%i %s:%i', (dcId, serverAddress, port) => {
    const s = encodeStringSession({ dcId, serverAddress, port, authKey: KEY });
    expect(s.startsWith('1')).toBe(true);
    expectOk(s, { format: 'gramjs', dcId, serverAddress, port, authKey: KEY });
  });

  it('converts a Telethon session to the gramjs format', () => {
    const r = parseStringSession(b64urlPadded(telethonRaw(4, IPV4, 443)));
    if (!r.ok) throw new Error(r.problems.join('; '));
    const s = encodeStringSession(r.value);
    expect(s).toBe(gramjsSave(4, '149.154.167.91', 443, KEY));
    expectOk(s, {
      format: 'gramjs',
      dcId: 4,
      serverAddress: '149.154.167.91',
      port: 443,
      authKey: KEY,
    });
  });

  it.each<[string, Omit<DecodedSession, 'format'>, string]>([
    ['dc 0', { dcId: 0, serverAddress: '1.2.3.4', port: 443, authKey: KEY }, 'dc id must be 1-5'],
    ['dc 6', { dcId: 6, serverAddress: '1.2.3.4', port: 443, authKey: KEY }, 'dc id must be 1-5'],
    ['dc 2.5', { dcId: 2.5, serverAddress: '1.2.3.4', port: 443, authKey: KEY }, 'dc id must be 1-5'],
    ['port 0', { dcId: 2, serverAddress: '1.2.3.4', port: 0, authKey: KEY }, 'port must be 1-65535'],
    ['port 65536', { dcId: 2, serverAddress: '1.2.3.4', port: 65536, authKey: KEY }, 'port must be 1-65535'],
    [
      'hostname',
      { dcId: 2, serverAddress: 'example.com', port: 443, authKey: KEY },
      'server address must be an IP address',
    ],
    [
      'short key',
      { dcId: 2, serverAddress: '1.2.3.4', port: 443, authKey: Buffer.alloc(255) },
      'auth key must be 256 bytes',
    ],
    [
      'long key',
      { dcId: 2, serverAddress: '1.2.3.4', port: 443, authKey: Buffer.alloc(257) },
      'auth key must be 256 bytes',
    ],
  ])('throws RangeError for %s', (_label, input, message) => {
    expect(() => encodeStringSession(input)).toThrow(new RangeError(message));
  });
});
