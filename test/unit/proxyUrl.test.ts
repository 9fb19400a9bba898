import { describe, expect, it } from 'vitest';

import { parseProxyUrl, proxyDisplay, type ProxySpec } from '../../src/domain/proxyUrl.js';

const HEX16 = '00112233445566778899aabbccddeeff';
const HEX17 = `dd${HEX16}`;
const B64_16 = Buffer.from(HEX16, 'hex').toString('base64'); // has '=' padding
const B64URL_16 = Buffer.from('fbff' + HEX16.slice(4), 'hex').toString('base64url'); // uses '-' / '_'
const B64_17 = Buffer.from(HEX17, 'hex').toString('base64');
const FAKE_TLS = `ee${HEX16}${Buffer.from('google.com').toString('hex')}`;

const REASON_FAKE_TLS = 'fake-TLS (ee…) MTProxy secrets are not supported by gramjs';
const REASON_SECRET_SIZE = 'MTProxy secret must be 16 bytes, or 17 bytes starting with dd';
const REASON_PORT = 'port must be 1-65535';

describe('parseProxyUrl: accepted', () => {
  it.each<[string, ProxySpec]>([
    [
      'socks5://user:pass@1.2.3.4:1080',
      { scheme: 'socks5', host: '1.2.3.4', port: 1080, username: 'user', password: 'pass' },
    ],
    ['socks5://1.2.3.4:1080', { scheme: 'socks5', host: '1.2.3.4', port: 1080 }],
    ['SOCKS5://Proxy.Example.COM:1080', { scheme: 'socks5', host: 'proxy.example.com', port: 1080 }],
    [
      'socks5h://u:p@proxy.example.com:9050',
      { scheme: 'socks5', host: 'proxy.example.com', port: 9050, username: 'u', password: 'p' },
    ],
    ['  socks5://u:p@h:1080/  ', { scheme: 'socks5', host: 'h', port: 1080, username: 'u', password: 'p' }],
    ['socks5://user@h:1080', { scheme: 'socks5', host: 'h', port: 1080, username: 'user' }],
    ['socks5://user:@h:1080', { scheme: 'socks5', host: 'h', port: 1080, username: 'user' }],
    [
      'socks5://us%40er:p%3Ass%2Fw%25rd@h:1080',
      { scheme: 'socks5', host: 'h', port: 1080, username: 'us@er', password: 'p:ss/w%rd' },
    ],
    ['socks5://user:pa:ss@h:1080', { scheme: 'socks5', host: 'h', port: 1080, username: 'user', password: 'pa:ss' }],
    ['socks5://user:p@ss@h:1080', { scheme: 'socks5', host: 'h', port: 1080, username: 'user', password: 'p@ss' }],
    [
      'socks5://u:%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C@h:1080',
      { scheme: 'socks5', host: 'h', port: 1080, username: 'u', password: 'пароль' },
    ],
    ['socks5://[::1]:1080', { scheme: 'socks5', host: '::1', port: 1080 }],
    [
      'socks5://u:p@[2001:DB8::1]:1080',
      { scheme: 'socks5', host: '2001:db8::1', port: 1080, username: 'u', password: 'p' },
    ],
    ['socks5://h:1', { scheme: 'socks5', host: 'h', port: 1 }],
    ['socks5://h:65535', { scheme: 'socks5', host: 'h', port: 65535 }],
    ['socks5://h:01080', { scheme: 'socks5', host: 'h', port: 1080 }],
    ['socks5://my_proxy-1.example.com:1080', { scheme: 'socks5', host: 'my_proxy-1.example.com', port: 1080 }],
    ['socks4://user@10.0.0.1:1080', { scheme: 'socks4', host: '10.0.0.1', port: 1080, username: 'user' }],
    ['socks4://10.0.0.1:1080', { scheme: 'socks4', host: '10.0.0.1', port: 1080 }],
    [
      'http://user:pass@proxy.local:3128',
      { scheme: 'http', host: 'proxy.local', port: 3128, username: 'user', password: 'pass' },
    ],
    ['http://proxy.local:80', { scheme: 'http', host: 'proxy.local', port: 80 }],
    ['HTTP://proxy.local:8080', { scheme: 'http', host: 'proxy.local', port: 8080 }],
    [`mtproxy://${HEX16}@mt.example.com:443`, { scheme: 'mtproxy', host: 'mt.example.com', port: 443, secret: HEX16 }],
    [
      `mtproxy://${HEX16.toUpperCase()}@mt.example.com:443`,
      { scheme: 'mtproxy', host: 'mt.example.com', port: 443, secret: HEX16 },
    ],
    [`mtproxy://${HEX17}@1.2.3.4:8888`, { scheme: 'mtproxy', host: '1.2.3.4', port: 8888, secret: HEX17 }],
    [`mtproxy://${B64_16}@1.2.3.4:443`, { scheme: 'mtproxy', host: '1.2.3.4', port: 443, secret: HEX16 }],
    [
      `mtproxy://${B64_16.replace(/=+$/, '')}@1.2.3.4:443`,
      { scheme: 'mtproxy', host: '1.2.3.4', port: 443, secret: HEX16 },
    ],
    [
      `mtproxy://${encodeURIComponent(B64_16)}@1.2.3.4:443`,
      { scheme: 'mtproxy', host: '1.2.3.4', port: 443, secret: HEX16 },
    ],
    [
      `mtproxy://${B64URL_16}@1.2.3.4:443`,
      { scheme: 'mtproxy', host: '1.2.3.4', port: 443, secret: 'fbff' + HEX16.slice(4) },
    ],
    [`mtproxy://${B64_17}@1.2.3.4:443`, { scheme: 'mtproxy', host: '1.2.3.4', port: 443, secret: HEX17 }],
    [
      `mtproxy://ee${HEX16.slice(2)}@1.2.3.4:443`,
      { scheme: 'mtproxy', host: '1.2.3.4', port: 443, secret: `ee${HEX16.slice(2)}` },
    ],
  ])('%s', (input, expected) => {
    expect(parseProxyUrl(input)).toEqual({ ok: true, value: expected });
  });

  it('B64URL_16 really uses the url-safe alphabet', () => {
    expect(B64URL_16).toMatch(/[-_]/);
  });
});

