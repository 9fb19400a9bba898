import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { FakeClock } from '../../src/domain/clock.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { soakCount } from '../support/soak.js';

const WORKER = fileURLToPath(new URL('../support/lease-worker.mjs', import.meta.url));

interface Interval {
  account: number;
  token: string;
  start: number;
  end: number;
}
interface Summary {
  summary: true;
  holder: string;
  leased: number;
  refused: number;
  errors: string[];
}

/**
 * `npm test` runs a shorter race (each account's hourly limit 10, 4 × 32 attempts); `npm run
 * test:soak` the full one (limit 25, 4 × 80 attempts). Either way 4 processes race for 6 accounts
 * until the limit binds.
 */
const PER_HOUR = soakCount(10, 25);
const CYCLES = soakCount(32, 80);

/**
 * A worker process; it opens the store, says "ready" and waits for `go` (all start together, so a
 * slow process start cannot leave one without work).
 */
function worker(
  url: string,
  cycles: number,
  holder: string,
  holdMs: number,
  go: Promise<void>,
  ready: () => void,
): Promise<{ intervals: Interval[]; summary: Summary }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, url, String(cycles), 'message', holder, String(holdMs)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LEASE_WORKER_GO: '1' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      const was = out;
      out += d.toString();
      if (!was.startsWith('ready\n') && out.startsWith('ready\n')) {
        ready();
        void go.then(() => child.stdin.end('go\n'));
      }
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`worker exited ${code}: ${err}`));
      const lines = out
        .slice('ready\n'.length)
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Interval | Summary);
      resolve({
        intervals: lines.filter((l): l is Interval => !('summary' in l)),
        summary: lines.find((l): l is Summary => 'summary' in l)!,
      });
    });
  });
}

describe.each(DIALECTS)('4 processes leasing concurrently on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let store: Store;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    store = (await fleetStore(t, 6)).store;
    // Tight limits so the run hits them: no gaps, 25 per hour per account.
    await new AccountManager({ store, clock: new FakeClock() }).setLimits(
      { tenant: 'acme' },
      { message: { per_hour: PER_HOUR, per_day: 40, gap_seconds: 0, burst: null } },
    );
    await store.close();
  });
  afterEach(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('never two holders of one account at once, no SQLITE_BUSY, no limit exceeded', async () => {
    let start!: () => void;
    const go = new Promise<void>((r) => (start = r));
    let waiting = 4;
    const ready = () => {
      if (--waiting === 0) start();
    };
    const runs = await Promise.all([0, 1, 2, 3].map((i) => worker(t.url, CYCLES, `w${i}`, 2, go, ready)));
    const errors = runs.flatMap((r) => r.summary.errors);
    expect(errors).toEqual([]);
    const all = runs.flatMap((r) => r.intervals);
    const leased = runs.reduce((a, r) => a + r.summary.leased, 0);
    // 6 accounts × 25 per hour = 150 possible; 320 attempts: the limit must bind (soak; in
    // `npm test` 6 × 10 = 60 of 128).
    expect(leased).toBe(6 * PER_HOUR);
    expect(runs.reduce((a, r) => a + r.summary.refused, 0)).toBe(4 * CYCLES - 6 * PER_HOUR);
    expect(new Set(all.map((i) => i.token)).size).toBe(all.length);
    const byAccount = new Map<number, Interval[]>();
    for (const i of all) byAccount.set(i.account, [...(byAccount.get(i.account) ?? []), i]);
    for (const [, list] of byAccount) {
      list.sort((a, b) => a.start - b.start);
      for (let k = 1; k < list.length; k++) expect(list[k]!.start).toBeGreaterThanOrEqual(list[k - 1]!.end);
      expect(list.length).toBeLessThanOrEqual(PER_HOUR);
    }
    // Every process got work: the claim is fair enough that nobody starves.
    for (const r of runs) expect(r.summary.leased).toBeGreaterThan(0);
    const s = await (await import('../../src/store/store.js')).openStore(t.target);
    const counts = await s.db
      .selectFrom('action_log')
      .select(['account_id', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('account_id')
      .execute();
    await s.close();
    expect(counts).toHaveLength(6);
    for (const c of counts) expect(Number(c.n)).toBe(PER_HOUR);
  });
});
