import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { LeaseLostError } from '../../src/errors.js';
import { AccountManager, type Lease } from '../../src/fleet/accountManager.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { snapshot } from '../support/snapshot.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-23T09:00:00Z');

describe.each(DIALECTS)('account manager on $name', ({ skip, create }) => {
  let t: TestDb;
  let store: Store;
  let clock: FakeClock;
  let fleet: AccountManager;
  beforeEach(async () => {
    if (skip) return;
    t = await create();
    store = (await fleetStore(t, 3)).store;
    clock = new FakeClock(T0);
    fleet = new AccountManager({ store, clock });
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const lease = async (
    action: 'join' | 'invite' | 'message' | 'contact' = 'message',
    extra: { channel?: string; tenant?: string; ttlMs?: number } = {},
  ): Promise<Lease> => {
    const r = await fleet.lease({ action, holder: 'test', ttlMs: extra.ttlMs ?? 5 * MIN, ...extra });
    if (!r.ok) throw new Error(`no lease: ${r.reason}`);
    return r.lease;
  };
  const setAccount = (name: string, patch: Record<string, unknown>) =>
    store.db.updateTable('telegram_accounts').set(patch).where('session_name', '=', name).execute();

  it.skipIf(skip)('leases the least recently used free account, never one that is held', async () => {
    const a = await lease();
    const b = await lease();
    const c = await lease();
    expect([a.account, b.account, c.account]).toEqual(['acc_00000', 'acc_00001', 'acc_00002']);
    expect(new Set([a.token, b.token, c.token]).size).toBe(3);
    const none = await fleet.lease({ action: 'message', holder: 'x', ttlMs: MIN });
    expect(none).toMatchObject({ ok: false, nextAt: a.expiresAt });
    await fleet.release(b.token, { used: { message: 1 } });
    clock.advance(MIN);
    expect((await lease()).account).toBe('acc_00001');
  });

  it.skipIf(skip)(
    'skips accounts that are disabled, in a state, paused, full, behind a dead proxy, or of another tenant',
    async () => {
      await setAccount('acc_00000', { enabled: 0 });
      await setAccount('acc_00001', { state: 'banned' });
      expect((await lease()).account).toBe('acc_00002');
      await setAccount('acc_00002', { lease_holder: null, lease_token: null, lease_expires_at: null });
      await setAccount('acc_00002', { state: 'flood_wait', state_until: T0 + MIN });
      expect(await fleet.lease({ action: 'message', holder: 'x', ttlMs: MIN })).toMatchObject({
        ok: false,
        nextAt: T0 + MIN,
      });
      clock.advance(MIN);
      const l = await lease();
      expect(l.account).toBe('acc_00002');
      const row = await store.db
        .selectFrom('telegram_accounts')
        .select(['state', 'state_until'])
        .where('id', '=', l.accountId)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ state: 'active', state_until: null });
      await fleet.release(l.token);
      await setAccount('acc_00002', { channels_full: 1 });
      expect((await fleet.lease({ action: 'join', holder: 'x', ttlMs: MIN })).ok).toBe(false);
      expect((await lease('message')).account).toBe('acc_00002');
      await store.db
        .updateTable('telegram_accounts')
        .set({
          lease_holder: null,
          lease_token: null,
          lease_expires_at: null,
          enabled: 1,
          state: 'active',
          next_action_at: clock.now() + MIN,
        })
        .execute();
      expect((await fleet.lease({ action: 'message', holder: 'x', ttlMs: MIN })).ok).toBe(false);
      clock.advance(MIN);
      const proxy = await store.db
        .insertInto('proxies')
        .values({
          tenant_id: null,
          url_key: 'k',
          scheme: 'socks5',
          host: 'h',
          port: 1,
          username: null,
          password_enc: null,
          secret_enc: null,
          healthy: 0,
          last_checked_at: null,
          last_error: null,
          created_at: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await store.db
        .updateTable('telegram_accounts')
        .set({ proxy_id: proxy.id })
        .where('session_name', '!=', 'acc_00001')
        .execute();
      expect((await lease()).account).toBe('acc_00001');
      await expect(fleet.lease({ action: 'message', tenant: 'nobody', holder: 'x', ttlMs: MIN })).rejects.toThrow(
        /tenant "nobody" does not exist/,
      );
    },
  );

  it.skipIf(skip)(
    'limits: a lease is refused when every free account is at a limit, and says when the next frees up',
    async () => {
      await fleet.setLimits({ tenant: 'acme' }, { invite: { per_hour: 2, gap_seconds: 60, burst: null } });
      await fleet.setLimits({ account: 'acc_00002' }, { invite: { per_day: 0 } });
      const used: string[] = [];
      for (let i = 0; i < 10; i++) {
        const r = await fleet.lease({ action: 'invite', channel: 'c1', holder: 'x', ttlMs: MIN });
        if (r.ok) {
          used.push(r.lease.account);
          expect(r.lease.allowance).toBe(1);
          await fleet.release(r.lease.token, { used: { invite: 1 } });
        } else {
          expect(r.reason).toMatch(/limits/);
          expect(r.nextAt).toBeGreaterThan(clock.now());
        }
        clock.advance(MIN);
      }
      // acc_00002 never (per_day 0); the other two twice each per hour.
      expect(used.filter((a) => a === 'acc_00002')).toEqual([]);
      expect(used.filter((a) => a === 'acc_00000')).toHaveLength(2);
      expect(used.filter((a) => a === 'acc_00001')).toHaveLength(2);
      clock.set(T0 + 61 * MIN);
      expect((await fleet.lease({ action: 'invite', holder: 'x', ttlMs: MIN })).ok).toBe(true);
    },
  );

  it.skipIf(skip)(
    'release and renew of a lease that expired or was taken over change nothing: "lease lost"',
    async () => {
      const a = await lease('message', { ttlMs: MIN });
      clock.advance(MIN);
      const before = await snapshot(store);
      await expect(fleet.release(a.token, { used: { message: 5 } })).rejects.toBeInstanceOf(LeaseLostError);
      await expect(fleet.renew(a.token, MIN)).rejects.toBeInstanceOf(LeaseLostError);
      expect(await snapshot(store)).toBe(before);
      // Taken over by a new holder: the old token is fenced off.
      await store.db.updateTable('telegram_accounts').set({ enabled: 0 }).where('id', '!=', a.accountId).execute();
      const b = await lease('message');
      expect(b.account).toBe(a.account);
      await expect(fleet.release(a.token)).rejects.toBeInstanceOf(LeaseLostError);
      await fleet.renew(b.token, 10 * MIN);
      await fleet.release(b.token, { used: { message: 1 } });
      const log = await store.db.selectFrom('action_log').selectAll().execute();
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ action: 'message', ok: 1, at: clock.now() });
    },
  );

  it.skipIf(skip)(
    'report-error after the lease ended still records the error on the token’s account and ends nobody’s lease',
    async () => {
      const account = (name: string) =>
        store.db.selectFrom('telegram_accounts').selectAll().where('session_name', '=', name).executeTakeFirstOrThrow();
      // Expired, then taken over by another holder (the other accounts are disabled).
      const a = await lease('message', { ttlMs: MIN });
      await store.db.updateTable('telegram_accounts').set({ enabled: 0 }).where('id', '!=', a.accountId).execute();
      clock.advance(MIN);
      const b = await lease('message');
      expect(b.account).toBe(a.account);
      const late = await fleet.reportError(a.token, 'FLOOD_WAIT_30');
      expect(late).toMatchObject({ account: a.account, code: 'FLOOD_WAIT', late: true });
      expect(late.lastError).toMatch(/reported after the lease ended/);
      const row = await account(a.account);
      expect(row).toMatchObject({ lease_holder: 'test', last_error: late.lastError, last_error_at: clock.now() });
      expect(row.lease_token).toBe(Number(b.token.split('.')[1]));
      expect(await store.db.selectFrom('error_log').select('kind').execute()).toEqual([{ kind: 'FLOOD_WAIT' }]);
      // The new holder's lease is untouched: it renews and releases as usual.
      await fleet.renew(b.token, MIN);
      await fleet.release(b.token, { used: { message: 1 } });

      // Released, then PEER_FLOOD reported: the account is not handed out again.
      await store.db.updateTable('telegram_accounts').set({ enabled: 1 }).execute();
      const before = await account(b.account);
      expect((await fleet.reportError(b.token, 'PEER_FLOOD')).late).toBe(true);
      const flooded = await account(b.account);
      expect(flooded.state).not.toBe('active');
      expect(flooded.fence).toBe(before.fence);
      for (let i = 0; i < 2; i++) expect((await lease('message')).account).not.toBe(b.account);

      // A token the account never issued (a fence beyond its own) or of no account: not its.
      const [id, fence] = b.token.split('.').map(Number) as [number, number];
      const snap = await snapshot(store);
      await expect(fleet.reportError(`${id}.${fence + 5}`, 'PEER_FLOOD')).rejects.toBeInstanceOf(LeaseLostError);
      await expect(fleet.reportError(`${id + 1000}.1`, 'PEER_FLOOD')).rejects.toBeInstanceOf(LeaseLostError);
      expect(await snapshot(store)).toBe(snap);
    },
  );

  it.skipIf(skip)(
    'report-error applies the table, logs the failed attempt, ends the lease and writes an event',
    async () => {
      const a = await lease('join');
      const r = await fleet.reportError(a.token, 'A wait of 42 seconds is required (caused by channels.JoinChannel)');
      expect(r).toMatchObject({
        account: a.account,
        code: 'FLOOD_WAIT',
        state: 'flood_wait',
        until: T0 + 42_000,
        target: 'queued',
      });
      const row = await store.db
        .selectFrom('telegram_accounts')
        .selectAll()
        .where('id', '=', a.accountId)
        .executeTakeFirstOrThrow();
      expect(row).toMatchObject({
        state: 'flood_wait',
        state_until: T0 + 42_000,
        lease_holder: null,
        error_count: 1,
        last_error: 'FLOOD_WAIT',
      });
      expect(await store.db.selectFrom('action_log').select(['action', 'ok']).execute()).toEqual([
        { action: 'join', ok: 0 },
      ]);
      const ev = await store.db.selectFrom('events').select(['kind', 'message']).execute();
      expect(ev).toEqual([{ kind: 'account_state', message: 'acc_00000: active → flood_wait (FLOOD_WAIT)' }]);

      const b = await lease('join');
      expect((await fleet.reportError(b.token, 'CHANNELS_TOO_MUCH')).state).toBe('active');
      expect(
        (
          await store.db
            .selectFrom('telegram_accounts')
            .select('channels_full')
            .where('id', '=', b.accountId)
            .executeTakeFirstOrThrow()
        ).channels_full,
      ).toBe(1);
      const c = await lease('join');
      expect(await fleet.reportError(c.token, 'USERNAME_NOT_OCCUPIED')).toMatchObject({
        state: 'active',
        target: 'error',
        pauseUntil: T0 + MIN,
      });
      // Flood wait, channel capacity, and a pause: no account can join now.
      expect(await fleet.lease({ action: 'join', holder: 'x', ttlMs: MIN })).toMatchObject({
        ok: false,
        nextAt: T0 + 42_000,
      });
    },
  );

  it.skipIf(skip)(
    'recover: timed states that are over, expired leases and their targets; lists accounts needing a person',
    async () => {
      await setAccount('acc_00000', { state: 'cooldown', state_until: T0 - 1 });
      await setAccount('acc_00001', { state: 'blocked', state_until: T0 + MIN });
      await setAccount('acc_00002', {
        state: 'disabled',
        state_reason: 'SESSION_REVOKED',
        last_error: 'SESSION_REVOKED',
      });
      await store.db
        .updateTable('telegram_accounts')
        .set({ lease_holder: 'dead', lease_token: 9, lease_expires_at: T0 - 1 })
        .where('session_name', '=', 'acc_00001')
        .execute();
      await store.db
        .insertInto('targets')
        .values({
          ref: '@g',
          kind: 'username',
          value: 'g',
          niche: 'n',
          status: 'joining',
          account_id: null,
          joined_at: null,
          warmup_ends_at: null,
          next_attempt_at: null,
          error_message: null,
          lease_holder: 'dead',
          lease_token: 1,
          lease_expires_at: T0 - 1,
          created_at: 0,
          updated_at: 0,
        })
        .execute();
      const r = await fleet.recover();
      expect(r.reactivated).toEqual([{ account: 'acc_00000', from: 'cooldown' }]);
      expect(r.leasesFreed).toEqual(['acc_00001']);
      expect(r.targetsRequeued).toBe(1);
      expect(r.needsPerson).toEqual([
        {
          account: 'acc_00002',
          state: 'disabled',
          reason: 'SESSION_REVOKED',
          lastError: 'SESSION_REVOKED',
          channelsFull: false,
          fix: expect.stringContaining('acctctl accounts login --phone PHONE --name acc_00002') as unknown as string,
        },
      ]);
      expect(await store.db.selectFrom('targets').select(['status', 'lease_holder']).executeTakeFirstOrThrow()).toEqual(
        { status: 'new', lease_holder: null },
      );
      const again = await fleet.recover();
      expect(again).toMatchObject({ reactivated: [], leasesFreed: [], targetsRequeued: 0 });
      clock.advance(MIN);
      expect((await fleet.recover()).reactivated).toEqual([{ account: 'acc_00001', from: 'blocked' }]);
    },
  );

  it.skipIf(skip)(
    'reset-limits: exactly one reset per account per day, however often; prunes old log rows',
    async () => {
      await store.db.updateTable('telegram_accounts').set({ error_count: 4 }).execute();
      const id = (await store.db.selectFrom('telegram_accounts').select('id').executeTakeFirstOrThrow()).id;
      await store.db
        .insertInto('action_log')
        .values([
          { account_id: id, action: 'join', channel: null, at: T0 - 31 * 24 * 60 * MIN, ok: 1 },
          { account_id: id, action: 'join', channel: null, at: T0 - MIN, ok: 1 },
        ])
        .execute();
      expect(await fleet.resetLimits()).toEqual({
        day: '2026-11-23',
        accountsReset: 3,
        alreadyReset: 0,
        actionLogPruned: 1,
      });
      await store.db.updateTable('telegram_accounts').set({ error_count: 2 }).execute();
      clock.advance(5 * 60 * MIN);
      expect(await fleet.resetLimits()).toMatchObject({ day: '2026-11-23', accountsReset: 0, alreadyReset: 3 });
      expect(
        (await store.db.selectFrom('telegram_accounts').select('error_count').execute()).map((r) => r.error_count),
      ).toEqual([2, 2, 2]);
      // Three days missed: the next run resets once, for its own day.
      clock.set(Date.parse('2026-11-27T08:00:00Z'));
      expect(await fleet.resetLimits()).toMatchObject({ day: '2026-11-27', accountsReset: 3 });
      const days = await store.db.selectFrom('limit_resets').select(['day']).distinct().orderBy('day').execute();
      expect(days.map((d) => d.day)).toEqual(['2026-11-23', '2026-11-27']);
      // Concurrent runs in one day: still one each.
      clock.set(Date.parse('2026-11-28T08:00:00Z'));
      const results = await Promise.all([fleet.resetLimits(), fleet.resetLimits(), fleet.resetLimits()]);
      expect(results.map((r) => r.accountsReset).reduce((a, b) => a + b)).toBe(3);
    },
  );

  it.skipIf(skip)(
    'a release logs each action done, with the channel only for the leased action, and last use; nothing when the lease is lost',
    async () => {
      const a = await lease('invite', { channel: '@somegroup' });
      await fleet.release(a.token, { used: { invite: 2, message: 1 } });
      const log = await store.db
        .selectFrom('action_log')
        .select(['action', 'channel', 'at', 'ok'])
        .where('account_id', '=', a.accountId)
        .orderBy('action')
        .orderBy('id')
        .execute();
      expect(log).toEqual([
        { action: 'invite', channel: '@somegroup', at: T0, ok: 1 },
        { action: 'invite', channel: '@somegroup', at: T0, ok: 1 },
        { action: 'message', channel: null, at: T0, ok: 1 },
      ]);
      const row = await store.db
        .selectFrom('telegram_accounts')
        .select(['lease_holder', 'lease_token', 'last_used_at'])
        .where('id', '=', a.accountId)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ lease_holder: null, lease_token: null, last_used_at: T0 });
      // A release with nothing used ends the lease without touching the log or the last use.
      clock.advance(MIN);
      const b = await lease();
      await fleet.release(b.token);
      const after = await store.db
        .selectFrom('telegram_accounts')
        .select(['last_used_at'])
        .where('id', '=', b.accountId)
        .executeTakeFirstOrThrow();
      expect(after.last_used_at).toBe(b.accountId === a.accountId ? T0 : null);
      await expect(fleet.release(a.token, { used: { invite: 1 } })).rejects.toBeInstanceOf(LeaseLostError);
      const n = await store.db
        .selectFrom('action_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      expect(Number(n?.n)).toBe(3);
    },
  );

  it.skipIf(skip)(
    'a lease and a release in one process never run inside another transaction of that process',
    async () => {
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      const other = store
        .writeTx(async (tx) => {
          await tx.updateTable('tenants').set({ limits_json: null }).execute();
          await gate;
          throw new Error('rolled back');
        })
        .catch((e: unknown) => (e as Error).message);
      const leasing = (async () => {
        const l = await lease();
        await fleet.release(l.token, { used: { message: 1 } });
        return lease();
      })();
      await new Promise((r) => setTimeout(r, 50));
      open();
      expect(await other).toBe('rolled back');
      const held = await leasing;
      // Neither the release nor the second lease was undone by the other transaction's rollback.
      const row = await store.db
        .selectFrom('telegram_accounts')
        .select(['lease_holder', 'lease_token'])
        .where('id', '=', held.accountId)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ lease_holder: 'test', lease_token: Number(held.token.split('.')[1]) });
      const n = await store.db
        .selectFrom('action_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirst();
      expect(Number(n?.n)).toBe(1);
    },
  );
});
