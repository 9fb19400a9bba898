import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseDevice, DEFAULT_CHROME_VERSION } from '../../src/instagram/device.js';
import { httpSend } from '../../src/instagram/http.js';
import { httpLogin, type HttpLoginRequest } from '../../src/instagram/httpLogin.js';
import { totpCode } from '../../src/instagram/totp.js';
import { startFakeInstagram, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { hostMappingProxy } from '../support/httpProxy.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const USERS = {
  alice: { password: 'pw-alice', pk: '111' },
  bob: { password: 'pw-bob', totpSecret: SECRET, pk: '222' },
  carol: { password: 'pw-carol', behaviour: 'checkpoint' as const },
  chad: { password: 'pw-chad', behaviour: 'challenge' as const },
  dave: { password: 'pw-dave', behaviour: 'rate_limited' as const },
  bea: { password: 'pw-bea', behaviour: 'blocked' as const },
};

/**
 * The browserless login (instaloader's flow) against every answer the fake has from the
 * reference (instagram-web.md §1.4–1.6), not only the ones acctctl expects.
 */
describe('HTTP login (instaloader’s flow) against the fake Instagram', () => {
  let ig: FakeInstagram;
  let legacy: FakeInstagram;
  let proxy: Awaited<ReturnType<typeof hostMappingProxy>>;
  const hidden = (f: FakeInstagram) => `http://${f === ig ? 'instagram.test' : 'legacy.test'}:${new URL(f.url).port}`;
  beforeAll(async () => {
    ig = await startFakeInstagram({ users: USERS });
    legacy = await startFakeInstagram({ users: USERS, badPassword: 'legacy' });
    proxy = await hostMappingProxy({
      'instagram.test': Number(new URL(ig.url).port),
      'legacy.test': Number(new URL(legacy.url).port),
    });
  });
  afterAll(async () => {
    await proxy.close();
    await ig.close();
    await legacy.close();
  });
  const device = chooseDevice(7, DEFAULT_CHROME_VERSION);
  const login = (username: string, password: string, more: Partial<HttpLoginRequest> = {}) =>
    httpLogin({
      baseUrl: hidden(ig),
      username,
      password,
      totp: null,
      proxy: { scheme: 'http', host: '127.0.0.1', port: proxy.port },
      device,
      ...more,
    });

  it('a right password: a verified session, csrftoken from the home page, the device’s user agent, enc_password version 0', async () => {
    const before = proxy.seen.length;
    const o = await login('alice', 'pw-alice');
    expect(o).toMatchObject({ kind: 'ok', verified: true, decidedBy: 'xhr', device });
    if (o.kind !== 'ok') throw new Error('not ok');
    expect(ig.sessions.has(o.sessionid)).toBe(true);
    expect(o.cookies.map((c) => c.name)).toEqual(
      expect.arrayContaining(['csrftoken', 'mid', 'sessionid', 'ds_user_id']),
    );
    expect(o.state.cookies.find((c) => c.name === 'sessionid')).toMatchObject({ httpOnly: true, path: '/' });
    expect(proxy.seen.slice(before)).toEqual([
      `GET ${hidden(ig)}/`,
      `POST ${hidden(ig)}/api/v1/web/accounts/login/ajax/`,
      `GET ${hidden(ig)}/api/v1/accounts/current_user/?edit=true`,
    ]);
    expect(ig.loginClients.at(-1)).toEqual({ webdriver: null, userAgent: device.userAgent });
  });

  it('2FA: the TOTP code goes to the two_factor XHR with the identifier; a spent identifier is invalid_nonce', async () => {
    const now = Date.now();
    const o = await login('bob', 'pw-bob', { totp: (t) => totpCode(SECRET, t), nowMs: () => now });
    expect(o).toMatchObject({ kind: 'ok', verified: true });
    expect(ig.loginPosts.slice(-2)).toEqual([
      '/api/v1/web/accounts/login/ajax/',
      '/api/v1/web/accounts/login/ajax/two_factor/',
    ]);
    // No secret stored: says so, without a code sent.
    expect(await login('bob', 'pw-bob')).toMatchObject({
      kind: 'two_factor_failed',
      message: expect.stringMatching(/no TOTP secret/),
    });
    // A wrong secret: the code is refused twice (the second from the next window), two_factor_failed.
    const waits: number[] = [];
    const wrong = await login('bob', 'pw-bob', {
      totp: (t) => totpCode('KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU', t),
      sleep: async (ms) => void waits.push(ms),
    });
    expect(wrong).toMatchObject({
      kind: 'two_factor_failed',
      message: 'Please check the security code and try again.',
    });
    expect(waits).toHaveLength(1);

    // A spent identifier (a replayed 2FA answer): invalid_nonce, as the real one answers.
    const home = await httpSend('GET', `${ig.url}/`);
    const csrf = /csrftoken=([^;]+)/.exec(String(home.headers['set-cookie']))![1]!;
    const xhr = {
      'x-requested-with': 'XMLHttpRequest',
      'x-csrftoken': csrf,
      cookie: `csrftoken=${csrf}`,
      'content-type': 'application/x-www-form-urlencoded',
    };
    const first = await httpSend('POST', `${ig.url}/api/v1/web/accounts/login/ajax/`, {
      headers: xhr,
      body: new URLSearchParams({
        username: 'bob',
        enc_password: `#PWD_INSTAGRAM_BROWSER:0:${Math.floor(now / 1000)}:pw-bob`,
      }).toString(),
    });
    expect(first.status).toBe(400);
    const info = (first.json as { two_factor_info: Record<string, unknown> }).two_factor_info;
    // The whole shape the reference shows, not only the identifier.
    expect(info).toMatchObject({ totp_two_factor_on: true, sms_two_factor_on: false, pk: 222, username: 'bob' });
    expect(Object.keys(info)).toEqual(
      expect.arrayContaining(['obfuscated_phone_number', 'phone_verification_settings']),
    );
    const body = new URLSearchParams({
      identifier: info.two_factor_identifier as string,
      verificationCode: await totpCode(SECRET, Date.now() / 1000),
      username: 'bob',
    }).toString();
    const ok = await httpSend('POST', `${ig.url}/api/v1/web/accounts/login/ajax/two_factor/`, { headers: xhr, body });
    expect(ok.json).toMatchObject({ authenticated: true, status: 'ok' });
    const again = await httpSend('POST', `${ig.url}/api/v1/web/accounts/login/ajax/two_factor/`, {
      headers: xhr,
      body,
    });
    expect(again.status).toBe(400);
    expect(again.json).toMatchObject({ error_type: 'invalid_nonce', status: 'fail' });
  });

  it('Instagram’s refusals are read, never a session: wrong password (both shapes), unknown user, checkpoint, challenge, throttle, a blocked IP’s page', async () => {
    expect(await login('alice', 'nope')).toMatchObject({
      kind: 'bad_password',
      message: expect.stringMatching(/password was incorrect/),
    });
    expect(await login('alice', 'nope', { baseUrl: hidden(legacy) })).toMatchObject({
      kind: 'bad_password',
      message: 'Wrong password.',
    });
    expect(await login('nobody', 'x')).toMatchObject({
      kind: 'bad_password',
      message: expect.stringMatching(/doesn't belong/),
    });
    expect(await login('carol', 'pw-carol')).toMatchObject({
      kind: 'checkpoint',
      url: expect.stringMatching(new RegExp(`^${hidden(ig)}/challenge/\\d+/atwWXYmeVP/$`)),
    });
    // challenge_required (the mobile-style answer): its own challenge.url, not a generic /challenge/.
    expect(await login('chad', 'pw-chad')).toMatchObject({
      kind: 'checkpoint',
      url: expect.stringMatching(/\/challenge\/\d+\/atwWXYmeVP\/$/),
    });
    expect(await login('dave', 'pw-dave')).toMatchObject({
      kind: 'rate_limited',
      message: 'Please wait a few minutes before you try again.',
    });
    expect(await login('bea', 'pw-bea')).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/holds no JSON/),
    });
  });

  it('where only the legacy /accounts/login/ajax/ exists (the current path is 404): logged in there, 2FA too', async () => {
    const old = await startFakeInstagram({ users: USERS, legacyLoginOnly: true });
    const p = await hostMappingProxy({ 'old.test': Number(new URL(old.url).port) });
    try {
      const o = await login('bob', 'pw-bob', {
        baseUrl: `http://old.test:${new URL(old.url).port}`,
        proxy: { scheme: 'http', host: '127.0.0.1', port: p.port },
        totp: (t) => totpCode(SECRET, t),
      });
      expect(o).toMatchObject({ kind: 'ok', verified: true });
      expect(old.loginPosts).toEqual(['/accounts/login/ajax/', '/accounts/login/ajax/two_factor/']);
    } finally {
      await p.close();
      await old.close();
    }
  });

  it('the fake refuses a login XHR without the csrftoken (403), as Instagram does', async () => {
    const r = await httpSend('POST', `${ig.url}/api/v1/web/accounts/login/ajax/`, {
      headers: { 'x-requested-with': 'XMLHttpRequest', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice&enc_password=%23PWD_INSTAGRAM_BROWSER%3A0%3A1%3Apw-alice',
    });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ status: 'fail' });
  });

  it('a proxy that is down: an error, nothing sent direct', async () => {
    const before = ig.requests.length;
    await expect(
      httpLogin({
        baseUrl: ig.url,
        username: 'alice',
        password: 'pw-alice',
        totp: null,
        proxy: { scheme: 'http', host: '127.0.0.1', port: 9 },
        device,
      }),
    ).rejects.toMatchObject({ kind: 'proxy' });
    expect(ig.requests.length).toBe(before);
  });
});
