import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importWatches } from '../../src/fleet/checkImports.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { FakeClock } from '../../src/domain/clock.js';
import { parseProviders } from '../../src/domain/providers.js';
import { severityOf } from '../../src/domain/events.js';
import { scanAlerts } from '../../src/fleet/alerts.js';
import { Checker } from '../../src/fleet/checkRun.js';
import { SessionRefresher } from '../../src/fleet/refresh.js';
import type { BrowserLogin } from '../../src/instagram/browser.js';
import { startFakeInstagram, type Fault, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import { listIg, setIgDisabled } from '../../src/store/igAccounts.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';
import { addIgSession } from '../support/igSession.js';

const T0 = Date.parse('2026-12-02T09:00:00Z');
const HOUR = 3_600_000;
const PROFILES = { real_one: { id: '501', followers: 30 }, real_two: { id: '502', followers: 100, following: 7 } };

/** Issue 26 item 7: Instagram credentials have a life (disable/enable, last used, a loss said at once). */
describe.each(DIALECTS)('Instagram credentials on $name', ({ skip, createMigrated }) => {
  let ig: FakeInstagram;
  let fault: ((r: { path: string; sessionid: string | null; n: number }) => Fault | null) | null = null;
  let t: TestDb;
  let store: Store;
  let box: SecretBox;
  let clock: FakeClock;
  let dir: string;
  beforeAll(async () => {
    ig = await startFakeInstagram({
      users: { s1: { password: 'x', pk: '9001' }, s2: { password: 'x', pk: '9002' } },
      profiles: PROFILES,
      fault: (r) => fault?.(r) ?? null,
    });
  });
  afterAll(async () => {
    await ig.close();
  });
  beforeEach(async () => {
    if (skip) return;
    fault = null;
    t = await createMigrated();
    const f = await fleetStore(t, 1);
    store = f.store;
    box = boxFor(f.env);
    dir = t.dir;
    clock = new FakeClock(T0);
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const checker = () => {
    const providers = parseProviders({});
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
    });
  };
  const exists = (tenant: string) =>
    importWatches(
      { store, clock },
      ['real_one', 'ghost_user'].map((username) => ({ tenant, username, kind: 'exists' as const })),
    );
  const dueAgain = () => store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();

  it.skipIf(skip)(
    'ig disable: check uses none of its sessions while disabled, ig enable puts it back; last used is shown',
    async () => {
      await addTenant({ store, clock }, { name: 'acme', verifyMode: 'instagram' });
      await exists('acme');
      const s1 = await addIgSession(store, box, ig, { tenant: 'acme', username: 's1', priority: 9 });
      const s2 = await addIgSession(store, box, ig, { tenant: 'acme', username: 's2' });

      expect(await setIgDisabled(store, { username: 's1', tenant: 'acme' }, true, clock.now())).toEqual({
        tenant: 'acme',
        username: 's1',
        disabled: true,
        changed: true,
      });
      // s1 is the tenant's best session, but disabled: every request goes with s2.
      const r1 = await checker().run();
      expect(r1[0]).toMatchObject({ checked: 2, errors: 0 });
      expect(ig.apiCalls.get(s1.sid) ?? 0).toBe(0);
      expect(ig.apiCalls.get(s2.sid) ?? 0).toBeGreaterThan(0);
      const listed = Object.fromEntries((await listIg(store, clock.now())).map((r) => [r.username, r]));
      expect(listed.s1).toMatchObject({ disabledAt: T0, lastUsedAt: null, state: 'valid' });
      expect(listed.s2).toMatchObject({ disabledAt: null, lastUsedAt: T0 });

      // Only the disabled one left: the tenant has no session to check with; nothing is sent with it.
      await store.db.deleteFrom('ig_accounts').where('id', '=', s2.id).execute();
      clock.advance(HOUR);
      await dueAgain();
      await checker().run();
      expect(ig.apiCalls.get(s1.sid) ?? 0).toBe(0);

      // Enabled again (once: a second enable changes nothing), it is used and its last use recorded.
      expect((await setIgDisabled(store, { username: 's1', tenant: 'acme' }, false, clock.now())).changed).toBe(true);
      expect((await setIgDisabled(store, { username: 's1', tenant: 'acme' }, false, clock.now())).changed).toBe(false);
      await dueAgain();
      const r3 = await checker().run();
      expect(r3[0]).toMatchObject({ checked: 2, errors: 0 });
      expect(ig.apiCalls.get(s1.sid) ?? 0).toBeGreaterThan(0);
      const [row] = await listIg(store, clock.now(), { tenant: 'acme' });
      expect(row).toMatchObject({ username: 's1', disabledAt: null, lastUsedAt: T0 + HOUR });
      const kinds = (await store.db.selectFrom('events').select('kind').orderBy('id').execute()).map((e) => e.kind);
      expect(kinds.filter((k) => k.startsWith('ig_account_'))).toEqual(['ig_account_disabled', 'ig_account_enabled']);
      await expect(setIgDisabled(store, { username: 'nobody', tenant: 'acme' }, true, clock.now())).rejects.toThrow(
        /no Instagram account nobody in tenant "acme"/,
      );
    },
  );

  it.skipIf(skip)(
    'ig disable: refresh-session never logs it in (due, --all, or named) and no alert is raised for it',
    async () => {
      await addTenant({ store, clock }, { name: 'acme', verifyMode: 'instagram' });
      const s1 = await addIgSession(store, box, ig, { tenant: 'acme', username: 's1', state: 'expired' });
      await store.db
        .updateTable('ig_accounts')
        .set({
          password_enc: box.seal('pw-123456', { table: 'ig_accounts', column: 'password_enc', rowId: s1.id }),
          next_refresh_at: T0,
          created_at: T0 - 3 * 24 * HOUR,
        })
        .execute();
      await setIgDisabled(store, { username: 's1', tenant: 'acme' }, true, clock.now());
      let logins = 0;
      const login: BrowserLogin = () => {
        logins++;
        return Promise.resolve({ kind: 'error', message: 'not expected' });
      };
      const refresher = new SessionRefresher({
        store,
        box,
        clock,
        log: silentLogger,
        login,
        instagramUrl: ig.url,
        chromiumPath: undefined,
        legacyProfileRoot: join(dir, 'profiles'),
      });
      expect(await refresher.refresh()).toEqual([]);
      expect(await refresher.refresh({ all: true })).toEqual([]);
      const [named] = await refresher.refresh({ account: 's1' });
      expect(named).toMatchObject({
        status: 'skipped',
        detail: expect.stringMatching(/acctctl ig enable s1 --tenant acme/),
      });
      expect(logins).toBe(0);
      // Invalid for days, but taken out of use on purpose: no stale alert pages anyone.
      await scanAlerts(store, clock.now());
      expect(
        await store.db.selectFrom('events').select('kind').where('kind', '=', 'ig_session_stale').execute(),
      ).toEqual([]);
      // Enabled: the due run logs it in again.
      await setIgDisabled(store, { username: 's1', tenant: 'acme' }, false, clock.now());
      expect((await refresher.refresh()).map((r) => r.username)).toEqual(['s1']);
      expect(logins).toBe(1);
    },
  );

  it.skipIf(skip)(
    'a session lost in the middle of a check raises its event then (warning), once, not only the stale alert a day later',
    async () => {
      await addTenant({ store, clock }, { name: 'acme', verifyMode: 'instagram' });
      await exists('acme');
      const s1 = await addIgSession(store, box, ig, { tenant: 'acme', username: 's1' });
      fault = () => 'logout';
      await checker().run();
      const state = await store.db.selectFrom('ig_accounts').select('state').where('id', '=', s1.id).executeTakeFirst();
      expect(state?.state).toBe('expired');
      const lost = await store.db
        .selectFrom('events')
        .select(['at', 'kind', 'subject_id', 'message'])
        .where('kind', '=', 'ig_session_lost')
        .execute();
      expect(lost).toEqual([
        {
          at: T0,
          kind: 'ig_session_lost',
          subject_id: s1.id,
          message: expect.stringMatching(/^acme\/s1: session lost/),
        },
      ]);
      expect(severityOf('ig_session_lost')).toBe('warning');
      // A later run does not repeat it (the session is expired now, not lost again).
      clock.advance(HOUR);
      await dueAgain();
      await checker().run();
      expect(
        await store.db.selectFrom('events').select('id').where('kind', '=', 'ig_session_lost').execute(),
      ).toHaveLength(1);
    },
  );

  it.skipIf(skip)('the alert for a disabled Telegram account names the real way back (accounts login)', async () => {
    await store.db
      .updateTable('telegram_accounts')
      .set({ state: 'disabled', state_reason: 'SESSION_REVOKED', phone: '+15550001111' })
      .execute();
    await scanAlerts(store, clock.now());
    const e = await store.db
      .selectFrom('events')
      .select('message')
      .where('kind', '=', 'account_needs_person')
      .executeTakeFirstOrThrow();
    expect(e.message).toContain('acctctl accounts login --phone +15550001111 --name acc_00000');
    // `accounts enable` only undoes an operator's `accounts disable`; it brings no session back.
    expect(e.message).not.toContain('accounts enable');
  });
});