describe('parseProxyUrl: rejected', () => {
  it.each<[string, string]>([
    ['', 'proxy URL is empty'],
    ['   ', 'proxy URL is empty'],
    ['socks5://u:p ss@h:1080', 'proxy URL must not contain spaces'],
    ['1.2.3.4:1080', 'proxy URL must look like scheme://host:port'],
    ['socks5:/h:1080', 'proxy URL must look like scheme://host:port'],
    ['https://u:p@h:443', 'use http:// for an HTTP CONNECT proxy'],
    ['HTTPS://h:443', 'use http:// for an HTTP CONNECT proxy'],
    ['socks://h:1080', 'unsupported proxy scheme; use socks5, socks4, http or mtproxy'],
    ['ftp://h:21', 'unsupported proxy scheme; use socks5, socks4, http or mtproxy'],
    ['socks4a://h:1080', 'unsupported proxy scheme; use socks5, socks4, http or mtproxy'],
    // port
    ['socks5://h', 'port is required'],
    ['socks5://h:', 'port is required'],
    ['socks5://[::1]', 'port is required'],
    ['http://proxy.local', 'port is required'],
    ['socks5://h:0', REASON_PORT],
    ['socks5://h:65536', REASON_PORT],
    ['socks5://h:99999', REASON_PORT],
    ['socks5://h:123456', REASON_PORT],
    ['socks5://h:-1', REASON_PORT],
    ['socks5://h:80a', REASON_PORT],
    ['socks5://h:1e3', REASON_PORT],
    // host
    ['socks5://:1080', 'host is empty'],
    ['socks5://u:p@:1080', 'host is empty'],
    ['socks5://::1:1080', 'IPv6 addresses must be in brackets'],
    ['socks5://[::1:1080', 'invalid IPv6 address'],
    ['socks5://[not-ip]:1080', 'invalid IPv6 address'],
    ['socks5://[1.2.3.4]:1080', 'invalid IPv6 address'],
    ['socks5://[::1]x:1080', 'invalid host'],
    ['socks5://999.1.1.1:1080', 'invalid IPv4 address'],
    ['socks5://1.2.3:1080', 'invalid IPv4 address'],
    ['socks5://bad..host:1080', 'invalid host'],
    ['socks5://-bad.host:1080', 'invalid host'],
    ['socks5://bad%20host:1080', 'invalid host'],
    ['socks5://хост.рф:1080', 'invalid host'],
    [`socks5://${'a'.repeat(64)}.com:1080`, 'invalid host'],
    ['socks5://h:1080/path', 'proxy URL must not have a path, query or fragment'],
    ['socks5://h:1080?x=1', 'proxy URL must not have a path, query or fragment'],
    ['socks5://h:1080#frag', 'proxy URL must not have a path, query or fragment'],
    // credentials
    ['socks5://:secretpw@h:1080', 'password given without a username'],
    ['socks5://@h:1080', 'username is empty'],
    ['socks5://:@h:1080', 'username is empty'],
    ['socks5://u%ZZ:p@h:1080', 'invalid percent-encoding in username'],
    ['socks5://u:p%ZZ@h:1080', 'invalid percent-encoding in password'],
    ['socks4://user:secretpw@h:1080', 'socks4 does not support a password'],
    // mtproxy
    ['mtproxy://mt.example.com:443', 'mtproxy URL needs a secret: mtproxy://SECRET@host:port'],
    ['mtproxy://@mt.example.com:443', 'mtproxy URL needs a secret: mtproxy://SECRET@host:port'],
    [`mtproxy://user:${HEX16}@h:443`, 'mtproxy takes a secret, not a username and password'],
    [`mtproxy://${FAKE_TLS}@h:443`, REASON_FAKE_TLS],
    [`mtproxy://${FAKE_TLS.toUpperCase()}@h:443`, REASON_FAKE_TLS],
    [`mtproxy://ee${HEX16}@h:443`, REASON_FAKE_TLS],
    [`mtproxy://${Buffer.from(FAKE_TLS, 'hex').toString('base64url')}@h:443`, REASON_FAKE_TLS],
    [`mtproxy://${HEX16.slice(2)}@h:443`, REASON_SECRET_SIZE],
    [`mtproxy://${HEX16}00@h:443`, REASON_SECRET_SIZE],
    [`mtproxy://ab${HEX16}@h:443`, REASON_SECRET_SIZE],
    [`mtproxy://${HEX16}${HEX16}@h:443`, REASON_SECRET_SIZE],
    ['mtproxy://not*a*secret@h:443', 'MTProxy secret must be hex or base64'],
    ['mtproxy://%ZZ@h:443', 'invalid percent-encoding in MTProxy secret'],
    [`mtproxy://${HEX16}@h`, 'port is required'],
  ])('%s', (input, reason) => {
    expect(parseProxyUrl(input)).toEqual({ ok: false, problems: [reason] });
  });

  it.each([
    'socks4://user:hunter2hunter2@h:1080',
    'socks5://:hunter2hunter2@h:1080',
    'socks5://u:hunter2hunter2@h:0',
    'socks5://u:hunter2hunter2@bad..host:1080',
    'https://u:hunter2hunter2@h:443',
    `mtproxy://${FAKE_TLS}@h:443`,
    `mtproxy://${HEX16}00@h:443`,
  ])('does not leak the password or secret: %s', (input) => {
    const r = parseProxyUrl(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.problems.join('; ')).not.toContain('hunter2');
      expect(r.problems.join('; ')).not.toContain(HEX16);
      expect(r.problems.join('; ')).not.toContain(HEX16.toUpperCase());
    }
  });
});

