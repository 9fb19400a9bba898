import { sql } from 'kysely';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import type { Store } from './store.js';

/** Host and database clocks further apart than this: warned about, and `doctor` fails. */
export const CLOCK_SKEW_LIMIT_MS = 5_000;

/**
 * How far the database's clock is ahead of `clock` (ms; negative: behind), or null when the store
 * has no clock of its own to follow (SQLite). Measured against the midpoint of the round trip.
 */
export async function databaseClockOffset(store: Store, clock: Clock): Promise<number | null> {
  if (store.caps.databaseNowMs === null) return null;
  let best: { rtt: number; offset: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const t0 = clock.now();
    const r = await sql<{ now: number | string }>`select ${sql.raw(store.caps.databaseNowMs)} as now`.execute(store.db);
    const t1 = clock.now();
    const offset = Number(r.rows[0]!.now) - (t0 + t1) / 2;
    // The fastest round trip bounds the error best.
    if (!best || t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset };
  }
  return Math.round(best!.offset);
}

/**
 * One clock per decision. On a store shared by several hosts (Postgres), a run's real-time clock
 * is corrected to the database's time, measured once when the store is opened: every lease,
 * claim, reset day and retention cut-off of the run is then in database time, whatever this
 * host's clock says (a skew beyond 5 s is also logged as a warning). Simulated clocks (tests,
 * benchmarks) and SQLite stores (one host) are returned as they are.
 */
export async function alignClock(store: Store, clock: Clock, log?: Logger): Promise<Clock> {
  if (!clock.wall) return clock;
  const offset = await databaseClockOffset(store, clock);
  if (offset === null || offset === 0) return clock;
  if (Math.abs(offset) > CLOCK_SKEW_LIMIT_MS) {
    log?.warn(
      "this host's clock differs from the database's: using the database's time → sync this host's clock (NTP)",
      {
        hostAheadBySeconds: -offset / 1000,
      },
    );
  }
  // Already in database time: never corrected twice.
  return { now: () => clock.now() + offset, wall: false };
}
