import { createDecipheriv, pbkdf2Sync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseIgFile } from '../../src/commands/ig.js';
import { importIg, importWatches } from '../../src/fleet/checkImports.js';
import { importProxies } from '../../src/fleet/proxies.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { FakeClock } from '../../src/domain/clock.js';
import { Checker } from '../../src/fleet/checkRun.js';
import { SessionRefresher, MAX_FAILURES } from '../../src/fleet/refresh.js';
import { playwrightLogin } from '../../src/instagram/browser.js';
import {
  fakeFriends,
  NAV_STYLES,
  startFakeInstagram,
  type FakeInstagram,
  type Fault,
} from '../../src/sandbox/fakeInstagram.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import type { Store } from '../../src/store/store.js';
import { HAVE_CHROMIUM, sharedChromium, TEST_SETTLE } from '../support/chromium.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { hostMappingProxy } from '../support/httpProxy.js';
import { boxFor } from '../support/joinHarness.js';
import { snapshot } from '../support/snapshot.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const DAY = 86_400_000;

// One Chromium for the whole file (each login gets a fresh context in it). The describes below
// run side by side, each dialect too (each its own fake and database); within one, the tests run
// in order (they share the describe's fake and store variables).
const browser = sharedChromium();

describe.each(DIALECTS)('refresh-session on $name', { concurrent: true }, ({ skip, createMigrated }) => {
  let ig: FakeInstagram;
  let t: TestDb;
  let store: Store;
  let box: SecretBox;
  let env: Record<string, string>;
  beforeAll(async () => {
    ig = await startFakeInstagram({
      users: {
        alice: { password: 'pw-alice', pk: '111' },
        bob: { password: 'pw-bob', totpSecret: SECRET, pk: '222' },
        carol: { password: 'pw-carol', behaviour: 'checkpoint' },
        dave: { password: 'pw-dave', behaviour: 'rate_limited' },
        erin: { password: 'pw-erin' },
      },
    });
  });
  afterAll(async () => ig.close());
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    ({ store, env } = await fleetStore(t, 0));
    box = boxFor(env);
    const rows = [
      { tenant: 'acme', username: 'alice', password: 'pw-alice' },
      { tenant: 'acme', username: 'bob', password: 'pw-bob', totp_secret: 'jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp' },
      { tenant: 'acme', username: 'carol', password: 'pw-carol' },
      { tenant: 'acme', username: 'dave', password: 'pw-dave' },
      { tenant: 'acme', username: 'erin', password: 'wrong-password' },
    ];
    await importIg({ store, box, clock: new FakeClock() }, await parseIgFile('ig.json', JSON.stringify(rows)));
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const refresher = (clock: FakeClock) =>
    new SessionRefresher({
      store,
      box,
      clock,
      log: silentLogger,
      login: playwrightLogin,
      instagramUrl: ig.url,
      chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
      browser: browser(),
      keyDelayMs: () => 0,
      settle: TEST_SETTLE,
    });

  it.skipIf(skip).sequential(
    'a TOTP secret otplib finds too short is rejected on import, saying so, and nothing is stored',
    async () => {
      const file = join(t.dir, 'short.json');
      writeFileSync(
        file,
        JSON.stringify([{ tenant: 'acme', username: 'zed', password: 'x', totp_secret: 'JBSWY3DPEHPK3PXP' }]),
      );
      const before = await snapshot(store);
      const r = await runCli(['ig', 'import', file], { env });
      expect(r.code).toBe(65);
      expect(r.stderr).toContain(
        '[0].totp_secret: too short for otplib: 10 bytes, it needs at least 16 (26 base32 characters)',
      );
      expect(r.stderr).not.toContain('JBSWY3DPEHPK3PXP');
      expect(await snapshot(store)).toBe(before);
    },
  );

  it.skipIf(skip || !HAVE_CHROMIUM).sequential(
    'due accounts: each outcome lands in the store; cookies are stored encrypted',
    async () => {
      const now = Date.parse('2026-11-23T10:00:00Z');
      const res = await refresher(new FakeClock(now)).refresh();
      const by = Object.fromEntries(res.map((r) => [r.username, r]));
      expect(by.alice?.status).toBe('refreshed');
      expect(by.bob?.status).toBe('refreshed');
      expect(by.carol?.status).toBe('needs_manual');
      expect(by.dave?.status).toBe('backing_off');
      expect(by.erin?.status).toBe('failed');
      const rows = Object.fromEntries(
        (await store.db.selectFrom('ig_accounts').selectAll().execute()).map((r) => [r.username, r]),
      );
      const a = rows.alice!;
      expect(a.state).toBe('valid');
      expect(a.last_verified_at).toBe(now);
      expect(a.next_refresh_at! - now).toBeGreaterThanOrEqual(2 * DAY * 0.9);
      expect(a.next_refresh_at! - now).toBeLessThanOrEqual(2 * DAY * 1.1);
      const sid = box.open(a.sessionid_enc!, { table: 'ig_accounts', column: 'sessionid_enc', rowId: a.id });
      expect(ig.sessions.has(sid)).toBe(true);
      expect(a.sessionid_enc).not.toContain(sid.slice(0, 12));
      const cookies = JSON.parse(
        box.open(a.cookies_enc!, { table: 'ig_accounts', column: 'cookies_enc', rowId: a.id }),
      ) as { name: string }[];
      expect(cookies.map((c) => c.name)).toEqual(expect.arrayContaining(['sessionid', 'csrftoken', 'ds_user_id']));
      expect(rows.carol).toMatchObject({ state: 'needs_manual', last_error: 'checkpoint', next_refresh_at: null });
      expect(rows.dave).toMatchObject({ state: 'expired', fail_count: 1, next_refresh_at: now + 15 * 60_000 });
      expect(rows.erin).toMatchObject({ state: 'failed', last_error: 'wrong password' });
      const events = (await store.db.selectFrom('events').select('kind').execute()).map((e) => e.kind).sort();
      expect(events).toEqual(['ig_failed', 'ig_needs_manual', 'ig_refresh_failed', 'ig_refreshed', 'ig_refreshed']);

      // Nothing is due right after: no login at all. The checkpoint is never retried by itself.
      const logins = [...ig.logins.values()].reduce((x, y) => x + y, 0);
      expect(await refresher(new FakeClock(now + 60_000)).refresh()).toEqual([]);
      expect([...ig.logins.values()].reduce((x, y) => x + y, 0)).toBe(logins);
      // The banner backs off exponentially, and after MAX_FAILURES in a row a person is needed.
      let clock = now;
      for (let i = 2; i <= MAX_FAILURES; i++) {
        const row = await store.db
          .selectFrom('ig_accounts')
          .select('next_refresh_at')
          .where('username', '=', 'dave')
          .executeTakeFirstOrThrow();
        clock = row.next_refresh_at!;
        const [r] = await refresher(new FakeClock(clock)).refresh({ account: 'dave' });
        expect(r!.status).toBe(i < MAX_FAILURES ? 'backing_off' : 'needs_manual');
        if (i < MAX_FAILURES) expect(r!.nextRefreshAt! - clock).toBe(15 * 60_000 * 2 ** (i - 1));
      }
    },
    // Nine logins one after another (the backoff rounds): room for a loaded machine.
    180_000,
  );

  it.skipIf(skip || !HAVE_CHROMIUM).sequential('two concurrent refreshes of one account log in once', async () => {
    const before = ig.logins.get('alice') ?? 0;
    const clock = new FakeClock(Date.now());
    const one = refresher(clock);
    const two = refresher(clock); // another "process": only the store's lock is shared
    const seen = ig.requests.length;
    const first = Promise.all([one.reactive(1), one.reactive(1)]);
    // The other process starts once the first is talking to Instagram: it holds the account's lock
    // from before its browser starts until the session is stored, so the two surely overlap.
    await vi.waitUntil(() => ig.requests.length > seen, { timeout: 60_000, interval: 20 });
    const c = await two.refresh({ account: 'alice' });
    const [a, b] = await first;
    expect((ig.logins.get('alice') ?? 0) - before).toBe(1);
    expect(a).toBe(b); // same promise within a process
    const statuses = [a.status, c[0]!.status].sort();
    expect(statuses).toEqual(['locked', 'refreshed']);
  });
});

