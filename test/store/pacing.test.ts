import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { drawBudget, parseActiveHours, type PacingConfig } from '../../src/domain/pacing.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { claimLease, leaseCandidates } from '../../src/store/leases.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const PACING: PacingConfig = { activeHours: parseActiveHours('09:00-23:00')!, proxy: { perHour: 12, gapMs: 2 * MIN } };

describe.each(DIALECTS)('pacing of leases on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let store: Store;
  let clock: FakeClock;
  let fleet: AccountManager;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    store = (await fleetStore(t, 3)).store;
    clock = new FakeClock(Date.parse('2026-01-10T05:00:00Z'));
    fleet = new AccountManager({ store, clock, pacing: PACING });
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });
  const setAccount = (name: string, patch: Record<string, unknown>) =>
    store.db.updateTable('telegram_accounts').set(patch).where('session_name', '=', name).execute();
  const only = async (name: string) => {
    for (const n of ['acc_00000', 'acc_00001', 'acc_00002']) await setAccount(n, { enabled: n === name ? 1 : 0 });
  };
  const idOf = async (name: string) =>
    (
      await store.db
        .selectFrom('telegram_accounts')
        .select('id')
        .where('session_name', '=', name)
        .executeTakeFirstOrThrow()
    ).id;
  const lease = (action: 'join' | 'message' = 'message') => fleet.lease({ action, holder: 'test', ttlMs: 5 * MIN });

  it.skipIf(skip)('no lease outside the account’s active hours; the refusal says when its day starts', async () => {
    await only('acc_00000');
    await setAccount('acc_00000', { timezone: 'America/New_York' });
    // 05:00 UTC is midnight in New York: its day starts at 09:00 local = 14:00 UTC.
    const r = await lease();
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.reason).toContain('outside active hours');
    expect(r.reason).toContain("acc_00000's day starts at 09:00 America/New_York");
    expect(r.reason).toContain('2026-01-10T14:00:00.000Z');
    expect(r.nextAt).toBe(Date.parse('2026-01-10T14:00:00Z'));
    // Without pacing (ACCTCTL_PACING=off) the same account is leased at once.
    expect((await new AccountManager({ store, clock }).lease({ action: 'message', holder: 'x', ttlMs: MIN })).ok).toBe(
      true,
    );
  });

  it.skipIf(skip)('each account lives in its own time zone: Tokyo is active when New York sleeps', async () => {
    await setAccount('acc_00000', { timezone: 'America/New_York' });
    await setAccount('acc_00001', { timezone: 'Asia/Tokyo' }); // 14:00 in Tokyo
    await setAccount('acc_00002', { enabled: 0 });
    const r = await lease();
    expect(r.ok && r.lease.account).toBe('acc_00001');
    // A tenant's time zone is its accounts' default.
    await store.db.updateTable('tenants').set({ timezone: 'Asia/Tokyo' }).execute();
    await setAccount('acc_00000', { timezone: null });
    const r2 = await lease();
    expect(r2.ok && r2.lease.account).toBe('acc_00000');
  });

  it.skipIf(skip)('active hours from the limits file: the account’s, else its tenant’s, else the fleet’s', async () => {
    await only('acc_00000');
    // 05:00 UTC: outside 09:00-23:00, inside 18:00-06:00 (crossing midnight).
    await store.db
      .updateTable('tenants')
      .set({ limits_json: JSON.stringify({ active_hours: '18:00-06:00' }) })
      .execute();
    expect((await lease()).ok).toBe(true);
    await setAccount('acc_00000', {
      limits_json: JSON.stringify({ active_hours: '10:00-20:00' }),
      lease_holder: null,
      lease_expires_at: null,
    });
    const r = await lease();
    expect(r).toMatchObject({ ok: false, nextAt: Date.parse('2026-01-10T10:00:00Z') });
    const eff = await fleet.effectiveLimits({ account: 'acc_00000' });
    expect(eff.activeHours).toBe('10:00-20:00');
  });

  it.skipIf(skip)(
    'joins follow the day plan: not before the first planned minute, then spaced, up to the budget',
    async () => {
      await only('acc_00000');
      const id = await idOf('acc_00000');
      clock.set(Date.parse('2026-01-10T08:59:00Z'));
      expect((await lease('join')).ok).toBe(false);
      const budget = drawBudget(id, '2026-01-10', 20, null);
      const joins: number[] = [];
      for (let now = Date.parse('2026-01-10T09:00:00Z'); now < Date.parse('2026-01-10T23:00:00Z'); now += 10 * MIN) {
        clock.set(now);
        const r = await lease('join');
        if (r.ok) {
          expect(r.lease.allowance).toBe(1);
          await fleet.release(r.lease.token, { used: { join: 1 } });
          joins.push(now);
        }
      }
      expect(joins.length).toBeLessThanOrEqual(budget);
      expect(joins.length).toBeGreaterThanOrEqual(budget - 2);
      expect(joins.filter((j) => j < Date.parse('2026-01-10T12:00:00Z')).length / joins.length).toBeLessThanOrEqual(
        0.4,
      );
      const usage = (await fleet.usage([id])).get(id)!.join;
      expect(usage.pace.plan).toMatchObject({ day: '2026-01-10', budget, usedToday: joins.length });
    },
  );

  it.skipIf(skip)('a new account ramps up: 3 joins on its first local day', async () => {
    await only('acc_00000');
    await setAccount('acc_00000', { new_since: Date.parse('2026-01-10T00:00:00Z') });
    let n = 0;
    for (let now = Date.parse('2026-01-10T09:00:00Z'); now < Date.parse('2026-01-10T23:00:00Z'); now += 10 * MIN) {
      clock.set(now);
      const r = await lease('join');
      if (r.ok) {
        await fleet.release(r.lease.token, { used: { join: 1 } });
        n++;
      }
    }
    expect(n).toBe(3);
  });

  it.skipIf(skip)('per day is the account’s local day: Tokyo’s day turns at 15:00 UTC', async () => {
    await only('acc_00000');
    await setAccount('acc_00000', {
      timezone: 'Asia/Tokyo',
      limits_json: JSON.stringify({ message: { per_day: 2, gap_seconds: 0 } }),
    });
    clock.set(Date.parse('2026-01-10T13:00:00Z')); // 22:00 in Tokyo
    for (let k = 0; k < 2; k++) {
      const r = await lease();
      expect(r.ok).toBe(true);
      if (r.ok) await fleet.release(r.lease.token, { used: { message: 1 } });
    }
    const r = await lease();
    expect(r).toMatchObject({ ok: false, nextAt: Date.parse('2026-01-11T00:00:00Z') }); // next active: 09:00 Jan 11 Tokyo
    clock.set(Date.parse('2026-01-11T00:00:00Z'));
    expect((await lease()).ok).toBe(true);
    // reset-limits at 15:30 UTC: Tokyo's day has turned (Jan 11), UTC's has not turned again.
    await store.db.deleteFrom('limit_resets').execute();
    clock.set(Date.parse('2026-01-10T15:30:00Z'));
    await fleet.resetLimits();
    const days = await store.db
      .selectFrom('limit_resets')
      .select(['account_id', 'day'])
      .orderBy('account_id')
      .execute();
    expect(days.map((d) => d.day)).toEqual(['2026-01-11', '2026-01-10', '2026-01-10']);
  });

  it.skipIf(skip)(
    'accounts that share a proxy do not join together, even when a claim was read before the other joined',
    async () => {
      const now = Date.parse('2026-01-10T12:00:00Z');
      clock.set(now);
      const ids = [await idOf('acc_00000'), await idOf('acc_00001')];
      await setAccount('acc_00002', { enabled: 0 });
      const p = await store.db
        .insertInto('proxies')
        .values({
          url_key: 'socks5://10.0.0.1:1080',
          scheme: 'socks5',
          host: '10.0.0.1',
          port: 1080,
          tenant_id: null,
          created_at: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await store.db.updateTable('telegram_accounts').set({ proxy_id: p.id }).where('id', 'in', ids).execute();
      // Both accounts' plans say join now (a join each, 20 minutes ago, yesterday's budget irrelevant).
      const fleetOff = new AccountManager({ store, clock });
      // Read candidates (as a lease does), then let the other account join through the proxy.
      const seen = await leaseCandidates(store, {
        now,
        action: 'join',
        tenantId: null,
        proxy: PACING.proxy,
        since: now - 26 * HOUR,
        limit: 16,
        offset: 0,
      });
      expect(seen.map((c) => c.id).sort()).toEqual([...ids].sort());
      const first = await fleetOff.lease({ action: 'join', holder: 'a', ttlMs: MIN, accountId: ids[0] });
      expect(first.ok).toBe(true);
      // While the first holds a join lease on the proxy, the claim for the second is refused in SQL.
      const stale = await claimLease(store, {
        now,
        action: 'join',
        tenantId: null,
        proxy: PACING.proxy,
        accountId: ids[1],
        seen: seen.filter((c) => c.id === ids[1]),
        holder: 'b',
        expiresAt: now + MIN,
        channel: null,
      });
      expect(stale).toBeNull();
      if (first.ok) await fleetOff.release(first.lease.token, { used: { join: 1 } });
      // After the join, within the proxy's gap: still refused, by the claim itself.
      const fresh = await leaseCandidates(store, {
        now,
        action: 'join',
        tenantId: null,
        accountId: ids[1],
        proxy: PACING.proxy,
        since: now - 26 * HOUR,
        limit: 16,
        offset: 0,
      });
      const again = await claimLease(store, {
        now,
        action: 'join',
        tenantId: null,
        proxy: PACING.proxy,
        accountId: ids[1],
        seen: fresh,
        holder: 'b',
        expiresAt: now + MIN,
        channel: null,
      });
      expect(again).toBeNull();
      // The manager says why and when: the proxy's gap.
      const r = await fleet.lease({ action: 'join', holder: 'b', ttlMs: MIN, accountId: ids[1] });
      expect(r).toMatchObject({ ok: false });
      expect(r.ok ? 0 : r.nextAt).toBeGreaterThanOrEqual(now + 2 * MIN);
      // Without a shared proxy the second account would be leased now (its own plan allows it).
      clock.set(now + 2 * MIN);
      const later = await claimLease(store, {
        now: now + 2 * MIN,
        action: 'join',
        tenantId: null,
        proxy: PACING.proxy,
        accountId: ids[1],
        seen: fresh,
        holder: 'b',
        expiresAt: now + 3 * MIN,
        channel: null,
      });
      expect(later?.id).toBe(ids[1]);
    },
  );
});
