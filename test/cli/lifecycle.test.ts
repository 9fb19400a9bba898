import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKey, keyIdOf, loadKeyRing, orderedKeys, writeKeyFile } from '../../src/security/keyring.js';
import { openStore } from '../../src/store/store.js';
import { baseEnv, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { makeAccounts, makeKey, writeJson } from '../support/fixtures.js';
import { snapshot } from '../support/snapshot.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe.each(DIALECTS)('list and remove what was imported, on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let env: Record<string, string>;
  const cli = (...args: string[]): Promise<Run> => runCli(args, { env });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await cli(...args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const json = async <T>(...args: string[]): Promise<T> => JSON.parse(await ok('--json', ...args)) as T;
  /** The rows of a listing's JSON envelope ({ schemaVersion, items, total, more }). */
  const rows = async <T>(...args: string[]): Promise<T[]> => (await json<{ items: T[] }>(...args)).items;
  /** Run a command that must fail with `code` and leave every table as it was. */
  const refused = async (code: number, ...args: string[]): Promise<string> => {
    const s1 = await openStore(t.target);
    const before = await snapshot(s1);
    await s1.close();
    const r = await cli(...args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
    const s2 = await openStore(t.target);
    expect(await snapshot(s2)).toBe(before);
    await s2.close();
    return r.stderr;
  };

  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    env = baseEnv({ DATABASE_URL: t.url, ACCTCTL_KEY_FILE: makeKey(t.dir) });
    await ok('migrate');
  });
  afterEach(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('tenants: created only on request, api+instagram by default, removed with --force', async () => {
    const accounts = writeJson(t.dir, 'a.json', makeAccounts(1, { tenant: 'acme', withProxy: true }));
    expect(await refused(65, 'accounts', 'import', accounts)).toContain('acctctl tenants add acme');
    expect(await ok('accounts', 'import', accounts, '--create-tenant')).toMatch(
      /^imported 1 account \(1 new, 0 updated\); created tenant acme$/m,
    );
    const tenants = await rows<{ name: string; verifyMode: string; accounts: number; proxies: number }>(
      'tenants',
      'list',
    );
    expect(tenants).toEqual([
      expect.objectContaining({ name: 'acme', verifyMode: 'api+instagram', accounts: 1, proxies: 1 }),
    ]);
    await ok('tenants', 'add', 'plain');
    expect((await rows<{ name: string; verifyMode: string }>('tenants', 'list'))[1]).toMatchObject({
      name: 'plain',
      verifyMode: 'api+instagram',
    });
    expect(await ok('tenants', 'remove', 'plain')).toContain('removed tenant plain');
    // accounts login refuses an unknown tenant before anyone is asked for a code.
    const login = await runCli(['accounts', 'login', '--phone', '+15550000000', '--tenant', 'ghost'], {
      env: { ...env, TELEGRAM_API_ID: '12345', TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef' },
    });
    expect(login.code, login.stderr).toBe(65);
    expect(login.stderr).toContain('tenant "ghost" does not exist');
    expect(login.stdout).not.toContain('Code');

    const why = await refused(65, 'tenants', 'remove', 'acme');
    expect(why).toContain('tenant "acme" is in use: it has 1 Telegram account and 1 proxy');
    const out = await ok('tenants', 'remove', 'acme', '--force');
    expect(out).toContain('removed tenant acme with 1 proxy; 1 Telegram account kept without a tenant');
    expect(out).toContain('disabled acc_00000');
    const acc = await rows<{ name: string; tenant: string | null; enabled: boolean; proxy: string | null }>(
      'accounts',
      'list',
    );
    // Its proxy went with the tenant: the account is disabled rather than left to connect directly.
    expect(acc).toEqual([expect.objectContaining({ name: 'acc_00000', tenant: null, enabled: false, proxy: null })]);
    expect(await rows<unknown>('tenants', 'list')).toEqual([]);
  });

  it.skipIf(skip)('proxies: list, refused while used, --force disables the accounts that used them', async () => {
    await ok('tenants', 'add', 'acme', '--verify-mode', 'proxy');
    const file = join(t.dir, 'p.txt');
    writeFileSync(file, 'socks5://u:secret-pw@10.0.0.1:1080\nsocks5://u:secret-pw@10.0.0.2:1080\n');
    expect(await refused(65, 'proxies', 'import', file, '--tenant', 'acmee')).toMatch(/tenant "acmee" does not exist/);
    expect(await ok('proxies', 'import', file, '--tenant', 'acme')).toMatch(
      /^imported 2 proxies \(2 new, 0 updated\)$/m,
    );
    await ok('accounts', 'import', writeJson(t.dir, 'a.json', makeAccounts(2)));
    const list = await rows<{ id: number; proxy: string; tenant: string | null }>('proxies', 'list');
    expect(list.map((p) => p.proxy)).toEqual(['socks5://u@10.0.0.1:1080', 'socks5://u@10.0.0.2:1080']);
    expect(JSON.stringify(list)).not.toContain('secret-pw');
    // Removing one is fine; the other is then the tenant's only proxy for its proxy checks.
    expect(await ok('proxies', 'remove', String(list[0]!.id))).toMatch(
      /^removed 1 proxy \(\d+ socks5:\/\/u@10\.0\.0\.1:1080\)$/m,
    );
    expect(await refused(65, 'proxies', 'remove', String(list[1]!.id))).toContain("tenant acme's proxy checks");
    await ok('proxies', 'remove', String(list[1]!.id), '--force');
    expect(await ok('proxies', 'list')).toContain('no proxies');

    // An account's own proxy: refused naming the account; --force disables the account.
    await ok('accounts', 'import', writeJson(t.dir, 'b.json', makeAccounts(1, { withProxy: true })));
    const [own] = await rows<{ id: number }>('proxies', 'list');
    expect(await refused(65, 'proxies', 'remove', String(own!.id))).toContain('is used by Telegram account acc_00000');
    expect(await ok('proxies', 'remove', String(own!.id), '--force')).toMatch(
      /parked 1 Telegram account that used it \(its proxy was removed; nothing is sent\): acc_00000/,
    );
    const accs = await rows<{ name: string; enabled: boolean; proxy: string | null }>('accounts', 'list');
    expect(accs.find((a) => a.name === 'acc_00000')).toMatchObject({ enabled: false, proxy: null });
    expect(accs.find((a) => a.name === 'acc_00001')).toMatchObject({ enabled: true });
    expect(await rows<unknown>('proxies', 'list')).toEqual([]);

    // An Instagram account's own proxy: --force leaves it needing a person (never direct, never
    // another identity); importing it again with a proxy is its way back.
    const ig = (proxy: string) =>
      writeJson(t.dir, 'ig.json', [{ tenant: 'acme', username: 'ig_one', password: 'pw-ig-one', proxy }]);
    await ok('ig', 'import', ig('http://10.0.0.7:3128'));
    const [igProxy] = await rows<{ id: number }>('proxies', 'list');
    expect(await refused(65, 'proxies', 'remove', String(igProxy!.id))).toContain('Instagram account acme/ig_one');
    expect(await ok('proxies', 'remove', String(igProxy!.id), '--force')).toContain(
      'Instagram accounts that used it need a person',
    );
    const igState = async () =>
      (await rows<{ username: string; state: string; lastError: string | null }>('ig', 'list')).find(
        (r) => r.username === 'ig_one',
      );
    expect(await igState()).toMatchObject({
      state: 'needs_manual',
      lastError: expect.stringMatching(/proxy was removed/),
    });
    await ok('ig', 'import', ig('http://10.0.0.8:3128'));
    expect((await igState())!.state).not.toBe('needs_manual');
  });

  it.skipIf(skip)('targets: remove, refused while bound to an account', async () => {
    await ok('accounts', 'import', writeJson(t.dir, 'a.json', makeAccounts(1)));
    const file = join(t.dir, 'targets.txt');
    writeFileSync(file, '@group_one\nt.me/group_two\nt.me/+AbCdEfGhIjKlMn\n');
    expect(await ok('targets', 'import', file)).toContain('imported 3 targets (3 new, 0 unchanged) into niche default');
    const s = await openStore(t.target);
    const acc = await s.db.selectFrom('telegram_accounts').select('id').executeTakeFirstOrThrow();
    await s.db
      .updateTable('targets')
      .set({ status: 'joined', account_id: acc.id })
      .where('ref', '=', '@group_two')
      .execute();
    await s.close();
    expect(await ok('targets', 'remove', 't.me/group_one', 'https://t.me/+AbCdEfGhIjKlMn')).toContain(
      'removed 2 targets (+AbCdEfGhIjKlMn, @group_one)',
    );
    expect(await refused(65, 'targets', 'remove', '@group_two')).toContain(
      '@group_two: joined, bound to account acc_00000',
    );
    await ok('targets', 'remove', '@group_two', '--force');
    expect(await rows<unknown>('targets', 'list')).toEqual([]);
  });

  it.skipIf(skip)('API keys: listed without the key, the last key of an api tenant is in use', async () => {
    await ok('tenants', 'add', 'acme');
    const keys = [
      { tenant: 'acme', provider: 'lookup', key: 'first-secret-key-123' },
      { tenant: 'acme', provider: 'lookup', key: 'second-secret-key-456' },
    ];
    expect(await ok('apikeys', 'import', writeJson(t.dir, 'k.json', keys))).toMatch(
      /^imported 2 API keys \(2 new, 0 updated\)$/m,
    );
    const list = await rows<Record<string, unknown>>('apikeys', 'list');
    expect(list).toEqual([
      expect.objectContaining({ tenant: 'acme', provider: 'lookup', healthy: true, quotaResetAt: null }),
      expect.objectContaining({ tenant: 'acme', provider: 'lookup', healthy: true, quotaResetAt: null }),
    ]);
    const human = await ok('apikeys', 'list');
    for (const k of keys) {
      expect(JSON.stringify(list)).not.toContain(k.key);
      expect(human).not.toContain(k.key);
    }
    expect(await ok('apikeys', 'remove', String(list[0]!.id))).toMatch(/^removed 1 API key \(\d+: acme\/lookup\)$/m);
    expect(await refused(65, 'apikeys', 'remove', String(list[1]!.id))).toContain(
      'tenant acme (verify mode api+instagram) would have no API key left',
    );
    await ok('apikeys', 'remove', String(list[1]!.id), '--force');
    expect(await ok('apikeys', 'list')).toContain('no API keys');
  });

  it.skipIf(skip)('watches and Instagram accounts: removed, refused while a fetch or login runs', async () => {
    await ok('tenants', 'add', 'acme', '--verify-mode', 'instagram');
    await ok(
      'watch',
      'import',
      writeJson(t.dir, 'w.json', [
        { tenant: 'acme', username: 'someone', kind: 'exists' },
        { tenant: 'acme', username: 'someone', kind: 'followers' },
        { tenant: 'acme', username: 'other', kind: 'exists' },
      ]),
    );
    await ok(
      'ig',
      'import',
      writeJson(t.dir, 'ig.json', [{ tenant: 'acme', username: 'ig_one', password: 'pw-123456' }]),
    );
    const s = await openStore(t.target);
    const w = await s.db
      .selectFrom('watches')
      .select('id')
      .where('username', '=', 'someone')
      .where('kind', '=', 'followers')
      .executeTakeFirstOrThrow();
    const ig = await s.db.selectFrom('ig_accounts').select('id').executeTakeFirstOrThrow();
    const far = Date.now() + 3_600_000;
    await s.db
      .insertInto('check_jobs')
      .values({
        watch_id: w.id,
        kind: 'followers',
        cursor: null,
        cursor_expires_at: null,
        expected_total: null,
        ig_account_id: ig.id,
        lease_holder: 'check@host',
        lease_token: 1,
        lease_expires_at: far,
        last_error: null,
        started_at: 0,
        updated_at: 0,
        completed_at: null,
      })
      .execute();
    await s.close();
    expect(await refused(65, 'ig', 'remove', 'ig_one')).toContain(
      'a followers fetch of someone is running with it (check@host)',
    );
    expect(await refused(65, 'watch', 'remove', 'someone')).toContain('a followers fetch is running (check@host)');
    expect(await ok('watch', 'remove', 'someone', '--kind', 'exists')).toContain(
      'removed 1 watch of someone (tenant acme: exists)',
    );
    expect(await ok('watch', 'remove', '@Someone', '--force')).toContain(
      'removed 1 watch of someone (tenant acme: followers) with 1 follower fetch',
    );
    expect((await rows<{ username: string }>('watch', 'list')).map((x) => x.username)).toEqual(['other']);
    expect(await ok('ig', 'remove', 'ig_one')).toContain('removed Instagram account acme/ig_one');
    expect(await rows<unknown>('ig', 'list')).toEqual([]);
  });

  it.skipIf(skip)(
    'keys remove: refused while a secret needs the key, then removed; doctor counts per key',
    async () => {
      await ok('accounts', 'import', writeJson(t.dir, 'a.json', makeAccounts(2)));
      const keyFile = env.ACCTCTL_KEY_FILE!;
      const old = loadKeyRing({ keyFile, secretKeyEnv: undefined });
      // A new primary in front of the old key, as `keys rotate` does before it re-encrypts.
      const fresh = generateKey();
      const freshId = keyIdOf(fresh);
      writeKeyFile(keyFile, [fresh, ...orderedKeys(old)]);
      const doc = await json<{
        checks: { name: string; secretsByKey: Record<string, number> | null; fix: string | null }[];
      }>('doctor');
      const perKey = doc.checks.find((c) => c.name === 'secrets per key')!;
      expect(perKey.secretsByKey).toEqual({ [freshId]: 0, [old.primaryId]: 4 });
      const keyBefore = readFileSync(keyFile);
      expect(await refused(65, 'keys', 'remove', old.primaryId)).toContain(
        `key ${old.primaryId} still protects 4 secrets; nothing was removed → run \`acctctl keys rotate\``,
      );
      expect(readFileSync(keyFile).equals(keyBefore)).toBe(true);
      await ok('keys', 'rotate');
      const doc2 = await json<{
        checks: { name: string; secretsByKey: Record<string, number> | null; fix: string | null }[];
      }>('doctor');
      const perKey2 = doc2.checks.find((c) => c.name === 'secrets per key')!;
      expect(perKey2.secretsByKey).toEqual({ [freshId]: 4, [old.primaryId]: 0 });
      expect(perKey2.fix).toContain(`acctctl keys remove ${old.primaryId}`);
      expect(await ok('keys', 'remove', old.primaryId)).toContain(`removed key ${old.primaryId}`);
      expect([...loadKeyRing({ keyFile, secretKeyEnv: undefined }).keys.keys()]).toEqual([freshId]);
      expect((await cli('keys', 'remove', freshId)).code).toBe(64);
      // Everything is still readable under the remaining key.
      expect((await cli('doctor')).code).toBe(0);
    },
  );

  it.skipIf(skip)('metrics carry no binary floating-point noise', async () => {
    await ok('accounts', 'import', writeJson(t.dir, 'a.json', makeAccounts(7)));
    const s = await openStore(t.target);
    await s.db
      .updateTable('telegram_accounts')
      .set({ state: 'banned' })
      .where('session_name', 'in', ['acc_00000', 'acc_00001', 'acc_00002'])
      .execute();
    await s.close();
    const metrics = join(t.dir, 'acctctl.prom');
    await ok('status', '--metrics-file', metrics);
    const text = readFileSync(metrics, 'utf8');
    // 4 of 7: 57.1 % → 0.571 (0.571 / 100 in floating point would print 0.5710000000000001).
    expect(text).toMatch(/^acctctl_accounts_healthy_ratio 0\.571$/m);
    for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
      expect(line).toMatch(/ -?\d+(\.\d{1,12})?$/);
    }
  });
});