/** Every file under `dir` (recursively). */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
  );
}

/** Values of a Chromium `Cookies` database, decrypted with Chromium's fixed Linux key ("peanuts"). */
function chromiumCookieValues(file: string): string[] {
  const key = pbkdf2Sync('peanuts', 'saltysalt', 1, 16, 'sha1');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('select value, encrypted_value from cookies').all() as {
      value: string;
      encrypted_value: Buffer;
    }[];
    return rows.map((r) => {
      if (r.value) return r.value;
      const enc = r.encrypted_value;
      if (!enc || enc.length < 3 || !['v10', 'v11'].includes(enc.subarray(0, 3).toString())) return '';
      const d = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16, ' '));
      const plain = Buffer.concat([d.update(enc.subarray(3)), d.final()]);
      // Newer Chromium prefixes the value with a 32-byte hash of the domain.
      return plain.toString('latin1');
    });
  } finally {
    db.close();
  }
}

describe.each(DIALECTS)(
  'sessions come back, one identity, nothing on disk ($name)',
  { concurrent: true },
  ({ skip, createMigrated }) => {
    let spa: FakeInstagram;
    let fault: ((r: { path: string; sessionid: string | null; n: number }) => Fault | null) | null = null;
    let t: TestDb;
    let store: Store;
    let box: SecretBox;
    const BIG = { id: '777', followers: 150 };
    beforeAll(async () => {
      spa = await startFakeInstagram({
        variant: 'spa',
        consent: true,
        // The page leaves with a full navigation right after each answer (the issue-20 failures).
        navStyle: 'full',
        users: {
          alice: { password: 'pw-alice', pk: '111' },
          bob: { password: 'pw-bob', totpSecret: SECRET, pk: '222' },
          carol: { password: 'pw-carol', pk: '333' },
        },
        profiles: { big_brand: BIG },
        fault: (r) => fault?.(r) ?? null,
      });
    });
    afterAll(async () => spa.close());
    beforeEach(async () => {
      if (skip) return;
      fault = null;
      t = await createMigrated();
      let env: Record<string, string>;
      ({ store, env } = await fleetStore(t, 0));
      box = boxFor(env);
    });
    afterEach(async () => {
      if (skip) return;
      await store.close();
      await t.cleanup();
    });
    const refresher = (clock: FakeClock, instagramUrl = spa.url, legacyProfileRoot?: string) =>
      new SessionRefresher({
        store,
        box,
        clock,
        log: silentLogger,
        login: playwrightLogin,
        instagramUrl,
        chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
        browser: browser(),
        keyDelayMs: () => 0,
        settle: TEST_SETTLE,
        ...(legacyProfileRoot ? { legacyProfileRoot } : {}),
      });
    const checker = (clock: FakeClock, extra: Partial<ConstructorParameters<typeof Checker>[0]> = {}) =>
      new Checker({
        store,
        box,
        clock,
        log: silentLogger,
        instagramUrl: spa.url,
        providers: new Map(),
        rate: { requests: 200, windowMs: 660_000 },
        concurrency: 4,
        ...extra,
      });
    const logins = () => [...spa.logins.values()].reduce((a, b) => a + b, 0);
    /** The latest completed snapshot (earlier ones are kept for the new/lost diff). */
    const items = async () => {
      const latest = await store.db
        .selectFrom('check_jobs')
        .select('id')
        .where('status', '=', 'completed')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow();
      return (
        await store.db.selectFrom('check_job_items').select('ig_user_id').where('job_id', '=', latest.id).execute()
      )
        .map((i) => i.ig_user_id)
        .sort();
    };

    it.skipIf(skip || !HAVE_CHROMIUM).sequential(
      'an expired session is refreshed by the next refresh-session (and by check itself); the paused 150-follower fetch completes with exactly the server’s set',
      async () => {
        const clock = new FakeClock(Date.now());
        await addTenant({ store, clock }, { name: 'acme', verifyMode: 'instagram' });
        await importIg(
          { store, box, clock },
          await parseIgFile('ig.json', JSON.stringify([{ tenant: 'acme', username: 'alice', password: 'pw-alice' }])),
        );
        await importWatches({ store, clock }, [{ tenant: 'acme', username: 'big_brand', kind: 'followers' }]);
        expect((await refresher(clock).refresh())[0]).toMatchObject({ status: 'refreshed' });
        const l0 = logins();
        // Instagram logs the session out after 5 pages; this check has no browser: the job pauses.
        let pages = 0;
        fault = (r) => (r.path.includes('/friendships/') && ++pages === 6 ? 'logout' : null);
        const [r1] = await checker(clock).run();
        expect(r1!.jobs).toMatchObject({ paused: 1, fetched: 60 });
        const alice = () =>
          store.db
            .selectFrom('ig_accounts')
            .select(['state', 'next_refresh_at'])
            .where('username', '=', 'alice')
            .executeTakeFirstOrThrow();
        expect(await alice()).toEqual({ state: 'expired', next_refresh_at: clock.now() });
        // A later check skips it, saying why — and the next refresh-session picks it up at once.
        clock.advance(60_000);
        const [r2] = await checker(clock).run();
        expect(r2!.skipped).toMatch(/no valid Instagram session/);
        const [again] = await refresher(clock).refresh();
        expect(again).toMatchObject({ username: 'alice', status: 'refreshed' });
        expect(logins() - l0).toBe(1);
        // The next run resumes the paused job with the new session and completes it.
        const [r3] = await checker(clock).run();
        expect(r3!.jobs).toMatchObject({ completed: 1, fetched: 90 });
        expect(await items()).toEqual(
          fakeFriends(BIG, 'followers')
            .map((f) => f.pk)
            .sort(),
        );

        // Check with a browser at hand brings an expired session back before it would skip.
        clock.advance(25 * 3_600_000);
        pages = 0;
        fault = (r) => (r.path.includes('/friendships/') && ++pages === 3 ? 'logout' : null);
        expect((await checker(clock).run())[0]!.jobs.paused).toBe(1);
        expect((await alice()).state).toBe('expired');
        const ref = refresher(clock);
        const [r4] = await checker(clock, { refresh: (id) => ref.reactive(id) }).run();
        expect(r4).toMatchObject({ skipped: null, jobs: { completed: 1 } });
        expect(logins() - l0).toBe(2);
        expect(await items()).toEqual(
          fakeFriends(BIG, 'followers')
            .map((f) => f.pk)
            .sort(),
        );
      },
      180_000,
    );

    it.skipIf(skip || !HAVE_CHROMIUM).sequential(
      'one identity: an account without a proxy of its own logs in and is checked through its tenant’s proxy, nothing goes direct; an MTProxy-only tenant sends nothing',
      async () => {
        const port = Number(new URL(spa.url).port);
        const proxy = await hostMappingProxy({ 'instagram.test': port });
        try {
          const hidden = `http://instagram.test:${port}`;
          const clock = new FakeClock(Date.now());
          await addTenant({ store, clock }, { name: 'px', verifyMode: 'instagram' });
          await addTenant({ store, clock }, { name: 'mt', verifyMode: 'instagram' });
          await importProxies({ store, box, clock }, [
            { spec: { scheme: 'http', host: '127.0.0.1', port: proxy.port }, tenant: 'px' },
            { spec: { scheme: 'mtproxy', host: '127.0.0.1', port: 443, secret: 'ee' + '0'.repeat(32) }, tenant: 'mt' },
          ]);
          await importIg(
            { store, box, clock },
            await parseIgFile(
              'ig.json',
              JSON.stringify([
                { tenant: 'px', username: 'bob', password: 'pw-bob', totp_secret: SECRET },
                { tenant: 'mt', username: 'carol', password: 'pw-carol' },
              ]),
            ),
          );
          await importWatches({ store, clock }, [
            { tenant: 'px', username: 'big_brand', kind: 'exists' },
            { tenant: 'px', username: 'big_brand', kind: 'followers' },
            { tenant: 'mt', username: 'big_brand', kind: 'exists' },
          ]);
          const before = spa.requests.length;
          const res = Object.fromEntries((await refresher(clock, hidden).refresh()).map((r) => [r.username, r]));
          expect(res.bob).toMatchObject({ status: 'refreshed' });
          expect(res.carol).toMatchObject({ status: 'skipped' });
          expect(res.carol!.detail).toMatch(/nothing sent: its tenant's only proxies are mtproxy/);
          expect(spa.logins.get('carol') ?? 0).toBe(0);
          const out = await checker(clock, { instagramUrl: hidden }).run();
          const by = Object.fromEntries(out.map((r) => [r.tenant, r]));
          expect(by.px).toMatchObject({ checked: 1, found: 1, jobs: { completed: 1, fetched: 150 } });
          expect(by.mt!.skipped).toMatch(/no valid Instagram session/);
          // Everything the fake saw came through the tenant's proxy (only it resolves instagram.test).
          // (Plain requests are counted by the proxy; the browser's verifying request is tunnelled.)
          expect(spa.requests.length - before).toBe(proxy.forwarded() + proxy.tunnels());
          expect(proxy.seen).toContain(`POST ${hidden}/api/v1/web/accounts/login/ajax/two_factor/`);
          expect(proxy.seen.some((s) => s.startsWith(`GET ${hidden}/api/v1/friendships/777/followers/`))).toBe(true);
          expect(proxy.seen.filter((s) => !s.includes('instagram.test'))).toEqual([]);
        } finally {
          await proxy.close();
        }
      },
      180_000,
    );

    it.skipIf(skip || !HAVE_CHROMIUM).sequential(
      'no secret on disk: after a login no file in the data dir holds the sessionid (Chromium cookie stores decrypted too); an old profile is read once and deleted',
      async () => {
        const clock = new FakeClock(Date.now());
        const legacy = join(t.dir, 'acctctl-profiles');
        // An older acctctl's persistent profile for alice, holding a live session.
        const sid = spa.grantSession('alice');
        const { chromium } = await import('playwright-core');
        const old = await chromium.launchPersistentContext(join(legacy, 'acme-alice'), {
          executablePath: process.env.ACCTCTL_CHROMIUM_PATH ?? '/usr/bin/chromium',
          headless: true,
        });
        await old.addCookies([
          {
            name: 'sessionid',
            value: sid,
            url: spa.url,
            httpOnly: true,
            expires: Math.floor(Date.now() / 1000) + 86_400,
          },
        ]);
        await old.close();
        expect(existsSync(join(legacy, 'acme-alice'))).toBe(true);
        await importIg(
          { store, box, clock },
          await parseIgFile('ig.json', JSON.stringify([{ tenant: 'acme', username: 'alice', password: 'pw-alice' }])),
        );
        const l0 = logins();
        const [r] = await refresher(clock, spa.url, legacy).refresh();
        expect(r).toMatchObject({
          status: 'refreshed',
          detail: expect.stringMatching(/old Chromium profile moved into the store/),
        });
        expect(existsSync(join(legacy, 'acme-alice'))).toBe(false);
        expect(logins() - l0).toBe(0); // the migrated state's live session was reused: no new login
        const row = await store.db.selectFrom('ig_accounts').selectAll().executeTakeFirstOrThrow();
        expect(box.open(row.sessionid_enc!, { table: 'ig_accounts', column: 'sessionid_enc', rowId: row.id })).toBe(
          sid,
        );
        expect(JSON.parse(row.device_json!)).toMatchObject({ locale: 'en-US' });

        // A real login (the session dies at Instagram), then search everything under the data dir.
        spa.expire(sid);
        clock.advance(3 * 86_400_000);
        const [r2] = await refresher(clock, spa.url, legacy).refresh();
        expect(r2).toMatchObject({ status: 'refreshed', detail: null });
        const row2 = await store.db.selectFrom('ig_accounts').selectAll().executeTakeFirstOrThrow();
        const newSid = box.open(row2.sessionid_enc!, { table: 'ig_accounts', column: 'sessionid_enc', rowId: row2.id });
        expect(newSid).not.toBe(sid);
        const state = JSON.parse(
          box.open(row2.browser_state_enc!, { table: 'ig_accounts', column: 'browser_state_enc', rowId: row2.id }),
        ) as { cookies: { name: string; value: string }[] };
        expect(state.cookies.find((c) => c.name === 'sessionid')?.value).toBe(newSid);
        const token = newSid.split('%3A').at(-1)!;
        const files = filesUnder(t.dir);
        expect(files.length).toBeGreaterThan(0);
        for (const f of files) {
          const raw = readFileSync(f);
          for (const needle of [newSid, decodeURIComponent(newSid), token])
            expect(raw.includes(Buffer.from(needle)), `${f} holds the sessionid`).toBe(false);
          if (/Cookies$/.test(f)) for (const v of chromiumCookieValues(f)) expect(v).not.toContain(token);
        }
      },
      180_000,
    );
  },
);

describe.each(DIALECTS)(
  'a login that succeeded is the last one ($name)',
  { concurrent: true },
  ({ skip, createMigrated }) => {
    let t: TestDb;
    let store: Store;
    let box: SecretBox;
    beforeEach(async () => {
      if (skip) return;
      t = await createMigrated();
      let env: Record<string, string>;
      ({ store, env } = await fleetStore(t, 0));
      box = boxFor(env);
    });
    afterEach(async () => {
      if (skip) return;
      await store.close();
      await t.cleanup();
    });

    it.skipIf(skip || !HAVE_CHROMIUM).sequential.each(NAV_STYLES)(
      'the page moves on (%s) right after the answer: refresh-session stores the session; neither the same run nor the next logs in again',
      async (nav) => {
        const spa = await startFakeInstagram({
          variant: 'spa',
          navStyle: nav,
          navDelayMs: 150,
          consent: true,
          users: {
            alice: { password: 'pw-alice', pk: '111' },
            bob: { password: 'pw-bob', totpSecret: SECRET, pk: '222' },
          },
        });
        try {
          const clock = new FakeClock(Date.now());
          const refresher = () =>
            new SessionRefresher({
              store,
              box,
              clock,
              log: silentLogger,
              login: playwrightLogin,
              instagramUrl: spa.url,
              chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
              browser: browser(),
              keyDelayMs: () => 0,
              settle: TEST_SETTLE,
            });
          await importIg(
            { store, box, clock },
            await parseIgFile(
              'ig.json',
              JSON.stringify([
                { tenant: 'acme', username: 'alice', password: 'pw-alice' },
                { tenant: 'acme', username: 'bob', password: 'pw-bob', totp_secret: SECRET },
              ]),
            ),
          );
          const one = refresher();
          const first = await one.refresh();
          expect(first.map((r) => [r.username, r.status])).toEqual([
            ['alice', 'refreshed'],
            ['bob', 'refreshed'],
          ]);
          const posts = () => [...spa.loginPosts];
          expect(posts().filter((p) => !p.endsWith('two_factor/'))).toHaveLength(2);
          expect(posts().filter((p) => p.endsWith('two_factor/'))).toHaveLength(1);
          const after = posts().length;
          // The same run scans again: nothing is due, no login.
          expect(await one.refresh()).toEqual([]);
          // The next run, a minute later: nothing is due either.
          clock.advance(60_000);
          expect(await refresher().refresh()).toEqual([]);
          expect(posts()).toHaveLength(after);
          const rows = await store.db.selectFrom('ig_accounts').select(['username', 'state', 'fail_count']).execute();
          expect(rows.map((r) => [r.username, r.state, r.fail_count]).sort()).toEqual([
            ['alice', 'valid', 0],
            ['bob', 'valid', 0],
          ]);
        } finally {
          await spa.close();
        }
      },
    );
  },
);
