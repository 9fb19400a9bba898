import { describe, expect, it } from 'vitest';
import { join, type JoinOptions } from '../../src/fleet/join.js';
import { FakeClock } from '../../src/domain/clock.js';
import { silentLogger } from '../../src/log/logger.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { addTargets, boxFor, ScriptedTelegram } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;

/**
 * A join run that waits (--max-wait) for an account must not lose the group it claimed: its claim
 * is renewed while it waits, and when it was lost anyway (the process stalled past the claim time)
 * the run stops for that target without calling Telegram. Simulated time; a 1-minute claim TTL.
 */
describe.each(DIALECTS)('join claims on $name', (dialect) => {
  const f = useFleetStore(dialect, 3);

  const members = (tg: ScriptedTelegram, target: string) =>
    tg.calls.filter((c) => c.target === target).map((c) => c.account);

  async function setup() {
    const clock = new FakeClock(T0);
    await addTargets(f.store, ['@g_one'], 'n', clock);
    // Every account rests for 20 minutes: a run with --max-wait must wait for one.
    await f.store.db
      .updateTable('telegram_accounts')
      .set({ state: 'flood_wait', state_until: T0 + 20 * MIN })
      .execute();
    const tg = new ScriptedTelegram(() => ({ kind: 'joined', title: 'G' }));
    return { clock, tg, box: boxFor(f.env) };
  }

  const opts = (o: Partial<JoinOptions>): JoinOptions => ({
    niche: 'n',
    batch: 10,
    dryRun: false,
    maxWaitMs: 0,
    timeZone: 'UTC',
    ttlMs: MIN,
    ...o,
  });

  it.skipIf(dialect.skip)(
    'a run waiting past the claim TTL keeps its claim: a second run cannot take the group',
    async () => {
      const { clock, tg, box } = await setup();
      let second: Awaited<ReturnType<typeof join>> | undefined;
      // Run A waits 20 minutes for an account; half-way (long past its 1-minute claim), run B starts.
      const a = await join(
        {
          store: f.store,
          clock,
          gateway: tg,
          box,
          log: silentLogger,
          sleep: async (ms) => {
            clock.advance(ms);
            if (second === undefined && clock.now() >= T0 + 10 * MIN) {
              second = await join(
                { store: f.store, clock, gateway: tg, box, log: silentLogger, sleep: async (x) => clock.advance(x) },
                opts({ maxWaitMs: 30 * MIN, holder: 'run-b' }),
              );
            }
          },
        },
        opts({ maxWaitMs: 30 * MIN, holder: 'run-a' }),
      );
      expect(second).toBeDefined();
      expect(second!.claimed).toBe(0); // A's claim was renewed while it waited
      expect(a.counts.joined).toBe(1);
      expect(members(tg, '@g_one')).toHaveLength(1);
      const row = await f.store.db.selectFrom('targets').selectAll().executeTakeFirstOrThrow();
      expect(row.status).toBe('joined');
    },
  );

  it.skipIf(dialect.skip)(
    'a run that stalled past its claim while another took the group does not call Telegram for it',
    async () => {
      const { clock, tg, box } = await setup();
      let second: Awaited<ReturnType<typeof join>> | undefined;
      const a = await join(
        {
          store: f.store,
          clock,
          gateway: tg,
          box,
          log: silentLogger,
          // A's first sleep stalls (a paused VM, a stopped process) until after the accounts are
          // free; meanwhile run B claims the expired target and joins it.
          sleep: async (ms) => {
            clock.advance(ms);
            if (second === undefined) {
              clock.set(T0 + 21 * MIN);
              second = await join(
                { store: f.store, clock, gateway: tg, box, log: silentLogger, sleep: async (x) => clock.advance(x) },
                opts({ holder: 'run-b' }),
              );
            }
          },
        },
        opts({ maxWaitMs: 30 * MIN, holder: 'run-a' }),
      );
      expect(second!.counts.joined).toBe(1);
      expect(a.counts.joined).toBe(0);
      expect(a.results).toEqual([
        { target: '@g_one', account: null, outcome: 'queued', detail: 'claim lost to another run; not tried here' },
      ]);
      expect(members(tg, '@g_one')).toHaveLength(1); // Telegram was called once, by B
      const row = await f.store.db.selectFrom('targets').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ status: 'joined', lease_holder: null });
    },
  );

  it.skipIf(dialect.skip)('pinTarget reports whether the claim was still ours', async () => {
    const { pinTarget, claimTargets } = await import('../../src/store/targetClaims.js');
    const clock = new FakeClock(T0);
    await addTargets(f.store, ['@g_one'], 'n', clock);
    const [t] = await claimTargets(f.store, { niche: 'n', batch: 1, holder: 'a', token: 11, ttlMs: MIN, now: T0 });
    const acc = await f.store.db.selectFrom('telegram_accounts').select('id').executeTakeFirstOrThrow();
    expect(await pinTarget(f.store, { id: t!.id, token: 11 }, acc.id, T0 + 1, MIN)).toBe(true);
    // Expired and claimed by another run (new token): the old holder's pin matches nothing.
    const again = await claimTargets(f.store, {
      niche: 'n',
      batch: 1,
      holder: 'b',
      token: 22,
      ttlMs: MIN,
      now: T0 + 5 * MIN,
    });
    expect(again).toHaveLength(1);
    expect(await pinTarget(f.store, { id: t!.id, token: 11 }, acc.id, T0 + 5 * MIN, MIN)).toBe(false);
    const row = await f.store.db.selectFrom('targets').selectAll().executeTakeFirstOrThrow();
    expect(row.lease_token).toBe(22);
  });
});
