import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { baseEnv, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { makeAccounts, makeKey, makeSession, writeJson } from '../support/fixtures.js';
import { snapshot } from '../support/snapshot.js';

const good = makeAccounts(3, { tenant: 'acme', withProxy: true });
const truncated = makeSession().slice(0, 120);
const garbled = '1' + '!'.repeat(50) + makeSession().slice(51);
const shortKey = (() => {
  const s = Buffer.from(makeSession().slice(1), 'base64');
  return '1' + s.subarray(0, s.length - 1).toString('base64');
})();

type Case = {
  name: string;
  args: (dir: string) => string[];
  code: number;
  message: RegExp;
};

const withRow = (i: number, patch: Record<string, unknown>) =>
  good.map((r, j) => (j === i ? { ...r, ...patch } : r)) as unknown[];

const acc = (data: unknown) => (dir: string) => ['accounts', 'import', writeJson(dir, 'bad.json', data)];
const raw = (text: string, cmd: string[]) => (dir: string) => {
  const p = join(dir, 'bad.txt');
  writeFileSync(p, text);
  return [...cmd, p];
};

/** The key id of the test database's key (set before the cases run). */
let PRIMARY = '';

const CASES: Case[] = [
  {
    name: 'malformed JSON',
    args: raw('[{"session_name": "x",', ['accounts', 'import']),
    code: 65,
    message: /not valid JSON/,
  },
  { name: 'not an array', args: acc({ session_name: 'x' }), code: 65, message: /\(top level\): must be a JSON array/ },
  {
    name: 'missing api_hash',
    args: acc(withRow(1, { api_hash: undefined })),
    code: 65,
    message: /\[1\]\.api_hash: required/,
  },
  {
    name: 'missing session_name',
    args: acc(withRow(2, { session_name: undefined })),
    code: 65,
    message: /\[2\]\.session_name: required/,
  },
  {
    name: 'bad api_id',
    args: acc(withRow(0, { api_id: -4 })),
    code: 65,
    message: /\[0\]\.api_id: required, a positive integer/,
  },
  {
    name: 'unknown field',
    args: acc(withRow(0, { sesion: 'typo' })),
    code: 65,
    message: /\[0\]\.sesion: unknown field/,
  },
  {
    name: 'truncated string session',
    args: acc(withRow(2, { string_session: truncated })),
    code: 65,
    message: /\[2\]\.string_session: /,
  },
  {
    name: 'garbled string session',
    args: acc(withRow(1, { string_session: garbled })),
    code: 65,
    message: /\[1\]\.string_session: /,
  },
  {
    name: '255-byte auth key',
    args: acc(withRow(1, { string_session: shortKey })),
    code: 65,
    message: /\[1\]\.string_session: .*256/,
  },
  {
    name: 'wrong session version',
    args: acc(withRow(0, { string_session: '2' + good[0]!.string_session.slice(1) })),
    code: 65,
    message: /\[0\]\.string_session: /,
  },
  {
    name: 'bad proxy URL scheme',
    args: acc(withRow(2, { proxy: 'ftp://u:p@127.0.0.1:21' })),
    code: 65,
    message: /\[2\]\.proxy: /,
  },
  {
    name: 'proxy without port',
    args: acc(withRow(0, { proxy: 'socks5://user:pw@127.0.0.1' })),
    code: 65,
    message: /\[0\]\.proxy: /,
  },
  {
    name: 'fake-TLS MTProxy secret',
    args: acc(withRow(0, { proxy: 'mtproxy://ee00112233445566778899aabbccddeeff@1.2.3.4:443' })),
    code: 65,
    message: /\[0\]\.proxy: .*fake-TLS/,
  },
  {
    name: 'duplicate session_name',
    args: acc(withRow(2, { session_name: good[0]!.session_name })),
    code: 65,
    message: /\[2\]\.session_name: .*repeats row 0/,
  },
  {
    name: 'unknown link form',
    args: raw('@good_group_name\nhttps://example.com/group\n', ['targets', 'import']),
    code: 65,
    message: /line 2: /,
  },
  { name: 'bad link username', args: raw('t.me/ab\n', ['targets', 'import']), code: 65, message: /line 1: / },
  {
    name: 'bad proxy line',
    args: raw('socks5://127.0.0.1:1080\nsocks9://x:1\n', ['proxies', 'import']),
    code: 65,
    message: /line 2: /,
  },
  {
    name: 'missing file',
    args: () => ['accounts', 'import', '/nonexistent/accounts.json'],
    code: 66,
    message: /\/nonexistent\/accounts\.json does not exist → check the path/,
  },
  {
    name: 'bad tenant verify mode',
    args: () => ['tenants', 'add', 'acme', '--verify-mode', 'telepathy'],
    code: 64,
    message: /--verify-mode "telepathy" is unknown/,
  },
  { name: 'unknown command', args: () => ['frobnicate'], code: 64, message: /unknown command/ },
  {
    name: 'lease --ttl 0',
    args: () => ['lease', '--action', 'invite', '--ttl', '0'],
    code: 64,
    message: /--ttl 0 is out of range → between 1s and 24h/,
  },
  // Unknown tenants are refused by every importer unless --create-tenant.
  {
    name: 'proxies import --tenant typo',
    args: raw('socks5://u:pw@10.0.0.9:1080\n', ['proxies', 'import', '--tenant', 'acmee']),
    code: 65,
    message: /tenant "acmee" does not exist; nothing was imported → .*acctctl tenants add acmee.*--create-tenant/,
  },
  {
    name: 'accounts import with an unknown tenant',
    args: acc(withRow(1, { tenant: 'nobody', session_name: 'fresh_one' })),
    code: 65,
    message: /tenant "nobody" does not exist/,
  },
  {
    name: 'watch import with unknown tenants',
    args: (dir) => [
      'watch',
      'import',
      writeJson(dir, 'w.json', [
        { tenant: 'ghost', username: 'x', kind: 'exists' },
        { tenant: 'spook', username: 'y' },
      ]),
    ],
    code: 65,
    message: /tenants "ghost" and "spook" do not exist/,
  },
  {
    name: 'apikeys import with an unknown tenant',
    args: (dir) => [
      'apikeys',
      'import',
      writeJson(dir, 'k.json', [{ tenant: 'ghost', provider: 'p', key: 'k'.repeat(20) }]),
    ],
    code: 65,
    message: /tenant "ghost" does not exist/,
  },
  {
    name: 'ig import with an unknown tenant',
    args: (dir) => [
      'ig',
      'import',
      writeJson(dir, 'ig.json', [{ tenant: 'ghost', username: 'someone', password: 'pw-123456' }]),
    ],
    code: 65,
    message: /tenant "ghost" does not exist/,
  },
  // Removal of a thing in use is refused, saying what uses it.
  {
    name: 'proxies remove of a proxy accounts use',
    args: () => ['proxies', 'remove', '1'],
    code: 65,
    message:
      /proxy in use; nothing was removed[\s\S]*proxy 1 \(socks5:\/\/u0@127\.0\.0\.1:2000\) is used by Telegram account acc_00000/,
  },
  {
    name: 'tenants remove of a tenant that owns things',
    args: () => ['tenants', 'remove', 'acme'],
    code: 65,
    message: /tenant "acme" is in use: it has 3 Telegram accounts and 3 proxies; nothing was removed → .*--force/,
  },
  {
    name: 'proxies remove of an unknown id',
    args: () => ['proxies', 'remove', '1', '99'],
    code: 65,
    message: /no proxy with id 99/,
  },
  { name: 'proxies remove of a non-id', args: () => ['proxies', 'remove', 'x1'], code: 64, message: /"x1" is not/ },
  {
    name: 'targets remove of an unknown group',
    args: () => ['targets', 'remove', '@nope_group'],
    code: 65,
    message: /no target @nope_group/,
  },
  {
    name: 'targets remove of a non-link',
    args: () => ['targets', 'remove', 'http://x y'],
    code: 64,
    message: /not a Telegram group link/,
  },
  {
    name: 'ig remove of an unknown account',
    args: () => ['ig', 'remove', 'nobody'],
    code: 65,
    message: /no Instagram account "nobody"/,
  },
  {
    name: 'watch remove of an unknown watch',
    args: () => ['watch', 'remove', 'nobody'],
    code: 65,
    message: /no watch of nobody/,
  },
  {
    name: 'apikeys remove of an unknown id',
    args: () => ['apikeys', 'remove', '7'],
    code: 65,
    message: /no API key with id 7/,
  },
  {
    name: 'tenants remove of an unknown tenant',
    args: () => ['tenants', 'remove', 'ghost'],
    code: 65,
    message: /tenant "ghost" does not exist/,
  },
  {
    name: 'keys remove of the primary key',
    args: () => ['keys', 'remove', PRIMARY],
    code: 64,
    message: /is the primary key/,
  },
  {
    name: 'keys remove of an unknown key',
    args: () => ['keys', 'remove', 'k000000000000'],
    code: 64,
    message: /is not in/,
  },
];

describe.each(DIALECTS)('bad input on $name leaves the database byte-identical', ({ name, skip, create }) => {
  let t: TestDb;
  let env: Record<string, string>;
  beforeAll(async () => {
    if (skip) return;
    t = await create();
    const keyFile = makeKey(t.dir);
    env = baseEnv({ DATABASE_URL: t.url, ACCTCTL_KEY_FILE: keyFile });
    PRIMARY = /primary (k[0-9a-f]+)/.exec((await runCli(['doctor'], { env })).stdout)![1]!;
    if (name === 'postgres') expect((await runCli(['migrate'], { env })).code).toBe(0);
    const seed = await runCli(['accounts', 'import', writeJson(t.dir, 'good.json', good), '--create-tenant'], {
      env,
    });
    expect(seed.code, seed.stderr).toBe(0);
    writeFileSync(join(t.dir, 'targets.txt'), '@seed_group\nt.me/+AbCdEfGhIjKl\n');
    expect((await runCli(['targets', 'import', join(t.dir, 'targets.txt')], { env })).code).toBe(0);
  });
  afterAll(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip).each(CASES)('$name → exit $code', async (c) => {
    const dbFile = name === 'sqlite' ? t.url : undefined;
    const bytesBefore = dbFile ? readFileSync(dbFile) : undefined;
    const s = await openStore(t.target);
    const before = await snapshot(s);
    await s.close();

    const keyBefore = readFileSync(env.ACCTCTL_KEY_FILE!);
    const r = await runCli(c.args(t.dir), { env });
    expect(readFileSync(env.ACCTCTL_KEY_FILE!).equals(keyBefore)).toBe(true);
    expect(r.code, r.stderr).toBe(c.code);
    expect(r.stderr).toMatch(c.message);

    const s2 = await openStore(t.target);
    expect(await snapshot(s2)).toBe(before);
    await s2.close();
    if (dbFile) expect(readFileSync(dbFile).equals(bytesBefore!)).toBe(true);
  });
});
