import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { FakeClock } from '../../src/domain/clock.js';
import { ConfigError } from '../../src/errors.js';
import { TelegramCallError } from '../../src/telegram/gateway.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { addTargets, boxFor, runJoin, ScriptedTelegram } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;

describe('ACCTCTL_FLOOD_THRESHOLD', () => {
  it('is read from the environment and checked', () => {
    expect(loadConfig({}, { ACCTCTL_FLOOD_THRESHOLD: '45' }, '/nowhere').floodThresholdSeconds).toBe(45);
    expect(loadConfig({}, {}, '/nowhere').floodThresholdSeconds).toBeUndefined();
    expect(() => loadConfig({}, { ACCTCTL_FLOOD_THRESHOLD: 'ten' }, '/nowhere')).toThrow(ConfigError);
  });
});

describe.each(DIALECTS)('flood policy on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 2);
  const accounts = async () =>
    Object.fromEntries(
      (await f.store.db.selectFrom('telegram_accounts').select(['session_name', 'state', 'state_until']).execute()).map(
        (a) => [a.session_name, a],
      ),
    );
  /** Only acc_00000 works; limits out of the way; its first join answers FLOOD_WAIT_30. */
  async function oneAccount(limits: Record<string, unknown> = {}) {
    await f.store.db
      .updateTable('telegram_accounts')
      .set({ enabled: 0 })
      .where('session_name', '!=', 'acc_00000')
      .execute();
    await f.store.db
      .updateTable('tenants')
      .set({
        limits_json: JSON.stringify({
          join: { gap_seconds: 0, gap_after_failure_seconds: 0, per_hour: 100 },
          ...limits,
        }),
      })
      .execute();
    await addTargets(f.store, ['@g_one', '@g_two']);
    let first = true;
    return new ScriptedTelegram(() => {
      if (first) {
        first = false;
        return new TelegramCallError(
          'FLOOD',
          420,
          30,
          'A wait of 30 seconds is required (caused by channels.JoinChannel)',
        );
      }
      return { kind: 'joined', title: null };
    });
  }

  it.skipIf(skip)('a flood wait the run can sit out within --max-wait keeps the account in the rotation', async () => {
    const clock = new FakeClock(T0);
    const tg = await oneAccount();
    const s = await runJoin(f.store, clock, tg, boxFor(f.env), { batch: 2, maxWaitMs: 5 * MIN });
    expect(s.results.map((r) => [r.target, r.account, r.outcome])).toEqual([
      ['@g_one', 'acc_00000', 'joined'],
      ['@g_two', 'acc_00000', 'joined'],
    ]);
    expect(tg.calls.map((c) => c.target)).toEqual(['@g_one', '@g_one', '@g_two']);
    expect(clock.now()).toBeGreaterThanOrEqual(T0 + 30_000);
  });

  it.skipIf(skip)('without --max-wait the same flood wait leaves the rest for later runs', async () => {
    const clock = new FakeClock(T0);
    const tg = await oneAccount();
    const s = await runJoin(f.store, clock, tg, boxFor(f.env), { batch: 2 });
    expect(s.counts.joined).toBe(0);
    expect((await accounts()).acc_00000).toMatchObject({ state: 'flood_wait', state_until: T0 + 30_000 });
  });

  it.skipIf(skip)(
    'the threshold per run (--flood-threshold) turns a 30 s wait into a cooldown for the run',
    async () => {
      const clock = new FakeClock(T0);
      const tg = await oneAccount();
      const s = await runJoin(f.store, clock, tg, boxFor(f.env), {
        batch: 2,
        maxWaitMs: 5 * MIN,
        floodThresholdSeconds: 20,
      });
      expect(s.counts.joined).toBe(0);
      expect(tg.calls).toHaveLength(1);
      expect((await accounts()).acc_00000).toMatchObject({ state: 'cooldown', state_until: T0 + 30_000 });
    },
  );

  it.skipIf(skip)('a tenant’s own threshold in its limits wins over the run’s', async () => {
    const clock = new FakeClock(T0);
    const tg = await oneAccount({ flood_threshold_seconds: 10 });
    await runJoin(f.store, clock, tg, boxFor(f.env), { batch: 2, maxWaitMs: 5 * MIN, floodThresholdSeconds: 600 });
    expect((await accounts()).acc_00000).toMatchObject({ state: 'cooldown' });
  });

  it.skipIf(skip)(
    'CLI: ACCTCTL_FLOOD_THRESHOLD decides flood_wait or cooldown; a bad --flood-threshold is a usage error',
    async () => {
      const report = async (env: Record<string, string>) => {
        const l = await runCli(['lease', '--action', 'message'], { env });
        expect(l.code, l.stderr).toBe(0);
        const r = await runCli(['--json', 'report-error', l.stdout.trim(), 'FLOOD_WAIT_100'], { env });
        expect(r.code, r.stderr).toBe(0);
        return JSON.parse(r.stdout) as { state: string };
      };
      expect((await report(f.env)).state).toBe('flood_wait');
      expect((await report({ ...f.env, ACCTCTL_FLOOD_THRESHOLD: '50' })).state).toBe('cooldown');
      const bad = await runCli(['join', '--flood-threshold', 'soon'], { env: f.env });
      expect(bad.code).toBe(64);
      expect(bad.stderr).toContain('--flood-threshold "soon" → give a duration from 0 to 1d');
    },
  );
});
