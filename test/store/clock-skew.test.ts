import { describe, expect, it } from 'vitest';
import { doctor } from '../../src/commands/doctor.js';
import { withStore, type Ctx } from '../../src/commands/support/context.js';
import { loadConfig } from '../../src/config/config.js';
import { FakeClock, systemClock, type Clock } from '../../src/domain/clock.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import { alignClock, databaseClockOffset } from '../../src/store/dbClock.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';

const HOUR = 3_600_000;

/** A host whose clock runs `skewMs` ahead of real time (the database's). */
const hostClock = (skewMs: number): Clock => ({ now: () => Date.now() + skewMs, wall: true });

function capturingLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: 'warn', stderr: (l) => lines.push(l) }), lines };
}

/**
 * One clock per decision: on Postgres every decision of a run is in the database's time, however
 * wrong the host's clock is. The skewed host clocks are injected; the database is real.
 */
describe.each(DIALECTS)('clock skew on $name', (dialect) => {
  const f = useFleetStore(dialect, 1);
  const pg = dialect.name === 'postgres';

  it.skipIf(dialect.skip)('a host 15 s fast cannot take an account another host leased for 10 s', async () => {
    if (!pg) {
      // One host: its process clock decides; a simulated clock is never touched either way.
      const fake = new FakeClock();
      expect(await alignClock(f.store, fake)).toBe(fake);
      expect(await alignClock(f.store, systemClock)).toBe(systemClock);
      expect(await databaseClockOffset(f.store, systemClock)).toBeNull();
      return;
    }
    const a = new AccountManager({ store: f.store, clock: await alignClock(f.store, systemClock) });
    const held = await a.lease({ action: 'join', holder: 'host-a', ttlMs: 10_000 });
    expect(held.ok).toBe(true);

    const { log, lines } = capturingLogger();
    const fast = hostClock(15_000);
    const b = new AccountManager({ store: f.store, clock: await alignClock(f.store, fast, log) });
    const r = await b.lease({ action: 'join', holder: 'host-b', ttlMs: 10_000 });
    expect(r.ok).toBe(false);
    expect(lines.join('')).toMatch(/this host's clock differs from the database's.*hostAheadBySeconds=1[45](\.\d+)?\s/);

    // Control: the same host going by its own clock would have taken it (the bug this prevents).
    const naive = new AccountManager({ store: f.store, clock: fast });
    expect((await naive.lease({ action: 'join', holder: 'host-b-naive', ttlMs: 10_000 })).ok).toBe(true);
  });

  it.skipIf(dialect.skip || !pg)(
    'a host 30 h ahead running reset-limits neither resets twice nor prunes today’s rows',
    async () => {
      const a = new AccountManager({ store: f.store, clock: await alignClock(f.store, systemClock), timeZone: 'UTC' });
      const first = await a.resetLimits({ retentionDays: 1 });
      expect(first.accountsReset).toBe(1);
      const acc = await f.store.db.selectFrom('telegram_accounts').select('id').executeTakeFirstOrThrow();
      await f.store.db
        .insertInto('action_log')
        .values({ account_id: acc.id, action: 'join', channel: null, at: Date.now() - HOUR, ok: 1 })
        .execute();
      await f.store.db.updateTable('telegram_accounts').set({ error_count: 3 }).execute();

      const ahead = hostClock(30 * HOUR);
      const b = new AccountManager({ store: f.store, clock: await alignClock(f.store, ahead), timeZone: 'UTC' });
      const second = await b.resetLimits({ retentionDays: 1 });
      expect(second).toMatchObject({ day: first.day, accountsReset: 0, alreadyReset: 1, actionLogPruned: 0 });
      expect(await f.store.db.selectFrom('action_log').selectAll().execute()).toHaveLength(1);
      expect(await f.store.db.selectFrom('limit_resets').selectAll().execute()).toHaveLength(1);
      expect(
        (await f.store.db.selectFrom('telegram_accounts').select('error_count').executeTakeFirst())?.error_count,
      ).toBe(3);

      // Control: going by its own clock, that host resets "tomorrow" and prunes today's log.
      const naive = await new AccountManager({ store: f.store, clock: ahead, timeZone: 'UTC' }).resetLimits({
        retentionDays: 1,
      });
      expect(naive.day).not.toBe(first.day);
      expect(naive.actionLogPruned).toBe(1);
    },
  );

  it.skipIf(dialect.skip || !pg)(
    'every CLI run goes by the database clock; doctor fails past 5 s of skew',
    async () => {
      const config = loadConfig({ db: f.env.DATABASE_URL }, { ACCTCTL_KEY_FILE: f.env.ACCTCTL_KEY_FILE });
      const ctx = { config, log: capturingLogger().log, clock: hostClock(20_000) } as unknown as Ctx;
      await withStore(ctx, async () => {
        expect(Math.abs(ctx.clock.now() - Date.now())).toBeLessThan(2_000);
      });
      expect(ctx.clock.now() - Date.now()).toBeGreaterThan(19_000); // restored afterwards

      const bad = (await doctor(config, hostClock(6_000))).find((c) => c.check === 'clock agrees with the database');
      expect(bad).toMatchObject({ ok: false, severity: 'error', exitCode: 78 });
      expect(bad?.detail).toMatch(/this host is [56]\.\d s ahead of the database/);
      expect(bad?.fix).toMatch(/NTP/);
      const good = (await doctor(config, systemClock)).find((c) => c.check === 'clock agrees with the database');
      expect(good?.ok).toBe(true);
    },
  );
});
