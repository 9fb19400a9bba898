import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeInstagram, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import type { Store } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { hostMappingProxy } from '../support/httpProxy.js';
import { boxFor } from '../support/joinHarness.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const PASSWORDS = { alice: 'pw-alice-Secret-1', bob: 'pw-bob-Secret-22', gina: 'pw-gina-Secret-333' };

/**
 * Issue 26, item 6: Chromium missing → a tenant that opted in (`tenants set T --login-fallback
 * http`) logs in over HTTP the way instaloader does, through the account's own proxy (the fake
 * is reachable only through it: `instagram.test` resolves nowhere else) and with the account's
 * device's user agent; a tenant that did not opt in is refused as before (69), nothing sent.
 */
describe.each(DIALECTS)('refresh-session falls back to an HTTP login, CLI, on $name', ({ skip, createMigrated }) => {
  let ig: FakeInstagram;
  let proxy: Awaited<ReturnType<typeof hostMappingProxy>>;
  let hidden: string;
  let t: TestDb;
  let store: Store;
  let env: Record<string, string>;
  beforeAll(async () => {
    ig = await startFakeInstagram({
      users: {
        alice: { password: PASSWORDS.alice, pk: '111' },
        bob: { password: PASSWORDS.bob, totpSecret: SECRET, pk: '222' },
        gina: { password: PASSWORDS.gina, pk: '333' },
      },
    });
    const port = Number(new URL(ig.url).port);
    proxy = await hostMappingProxy({ 'instagram.test': port });
    hidden = `http://instagram.test:${port}`;
  });
  afterAll(async () => {
    await proxy.close();
    await ig.close();
  });
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    ({ store, env } = await fleetStore(t, 0));
    env = {
      ...env,
      ACCTCTL_INSTAGRAM_URL: hidden,
      // No Chromium on this host.
      ACCTCTL_CHROMIUM_PATH: join(t.dir, 'no-chromium'),
      ACCTCTL_LOG_FILE: join(t.dir, 'acctctl.log'),
      ACCTCTL_LOG_LEVEL: 'debug',
    };
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const cli = async (args: string[], code = 0) => {
    const r = await runCli(args, { env });
    expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
    return r;
  };

  it.skipIf(skip)(
    'opted in: logged in over HTTP through its proxy with its user agent, stored like the browser’s, an event says http; not opted in: not attempted; the password is never printed or logged',
    async () => {
      await cli(['tenants', 'add', 'acme', '--verify-mode', 'instagram']);
      await cli(['tenants', 'add', 'globex', '--verify-mode', 'instagram']);
      const set = await cli(['--json', 'tenants', 'set', 'acme', '--login-fallback', 'http']);
      expect(JSON.parse(set.stdout)).toMatchObject({ name: 'acme', loginFallback: 'http' });
      expect((await cli(['tenants', 'set', 'acme', '--login-fallback', 'smtp'], 64)).stderr).toMatch(
        /--login-fallback "smtp" → use http .* or none/,
      );
      const own = `http://127.0.0.1:${proxy.port}`;
      const file = join(t.dir, 'ig.json');
      writeFileSync(
        file,
        JSON.stringify([
          { tenant: 'acme', username: 'alice', password: PASSWORDS.alice, proxy: own },
          { tenant: 'acme', username: 'bob', password: PASSWORDS.bob, totp_secret: SECRET, proxy: own },
          { tenant: 'globex', username: 'gina', password: PASSWORDS.gina, proxy: own },
        ]),
      );
      await cli(['ig', 'import', file]);
      const outputs: string[] = [];

      // globex did not opt in: Chromium missing is refused as before, and nothing is sent.
      const refused = await cli(['refresh-session', '--account', 'gina'], 69);
      outputs.push(refused.stdout, refused.stderr);
      expect(refused.stderr).toMatch(/not an executable file/);
      expect(ig.logins.get('gina') ?? 0).toBe(0);
      expect(proxy.seen).toEqual([]);
      expect(ig.requests).toEqual([]);

      for (const who of ['alice', 'bob'] as const) {
        const r = await cli(['--json', 'refresh-session', '--account', who]);
        outputs.push(r.stdout, r.stderr);
        expect(JSON.parse(r.stdout)).toMatchObject({
          items: [{ tenant: 'acme', username: who, status: 'refreshed', detail: expect.stringMatching(/over HTTP/) }],
        });
        expect(r.stderr).toMatch(/browser login failed, logging in over HTTP/);
      }
      // instaloader's flow, every request through the account's proxy (the fake has no other way in).
      expect(proxy.seen).toEqual(
        expect.arrayContaining([
          `GET ${hidden}/`,
          `POST ${hidden}/api/v1/web/accounts/login/ajax/`,
          `POST ${hidden}/api/v1/web/accounts/login/ajax/two_factor/`,
          `GET ${hidden}/api/v1/accounts/current_user/?edit=true`,
        ]),
      );
      expect(ig.logins.get('alice')).toBe(1);
      expect(ig.logins.get('bob')).toBe(1);

      // Stored as the browser's would be: state valid, an encrypted live sessionid, its device.
      const box = boxFor(env);
      const rows = await store.db
        .selectFrom('ig_accounts')
        .select(['id', 'username', 'state', 'sessionid_enc', 'cookies_enc', 'browser_state_enc', 'device_json'])
        .where('username', 'in', ['alice', 'bob'])
        .orderBy('username')
        .execute();
      for (const row of rows) {
        expect(row.state).toBe('valid');
        const sid = box.open(row.sessionid_enc!, { table: 'ig_accounts', column: 'sessionid_enc', rowId: row.id });
        expect(ig.sessions.has(sid)).toBe(true);
        expect(row.cookies_enc).not.toContain(sid.slice(0, 12));
        const state = JSON.parse(
          box.open(row.browser_state_enc!, { table: 'ig_accounts', column: 'browser_state_enc', rowId: row.id }),
        ) as { cookies: { name: string }[] };
        expect(state.cookies.map((c) => c.name)).toEqual(expect.arrayContaining(['sessionid', 'csrftoken']));
        expect(row.device_json).not.toBeNull();
      }
      // Its device's user agent on the login XHRs (the HTTP login sends no client_webdriver field).
      const uas = new Set(rows.map((r) => (JSON.parse(r.device_json!) as { userAgent: string }).userAgent));
      const httpLogins = ig.loginClients.filter((c) => c.webdriver === null);
      expect(httpLogins).toHaveLength(2);
      for (const c of httpLogins) expect(uas.has(c.userAgent!)).toBe(true);

      // The event says which way it logged in.
      const events = await store.db
        .selectFrom('events')
        .select(['kind', 'message', 'data_json'])
        .where('kind', '=', 'ig_refreshed')
        .execute();
      expect(events).toHaveLength(2);
      for (const e of events) {
        expect(JSON.parse(e.data_json!)).toMatchObject({ via: 'http' });
        expect(e.message).toMatch(/logged in over HTTP \(the browser failed: .*not an executable file/);
      }
      const shown = await cli(['--json', 'events', '--kind', 'ig_refreshed']);
      outputs.push(shown.stdout);

      // The password: not in any output, the log file, or an event.
      const log = readFileSync(join(t.dir, 'acctctl.log'), 'utf8');
      expect(log).toMatch(/logging in over HTTP/);
      const everything = [...outputs, log, JSON.stringify(await store.db.selectFrom('events').selectAll().execute())];
      for (const pw of Object.values(PASSWORDS)) for (const text of everything) expect(text).not.toContain(pw);
    },
  );

  it.skipIf(skip)('an opted-in account without a proxy: the HTTP login never goes direct', async () => {
    await cli(['tenants', 'add', 'acme', '--verify-mode', 'instagram']);
    await cli(['tenants', 'set', 'acme', '--login-fallback', 'http']);
    const file = join(t.dir, 'ig.json');
    writeFileSync(file, JSON.stringify([{ tenant: 'acme', username: 'alice', password: PASSWORDS.alice }]));
    await cli(['ig', 'import', file]);
    // Reachable direct (the fake's own address): still nothing is sent.
    env = { ...env, ACCTCTL_INSTAGRAM_URL: ig.url };
    const before = ig.requests.length;
    const r = await cli(['refresh-session', '--account', 'alice'], 69);
    expect(r.stderr).toMatch(/no HTTP login fallback.*never goes direct/);
    expect(ig.requests.length).toBe(before);
  });
});