describe('proxyDisplay', () => {
  it.each<[ProxySpec, string]>([
    [
      { scheme: 'socks5', host: '1.2.3.4', port: 1080, username: 'user', password: 'pass' },
      'socks5://user@1.2.3.4:1080',
    ],
    [{ scheme: 'socks5', host: 'h', port: 1080 }, 'socks5://h:1080'],
    [{ scheme: 'socks4', host: 'h', port: 1080, username: 'u' }, 'socks4://u@h:1080'],
    [
      { scheme: 'http', host: 'proxy.local', port: 3128, username: 'a@b', password: 'hunter2' },
      'http://a%40b@proxy.local:3128',
    ],
    [
      { scheme: 'socks5', host: '2001:db8::1', port: 1080, username: 'u', password: 'hunter2' },
      'socks5://u@[2001:db8::1]:1080',
    ],
    [{ scheme: 'mtproxy', host: 'mt.example.com', port: 443, secret: HEX16 }, 'mtproxy://mt.example.com:443'],
    [{ scheme: 'mtproxy', host: '::1', port: 443, secret: HEX17, username: 'ignored' }, 'mtproxy://[::1]:443'],
  ])('%o → %s', (spec, expected) => {
    const shown = proxyDisplay(spec);
    expect(shown).toBe(expected);
    if (spec.password !== undefined) expect(shown).not.toContain(spec.password);
    if (spec.secret !== undefined) expect(shown).not.toContain(spec.secret);
  });

  it.each([
    'socks5://us%40er:pw@h:1080',
    'socks5://u:p@[2001:db8::1]:1080',
    'socks4://user@10.0.0.1:1080',
    'http://proxy.local:3128',
  ])('display of %s parses back to the same spec minus the password', (input) => {
    const first = parseProxyUrl(input);
    if (!first.ok) throw new Error(first.problems.join('; '));
    const again = parseProxyUrl(proxyDisplay(first.value));
    const { password: _pw, ...rest } = first.value;
    expect(again).toEqual({ ok: true, value: rest });
  });
});
