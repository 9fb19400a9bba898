import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { DAY_MS, nextSlotAt, PROBE_MIN_GAP_MS, probeSlotMs } from '../../src/domain/probePacing.js';
import { probeAccounts, probeFleet } from '../../src/fleet/probe.js';
import { silentLogger } from '../../src/log/logger.js';
import type { AccountSession, TelegramGateway } from '../../src/telegram/gateway.js';
import { GramjsGateway, type FakeHandler } from '../../src/telegram/gramjs.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { script } from '../support/gramFixtures.js';
import { boxFor } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
const FINE = 'Good news, no limits are currently applied to your account.';

/** A Telegram where every account is fine unless `answers` says otherwise; every probe is recorded. */
function recordingTelegram(
  clock: FakeClock,
  answers: Record<string, string> = {},
): { gateway: TelegramGateway; probes: { account: string; at: number }[] } {
  const probes: { account: string; at: number }[] = [];
  return {
    probes,
    gateway: {
      async client(s: AccountSession) {
        return {
          join: async () => ({ kind: 'joined', title: null }),
          getMe: async () => {
            probes.push({ account: s.sessionName, at: clock.now() });
            return { id: '1', username: s.sessionName, phone: null };
          },
          askSpamBot: async () => answers[s.sessionName] ?? FINE,
          checkJoin: async () => 'pending' as const,
          countChannels: async () => 0,
        };
      },
      async closeAll() {},
    },
  };
}

describe('the probe slot of an account', () => {
  it('is a whole minute of the day derived from the id alone, and consecutive ids are far apart', () => {
    expect(probeSlotMs(7)).toBe(probeSlotMs(7));
    const slots = Array.from({ length: 1440 }, (_, i) => probeSlotMs(i + 1));
    for (const s of slots) {
      expect(s % MIN).toBe(0);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(DAY_MS);
    }
    expect(new Set(slots).size).toBe(1440); // 1,440 accounts: every minute of the day once
    expect(nextSlotAt(3, T0)).toBeGreaterThanOrEqual(T0);
    expect(nextSlotAt(3, T0)).toBeLessThan(T0 + DAY_MS);
    expect((nextSlotAt(3, T0) - probeSlotMs(3)) % DAY_MS).toBe(0);
  });
});

describe.each(DIALECTS)('recover --probe --all on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 30);

  it.skipIf(skip)(
    'cron every 10 min for 2 simulated days: each account once a day at its slot, spread over the day, never all at the first run',
    async () => {
      const clock = new FakeClock(T0);
      const tg = recordingTelegram(clock);
      const deps = { store: f.store, box: boxFor(f.env), clock, gateway: tg.gateway, log: silentLogger };
      const first = await probeFleet(deps);
      expect(first.scheduled).toBe(30);
      // The first run probes only the accounts whose slot is now: the rest wait for theirs.
      expect(first.probed.length).toBeLessThanOrEqual(1);
      const ids = Object.fromEntries(
        (await f.store.db.selectFrom('telegram_accounts').select(['id', 'session_name']).execute()).map((r) => [
          r.session_name,
          r.id,
        ]),
      );
      const perRun: number[] = [first.probed.length];
      for (let t = T0 + 10 * MIN; t <= T0 + 2 * DAY_MS; t += 10 * MIN) {
        clock.set(t);
        const r = await probeFleet(deps);
        expect(r.scheduled).toBe(0);
        expect(r.due).toBe(0); // well under the batch bound: nothing left behind
        perRun.push(r.probed.length);
      }
      // Spread: at most a few accounts a run (30 accounts over 144 runs a day).
      expect(Math.max(...perRun)).toBeLessThanOrEqual(3);
      const byAccount = new Map<string, number[]>();
      for (const p of tg.probes) byAccount.set(p.account, [...(byAccount.get(p.account) ?? []), p.at]);
      expect(byAccount.size).toBe(30);
      // Spread over the day: the first day's 144 runs, most of them probing someone.
      expect(perRun.slice(0, 144).filter((n) => n > 0).length).toBeGreaterThanOrEqual(20);
      for (const [name, times] of byAccount) {
        expect(times.length, name).toBeGreaterThanOrEqual(2);
        expect(times.length, name).toBeLessThanOrEqual(3);
        for (const at of times) {
          // Probed at the first run at or after its slot.
          const slot = nextSlotAt(ids[name]!, at - 10 * MIN + 1);
          expect(at - slot, name).toBeGreaterThanOrEqual(0);
          expect(at - slot, name).toBeLessThan(10 * MIN);
        }
        for (let i = 1; i < times.length; i++) {
          expect(times[i]! - times[i - 1]!, name).toBe(DAY_MS); // once a day, the same time each day
        }
      }
      const row = await f.store.db
        .selectFrom('telegram_accounts')
        .select(['probed_at', 'probe_due_at'])
        .where('session_name', '=', 'acc_00000')
        .executeTakeFirstOrThrow();
      expect(Number(row.probed_at)).toBe(byAccount.get('acc_00000')!.at(-1));
      // Next due: the same slot tomorrow.
      const due = Number(row.probe_due_at);
      expect((due - probeSlotMs(ids.acc_00000!)) % DAY_MS).toBe(0);
      expect(due - Number(row.probed_at)).toBeGreaterThan(DAY_MS - 10 * MIN);
      expect(due - Number(row.probed_at)).toBeLessThanOrEqual(DAY_MS);
    },
  );

  it.skipIf(skip)('a batch bound: the rest stay due, the longest due first, for the next run', async () => {
    const clock = new FakeClock(T0);
    const tg = recordingTelegram(clock);
    const deps = { store: f.store, box: boxFor(f.env), clock, gateway: tg.gateway, log: silentLogger };
    await probeFleet(deps, { batch: 1 }); // schedules
    // Cron was down for a day: every account is due.
    clock.set(T0 + DAY_MS);
    const r1 = await probeFleet(deps, { batch: 10 });
    expect(r1.probed).toHaveLength(10);
    expect(r1.due).toBe(20);
    const r2 = await probeFleet(deps, { batch: 10 });
    expect(r2.probed).toHaveLength(10);
    expect(r2.due).toBe(10);
    expect(new Set([...r1.probed, ...r2.probed].map((p) => p.account)).size).toBe(20);
    // Probed late (past their slot): none comes round again within PROBE_MIN_GAP_MS.
    clock.advance(PROBE_MIN_GAP_MS - MIN);
    const r3 = await probeFleet(deps, { batch: 100 });
    expect(r3.probed.map((p) => p.account).filter((a) => r1.probed.some((p) => p.account === a))).toEqual([]);
  });

  it.skipIf(skip)(
    'finds a spam-blocked account (→ blocked) and an ordinary probe counts as its probe of the day',
    async () => {
      const clock = new FakeClock(T0);
      const tg = recordingTelegram(clock, { acc_00003: 'Your account is now limited until 25 Dec 2026, 14:31 UTC.' });
      const deps = { store: f.store, box: boxFor(f.env), clock, gateway: tg.gateway, log: silentLogger };
      await probeFleet(deps);
      await f.store.db.updateTable('telegram_accounts').set({ probe_due_at: T0 }).execute();
      // acc_00001 has an error: the twice-a-day `recover --probe` probes it first.
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ error_count: 1 })
        .where('session_name', '=', 'acc_00001')
        .execute();
      expect((await probeAccounts(deps)).map((p) => p.account)).toEqual(['acc_00001']);
      const r = await probeFleet(deps);
      expect(r.probed).toHaveLength(29);
      expect(r.probed.map((p) => p.account)).not.toContain('acc_00001');
      expect(r.probed.find((p) => p.account === 'acc_00003')).toMatchObject({
        verdict: 'spam_restricted',
        state: 'blocked',
        until: Date.UTC(2026, 11, 25, 14, 31),
      });
      const row = await f.store.db
        .selectFrom('telegram_accounts')
        .select(['state'])
        .where('session_name', '=', 'acc_00003')
        .executeTakeFirstOrThrow();
      expect(row.state).toBe('blocked');
    },
  );
});

