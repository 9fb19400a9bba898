import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importApiKeys, importWatches } from '../../src/fleet/checkImports.js';
import { importProxies } from '../../src/fleet/proxies.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { FakeClock } from '../../src/domain/clock.js';
import { parseProviders } from '../../src/domain/providers.js';
import { Checker } from '../../src/fleet/checkRun.js';
import { fakeFriends, startFakeInstagram, type Fault, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fakeLookupApi } from '../support/fakeApi.js';
import { fleetStore } from '../support/fleet.js';
import { recordingHttpProxy } from '../support/httpProxy.js';
import { boxFor } from '../support/joinHarness.js';
import { closedPort } from '../support/socks.js';
import { addIgSession } from '../support/igSession.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const PROFILES = { real_one: { id: '501', followers: 30 }, real_two: { id: '502', followers: 100, following: 7 } };

// The two dialects run side by side (each its own fakes and database); within one, the tests run
// in order (they share the describe's fakes and store variables).
describe.each(DIALECTS)('check on $name', { concurrent: true }, ({ name, skip, createMigrated }) => {
  let ig: FakeInstagram;
  let api: Awaited<ReturnType<typeof fakeLookupApi>>;
  /** Keys the fake provider answers 429 (out of quota) for; a test may change it. */
  const quotaKeys = ['quota-key-1', 'quota-key-2'];
  let proxy: Awaited<ReturnType<typeof recordingHttpProxy>>;
  let fault: ((r: { path: string; sessionid: string | null; n: number }) => Fault | null) | null = null;
  let t: TestDb;
  let store: Store;
  let box: SecretBox;
  let clock: FakeClock;
  beforeAll(async () => {
    ig = await startFakeInstagram({
      users: { s1: { password: 'x', pk: '9001' }, s2: { password: 'x', pk: '9002' } },
      profiles: PROFILES,
      fault: (r) => fault?.(r) ?? null,
    });
    api = await fakeLookupApi({ existing: ['real_one', 'real_two'], quotaKeys });
    proxy = await recordingHttpProxy();
  });
  afterAll(async () => {
    await ig.close();
    await api.close();
    await proxy.close();
  });
  beforeEach(async () => {
    if (skip) return;
    fault = null;
    t = await createMigrated();
    const f = await fleetStore(t, 0);
    store = f.store;
    box = boxFor(f.env);
    clock = new FakeClock(T0);
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const checker = (extra: Partial<ConstructorParameters<typeof Checker>[0]> = {}) => {
    const providers = parseProviders({
      lookup: {
        url: `${api.url}/v1/ig/{username}`,
        key_header: 'X-API-Key',
        found: { status: 200, path: 'data.exists', equals: true },
        not_found: { status: [404] },
        quota_status: [429],
      },
    });
    if (!providers.ok) throw new Error('providers');
    return new Checker({
      store,
      box,
      clock,
      log: silentLogger,
      instagramUrl: ig.url,
      providers: providers.value,
      rate: { requests: 200, windowMs: 660_000 },
      concurrency: 4,
      ...extra,
    });
  };
  /** A valid session for a tenant, as ig import would store it. */
  const session = (tenant: string, username: string, priority = 0) =>
    addIgSession(store, box, ig, { tenant, username, priority });
  const watches = async (tenant: string) =>
    Object.fromEntries(
      (
        await store.db
          .selectFrom('watches as w')
          .innerJoin('tenants as t', 't.id', 'w.tenant_id')
          .select(['w.username', 'w.kind', 'w.last_result'])
          .where('t.name', '=', tenant)
          .execute()
      ).map((w) => [`${w.username}/${w.kind}`, w.last_result]),
    );
  const watchAll = (tenant: string, kind: 'exists' | 'followers' | 'following' = 'exists') =>
    importWatches(
      { store, clock },
      ['real_one', 'real_two', 'ghost_user'].map((username) => ({ tenant, username, kind })),
    );

  it.skipIf(skip).sequential(
    'an API key out of quota rests, then comes back by itself when its quota resets',
    async () => {
      await addTenant({ store, clock }, { name: 't_quota', verifyMode: 'api' });
      await watchAll('t_quota');
      quotaKeys.push('tired-key');
      try {
        await importApiKeys({ store, box, clock }, [{ tenant: 't_quota', provider: 'lookup', key: 'tired-key' }]);
        const key = () =>
          store.db.selectFrom('api_keys').select(['healthy', 'quota_reset_at', 'last_error']).executeTakeFirstOrThrow();
        const [r1] = await checker().run();
        expect(r1).toMatchObject({ tenant: 't_quota', found: 0, errors: 3 });
        expect(await key()).toEqual({ healthy: 0, quota_reset_at: T0 + 3_600_000, last_error: 'quota (429)' });
        // Still resting: the tenant is skipped, saying why; nothing is sent with the key.
        clock.advance(30 * 60_000);
        await store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();
        const sent = api.calls.length;
        const [r2] = await checker().run();
        expect(r2!.skipped).toMatch(/no healthy API key/);
        expect(api.calls.length).toBe(sent);
        // The provider's quota resets; once the hour is over the key is used again and is healthy.
        quotaKeys.splice(quotaKeys.indexOf('tired-key'), 1);
        clock.advance(30 * 60_000);
        await store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();
        const [r3] = await checker().run();
        expect(r3).toMatchObject({ checked: 3, found: 2, notFound: 1, errors: 0, skipped: null });
        expect(await key()).toEqual({ healthy: 1, quota_reset_at: null, last_error: null });
      } finally {
        if (quotaKeys.includes('tired-key')) quotaKeys.splice(quotaKeys.indexOf('tired-key'), 1);
      }
    },
  );

  it.skipIf(skip).sequential('each verify mode, and a tenant skipped for a missing resource', async () => {
    for (const [name, mode] of [
      ['t_api', 'api'],
      ['t_ig', 'instagram'],
      ['t_proxy', 'proxy'],
      ['t_combo', 'api+instagram'],
      ['t_skip', 'instagram+proxy'],
    ] as const) {
      await addTenant({ store, clock }, { name, verifyMode: mode });
      await watchAll(name);
    }
    await importApiKeys({ store, box, clock }, [
      { tenant: 't_api', provider: 'lookup', key: 'quota-key-1' }, // rotates away from this one
      { tenant: 't_api', provider: 'lookup', key: 'good-key-1' },
      { tenant: 't_combo', provider: 'lookup', key: 'quota-key-2' }, // api fails → instagram decides (a key is one tenant's)
    ]);
    await session('t_ig', 's1');
    await session('t_combo', 's2');
    await importProxies({ store, box, clock }, [
      { spec: { scheme: 'http', host: '127.0.0.1', port: proxy.port }, tenant: 't_proxy' },
    ]);
    const res = Object.fromEntries((await checker().run()).map((r) => [r.tenant, r]));
    const expected = { 'real_one/exists': 'found', 'real_two/exists': 'found', 'ghost_user/exists': 'not_found' };
    for (const tn of ['t_api', 't_ig', 't_proxy', 't_combo']) {
      expect(res[tn]).toMatchObject({ checked: 3, found: 2, notFound: 1, errors: 0, skipped: null });
      expect(await watches(tn)).toEqual(expected);
    }
    expect(res.t_skip?.skipped).toMatch(/mode instagram\+proxy: no valid Instagram session .*; no healthy proxy/);
    expect(await watches('t_skip')).toEqual({
      'real_one/exists': null,
      'real_two/exists': null,
      'ghost_user/exists': null,
    });
    // The quota key was rotated out; the proxy method really went through the tenant's proxy.
    const keys = await store.db.selectFrom('api_keys').select(['healthy', 'last_error']).orderBy('id').execute();
    expect(keys[0]).toEqual({ healthy: 0, last_error: 'quota (429)' });
    expect(proxy.seen.some((s) => s.includes('/api/v1/users/web_profile_info/?username=ghost_user'))).toBe(true);
    // A later change of result writes an event.
    await store.db
      .updateTable('watches')
      .set({ next_check_at: T0, last_result: 'not_found' })
      .where('username', '=', 'real_one')
      .execute();
    await checker().run({ tenant: 't_ig' });
    const ev = await store.db.selectFrom('events').select('message').where('kind', '=', 'watch_changed').execute();
    expect(ev.map((e) => e.message)).toEqual(['@real_one: not_found → found']);
  });

  it.skipIf(skip).sequential(
    'tenant isolation: A’s dead proxy and expired session leave B’s run and results untouched',
    async () => {
      await addTenant({ store, clock }, { name: 'a', verifyMode: 'instagram+proxy' });
      await addTenant({ store, clock }, { name: 'b', verifyMode: 'instagram+proxy' });
      await watchAll('a');
      await watchAll('b');
      await importProxies({ store, box, clock }, [
        { spec: { scheme: 'http', host: '127.0.0.1', port: await closedPort() }, tenant: 'a' },
        { spec: { scheme: 'http', host: '127.0.0.1', port: proxy.port }, tenant: 'b' },
      ]);
      const sa = await session('a', 's1');
      await session('b', 's2');
      ig.sessions.delete(sa.sid); // A's session has died at Instagram
      const res = Object.fromEntries((await checker().run()).map((r) => [r.tenant, r]));
      expect(res.a).toMatchObject({ checked: 3, errors: 3, found: 0 });
      expect(res.b).toMatchObject({ checked: 3, found: 2, notFound: 1, errors: 0, error: null });
      expect(await watches('b')).toEqual({
        'real_one/exists': 'found',
        'real_two/exists': 'found',
        'ghost_user/exists': 'not_found',
      });
      const sessions = Object.fromEntries(
        (await store.db.selectFrom('ig_accounts').select(['username', 'state']).execute()).map((s) => [
          s.username,
          s.state,
        ]),
      );
      // A's session could not even be tried through A's dead proxy (fail closed: never direct),
      // so nothing was concluded about it; B's session is untouched.
      expect(sessions).toEqual({ s1: 'valid', s2: 'valid' });
      expect(ig.apiCalls.get(sa.sid) ?? 0).toBe(0);
    },
  );

  it.skipIf(skip).sequential(
    'followers: every page saved; a logout with no refresh pauses, keeps items; a later run completes; the diff becomes an event',
    async () => {
      await addTenant({ store, clock }, { name: 'f', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'f', username: 'real_two', kind: 'followers' }]);
      const s1 = await session('f', 's1');
      let pages = 0;
      fault = (r) => (r.path.includes('/friendships/') && ++pages > 4 ? 'logout' : null);
      const first = await checker().run();
      expect(first[0]!.jobs).toMatchObject({ paused: 1, fetched: 48 });
      const job = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirstOrThrow();
      expect(job).toMatchObject({ status: 'paused', fetched: 48, cursor: '48', target_user_id: '502' });
      expect(
        (await store.db.selectFrom('ig_accounts').select('state').where('id', '=', s1.id).executeTakeFirstOrThrow())
          .state,
      ).toBe('expired');
      // Another session of the tenant resumes from the checkpoint.
      fault = null;
      await session('f', 's2');
      const second = await checker().run();
      expect(second[0]!.jobs).toMatchObject({ completed: 1, fetched: 52 });
      const items = await store.db
        .selectFrom('check_job_items')
        .select('ig_user_id')
        .where('job_id', '=', job.id)
        .execute();
      expect(items.map((i) => i.ig_user_id).sort()).toEqual(
        fakeFriends(PROFILES.real_two, 'followers')
          .map((f) => f.pk)
          .sort(),
      );
      // Next time, the account lost 10 followers: the diff is an event.
      PROFILES.real_two.followers = 90;
      clock.advance(25 * 3_600_000);
      await checker().run();
      PROFILES.real_two.followers = 100;
      const diff = await store.db
        .selectFrom('events')
        .select(['message', 'data_json'])
        .where('kind', '=', 'followers_diff')
        .executeTakeFirstOrThrow();
      expect(diff.message).toBe('@real_two followers: +0 new, -10 lost (90 now)');
    },
  );

  it.skipIf(skip).sequential(
    'a confirmed logout mid-fetch calls the reactive refresh (at most twice) and carries on with the new session',
    async () => {
      await addTenant({ store, clock }, { name: 'x', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'x', username: 'real_two', kind: 'followers' }]);
      const s1 = await session('x', 's1');
      let pages = 0;
      fault = (r) => (r.path.includes('/friendships/') && ++pages === 3 ? 'logout' : null);
      const calls: number[] = [];
      const refresh = async (id: number) => {
        calls.push(id);
        // What refresh-session does: a new sessionid, stored encrypted.
        const sid = ig.grantSession('s1');
        await store.db
          .updateTable('ig_accounts')
          .set({ sessionid_enc: box.seal(sid, { table: 'ig_accounts', column: 'sessionid_enc', rowId: id }) })
          .where('id', '=', id)
          .execute();
        return { status: 'refreshed' };
      };
      const r = await checker({ refresh }).run();
      expect(calls).toEqual([s1.id]);
      expect(r[0]!.jobs).toMatchObject({ completed: 1, fetched: 100 });
      // A refresh that "works" but Instagram still says 401: tried at most twice, then the job
      // pauses with its items (a refresh that fails outright is not retried at all).
      await store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();
      fault = (q) => (q.path.includes('/friendships/') ? 'logout' : null);
      calls.length = 0;
      const r2 = await checker({ refresh: async (id) => (calls.push(id), { status: 'refreshed' }) }).run();
      expect(calls).toEqual([s1.id, s1.id]);
      expect(r2[0]!.jobs.paused).toBe(1);
    },
  );

  it.skipIf(skip).sequential(
    '429 rests that session (for that endpoint kind) and another of the tenant’s takes over; 302-to-login and checkpoint are handled',
    async () => {
      await addTenant({ store, clock }, { name: 'm', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'm', username: 'real_two', kind: 'followers' }]);
      const a = await session('m', 's1', 2);
      const b = await session('m', 's2', 1);
      let n = 0;
      fault = (r) => (r.path.includes('/friendships/') && r.sessionid === a.sid && ++n === 2 ? '429' : null);
      const res = await checker().run();
      expect(res[0]!.jobs).toMatchObject({ completed: 1, fetched: 100 });
      const rows = Object.fromEntries(
        (
          await store.db.selectFrom('ig_accounts').select(['id', 'rate_limited_until', 'last_error', 'state']).execute()
        ).map((r) => [r.id, r]),
      );
      // It rests for follower pages (that endpoint kind), not as a whole session.
      expect(rows[a.id]).toMatchObject({ rate_limited_until: null, state: 'valid' });
      expect(await store.db.selectFrom('ig_backoffs').select(['ig_account_id', 'kind', 'until_at']).execute()).toEqual([
        { ig_account_id: a.id, kind: 'friendships', until_at: T0 + 10 * 60_000 },
      ]);
      expect(ig.apiCalls.get(b.sid)).toBeGreaterThan(0);
      // A redirect to the login page is a lost session; a checkpoint needs a person.
      await store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();
      await store.db.deleteFrom('ig_backoffs').execute();
      fault = (r) => (!r.path.includes('/friendships/') ? null : r.sessionid === a.sid ? '302-logout' : 'checkpoint');
      const r2 = await checker().run();
      expect(r2[0]!.jobs.paused).toBe(1);
      const after = Object.fromEntries(
        (await store.db.selectFrom('ig_accounts').select(['id', 'state']).execute()).map((r) => [r.id, r.state]),
      );
      expect(after).toEqual({ [a.id]: 'expired', [b.id]: 'needs_manual' });
    },
  );

  it.skipIf(skip).sequential(
    'a cursor past its best-before is not trusted: paging restarts and keeps what it had',
    async () => {
      await addTenant({ store, clock }, { name: 'c', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'c', username: 'real_two', kind: 'followers' }]);
      await session('c', 's1');
      let pages = 0;
      fault = (r) => (r.path.includes('/friendships/') && ++pages > 3 ? '401' : null);
      await checker().run();
      const job = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirstOrThrow();
      expect(job).toMatchObject({ status: 'paused', fetched: 36, cursor: '36' });
      fault = null;
      await session('c', 's2');
      clock.advance(30 * 86_400_000); // the cursor's 29 days are over
      const seen: string[] = [];
      fault = (r) => (r.path.includes('/friendships/') && seen.push(r.path) ? null : null);
      await checker().run();
      const done = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirstOrThrow();
      expect(done).toMatchObject({ status: 'completed', fetched: 100 });
      expect(seen.length).toBe(9); // all 9 pages again, from the start
    },
  );

  it.skipIf(skip).sequential(
    'a proxy that keeps failing is marked unhealthy (the tenant is then skipped) until recover retries it',
    async () => {
      await addTenant({ store, clock }, { name: 'p', verifyMode: 'proxy' });
      await importWatches({ store, clock }, [{ tenant: 'p', username: 'real_one', kind: 'exists' }]);
      await importProxies({ store, box, clock }, [
        { spec: { scheme: 'socks5', host: '127.0.0.1', port: await closedPort() }, tenant: 'p' },
      ]);
      for (let i = 0; i < 3; i++) {
        await store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();
        const [r] = await checker().run();
        expect(r).toMatchObject({ skipped: null, errors: 1 });
      }
      const px = await store.db
        .selectFrom('proxies')
        .select(['healthy', 'fail_count', 'last_error'])
        .executeTakeFirstOrThrow();
      expect(px).toMatchObject({ healthy: 0, fail_count: 3 });
      expect(px.last_error).toMatch(/the proxy 127\.0\.0\.1:\d+ failed/);
      await store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();
      expect((await checker().run())[0]!.skipped).toMatch(/no healthy proxy/);
      const { AccountManager } = await import('../../src/fleet/accountManager.js');
      clock.advance(31 * 60_000);
      expect((await new AccountManager({ store, clock }).recover()).proxiesRetried).toBe(1);
      expect((await store.db.selectFrom('proxies').select('healthy').executeTakeFirstOrThrow()).healthy).toBe(1);
    },
  );

  it.skipIf(skip).sequential(
    'rate control: a session never exceeds its window; the job waits and resumes',
    async () => {
      await addTenant({ store, clock }, { name: 'r', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'r', username: 'real_two', kind: 'followers' }]);
      const s = await session('r', 's1');
      const c = checker({ rate: { requests: 4, windowMs: 660_000 } });
      await c.run();
      expect(await c.windowUse(s.id, 'friendships', clock.now())).toBe(4);
      let job = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirstOrThrow();
      expect(job).toMatchObject({ status: 'paused', fetched: 48 });
      for (let i = 0; i < 3 && job.status !== 'completed'; i++) {
        clock.advance(660_001);
        await c.run();
        job = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirstOrThrow();
      }
      expect(job).toMatchObject({ status: 'completed', fetched: 100 });
      const reqs = (
        await store.db.selectFrom('ig_requests').select('at').where('kind', '=', 'friendships').orderBy('at').execute()
      ).map((r) => r.at);
      for (const at of reqs) expect(reqs.filter((x) => x > at - 660_000 && x <= at).length).toBeLessThanOrEqual(4);
    },
  );

  it.skipIf(skip).sequential(
    'a throttled live session (401 "Please wait", cookies cleared) causes zero logins, is not expired, and rests per endpoint kind, exponentially',
    async () => {
      await addTenant({ store, clock }, { name: 'th', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'th', username: 'real_two', kind: 'followers' }]);
      const s1 = await session('th', 's1');
      const logins: number[] = [];
      const refresh = async (id: number) => (logins.push(id), { status: 'refreshed' });
      fault = (r) => (r.path.includes('/friendships/') ? '401' : null);
      const verifies = () => ig.apiRequests.filter((q) => q.path.startsWith('/api/v1/accounts/current_user/')).length;
      const v0 = verifies();
      const first = await checker({ refresh }).run();
      expect(first[0]!.jobs.paused).toBe(1);
      expect(verifies() - v0).toBe(1); // asked current_user with the same cookies: still alive
      const row = () =>
        store.db
          .selectFrom('ig_accounts')
          .select(['state', 'next_refresh_at'])
          .where('id', '=', s1.id)
          .executeTakeFirstOrThrow();
      expect(await row()).toMatchObject({ state: 'valid' });
      const backoff = () =>
        store.db
          .selectFrom('ig_backoffs')
          .select(['kind', 'until_at', 'strikes'])
          .where('ig_account_id', '=', s1.id)
          .execute();
      expect(await backoff()).toEqual([{ kind: 'friendships', until_at: T0 + 10 * 60_000, strikes: 1 }]);
      // Still resting: the next run does not touch it. After the rest, a second throttle doubles it.
      clock.advance(5 * 60_000);
      await checker({ refresh }).run();
      expect((await backoff())[0]!.strikes).toBe(1);
      clock.advance(5 * 60_000);
      await checker({ refresh }).run();
      expect(await backoff()).toEqual([{ kind: 'friendships', until_at: clock.now() + 20 * 60_000, strikes: 2 }]);
      // status shows the rest, per endpoint kind.
      const { status } = await import('../../src/fleet/status.js');
      const { renderStatus } = await import('../../src/commands/support/statusView.js');
      const st = await status({ store, clock, timeZone: 'UTC' }, { accounts: { limit: 50 } });
      expect(st.instagram.list![0]!.rate.throttled).toEqual([
        { kind: 'friendships', until: clock.now() + 20 * 60_000, strikes: 2 },
      ]);
      expect(st.instagram.list![0]!.state).toBe('valid');
      expect(renderStatus(st)).toMatch(/friendships throttled to .* \(2×\)/);
      // The throttle lifts: the job completes with exactly the server's set; the strikes are forgotten.
      fault = null;
      clock.advance(20 * 60_000 + 1);
      const done = await checker({ refresh }).run();
      expect(done[0]!.jobs.completed).toBe(1);
      const job = await store.db.selectFrom('check_jobs').select('id').executeTakeFirstOrThrow();
      const items = await store.db
        .selectFrom('check_job_items')
        .select('ig_user_id')
        .where('job_id', '=', job.id)
        .execute();
      expect(items.map((i) => i.ig_user_id).sort()).toEqual(
        fakeFriends(PROFILES.real_two, 'followers')
          .map((f) => f.pk)
          .sort(),
      );
      expect(await backoff()).toEqual([]);
      expect(logins).toEqual([]);
      expect(await row()).toMatchObject({ state: 'valid' });
    },
  );

  it.skipIf(skip).sequential(
    'one identity: a tenant whose only proxy is an MTProxy sends nothing with its sessions and says why (never direct)',
    async () => {
      await addTenant({ store, clock }, { name: 'mto', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'mto', username: 'real_one', kind: 'exists' }]);
      await importProxies({ store, box, clock }, [
        { spec: { scheme: 'mtproxy', host: '127.0.0.1', port: 443, secret: 'ee' + '0'.repeat(32) }, tenant: 'mto' },
      ]);
      const s = await session('mto', 's1');
      const [r] = await checker().run();
      expect(r!.skipped).toMatch(
        /its Instagram sessions send nothing: its tenant's only proxies are mtproxy, which cannot carry Instagram traffic/,
      );
      expect(ig.apiCalls.get(s.sid) ?? 0).toBe(0);
    },
  );

  it.skipIf(skip).sequential(
    'checkpoint_required / challenge_required on an API call → needs_manual; feedback_required pauses the session',
    async () => {
      await addTenant({ store, clock }, { name: 'cp', verifyMode: 'instagram' });
      await importWatches({ store, clock }, [{ tenant: 'cp', username: 'real_one', kind: 'exists' }]);
      const a = await session('cp', 's1', 3);
      const b = await session('cp', 's2', 2);
      const c = await session('cp', 's3', 1);
      fault = (r) =>
        r.sessionid === a.sid
          ? 'checkpoint'
          : r.sessionid === b.sid
            ? 'challenge'
            : r.sessionid === c.sid
              ? 'feedback'
              : null;
      const [r] = await checker().run();
      expect(r).toMatchObject({ checked: 1, errors: 1 });
      const rows = Object.fromEntries(
        (
          await store.db.selectFrom('ig_accounts').select(['id', 'state', 'last_error', 'rate_limited_until']).execute()
        ).map((x) => [x.id, x]),
      );
      expect(rows[a.id]).toMatchObject({ state: 'needs_manual', last_error: 'checkpoint_required' });
      expect(rows[b.id]).toMatchObject({ state: 'needs_manual', last_error: 'challenge_required' });
      expect(rows[c.id]).toMatchObject({
        state: 'valid',
        last_error: 'feedback_required',
        rate_limited_until: T0 + 12 * 3_600_000,
      });
    },
  );

  it.skipIf(skip).sequential(
    'browser-shaped requests: the whole jar, X-CSRFToken, app id, Referer and the device’s user agent; the jar follows Set-Cookie',
    async () => {
      const opts = {
        users: { s1: { password: 'x', pk: '9001' } },
        profiles: PROFILES,
        rotateCsrfEvery: 3,
      };
      const ig2 = await startFakeInstagram(opts);
      try {
        await addTenant({ store, clock }, { name: 'bs', verifyMode: 'instagram' });
        await importWatches({ store, clock }, [{ tenant: 'bs', username: 'real_two', kind: 'followers' }]);
        const s = await addIgSession(store, box, ig2, { tenant: 'bs', username: 's1' });
        const jar = [
          { name: 'sessionid', value: s.sid },
          { name: 'ds_user_id', value: '9001' },
          { name: 'csrftoken', value: 'c'.repeat(32) },
          { name: 'mid', value: 'ZCx69QALAAG1mid' },
          { name: 'ig_did', value: '0F6E3B2A-1111-2222-3333-444455556666' },
          { name: 'rur', value: '"LDC\\0549001\\0541999999999:01f7"' },
        ];
        await store.db
          .updateTable('ig_accounts')
          .set({
            cookies_enc: box.seal(JSON.stringify(jar), { table: 'ig_accounts', column: 'cookies_enc', rowId: s.id }),
          })
          .where('id', '=', s.id)
          .execute();
        const res = await checker({ instagramUrl: ig2.url }).run();
        expect(res[0]!.jobs.completed).toBe(1);
        const reqs = ig2.apiRequests.filter((q) => q.path.startsWith('/api/v1/'));
        expect(reqs.length).toBe(10); // one profile lookup, nine pages
        const device = JSON.parse(
          (
            await store.db
              .selectFrom('ig_accounts')
              .select('device_json')
              .where('id', '=', s.id)
              .executeTakeFirstOrThrow()
          ).device_json!,
        ) as { userAgent: string };
        for (const q of reqs) {
          const cookie = String(q.headers.cookie);
          for (const n of ['sessionid', 'ds_user_id', 'csrftoken', 'mid', 'ig_did', 'rur'])
            expect(cookie).toContain(`${n}=`);
          expect(cookie).toContain(`csrftoken=${String(q.headers['x-csrftoken'])}`);
          expect(q.headers['x-ig-app-id']).toBe('936619743392459');
          expect(q.headers['x-requested-with']).toBe('XMLHttpRequest');
          expect(q.headers.referer).toBe(`${ig2.url}/`);
          expect(q.headers['user-agent']).toBe(device.userAgent);
        }
        expect(device.userAgent).toMatch(/^Mozilla\/5\.0 .* Chrome\/\d+\.0\.0\.0 Safari\/537\.36$/);
        // Every 3rd answer rotated the csrftoken: the next request already carries the new one.
        const tokens = reqs.map((q) => String(q.headers['x-csrftoken']));
        expect(tokens.slice(0, 3)).toEqual(Array(3).fill('c'.repeat(32)));
        for (const i of [3, 6, 9]) {
          expect(tokens[i]).not.toBe(tokens[i - 1]);
          if (i + 1 < tokens.length) expect(tokens[i + 1]).toBe(tokens[i]);
        }
        // The stored jar ends with the latest token, and requests after a rotation carried it.
        const stored = JSON.parse(
          box.open(
            (
              await store.db
                .selectFrom('ig_accounts')
                .select('cookies_enc')
                .where('id', '=', s.id)
                .executeTakeFirstOrThrow()
            ).cookies_enc!,
            { table: 'ig_accounts', column: 'cookies_enc', rowId: s.id },
          ),
        ) as { name: string; value: string }[];
        expect(stored.find((c) => c.name === 'csrftoken')!.value).toBe(tokens[9]);
        expect(stored.map((c) => c.name).sort()).toEqual([
          'csrftoken',
          'ds_user_id',
          'ig_did',
          'mid',
          'rur',
          'sessionid',
        ]);
      } finally {
        await ig2.close();
      }
    },
  );

  // The issue's closing figure. SQLite only (the same code runs on both; this just takes a while).
  it.skipIf(skip || name !== 'sqlite').sequential(
    'figure: logins per 1,000 follower pages under a throttle every 4th request (goal 0)',
    async () => {
      let n = 0;
      let throttled = 0;
      const ig3 = await startFakeInstagram({
        users: { s1: { password: 'x', pk: '9001' }, s2: { password: 'x', pk: '9002' } },
        profiles: { big_one: { id: '503', followers: 12_000 } },
        fault: (r) => (r.path.includes('/friendships/') && ++n % 4 === 0 ? (throttled++, '401') : null),
      });
      try {
        await addTenant({ store, clock }, { name: 'fig', verifyMode: 'instagram' });
        await importWatches({ store, clock }, [{ tenant: 'fig', username: 'big_one', kind: 'followers' }]);
        await addIgSession(store, box, ig3, { tenant: 'fig', username: 's1' });
        await addIgSession(store, box, ig3, { tenant: 'fig', username: 's2' });
        let logins = 0;
        const c = checker({
          instagramUrl: ig3.url,
          rate: { requests: 1_000_000, windowMs: 660_000 },
          refresh: async () => (logins++, { status: 'refreshed' }),
        });
        let runs = 0;
        for (; runs < 1_000; runs++) {
          const [r] = await c.run();
          if (r!.jobs.completed === 1) break;
          clock.advance(10 * 60_000 + 1);
        }
        const pages = n - throttled;
        const perThousand = (logins + [...ig3.logins.values()].reduce((a, b) => a + b, 0)) * (1000 / pages);
        process.stdout.write(
          `FIGURE logins per 1,000 follower pages under a throttle every 4th request: ${perThousand} ` +
            `(${pages} pages, ${throttled} throttles, ${runs + 1} runs)\n`,
        );
        expect(pages).toBe(1_000);
        expect(perThousand).toBe(0);
        const items = await store.db
          .selectFrom('check_job_items')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow();
        expect(Number(items.n)).toBe(12_000);
        expect(await store.db.selectFrom('ig_accounts').select('state').execute()).toEqual([
          { state: 'valid' },
          { state: 'valid' },
        ]);
      } finally {
        await ig3.close();
      }
    },
    120_000,
  );
});
