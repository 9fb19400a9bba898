import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playwrightLogin, type BrowserLoginRequest } from '../../src/instagram/browser.js';
import { startFakeInstagram, type FakeInstagram } from '../../src/instagram/fakeInstagram.js';
import { totpCode } from '../../src/instagram/totp.js';
import { HAVE_CHROMIUM } from '../support/chromium.js';
import { recordingHttpProxy } from '../support/httpProxy.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

describe.skipIf(!HAVE_CHROMIUM)('Instagram login in real headless Chromium against a loopback fake', () => {
  let ig: FakeInstagram;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-browser-'));
    ig = await startFakeInstagram({
      users: {
        alice: { password: 'pw-alice', pk: '111' },
        bob: { password: 'pw-bob', totpSecret: SECRET, pk: '222' },
        carol: { password: 'pw-carol', behaviour: 'checkpoint' },
        dave: { password: 'pw-dave', behaviour: 'rate_limited' },
      },
    });
  });
  afterAll(async () => {
    await ig.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const req = (over: Partial<BrowserLoginRequest>): BrowserLoginRequest => ({
    baseUrl: ig.url,
    username: 'alice',
    password: 'pw-alice',
    totp: null,
    proxy: null,
    profileDir: join(dir, `profile-${over.username ?? 'alice'}`),
    chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
    timeoutMs: 15_000,
    ...over,
  });

  it.each(['legacy', 'fb', 'noname'] as const)(
    'form variant %s: logs in, returns the cookies, verifies the session',
    async (variant) => {
      ig.setVariant(variant);
      const r = await playwrightLogin(req({}));
      expect(r.kind).toBe('ok');
      if (r.kind !== 'ok') return;
      expect(r.sessionid).toMatch(/^111%3A/);
      expect(ig.sessions.has(r.sessionid)).toBe(true);
      expect(r.verified).toBe(true);
      expect(r.cookies.map((c) => c.name).sort()).toEqual(
        expect.arrayContaining(['csrftoken', 'ds_user_id', 'sessionid']),
      );
      expect(statSync(join(dir, 'profile-alice')).mode & 0o777).toBe(0o700);
      ig.setVariant('legacy');
    },
  );

  it('2FA: the TOTP code from the stored secret', async () => {
    const r = await playwrightLogin(req({ username: 'bob', password: 'pw-bob', totp: (t) => totpCode(SECRET, t) }));
    expect(r).toMatchObject({ kind: 'ok', verified: true });
  });

  it('2FA: a wrong code is retried once, then reported', async () => {
    let asked = 0;
    const r = await playwrightLogin(
      req({
        username: 'bob',
        password: 'pw-bob',
        totp: async () => {
          asked++;
          return '000000';
        },
        nowMs: () => Date.now(),
      }),
    );
    expect(r).toMatchObject({ kind: 'two_factor_failed' });
    expect(asked).toBe(2);
  });

  it('checkpoint, wrong password, and the rate-limit banner are told apart', async () => {
    expect(await playwrightLogin(req({ username: 'carol', password: 'pw-carol' }))).toMatchObject({
      kind: 'checkpoint',
    });
    expect(await playwrightLogin(req({ username: 'alice', password: 'nope' }))).toMatchObject({ kind: 'bad_password' });
    expect(await playwrightLogin(req({ username: 'dave', password: 'pw-dave' }))).toMatchObject({
      kind: 'rate_limited',
      message: 'Please wait a few minutes before you try again.',
    });
  });

  it('the account’s proxy is used for every request (a loopback proxy records them)', async () => {
    const proxy = await recordingHttpProxy();
    try {
      const r = await playwrightLogin(
        req({
          proxy: { scheme: 'http', host: '127.0.0.1', port: proxy.port },
          extraArgs: ['--proxy-bypass-list=<-loopback>'],
        }),
      );
      expect(r.kind).toBe('ok');
      const port = new URL(ig.url).port;
      // Nothing else left through the proxy: no Google services, updaters or autofill.
      const offMachine = proxy.seen.filter((x) => !/^(GET|POST|CONNECT) (http:\/\/)?127\.0\.0\.1[:/]/.test(x));
      expect(offMachine).toEqual([]);
      expect(proxy.seen.some((s) => s.includes(`127.0.0.1:${port}/accounts/login/`))).toBe(true);
      expect(proxy.seen).toContain(`POST http://127.0.0.1:${port}/accounts/login/ajax/`);
      // The verifying request (Playwright's request context) is tunnelled through the same proxy.
      expect(proxy.seen).toContain(`CONNECT 127.0.0.1:${port}`);
    } finally {
      await proxy.close();
    }
  });
});
