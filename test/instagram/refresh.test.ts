import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importIg, parseIgFile } from '../../src/commands/ig.js';
import { FakeClock } from '../../src/domain/clock.js';
import { SessionRefresher, MAX_FAILURES } from '../../src/fleet/refresh.js';
import { playwrightLogin } from '../../src/instagram/browser.js';
import { startFakeInstagram, type FakeInstagram } from '../../src/instagram/fakeInstagram.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import type { Store } from '../../src/store/store.js';
import { HAVE_CHROMIUM } from '../support/chromium.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';
import { snapshot } from '../support/snapshot.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const DAY = 86_400_000;

describe.each(DIALECTS)('refresh-session on $name', ({ skip, create }) => {
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
    t = await create();
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
    });

  it.skipIf(skip)(
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

  it.skipIf(skip || !HAVE_CHROMIUM)(
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
  );

  it.skipIf(skip || !HAVE_CHROMIUM)('two concurrent refreshes of one account log in once', async () => {
    const before = ig.logins.get('alice') ?? 0;
    const clock = new FakeClock(Date.now());
    const one = refresher(clock);
    const two = refresher(clock); // another "process": only the store's lock is shared
    const [a, b, c] = await Promise.all([one.reactive(1), one.reactive(1), two.refresh({ account: 'alice' })]);
    expect((ig.logins.get('alice') ?? 0) - before).toBe(1);
    expect(a).toBe(b); // same promise within a process
    const statuses = [a.status, c[0]!.status].sort();
    expect(statuses).toEqual(['locked', 'refreshed']);
  });
});
