import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { playwrightLogin, sweepStaleProfiles, type BrowserLoginRequest } from '../../src/instagram/browser.js';
import { FakeClock } from '../../src/domain/clock.js';
import { NAV_STYLES, startFakeInstagram, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { totpCode } from '../../src/instagram/totp.js';
import { chromiumHolder, HAVE_CHROMIUM, sharedChromium, TEST_SETTLE } from '../support/chromium.js';
import { recordingHttpProxy } from '../support/httpProxy.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

/**
 * A clock for the TOTP "next window" wait: sleeping moves it on, no real time passes. It starts
 * 2.5 s before a window ends, where the first code is the next window's: the retry must then take
 * the window after that one (it once sent the refused code again when real time fell there).
 */
function simulatedTime() {
  const clock = new FakeClock((Math.floor(Date.now() / 30_000) + 1) * 30_000 - 2_500);
  const slept: number[] = [];
  return {
    nowMs: () => clock.now(),
    sleep: async (ms: number) => {
      slept.push(ms);
      clock.advance(ms);
    },
    slept,
  };
}

// One Chromium for the whole file (each login gets a fresh context in it). The describes below
// run side by side (each its own fake); within one, the tests run in order (they change the
// fake's settings).
const browser = sharedChromium();

describe.skipIf(!HAVE_CHROMIUM)(
  'Instagram login in real headless Chromium against a loopback fake',
  { concurrent: true },
  () => {
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
      chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
      timeoutMs: 15_000,
      keyDelayMs: () => 0,
      settle: TEST_SETTLE,
      browser: browser(),
      ...over,
    });

    it.sequential.each(['legacy', 'fb', 'noname'] as const)(
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
        ig.setVariant('legacy');
      },
    );

    it.sequential('2FA: the TOTP code from the stored secret', async () => {
      const r = await playwrightLogin(req({ username: 'bob', password: 'pw-bob', totp: (t) => totpCode(SECRET, t) }));
      expect(r).toMatchObject({ kind: 'ok', verified: true });
    });

    it.sequential(
      '2FA: a wrong code is retried once, with the next window’s code (waited for on the injected clock), then reported',
      async () => {
        const asked: number[] = [];
        const time = simulatedTime();
        const r = await playwrightLogin(
          req({
            username: 'bob',
            password: 'pw-bob',
            totp: async (t) => {
              asked.push(t);
              return '000000';
            },
            ...time,
          }),
        );
        expect(r).toMatchObject({ kind: 'two_factor_failed' });
        expect(asked).toHaveLength(2);
        expect(asked[1]! % 30).toBe(0);
        expect(asked[1]!).toBeGreaterThan(asked[0]!);
        expect(time.slept).toHaveLength(1);
      },
    );

    it.sequential('checkpoint, wrong password, and the rate-limit banner are told apart', async () => {
      expect(await playwrightLogin(req({ username: 'carol', password: 'pw-carol' }))).toMatchObject({
        kind: 'checkpoint',
      });
      expect(await playwrightLogin(req({ username: 'alice', password: 'nope' }))).toMatchObject({
        kind: 'bad_password',
      });
      expect(await playwrightLogin(req({ username: 'dave', password: 'pw-dave' }))).toMatchObject({
        kind: 'rate_limited',
        message: 'Please wait a few minutes before you try again.',
      });
    });

    it.sequential(
      'the account’s proxy is used for every request (a loopback proxy records them); its own Chromium is closed after',
      async () => {
        const proxy = await recordingHttpProxy();
        try {
          // Production's way: no shared browser, the login launches (and closes) its own.
          const r = await playwrightLogin(
            req({
              browser: undefined,
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
      },
    );
  },
);

describe.skipIf(!HAVE_CHROMIUM)('the SPA login under each way the page moves on', { concurrent: true }, () => {
  describe.each(NAV_STYLES)(
    'the SPA login, as the real site behaves, in real headless Chromium (the page moves on: %s)',
    { concurrent: true },
    (nav) => {
      let ig: FakeInstagram;
      beforeAll(async () => {
        ig = await startFakeInstagram({
          variant: 'spa',
          navStyle: nav,
          navDelayMs: 150,
          users: {
            alice: { password: 'pw-alice', pk: '111' },
            bob: { password: 'pw-bob', totpSecret: SECRET, pk: '222' },
            carol: { password: 'pw-carol', behaviour: 'checkpoint', pk: '333' },
            dave: { password: 'pw-dave', behaviour: 'rate_limited' },
            erin: { password: 'pw-erin', behaviour: 'cut' },
          },
        });
      });
      afterAll(async () => ig.close());
      const req = (over: Partial<BrowserLoginRequest>): BrowserLoginRequest => ({
        baseUrl: ig.url,
        username: 'alice',
        password: 'pw-alice',
        totp: null,
        proxy: null,
        chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
        timeoutMs: 15_000,
        keyDelayMs: () => 0,
        settle: TEST_SETTLE,
        browser: browser(),
        ...over,
      });

      it.sequential.each(['legacy', 'fb', 'noname'] as const)(
        'form fields %s: logs in, decided by the answer the page got (captured before it moved)',
        async (fields) => {
          ig.setSpaFields(fields);
          try {
            const r = await playwrightLogin(req({}));
            expect(r).toMatchObject({ kind: 'ok', verified: true, decidedBy: 'xhr' });
            if (r.kind !== 'ok') return;
            expect(r.sessionid).toMatch(/^111%3A/);
            expect(ig.sessions.has(r.sessionid)).toBe(true);
          } finally {
            ig.setSpaFields('legacy');
          }
        },
      );

      it.sequential.each([false, true])(
        'TOTP through the XHR 2FA step (legacy XHR paths: %s): decided by the answers, not the URL',
        async (legacy) => {
          ig.setLegacyXhr(legacy);
          ig.loginPosts.length = 0;
          try {
            const r = await playwrightLogin(
              req({ username: 'bob', password: 'pw-bob', totp: (t) => totpCode(SECRET, t) }),
            );
            expect(r).toMatchObject({ kind: 'ok', verified: true, decidedBy: 'xhr' });
            if (r.kind !== 'ok') return;
            expect(r.sessionid).toMatch(/^222%3A/);
            const prefix = legacy ? '' : '/api/v1/web';
            expect(ig.loginPosts).toEqual([
              `${prefix}/accounts/login/ajax/`,
              `${prefix}/accounts/login/ajax/two_factor/`,
            ]);
            // The state to store holds the session and the page's other cookies.
            expect(r.state.cookies.map((c) => c.name)).toEqual(
              expect.arrayContaining(['sessionid', 'csrftoken', 'ds_user_id', 'mid', 'ig_did', 'rur']),
            );
          } finally {
            ig.setLegacyXhr(false);
          }
        },
      );

      it.sequential(
        'behind the cookie-consent dialog: gets past it, logs in, and the prompts are answered',
        async () => {
          ig.setConsent(true);
          try {
            const r = await playwrightLogin(req({}));
            expect(r).toMatchObject({ kind: 'ok', verified: true, decidedBy: 'xhr' });
            if (r.kind !== 'ok') return;
            // The consent answer is kept in the state (the next login sees no dialog).
            expect(r.state.cookies.some((c) => c.name === 'ig_cb')).toBe(true);
          } finally {
            ig.setConsent(false);
          }
        },
      );

      it.sequential(
        'wrong password, wrong code, the rate-limit answer and a checkpoint, from the XHR answers',
        async () => {
          expect(await playwrightLogin(req({ password: 'nope' }))).toMatchObject({
            kind: 'bad_password',
            decidedBy: 'xhr',
          });
          expect(await playwrightLogin(req({ username: 'dave', password: 'pw-dave' }))).toMatchObject({
            kind: 'rate_limited',
            message: 'Please wait a few minutes before you try again.',
            decidedBy: 'xhr',
          });
          expect(await playwrightLogin(req({ username: 'carol', password: 'pw-carol' }))).toMatchObject({
            kind: 'checkpoint',
            url: `${ig.url}/challenge/333/atwWXYmeVP/`,
            decidedBy: 'xhr',
          });
          let asked = 0;
          const wrong = await playwrightLogin(
            req({ username: 'bob', password: 'pw-bob', ...simulatedTime(), totp: async () => (asked++, '000000') }),
          );
          expect(wrong).toMatchObject({
            kind: 'two_factor_failed',
            message: 'Please check the security code and try again.',
            decidedBy: 'xhr',
          });
          expect(asked).toBe(2);
        },
      );

      it.sequential(
        'capturing the answer changes nothing on the wire: Chromium sends it through the context’s proxy with the page’s headers and cookies, and applies its Set-Cookie',
        async () => {
          const proxy = await recordingHttpProxy();
          ig.loginHeaders.length = 0;
          try {
            const r = await playwrightLogin(
              req({
                username: 'bob',
                password: 'pw-bob',
                totp: (t) => totpCode(SECRET, t),
                proxy: { scheme: 'http', host: '127.0.0.1', port: proxy.port },
              }),
            );
            expect(r).toMatchObject({ kind: 'ok', verified: true, decidedBy: 'xhr' });
            const port = new URL(ig.url).port;
            // Chromium's own proxy request (absolute URL), not a tunnel opened from Node (route.fetch).
            expect(proxy.seen).toContain(`POST http://127.0.0.1:${port}/api/v1/web/accounts/login/ajax/`);
            expect(proxy.seen).toContain(`POST http://127.0.0.1:${port}/api/v1/web/accounts/login/ajax/two_factor/`);
            expect(proxy.seen.filter((s) => s.startsWith('CONNECT'))).toEqual([`CONNECT 127.0.0.1:${port}`]); // the verify GET
            // The page's headers, cookies included.
            expect(ig.loginHeaders).toHaveLength(2);
            for (const h of ig.loginHeaders) {
              expect(h).toEqual(
                expect.arrayContaining(['cookie', 'x-csrftoken', 'x-ig-app-id', 'user-agent', 'origin', 'referer']),
              );
            }
            if (r.kind === 'ok') expect(r.cookies.find((c) => c.name === 'sessionid')?.value).toBe(r.sessionid);
          } finally {
            await proxy.close();
          }
        },
      );

      it.sequential(
        'an answer whose body cannot be read is decided from the page: a new sessionid and a page that left the login, or the 2FA step',
        async () => {
          // `event` reads the body the old way (from the response event): gone once the page navigated.
          const a = await playwrightLogin(req({ capture: 'event' }));
          expect(a).toMatchObject({ kind: 'ok', verified: true });
          const b = await playwrightLogin(
            req({ capture: 'event', username: 'bob', password: 'pw-bob', totp: (t) => totpCode(SECRET, t) }),
          );
          expect(b).toMatchObject({ kind: 'ok', verified: true });
          if (nav === 'client') expect([a.decidedBy, b.decidedBy]).toEqual(['xhr', 'xhr']);
        },
      );

      it.sequential(
        'an answer lost on the way, with a page that did not move, says it was lost (not "without a message")',
        async () => {
          const r = await playwrightLogin(req({ username: 'erin', password: 'pw-erin', timeoutMs: 5_000 }));
          expect(r.kind).toBe('error');
          if (r.kind !== 'error') return;
          expect(r.message).toMatch(/answer to the login \(HTTP 200\) (was lost before it|could not) be read/);
          expect(r.message).not.toMatch(/without a message/);
        },
      );

      it.sequential(
        'one device: its user agent on every request, navigator.webdriver hidden, typed key by key; the state comes back',
        async () => {
          let keys = 0;
          ig.loginClients.length = 0;
          const device = {
            userAgent:
              'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
            viewport: { width: 1366, height: 768 },
            locale: 'en-US',
            timezoneId: 'Europe/Berlin',
          };
          const r = await playwrightLogin(req({ device, keyDelayMs: () => (keys++, 0) }));
          expect(r).toMatchObject({ kind: 'ok', device });
          expect(keys).toBe('alice'.length + 'pw-alice'.length);
          expect(ig.loginClients).toEqual([{ webdriver: 'false', userAgent: device.userAgent }]);
          if (r.kind !== 'ok') return;
          // Restored into a fresh context, a live session needs no new login.
          const before = ig.logins.get('alice') ?? 0;
          const again = await playwrightLogin(req({ device, storageState: r.state }));
          expect(again).toMatchObject({ kind: 'ok', verified: true, sessionid: r.sessionid });
          expect(ig.logins.get('alice') ?? 0).toBe(before);
          // A chosen device (none given) uses the Chromium's own version, not "HeadlessChrome".
          const chosen = await playwrightLogin(req({ deviceSeed: 7 }));
          expect(chosen.device?.userAgent).toMatch(/Chrome\/\d+\.0\.0\.0 Safari/);
          expect(chosen.device?.userAgent).not.toMatch(/Headless/);
        },
      );
    },
  );
});

describe.skipIf(!HAVE_CHROMIUM)('typing speed', { concurrent: true }, () => {
  it('a real login (no delay injected) types like a person: 40–160 ms between keys, never the same gap throughout', async () => {
    const ig = await startFakeInstagram({ variant: 'spa', users: { alice: { password: 'pw-alice', pk: '111' } } });
    try {
      const r = await playwrightLogin({
        baseUrl: ig.url,
        username: 'alice',
        password: 'pw-alice',
        totp: null,
        proxy: null,
        chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
        browser: browser(),
      });
      expect(r.kind).toBe('ok');
      // The page's own script saw each keydown (as a bot detector would): one per character.
      const [seen] = ig.keyDowns;
      const typed = (f: 'username' | 'password') => seen![f].filter(([k]) => k.length === 1);
      expect(
        typed('username')
          .map(([k]) => k)
          .join(''),
      ).toBe('alice');
      expect(
        typed('password')
          .map(([k]) => k)
          .join(''),
      ).toBe('pw-alice');
      const gaps = (['username', 'password'] as const).flatMap((f) =>
        typed(f)
          .slice(1)
          .map(([, t], i) => t - typed(f)[i]![1]),
      );
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(35);
      // Random, not one fixed delay.
      expect(new Set(gaps.map((g) => Math.round(g / 10))).size).toBeGreaterThan(2);
    } finally {
      await ig.close();
    }
  });
});

describe.skipIf(!HAVE_CHROMIUM)('temporary profiles a killed login left behind', { concurrent: true }, () => {
  it('the next run removes acctctl’s own leftovers, and only those no process uses', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'acctctl-tmp-'));
    try {
      // A login process holding its Chromium is killed (kill -9): Playwright cannot clean up.
      const holder = await chromiumHolder(tmp);
      const profiles = () => readdirSync(tmp).filter((n) => n.startsWith('playwright_chromiumdev_profile-'));
      const [left] = profiles();
      expect(profiles()).toHaveLength(1);
      expect(readFileSync(join(tmp, left!, 'acctctl-owner'), 'utf8')).toMatch(new RegExp(`^${holder.pid}:\\d+$`));
      // While its owner runs, the profile is in use: kept.
      expect(sweepStaleProfiles(tmp)).toEqual([]);
      const gone = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await gone;
      // Someone else's profile (not marked as acctctl's) is never touched.
      mkdirSync(join(tmp, 'playwright_chromiumdev_profile-other'));
      // Its Chromium notices its parent is gone and exits; then the profile is a leftover.
      await vi.waitFor(() => expect(sweepStaleProfiles(tmp)).toEqual([join(tmp, left!)]), {
        timeout: 15_000,
        interval: 100,
      });
      expect(existsSync(join(tmp, left!))).toBe(false);
      expect(profiles()).toEqual(['playwright_chromiumdev_profile-other']);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
