// Leases N accounts through the library build, prints their tokens, then keeps running (so a
// test can SIGKILL it while it holds them). Usage: node hold-worker.mjs DB_URL N TTL_MS
import { openStore, AccountManager, systemClock } from 'acctctl';

const [url, n, ttl] = process.argv.slice(2);
const store = await openStore(url);
const fleet = new AccountManager({ store, clock: systemClock });
const tokens = [];
for (let i = 0; i < Number(n); i++) {
  const r = await fleet.lease({ action: 'invite', channel: 'c1', holder: `doomed:${process.pid}`, ttlMs: Number(ttl) });
  if (r.ok) tokens.push(r.lease.token);
}
process.stdout.write(JSON.stringify(tokens) + '\n');
setInterval(() => {}, 1000);
