import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { probeAccounts } from '../../src/fleet/probe.js';
import { silentLogger } from '../../src/log/logger.js';
import { TelegramCallError, type AccountSession, type TelegramGateway } from '../../src/telegram/gateway.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');

/** Each account's answer: a SpamBot text, or an error at connect. */
function probeTelegram(answers: Record<string, string | TelegramCallError | Error>): TelegramGateway {
  return {
    async client(s: AccountSession) {
      const a = answers[s.sessionName];
      if (a instanceof Error) throw a;
      return {
        join: async () => ({ kind: 'joined', title: null }),
        getMe: async () => ({ id: '1', username: s.sessionName, phone: null }),
        askSpamBot: async () => a ?? 'Good news, no limits are currently applied to your account.',
        checkJoin: async () => 'pending' as const,
        countChannels: async () => 0,
      };
    },
    async closeAll() {},
  };
}

describe.each(DIALECTS)('recover --probe on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 6);

  it.skipIf(skip)('classifies each account from Telegram’s answers and sets its state', async () => {
    const set = (name: string, patch: Record<string, unknown>) =>
      f.store.db.updateTable('telegram_accounts').set(patch).where('session_name', '=', name).execute();
    await set('acc_00000', { state: 'blocked', state_until: T0 + 3_600_000, error_count: 1 });
    await set('acc_00001', { error_count: 2 });
    await set('acc_00002', { error_count: 1 });
    await set('acc_00003', { error_count: 1 });
    await set('acc_00004', { error_count: 1 });
    // acc_00005: no errors, not blocked → not probed.
    const gateway = probeTelegram({
      acc_00000: 'Good news, no limits are currently applied to your account.',
      acc_00001: 'Your account is now limited until 25 Dec 2026, 14:31 UTC.',
      acc_00002: new TelegramCallError('AUTH_KEY_UNREGISTERED', 401, undefined),
      acc_00003: new TelegramCallError('USER_DEACTIVATED_BAN', 401, undefined),
      acc_00004: new Error('connect ECONNREFUSED 127.0.0.1:1080'),
    });
    const r = await probeAccounts({
      store: f.store,
      box: boxFor(f.env),
      clock: new FakeClock(T0),
      gateway,
      log: silentLogger,
    });
    expect(r.map((x) => [x.account, x.verdict, x.state])).toEqual([
      ['acc_00000', 'fine', 'active'],
      ['acc_00001', 'spam_restricted', 'blocked'],
      ['acc_00002', 'unauthorized', 'disabled'],
      ['acc_00003', 'banned', 'banned'],
      ['acc_00004', 'unreachable', 'active'],
    ]);
    const rows = Object.fromEntries(
      (
        await f.store.db
          .selectFrom('telegram_accounts')
          .select(['session_name', 'state', 'state_until', 'error_count'])
          .execute()
      ).map((a) => [a.session_name, a]),
    );
    expect(rows.acc_00000).toMatchObject({ state: 'active', state_until: null, error_count: 0 });
    expect(rows.acc_00001).toMatchObject({ state: 'blocked', state_until: Date.UTC(2026, 11, 25, 14, 31) });
    expect(rows.acc_00002?.state).toBe('disabled');
    expect(rows.acc_00003?.state).toBe('banned');
    expect(rows.acc_00004).toMatchObject({ state: 'active', error_count: 1 }); // network trouble changes nothing
    const events = await f.store.db.selectFrom('events').select('kind').where('kind', '=', 'account_probe').execute();
    expect(events).toHaveLength(4);
  });
});

describe.each(DIALECTS)('recover --probe leases what it probes, on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 2);

  it.skipIf(skip)(
    'while it probes an account, a join starting then cannot lease it; after, the lease is free',
    async () => {
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ error_count: 1 })
        .where('session_name', '=', 'acc_00000')
        .execute();
      const clock = new FakeClock(T0);
      const manager = new AccountManager({ store: f.store, clock, timeZone: 'UTC', log: silentLogger });
      const ids = Object.fromEntries(
        (await f.store.db.selectFrom('telegram_accounts').select(['id', 'session_name']).execute()).map((r) => [
          r.session_name,
          r.id,
        ]),
      );
      const during: { holder: string | null; join: unknown }[] = [];
      const base = probeTelegram({});
      const gateway: TelegramGateway = {
        async client(s) {
          const c = await base.client(s);
          return {
            ...c,
            getMe: async () => {
              const row = await f.store.db
                .selectFrom('telegram_accounts')
                .select('lease_holder')
                .where('id', '=', s.accountId)
                .executeTakeFirstOrThrow();
              const join = await manager.lease({
                action: 'join',
                holder: 'join@test',
                ttlMs: 60_000,
                accountId: s.accountId,
              });
              during.push({ holder: row.lease_holder, join: join.ok ? join.lease.account : 'refused' });
              return c.getMe();
            },
          };
        },
        closeAll: base.closeAll,
      };
      const r = await probeAccounts({ store: f.store, box: boxFor(f.env), clock, gateway, log: silentLogger });
      expect(r.map((x) => [x.account, x.verdict])).toEqual([['acc_00000', 'fine']]);
      expect(during).toHaveLength(1);
      expect(during[0]!.holder).toMatch(/^probe@/);
      expect(during[0]!.join).toBe('refused'); // the probe holds it: no second connection for it
      // Afterwards the account is free again, and a join leases it at once.
      const after = await manager.lease({
        action: 'join',
        holder: 'join@test',
        ttlMs: 60_000,
        accountId: ids.acc_00000,
      });
      expect(after.ok && after.lease.account).toBe('acc_00000');
    },
  );

  it.skipIf(skip)('an account a join leases after the probe listed it, before its turn, is not probed', async () => {
    await f.store.db.updateTable('telegram_accounts').set({ error_count: 1 }).execute();
    const clock = new FakeClock(T0);
    const manager = new AccountManager({ store: f.store, clock, timeZone: 'UTC', log: silentLogger });
    const second = await f.store.db
      .selectFrom('telegram_accounts')
      .select('id')
      .where('session_name', '=', 'acc_00001')
      .executeTakeFirstOrThrow();
    const base = probeTelegram({});
    const connected: string[] = [];
    const gateway: TelegramGateway = {
      async client(s) {
        connected.push(s.sessionName);
        // While acc_00000 is probed, a join leases acc_00001 (listed by the probe already).
        if (s.sessionName === 'acc_00000') {
          const l = await manager.lease({ action: 'join', holder: 'join@test', ttlMs: 60_000, accountId: second.id });
          expect(l.ok).toBe(true);
        }
        return base.client(s);
      },
      closeAll: base.closeAll,
    };
    const r = await probeAccounts({ store: f.store, box: boxFor(f.env), clock, gateway, log: silentLogger });
    expect(r.map((x) => x.account)).toEqual(['acc_00000']);
    expect(connected).toEqual(['acc_00000']); // never a second connection for the leased one
    const row = await f.store.db
      .selectFrom('telegram_accounts')
      .select('lease_holder')
      .where('id', '=', second.id)
      .executeTakeFirstOrThrow();
    expect(row.lease_holder).toBe('join@test'); // the join keeps its lease
  });
});
