// A separate OS process that leases and releases accounts as fast as it can, through the
// library build (dist/). Prints one JSON line per held interval, then a summary line.
// Usage: node lease-worker.mjs DB_URL CYCLES ACTION HOLDER [HOLD_MS]
// LEASE_WORKER_GO=1: print "ready" once open, then start on a line on stdin (bench:lease starts
// all workers together); LEASE_WORKER_QUIET=1: the summary line only.
import { createInterface } from 'node:readline';
import { openStore, AccountManager, systemClock } from 'acctctl';

const [url, cyclesArg, action, holder, holdArg] = process.argv.slice(2);
const cycles = Number(cyclesArg);
const holdMs = Number(holdArg ?? 0);
const store = await openStore(url);
const fleet = new AccountManager({ store, clock: systemClock });
const wall = () => performance.timeOrigin + performance.now();
let leased = 0;
let refused = 0;
const errors = [];
const latencies = [];
const out = [];
const quiet = process.env.LEASE_WORKER_QUIET === '1';
if (process.env.LEASE_WORKER_GO === '1') {
  process.stdout.write('ready\n');
  await new Promise((res) => createInterface({ input: process.stdin }).once('line', res));
}
const loopStart = wall();
for (let i = 0; i < cycles; i++) {
  try {
    const t0 = performance.now();
    const r = await fleet.lease({ action, holder, ttlMs: 60_000 });
    if (!r.ok) {
      refused++;
      latencies.push(performance.now() - t0);
      continue;
    }
    const start = wall();
    if (holdMs) await new Promise((res) => setTimeout(res, holdMs));
    const end = wall();
    await fleet.release(r.lease.token, { used: { [action]: 1 } });
    latencies.push(performance.now() - t0);
    leased++;
    if (!quiet) out.push(JSON.stringify({ account: r.lease.accountId, token: r.lease.token, start, end }));
  } catch (e) {
    errors.push(String(e && e.code ? `${e.code}: ${e.message}` : e));
  }
}
const loopEnd = wall();
await store.close();
out.push(JSON.stringify({ summary: true, holder, leased, refused, errors, latencies, start: loopStart, end: loopEnd }));
process.stdout.write(out.join('\n') + '\n');