describe.each(DIALECTS)('recover --probe --all through a real TelegramClient on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 4);

  it.skipIf(skip)(
    'revoked sessions (AUTH_KEY_UNREGISTERED, SESSION_REVOKED) → disabled, frozen → frozen, before any join',
    async () => {
      const clock = new FakeClock(T0);
      const answers: Record<number, [number, string]> = {};
      const names = Object.fromEntries(
        (await f.store.db.selectFrom('telegram_accounts').select(['id', 'session_name']).execute()).map((r) => [
          r.session_name,
          r.id,
        ]),
      );
      answers[names.acc_00000!] = [401, 'AUTH_KEY_UNREGISTERED'];
      answers[names.acc_00001!] = [401, 'SESSION_REVOKED'];
      answers[names.acc_00002!] = [420, 'FROZEN_METHOD_INVALID'];
      answers[names.acc_00003!] = [401, 'USER_DEACTIVATED_BAN'];
      const calls: string[] = [];
      // Each account's own connection: the fake network knows which account asks by its client.
      const gateway = new GramjsGatewayPerAccount((s) => {
        const [code, message] = answers[s.accountId]!;
        const sc = script({ 'users.GetUsers': { rpcError: [code, message] } });
        return (req, at) => {
          calls.push(`${s.sessionName}:${req.className}`);
          return sc.handler(req, at);
        };
      });
      const deps = { store: f.store, box: boxFor(f.env), clock, gateway, log: silentLogger };
      await probeFleet(deps);
      clock.advance(DAY_MS);
      try {
        const r = await probeFleet(deps);
        expect(Object.fromEntries(r.probed.map((p) => [p.account, [p.verdict, p.state]]))).toEqual({
          acc_00000: ['unauthorized', 'disabled'],
          acc_00001: ['unauthorized', 'disabled'],
          acc_00002: ['frozen', 'frozen'],
          acc_00003: ['banned', 'banned'],
        });
      } finally {
        await gateway.closeAll();
      }
      expect(calls.filter((c) => c.endsWith(':users.GetUsers'))).toHaveLength(4);
      const rows = Object.fromEntries(
        (await f.store.db.selectFrom('telegram_accounts').select(['session_name', 'state']).execute()).map((r) => [
          r.session_name,
          r.state,
        ]),
      );
      expect(rows).toEqual({ acc_00000: 'disabled', acc_00001: 'disabled', acc_00002: 'frozen', acc_00003: 'banned' });
      // Found: from now on they are the plain `recover --probe`'s (twice a day); --all leaves them.
      clock.advance(DAY_MS);
      const later = await probeFleet({ ...deps, gateway: new GramjsGatewayPerAccount(() => script({}).handler) });
      expect(later.probed).toEqual([]);
      expect(later.due).toBe(0);
    },
  );
});

/** One real GramjsGateway per account, each over its own scripted fake network. */
class GramjsGatewayPerAccount implements TelegramGateway {
  private readonly gateways: GramjsGateway[] = [];
  constructor(private readonly network: (s: AccountSession) => FakeHandler) {}
  async client(s: AccountSession) {
    const gw = new GramjsGateway({ fakeNetwork: this.network(s) });
    this.gateways.push(gw);
    return gw.client(s);
  }
  async closeAll() {
    await Promise.all(this.gateways.map((g) => g.closeAll()));
  }
}
