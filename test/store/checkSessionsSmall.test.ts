import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importWatches } from '../../src/fleet/checkImports.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { FakeClock } from '../../src/domain/clock.js';
import { Checker } from '../../src/fleet/checkRun.js';
import { IgSessions } from '../../src/fleet/checkSessions.js';
import { startFakeInstagram, type Fault, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import { sessionHealth } from '../../src/store/sessionHealth.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';
import { addIgSession } from '../support/igSession.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const PROFILES = { real_one: { id: '501', followers: 30 }, real_two: { id: '502', followers: 40 } };

/** Issue 20 §3: what check's sessions learn from Instagram's answers. */
describe.each(DIALECTS)('check sessions on $name', ({ skip, createMigrated }) => {
  let ig: FakeInstagram;
  let fault: ((r: { path: string; sessionid: string | null; n: number }) => Fault | null) | null = null;
  let t: TestDb;
  let store: Store;
  let box: SecretBox;
  let clock: FakeClock;
  beforeAll(async () => {
    ig = await startFakeInstagram({
      users: { s1: { password: 'x', pk: '9001' } },
      profiles: PROFILES,
      fault: (r) => fault?.(r) ?? null,
    });
  });
  afterAll(async () => ig.close());
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
  const deps = () => ({
    store,
    box,
    clock,
    log: silentLogger,
    instagramUrl: ig.url,
    providers: new Map(),
    rate: { requests: 200, windowMs: 660_000 },
    concurrency: 1,
  });
  const checker = () => new Checker(deps());
  const tenantId = async (name: string) =>
    (await store.db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirstOrThrow()).id;
  const due = () => store.db.updateTable('watches').set({ next_check_at: clock.now() }).execute();

  it.skipIf(skip)('a 429 rests the endpoint kind, not the whole session', async () => {
    await addTenant({ store, clock }, { name: 'r', verifyMode: 'instagram' });
    await importWatches({ store, clock }, [{ tenant: 'r', username: 'real_one', kind: 'exists' }]);
    const s = await addIgSession(store, box, ig, { tenant: 'r', username: 's1' });
    fault = (r) => (r.path.includes('web_profile_info') ? '429' : null);
    const [res] = await checker().run();
    expect(res).toMatchObject({ checked: 1, errors: 1 });
    const row = await store.db
      .selectFrom('ig_accounts')
      .select(['rate_limited_until', 'state'])
      .where('id', '=', s.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ rate_limited_until: null, state: 'valid' });
    const backoffs = await store.db
      .selectFrom('ig_backoffs')
      .select(['kind', 'until_at', 'strikes', 'reason'])
      .execute();
    expect(backoffs).toEqual([{ kind: 'profile', until_at: T0 + 10 * 60_000, strikes: 1, reason: 'throttled (429)' }]);
    // Follower pages (another endpoint kind) may still use it; profile lookups may not.
    const sessions = new IgSessions(deps());
    expect((await sessions.pick(await tenantId('r'), 'friendships', new Set()))?.id).toBe(s.id);
    expect(await sessions.pick(await tenantId('r'), 'profile', new Set())).toBeNull();
  });

  it.skipIf(skip)(
    'a correct "not found" is a successful check; last_verified_at moves on success, at most once per 5 minutes',
    async () => {
      await addTenant({ store, clock }, { name: 'h', verifyMode: 'instagram' });
      await importWatches(
        { store, clock },
        ['real_one', 'real_two', 'ghost_user', 'no_such_user'].map((username) => ({
          tenant: 'h',
          username,
          kind: 'exists' as const,
        })),
      );
      const s = await addIgSession(store, box, ig, { tenant: 'h', username: 's1' });
      const verified = async () =>
        (
          await store.db
            .selectFrom('ig_accounts')
            .select('last_verified_at')
            .where('id', '=', s.id)
            .executeTakeFirstOrThrow()
        ).last_verified_at;
      expect(await verified()).toBeNull();
      const [res] = await checker().run();
      expect(res).toMatchObject({ checked: 4, found: 2, notFound: 2, errors: 0 });
      const [h] = await sessionHealth(store, clock.now());
      expect(h!.checkSuccessPct).toBe(100);
      expect(await verified()).toBe(T0);
      // A minute later: the session works again, but the stored time is not rewritten yet.
      clock.advance(60_000);
      await due();
      await checker().run();
      expect(await verified()).toBe(T0);
      // Five minutes after the last write: written again.
      clock.advance(4 * 60_000);
      await due();
      await checker().run();
      expect(await verified()).toBe(T0 + 5 * 60_000);
      // A failed request does not move it.
      clock.advance(10 * 60_000);
      await due();
      fault = (r) => (r.path.includes('web_profile_info') ? 'feedback' : null);
      await checker().run();
      expect(await verified()).toBe(T0 + 5 * 60_000);
    },
  );

  it.skipIf(skip)(
    'api+instagram with no healthy API key but a valid session is checked through Instagram',
    async () => {
      await addTenant({ store, clock }, { name: 'ai', verifyMode: 'api+instagram' });
      await importWatches(
        { store, clock },
        ['real_one', 'ghost_user'].map((username) => ({ tenant: 'ai', username, kind: 'exists' as const })),
      );
      const s = await addIgSession(store, box, ig, { tenant: 'ai', username: 's1' });
      const [res] = await checker().run();
      expect(res).toMatchObject({ skipped: null, checked: 2, found: 1, notFound: 1, errors: 0 });
      expect(ig.apiCalls.get(s.sid)).toBe(2);
      // Neither method usable: skipped, saying what each lacks.
      await store.db.updateTable('ig_accounts').set({ state: 'expired' }).execute();
      await due();
      const [r2] = await checker().run();
      expect(r2!.skipped).toMatch(/no healthy API key .*; no valid Instagram session/);
    },
  );
});
