import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { changeAccount, importAccounts, listAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { importProxies, parseProxyFile } from '../../src/fleet/proxies.js';
import { listProxies } from '../../src/store/proxies.js';
import { importTargets, listTargets, parseTargetsFile } from '../../src/fleet/targets.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { listTenants } from '../../src/store/tenants.js';
import { FakeClock } from '../../src/domain/clock.js';
import { DataError } from '../../src/errors.js';
import { fernetEncrypt } from '../../src/security/fernet.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { openStore, type Store } from '../../src/store/store.js';
import { baseEnv, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { makeAccounts, makeKey, writeJson } from '../support/fixtures.js';

describe.each(DIALECTS)('imports and lists on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let store: Store;
  let box: SecretBox;
  let env: Record<string, string>;
  const clock = new FakeClock(Date.parse('2026-11-23T10:00:00Z'));
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    env = baseEnv({ DATABASE_URL: t.url, ACCTCTL_KEY_FILE: makeKey(t.dir) });
    store = await openStore(t.target);
    box = new SecretBox(loadKeyRing({ keyFile: env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined }));
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  it.skipIf(skip)('re-importing accounts updates them in place (secrets, proxy) and keeps their state', async () => {
    const rows = makeAccounts(3, { tenant: 'acme', withProxy: true });
    const first = await importAccounts({ store, box, clock }, parseAccountsFile('a', JSON.stringify(rows)));
    expect(first.created).toHaveLength(3);
    expect(first.tenantsCreated).toEqual(['acme']);
    await store.db
      .updateTable('telegram_accounts')
      .set({ state: 'cooldown' })
      .where('session_name', '=', 'acc_00001')
      .execute();
    const newSession = makeAccounts(1)[0]!.string_session;
    const changed = rows.map((r, i) =>
      i === 1 ? { ...r, string_session: newSession, proxy: 'socks5://127.0.0.1:9050' } : r,
    );
    const second = await importAccounts({ store, box, clock }, parseAccountsFile('a', JSON.stringify(changed)));
    expect(second).toMatchObject({ created: [], updated: ['acc_00000', 'acc_00001', 'acc_00002'] });
    const list = await listAccounts(store);
    expect(list.map((a) => a.name)).toEqual(['acc_00000', 'acc_00001', 'acc_00002']);
    expect(list[1]).toMatchObject({ state: 'cooldown', proxy: 'socks5://127.0.0.1:9050', tenant: 'acme' });
    const row = await store.db
      .selectFrom('telegram_accounts')
      .select(['id', 'string_session_enc'])
      .where('session_name', '=', 'acc_00001')
      .executeTakeFirstOrThrow();
    expect(
      box.open(row.string_session_enc, { table: 'telegram_accounts', column: 'string_session_enc', rowId: row.id }),
    ).toBe(newSession);
  });

  it.skipIf(skip)(
    'a re-import that leaves out `proxy` keeps the account on its proxy (never direct by accident)',
    async () => {
      const rows = makeAccounts(2, { tenant: 'acme', withProxy: true });
      await importAccounts({ store, box, clock }, parseAccountsFile('a', JSON.stringify(rows)));
      const before = await listAccounts(store);
      expect(before[0]!.proxy).toBeTruthy();
      const withoutProxy = rows.map(({ proxy: _proxy, ...r }) => r);
      const second = await importAccounts({ store, box, clock }, parseAccountsFile('a', JSON.stringify(withoutProxy)));
      expect(second.updated).toHaveLength(2);
      const after = await listAccounts(store);
      expect(after.map((a) => a.proxy)).toEqual(before.map((a) => a.proxy));
    },
  );

  it.skipIf(skip)('imports Fernet tokens from the old system with --fernet-key-file', async () => {
    const fernetKey = randomBytes(32).toString('base64url');
    const rows = makeAccounts(1);
    const plain = rows[0]!.string_session;
    const file = writeJson(t.dir, 'old.json', [
      { ...rows[0], string_session: fernetEncrypt(Buffer.from(plain), fernetKey) },
    ]);
    writeFileSync(join(t.dir, 'fernet.key'), fernetKey);
    await store.close();
    const without = await runCli(['accounts', 'import', file], { env });
    expect(without.code).toBe(65);
    expect(without.stderr).toMatch(/\[0\]\.string_session: is a Fernet token .*--fernet-key-file/);
    const r = await runCli(['accounts', 'import', file, '--fernet-key-file', join(t.dir, 'fernet.key')], { env });
    expect(r.code, r.stderr).toBe(0);
    store = await openStore(t.target);
    const row = await store.db
      .selectFrom('telegram_accounts')
      .select(['id', 'string_session_enc'])
      .executeTakeFirstOrThrow();
    expect(
      box.open(row.string_session_enc, { table: 'telegram_accounts', column: 'string_session_enc', rowId: row.id }),
    ).toBe(plain);
  });

  it.skipIf(skip)('enable, disable and remove', async () => {
    await importAccounts({ store, box, clock }, parseAccountsFile('a', JSON.stringify(makeAccounts(2))));
    await changeAccount({ store, clock }, 'disable', 'acc_00000');
    expect((await listAccounts(store))[0]!.enabled).toBe(false);
    await changeAccount({ store, clock }, 'enable', 'acc_00000');
    expect((await listAccounts(store))[0]!.enabled).toBe(true);
    await changeAccount({ store, clock }, 'remove', 'acc_00001');
    expect((await listAccounts(store)).map((a) => a.name)).toEqual(['acc_00000']);
    await expect(changeAccount({ store, clock }, 'remove', 'nobody')).rejects.toBeInstanceOf(DataError);
    const events = await store.db.selectFrom('events').select('kind').orderBy('id').execute();
    expect(events.map((e) => e.kind)).toEqual(['account_disabled', 'account_enabled', 'account_removed']);
  });

  it.skipIf(skip)('targets: every link form, deduplicated across files, listed by niche and status', async () => {
    const text =
      '@alpha_group\nhttps://t.me/alpha_group\nt.me/+AbCdEfGhIjKl\nhttps://t.me/joinchat/MnOpQrStUv12\ntg://join?invite=ZzYyXxWwVv\ntg://resolve?domain=beta_group\n# comment\n\n';
    const refs = parseTargetsFile('t.txt', text);
    expect(refs).toHaveLength(5);
    expect(await importTargets({ store, clock }, refs, 'crypto')).toEqual({
      niche: 'crypto',
      tenant: null,
      added: 5,
      alreadyKnown: 0,
    });
    expect(
      await importTargets({ store, clock }, parseTargetsFile('t2', '@ALPHA_group\n@gamma_group\n'), 'crypto'),
    ).toEqual({
      niche: 'crypto',
      tenant: null,
      added: 1,
      alreadyKnown: 1,
    });
    const list = await listTargets(store, { niche: 'crypto', status: 'new' });
    expect(list.map((r) => r.ref)).toEqual([
      '@alpha_group',
      '+AbCdEfGhIjKl',
      '+MnOpQrStUv12',
      '+ZzYyXxWwVv',
      '@beta_group',
      '@gamma_group',
    ]);
    expect(await listTargets(store, { niche: 'other' })).toEqual([]);
  });

  it.skipIf(skip)('proxies and tenants', async () => {
    await addTenant({ store, clock }, { name: 'acme', verifyMode: 'api+proxy' });
    const rows = parseProxyFile(
      'p.json',
      JSON.stringify([{ url: 'socks5://u:secretpw@127.0.0.1:1080', tenant: 'acme' }, 'http://127.0.0.1:3128']),
      null,
    );
    expect(await importProxies({ store, box, clock }, rows)).toMatchObject({ imported: 2, created: 2 });
    expect(await importProxies({ store, box, clock }, rows)).toMatchObject({ imported: 2, created: 0, updated: 2 });
    const proxies = await listProxies(store);
    expect(proxies.map((p) => [p.tenant, p.proxy])).toEqual([
      ['acme', 'socks5://u@127.0.0.1:1080'],
      [null, 'http://127.0.0.1:3128'],
    ]);
    const tenants = await listTenants(store);
    expect(tenants).toEqual([
      { name: 'acme', verifyMode: 'api+proxy', accounts: 0, proxies: 1, igAccounts: 0, apiKeys: 0, watches: 0 },
    ]);
  });
});
