import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseIgFile } from '../../src/commands/ig.js';
import { FakeClock } from '../../src/domain/clock.js';
import { importIg } from '../../src/fleet/checkImports.js';
import { SessionRefresher } from '../../src/fleet/refresh.js';
import { addTenant, setTenantNotifySettings } from '../../src/fleet/tenants.js';
import { launchChromium, playwrightLogin, type BrowserLogin } from '../../src/instagram/browser.js';
import { httpLogin, type HttpLogin } from '../../src/instagram/httpLogin.js';
import { BrowserLoginError } from '../../src/instagram/loginAnswers.js';
import { silentLogger } from '../../src/log/logger.js';
import { startFakeInstagram, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import type { Store } from '../../src/store/store.js';
import { HAVE_CHROMIUM, sharedChromium } from '../support/chromium.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { hostMappingProxy } from '../support/httpProxy.js';
import { boxFor } from '../support/joinHarness.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
/** A valid secret, but not the one Instagram has: every code is refused. */
const OTHER_SECRET = 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU';

/**
 * Issue 26, item 6: the HTTP login follows only a browser that failed on its own before
 * Instagram answered — never a wrong password, a refused 2FA code or a checkpoint the browser
 * got (those are Instagram's answers: trying again another way would be a second login).
 */
describe.each(DIALECTS)('the HTTP login fallback and the browser’s answers, on $name', ({ skip, createMigrated }) => {
  const browser = sharedChromium();
  let ig: FakeInstagram;
  let proxy: Awaited<ReturnType<typeof hostMappingProxy>>;
  let hidden: string;
  let t: TestDb;
  let store: Store;
  let box: SecretBox;
  let httpCalls: string[];
  beforeAll(async () => {
    ig = await startFakeInstagram({
      variant: 'spa',
      users: {
        alice: { password: 'pw-alice', pk: '111' },
        tina: { password: 'pw-tina', totpSecret: SECRET, pk: '444' },
        carol: { password: 'pw-carol', behaviour: 'checkpoint' },
        erin: { password: 'pw-erin' },
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
    let env: Record<string, string>;
    ({ store, env } = await fleetStore(t, 0));
    box = boxFor(env);
    httpCalls = [];
    const clock = new FakeClock(Date.now());
    await addTenant({ store, clock }, { name: 'acme', verifyMode: 'instagram' });
    await setTenantNotifySettings({ store, box }, 'acme', { loginFallback: 'http' });
    const own = `http://127.0.0.1:${proxy.port}`;
    await importIg(
      { store, box, clock },
      await parseIgFile(
        'ig.json',
        JSON.stringify([
          { tenant: 'acme', username: 'alice', password: 'pw-alice', proxy: own },
          { tenant: 'acme', username: 'tina', password: 'pw-tina', totp_secret: OTHER_SECRET, proxy: own },
          { tenant: 'acme', username: 'carol', password: 'pw-carol', proxy: own },
          { tenant: 'acme', username: 'erin', password: 'wrong-password', proxy: own },
        ]),
      ),
    );
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  /** The real HTTP login, counted. */
  const spy: HttpLogin = async (req) => {
    httpCalls.push(req.username);
    return httpLogin(req);
  };
  // The tests whose login is a stand-in need no Chromium (none is passed where none is installed).
  const refresher = (login: BrowserLogin, b = HAVE_CHROMIUM ? browser() : undefined) =>
    new SessionRefresher({
      store,
      box,
      clock: new FakeClock(Date.now()),
      log: silentLogger,
      login,
      httpLogin: spy,
      instagramUrl: hidden,
      chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
      browser: b,
      keyDelayMs: () => 0,
      totpTime: simulatedTotpTime(),
    });
  const events = async () =>
    (await store.db.selectFrom('events').select(['kind', 'data_json']).orderBy('id').execute()).map((e) => ({
      kind: e.kind,
      via: (JSON.parse(e.data_json ?? '{}') as { via?: string }).via,
    }));

  it.skipIf(skip || !HAVE_CHROMIUM)(
    'a wrong password, a refused 2FA code, a checkpoint from the browser: no HTTP login follows',
    async () => {
      const r = refresher(playwrightLogin);
      const res = Object.fromEntries(
        await Promise.all(['erin', 'tina', 'carol'].map(async (u) => [u, await r.refresh({ account: u })] as const)),
      );
      expect(res.erin![0]).toMatchObject({ status: 'failed' });
      expect(res.tina![0]).toMatchObject({ status: 'backing_off', detail: expect.stringMatching(/two_factor_failed/) });
      expect(res.carol![0]).toMatchObject({ status: 'needs_manual' });
      expect(httpCalls).toEqual([]);
      // Every login Instagram saw came from the browser (navigator.webdriver is read on the page).
      expect(ig.loginClients.filter((c) => c.webdriver === null)).toEqual([]);
      expect((await events()).map((e) => e.via)).toEqual(['browser', 'browser', 'browser']);
    },
    120_000,
  );

  it.skipIf(skip || !HAVE_CHROMIUM)(
    'the browser gone before Instagram answered (a crash): logged in over HTTP instead, the event says http',
    async () => {
      const dead = await launchChromium({ chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH });
      await dead.close();
      const [res] = await refresher(playwrightLogin, dead).refresh({ account: 'alice' });
      expect(res).toMatchObject({ status: 'refreshed', detail: 'logged in over HTTP (the browser failed)' });
      expect(httpCalls).toEqual(['alice']);
      expect(await events()).toEqual([{ kind: 'ig_refreshed', via: 'http' }]);
      expect(proxy.seen).toContain(`POST ${hidden}/api/v1/web/accounts/login/ajax/`);
    },
    60_000,
  );

  it.skipIf(skip)('a browser failure after Instagram answered the login: no HTTP login, backing off', async () => {
    // A crash and a timeout while the 2FA page was up: Instagram had the password already.
    for (const reason of ['crash', 'timeout'] as const) {
      const failing: BrowserLogin = () => Promise.reject(new BrowserLoginError(`page ${reason}`, reason, true));
      const [res] = await refresher(failing, undefined as never).refresh({ account: 'alice' });
      expect(res).toMatchObject({ status: 'backing_off', detail: `error: page ${reason}` });
    }
    expect(httpCalls).toEqual([]);
    // The same failures before any answer: the HTTP login is made.
    const early: BrowserLogin = () => Promise.reject(new BrowserLoginError('page timeout', 'timeout', false));
    await store.db.updateTable('ig_accounts').set({ next_refresh_at: null, fail_count: 0 }).execute();
    const [res] = await refresher(early, undefined as never).refresh({ account: 'alice' });
    expect(res).toMatchObject({ status: 'refreshed' });
    expect(httpCalls).toEqual(['alice']);
  });

  it.skipIf(skip)('a tenant that did not opt in: a crash is a failed login as before, no HTTP login', async () => {
    await setTenantNotifySettings({ store, box }, 'acme', { loginFallback: 'none' });
    const failing: BrowserLogin = () => Promise.reject(new BrowserLoginError('browser closed', 'crash', false));
    const [res] = await refresher(failing, undefined as never).refresh({ account: 'alice' });
    expect(res).toMatchObject({ status: 'backing_off', detail: 'error: browser closed' });
    expect(httpCalls).toEqual([]);
    // Chromium missing, not opted in: refused (69) as before.
    const missing: BrowserLogin = () =>
      Promise.reject(new BrowserLoginError('no Chromium → install one', 'missing', false));
    await expect(refresher(missing, undefined as never).refresh({ account: 'tina' })).rejects.toMatchObject({
      exitCode: 69,
    });
    expect(httpCalls).toEqual([]);
  });
});

/** The 2FA step's clock: the wait for the next TOTP window moves it on, no real time passes. */
function simulatedTotpTime(): { nowMs: () => number; sleep: (ms: number) => Promise<void> } {
  const clock = new FakeClock(Date.now());
  return {
    nowMs: () => clock.now(),
    sleep: (ms: number) => {
      clock.advance(ms);
      return Promise.resolve();
    },
  };
}
