import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AcctctlError,
  ClosedError,
  ConfigError,
  DataError,
  FakeClock,
  LeaseLostError,
  openFleet,
  UsageError,
  type Fleet,
} from '../../src/index.js';
import { openStore } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { makeAccounts } from '../support/fixtures.js';
import { snapshot } from '../support/snapshot.js';

// 2026-01-01 11:00 UTC is already 2026-01-02 in Kiritimati (UTC+14).
const NOON_ISH = Date.UTC(2026, 0, 1, 11, 0, 0);

describe.each(DIALECTS)('openFleet on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let keyFile: string;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 0); // migrated, with a key file
    keyFile = f.env.ACCTCTL_KEY_FILE!;
    await f.store.close();
  });
  afterEach(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('reads the CLI’s configuration (.env) and honours ACCTCTL_TIMEZONE; options win', async () => {
    writeFileSync(
      join(t.dir, '.env'),
      `DATABASE_URL=${t.url}\nACCTCTL_KEY_FILE=${keyFile}\nACCTCTL_TIMEZONE=Pacific/Kiritimati\n`,
    );
    const clock = new FakeClock(NOON_ISH);
    const fleet = await openFleet({ env: {}, cwd: t.dir, clock });
    expect(fleet.settings).toMatchObject({ keyFile, timeZone: 'Pacific/Kiritimati' });
    expect((await fleet.manager.resetLimits()).day).toBe('2026-01-02');
    await fleet.close();
    const utc = await openFleet({ env: {}, cwd: t.dir, clock, timeZone: 'UTC' });
    expect((await utc.manager.resetLimits()).day).toBe('2026-01-01');
    await utc.close();
  });

  it.skipIf(skip)(
    'the Account Manager’s calls from the library: check, a preferred account, record, release with channels',
    async () => {
      const clock = new FakeClock(NOON_ISH);
      await using fleet = await openFleet({ db: t.url, keyFile, env: {}, cwd: t.dir, clock });
      await fleet.accounts.import(makeAccounts(2, { tenant: 'acme' }), { createTenants: true });
      await fleet.manager.setLimits({ tenant: 'acme' }, { invite: { per_day: 1, gap_seconds: 0, burst: null } });
      const before = await snapshot(fleet.store);
      expect(await fleet.check({ action: 'invite', account: 'acc_00001' })).toMatchObject({
        ok: true,
        account: 'acc_00001',
      });
      expect(await snapshot(fleet.store)).toBe(before);
      await fleet.record({ account: 'acc_00001', action: 'invite', channel: '@chan_a' });
      expect(await fleet.lease({ action: 'invite', account: 'acc_00001', only: true })).toMatchObject({ ok: false });
      const l = await fleet.lease({ action: 'parsing', account: 'acc_00001' });
      if (!l.ok) throw new Error(l.reason);
      expect(l.lease).toMatchObject({ account: 'acc_00001', action: 'parsing' });
      expect(await fleet.release(l.lease.token, { channels: ['@chan_b'], success: true })).toEqual({
        account: 'acc_00001',
        recorded: {},
        channels: ['@chan_b'],
        success: true,
      });
    },
  );

  it.skipIf(skip)('judges flood waits by ACCTCTL_FLOOD_THRESHOLD as the CLI does', async () => {
    const clock = new FakeClock(NOON_ISH);
    for (const [env, state] of [
      [{ ACCTCTL_FLOOD_THRESHOLD: '30' }, 'cooldown'],
      [{}, 'flood_wait'], // the default, 600 s
    ] as const) {
      const fleet = await openFleet({ db: t.url, keyFile, env, cwd: t.dir, clock });
      await fleet.accounts.import(makeAccounts(1, { tenant: 'acme' }), { createTenants: true });
      const l = await fleet.lease({ action: 'join' });
      if (!l.ok) throw new Error(l.reason);
      const r = await fleet.reportError(l.lease.token, 'FLOOD_WAIT_100');
      expect(r).toMatchObject({ state });
      await fleet.close();
      clock.advance(86_400_000); // past the wait, the pauses and the day's limits
    }
  });

  it.skipIf(skip)('accounts import/list/enable/disable, lease/renew/release with defaults', async () => {
    const clock = new FakeClock(NOON_ISH);
    const fleet: Fleet = await openFleet({ db: t.url, keyFile, env: {}, cwd: t.dir, clock });
    const rows = makeAccounts(2, { tenant: 'acme' });
    // Unknown tenants are refused unless asked for, and nothing is written.
    const s = await openStore(t.target);
    const before = await snapshot(s);
    await expect(fleet.accounts.import(rows)).rejects.toThrow(DataError);
    expect(await snapshot(s)).toBe(before);
    await s.close();
    const r = await fleet.accounts.import(rows, { createTenants: true });
    expect(r).toMatchObject({ imported: 2, created: ['acc_00000', 'acc_00001'], tenantsCreated: ['acme'] });
    await fleet.accounts.disable('acc_00000');
    expect((await fleet.accounts.list()).map((a) => [a.name, a.enabled])).toEqual([
      ['acc_00000', false],
      ['acc_00001', true],
    ]);
    await fleet.accounts.enable('acc_00000');

    const l = await fleet.lease({ action: 'message' });
    if (!l.ok) throw new Error(l.reason);
    expect(l.lease.holder).toMatch(/:\d+$/); // HOST:PID by default
    expect(l.lease.expiresAt).toBe(NOON_ISH + 600_000); // 10 minutes by default
    expect((await fleet.renew(l.lease.token, { ttlMs: 60_000 })).expiresAt).toBe(NOON_ISH + 60_000);
    expect((await fleet.manager.renew(l.lease.token, 120_000)).expiresAt).toBe(NOON_ISH + 120_000); // old form
    const bad = await fleet.renew(l.lease.token, { ttlMs: -1 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(UsageError);
    expect((bad as Error).message).toContain('ttlMs');
    expect((bad as Error).message).not.toMatch(/--\w/);
    const used = await fleet.release(l.lease.token, { used: { message: 1001 } }).catch((e: unknown) => e);
    expect((used as Error).message).toMatch(/^used\.message = 1001 is not allowed/);
    expect(await fleet.release(l.lease.token, { used: { message: 1 } })).toMatchObject({ recorded: { message: 1 } });
    await expect(fleet.release(l.lease.token)).rejects.toThrow(LeaseLostError);
    await fleet.close();
  });

  it.skipIf(skip)('close() is idempotent, asyncDispose closes, and every later call is a ClosedError', async () => {
    const fleet = await openFleet({ db: t.url, keyFile, env: {}, cwd: t.dir });
    const store = fleet.store;
    await Promise.all([fleet.close(), fleet.close()]);
    await fleet.close();
    const calls: (() => Promise<unknown>)[] = [
      () => fleet.lease({ action: 'invite' }),
      () => fleet.accounts.list(),
      () => fleet.accounts.import([]),
      () => fleet.renew('1.1'),
      () => Promise.resolve(fleet.manager),
      () => Promise.resolve(store.db),
      () => store.writeTx(async () => 1),
    ];
    for (const call of calls) {
      const e = await Promise.resolve()
        .then(call)
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ClosedError);
      expect(e).toBeInstanceOf(AcctctlError);
    }
    const other = await openFleet({ db: t.url, keyFile, env: {}, cwd: t.dir });
    await other[Symbol.asyncDispose]();
    await expect(other.accounts.list()).rejects.toThrow(ClosedError);
  });

  it.skipIf(skip)('bad options are ConfigErrors in API terms that never echo a database URL', async () => {
    const e = await openFleet({ db: 'mysql://u:hunter2@h/x', env: {}, cwd: t.dir }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toMatch(/^options\.db is not/);
    expect((e as Error).message).not.toContain('hunter2');
    await expect(openFleet({ db: t.url, timeZone: 'Mars/Olympus', env: {}, cwd: t.dir })).rejects.toThrow(
      /options\.timeZone "Mars\/Olympus" is not an IANA time zone/,
    );
  });
});
