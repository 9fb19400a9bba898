import { describe, expect, it } from 'vitest';
import { importAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { loginAccount } from '../../src/commands/login.js';
import { FakeClock } from '../../src/domain/clock.js';
import { DataError, UsageError } from '../../src/errors.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { probeAccounts } from '../../src/fleet/probe.js';
import { reactivateAccount } from '../../src/fleet/waysBack.js';
import { silentLogger } from '../../src/log/logger.js';
import {
  TelegramCallError,
  type AccountSession,
  type TelegramAccountClient,
  type TelegramGateway,
} from '../../src/telegram/gateway.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { makeSession } from '../support/fixtures.js';
import { boxFor } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
const FINE = 'Good news, no limits are currently applied to your account. You’re free as a bird!';

/** Per account: @SpamBot's answer (or an error at connect) and how many channels it is in. */
function telegram(
  answers: Record<string, string | Error>,
  channels: Record<string, number> = {},
): TelegramGateway & { probed: string[] } {
  const probed: string[] = [];
  return {
    probed,
    async client(s: AccountSession): Promise<TelegramAccountClient> {
      probed.push(s.sessionName);
      const a = answers[s.sessionName] ?? FINE;
      if (a instanceof Error) throw a;
      return {
        join: async () => ({ kind: 'joined', title: null }),
        getMe: async () => ({ id: '1', username: s.sessionName, phone: null }),
        askSpamBot: async () => a,
        checkJoin: async () => 'pending',
        countChannels: async () => channels[s.sessionName] ?? 0,
      };
    },
    async closeAll() {},
  };
}

describe.each(DIALECTS)('ways back for accounts on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 6);
  const set = (name: string, patch: Record<string, unknown>) =>
    f.store.db.updateTable('telegram_accounts').set(patch).where('session_name', '=', name).execute();
  const rows = async () =>
    Object.fromEntries(
      (
        await f.store.db
          .selectFrom('telegram_accounts')
          .select(['id', 'session_name', 'state', 'state_until', 'error_count', 'channels_full', 'last_error'])
          .execute()
      ).map((a) => [a.session_name, a]),
    );
  const probe = (gateway: TelegramGateway, clock: FakeClock, account?: string) =>
    probeAccounts({ store: f.store, box: boxFor(f.env), clock, gateway, log: silentLogger }, { account });

  it.skipIf(skip)(
    'recover --probe looks at frozen and disabled accounts with no errors, applies @SpamBot, never shortens a running flood wait',
    async () => {
      const clock = new FakeClock(T0);
      // reset-limits zeroed every error count: the person-states must still be probed.
      await set('acc_00000', { state: 'frozen', error_count: 0 });
      await set('acc_00001', { state: 'disabled', error_count: 0 });
      await set('acc_00002', { state: 'flood_wait', state_until: T0 + 10 * MIN, error_count: 1 });
      await set('acc_00003', { state: 'frozen', error_count: 0 });
      await set('acc_00004', { state: 'cooldown', state_until: T0 + 60 * MIN, error_count: 1 });
      // acc_00005: active, no errors → not probed.
      const tg = telegram({
        acc_00003: 'Your account was blocked for violations of the Telegram Terms of Service.',
        acc_00004: 'Your account is now limited until 23 Nov 2026, 09:30 UTC.',
      });
      const r = await probe(tg, clock);
      expect(tg.probed).toEqual(['acc_00000', 'acc_00001', 'acc_00002', 'acc_00003', 'acc_00004']);
      expect(r.map((x) => [x.account, x.from, x.verdict, x.state])).toEqual([
        ['acc_00000', 'frozen', 'fine', 'active'],
        ['acc_00001', 'disabled', 'fine', 'active'],
        ['acc_00002', 'flood_wait', 'fine', 'flood_wait'],
        ['acc_00003', 'frozen', 'frozen', 'frozen'],
        ['acc_00004', 'cooldown', 'spam_restricted', 'blocked'],
      ]);
      const a = await rows();
      expect(a.acc_00000).toMatchObject({ state: 'active', error_count: 0 });
      expect(a.acc_00001).toMatchObject({ state: 'active' });
      // The flood wait Telegram set ends when it ends, even though @SpamBot says all is fine.
      expect(a.acc_00002).toMatchObject({ state: 'flood_wait', state_until: T0 + 10 * MIN });
      expect(a.acc_00003?.state).toBe('frozen');
      // A restriction ending before the cooldown does not shorten it.
      expect(a.acc_00004).toMatchObject({ state: 'blocked', state_until: T0 + 60 * MIN });
      // A lease finds the frozen-then-fine account again.
      const fleet = new AccountManager({ store: f.store, clock });
      const lease = await fleet.lease({ action: 'message', holder: 't', ttlMs: MIN, accountId: a.acc_00000!.id });
      expect(lease.ok).toBe(true);
    },
  );

  it.skipIf(skip)('recover --probe --account NAME probes that account only, whatever its state', async () => {
    const clock = new FakeClock(T0);
    await set('acc_00001', { state: 'banned' });
    await set('acc_00002', { state: 'frozen' });
    const tg = telegram({ acc_00001: new TelegramCallError('USER_DEACTIVATED_BAN', 401, undefined) });
    const r = await probe(tg, clock, 'acc_00001');
    expect(tg.probed).toEqual(['acc_00001']);
    expect(r).toMatchObject([{ account: 'acc_00001', verdict: 'banned', state: 'banned' }]);
    await expect(probe(tg, clock, 'nobody')).rejects.toBeInstanceOf(DataError);
  });

  it.skipIf(skip)(
    'CHANNELS_TOO_MUCH parks an account for joins until a probe counts its channels under the limit',
    async () => {
      const clock = new FakeClock(T0);
      const fleet = new AccountManager({ store: f.store, clock });
      const ids = Object.fromEntries(Object.entries(await rows()).map(([k, v]) => [k, v.id]));
      await set('acc_00000', { channels_full: 1 });
      await set('acc_00001', { channels_full: 1 });
      expect((await fleet.lease({ action: 'join', holder: 't', ttlMs: MIN, accountId: ids.acc_00000 })).ok).toBe(false);
      // Parked for joins only: other work still gets it.
      const msg = await fleet.lease({ action: 'message', holder: 't', ttlMs: MIN, accountId: ids.acc_00000 });
      expect(msg.ok).toBe(true);
      if (msg.ok) await fleet.release(msg.lease.token);
      const listed = await fleet.recover();
      expect(listed.needsPerson.map((p) => [p.account, p.channelsFull])).toEqual([
        ['acc_00000', true],
        ['acc_00001', true],
      ]);
      expect(listed.needsPerson[0]?.fix).toContain('acctctl recover --probe --account acc_00000');
      const r = await probe(telegram({}, { acc_00000: 480, acc_00001: 500 }), clock);
      expect(r.map((x) => [x.account, x.channels, x.channelsFull])).toEqual([
        ['acc_00000', 480, false],
        ['acc_00001', 500, true],
      ]);
      const a = await rows();
      expect([a.acc_00000?.channels_full, a.acc_00001?.channels_full]).toEqual([0, 1]);
      expect((await fleet.lease({ action: 'join', holder: 't', ttlMs: MIN, accountId: ids.acc_00000 })).ok).toBe(true);
      expect((await fleet.lease({ action: 'join', holder: 't', ttlMs: MIN, accountId: ids.acc_00001 })).ok).toBe(false);
      const ev = await f.store.db.selectFrom('events').select('message').where('kind', '=', 'account_probe').execute();
      expect(ev.map((e) => e.message).join('\n')).toContain('480 channels, below 500: joins allowed again');
    },
  );

  it.skipIf(skip)(
    'accounts reactivate: a person’s word makes any state active, clears errors and parking, and is recorded',
    async () => {
      const clock = new FakeClock(T0);
      await set('acc_00000', {
        state: 'frozen',
        state_reason: 'FROZEN_METHOD_INVALID',
        error_count: 3,
        last_error: 'FROZEN_METHOD_INVALID',
        channels_full: 1,
      });
      await expect(reactivateAccount({ store: f.store, clock }, 'acc_00000', '  ')).rejects.toBeInstanceOf(UsageError);
      await expect(reactivateAccount({ store: f.store, clock }, 'nobody', 'x')).rejects.toBeInstanceOf(DataError);
      const r = await reactivateAccount({ store: f.store, clock }, 'acc_00000', 'appeal accepted 2026-11-22');
      expect(r).toEqual({
        account: 'acc_00000',
        from: 'frozen',
        until: null,
        channelsFullCleared: true,
        reason: 'appeal accepted 2026-11-22',
      });
      expect((await rows()).acc_00000).toMatchObject({
        state: 'active',
        error_count: 0,
        channels_full: 0,
        last_error: null,
      });
      const ev = await f.store.db
        .selectFrom('events')
        .select(['kind', 'message', 'data_json'])
        .where('kind', '=', 'account_reactivated')
        .executeTakeFirstOrThrow();
      expect(ev.message).toBe('acc_00000: frozen → active (reactivated by a person: appeal accepted 2026-11-22)');
      expect(JSON.parse(ev.data_json!)).toMatchObject({ from: 'frozen', reason: 'appeal accepted 2026-11-22' });
      const fleet = new AccountManager({ store: f.store, clock });
      expect((await fleet.recover()).needsPerson).toEqual([]);
      expect((await fleet.lease({ action: 'join', holder: 't', ttlMs: MIN })).ok).toBe(true);
    },
  );

  it.skipIf(skip)('accounts login for a disabled account stores the new session and makes it active', async () => {
    const clock = new FakeClock(T0);
    const box = boxFor(f.env);
    const id = (await rows()).acc_00003!.id;
    await set('acc_00003', {
      state: 'disabled',
      state_reason: 'SESSION_REVOKED',
      last_error: 'SESSION_REVOKED',
      error_count: 1,
    });
    const old = box.open(
      (
        await f.store.db
          .selectFrom('telegram_accounts')
          .select('string_session_enc')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).string_session_enc,
      { table: 'telegram_accounts', column: 'string_session_enc', rowId: id },
    );
    // Re-importing the same (revoked) session changes nothing.
    const same = parseAccountsFile(
      'f',
      JSON.stringify([
        {
          session_name: 'acc_00003',
          api_id: 5,
          api_hash: '0123456789abcdef0123456789abcdef',
          string_session: old,
          tenant: 'acme',
        },
      ]),
    );
    expect((await importAccounts({ store: f.store, box, clock }, same)).reactivated).toEqual([]);
    expect((await rows()).acc_00003?.state).toBe('disabled');
    const fresh = makeSession();
    const r = await loginAccount(
      {
        store: f.store,
        box,
        clock,
        login: async () => ({ stringSession: fresh, userId: '9', username: null }),
        ask: async () => '12345',
        askHidden: async () => 'pw',
        warn: () => {},
      },
      {
        phone: '+15550003333',
        name: 'acc_00003',
        tenant: 'acme',
        apiId: 5,
        apiHash: '0123456789abcdef0123456789abcdef',
      },
    );
    expect(r).toMatchObject({ account: 'acc_00003', created: false, reactivated: true });
    expect((await rows()).acc_00003).toMatchObject({ state: 'active', error_count: 0, last_error: null });
    const row = await f.store.db
      .selectFrom('telegram_accounts')
      .select('string_session_enc')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(
      box.open(row.string_session_enc, { table: 'telegram_accounts', column: 'string_session_enc', rowId: id }),
    ).toBe(fresh);
    const ev = await f.store.db.selectFrom('events').select('message').where('subject_id', '=', id).execute();
    expect(ev.map((e) => e.message)).toContain('acc_00003: disabled → active (new session)');
  });
});
