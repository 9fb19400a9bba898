// A separate OS process that leases and releases accounts as fast as it can, through the
// library build (dist/). Prints one JSON line per held interval, then a summary line.
// Usage: node lease-worker.mjs DB_URL CYCLES ACTION HOLDER [HOLD_MS]
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
    out.push(JSON.stringify({ account: r.lease.accountId, token: r.lease.token, start, end }));
  } catch (e) {
    errors.push(String(e && e.code ? `${e.code}: ${e.message}` : e));
  }
}
await store.close();
out.push(JSON.stringify({ summary: true, holder, leased, refused, errors, latencies }));
process.stdout.write(out.join('\n') + '\n');
