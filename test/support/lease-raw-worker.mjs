// The raw baseline of bench:lease: a separate OS process that runs, on a bare driver
// (better-sqlite3, or pg), the very statements acctctl's lease and release run — their text
// taken from the store module (dist/store/leases.js), on a connection with acctctl's SQLite
// settings — with no decisions in between: it claims from the first page whatever it read.
// Waits for "go" on stdin, then prints one JSON summary line like lease-worker.mjs.
// Usage: node lease-raw-worker.mjs DB_URL CYCLES ACTION HOLDER
import { createInterface } from 'node:readline';
import { bind, leaseStatements, usedList, CANDIDATE_PAGE } from '../../dist/store/leases.js';
import { postgresCaps, sqliteCaps, SQLITE_BUSY_TIMEOUT_MS, SQLITE_PRAGMAS } from '../../dist/store/dialects.js';

const [url, cyclesArg, action, holder] = process.argv.slice(2);
const cycles = Number(cyclesArg);
const isPg = /^postgres(ql)?:/.test(url);
const caps = isPg ? postgresCaps : sqliteCaps;
const st = leaseStatements(caps, { action, tenant: false, account: false, exclude: false });
const DAY = 86_400_000;
const HOUR = 3_600_000;
const used = { [action]: 1 };

let query; // (statement, values) => rows
let releaseTx; // (values, leaseRowFn) => row
let close;
if (isPg) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const names = new Map();
  const q = async (stmt, values) => {
    if (!names.has(stmt.text)) names.set(stmt.text, `raw_${names.size + 1}`);
    return (await client.query({ name: names.get(stmt.text), text: stmt.text, values: bind(stmt, values) })).rows;
  };
  query = q;
  releaseTx = async (values) => (await q(st.release, values))[0];
  close = () => client.end();
} else {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(url.replace(/^sqlite:/, ''), { timeout: SQLITE_BUSY_TIMEOUT_MS });
  for (const p of SQLITE_PRAGMAS) db.pragma(p);
  const stmts = new Map();
  const prep = (text) => {
    let s = stmts.get(text);
    if (!s) stmts.set(text, (s = db.prepare(text)));
    return s;
  };
  const run = (stmt, values) => {
    const s = prep(stmt.text);
    const p = bind(stmt, values);
    if (s.reader) return s.all(...p);
    s.run(...p);
    return [];
  };
  query = async (stmt, values) => run(stmt, values);
  const begin = prep(caps.beginWrite);
  const commit = prep('COMMIT');
  releaseTx = async (values) => {
    begin.run();
    try {
      const row = run(st.release, values)[0];
      if (row) run(st.releaseLog, { ...values, leaseAction: row.lease_action, leaseChannel: row.lease_channel });
      commit.run();
      return row;
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw e;
    }
  };
  close = async () => db.close();
}

process.stdout.write('ready\n');
await new Promise((res) => createInterface({ input: process.stdin }).once('line', res));

let leased = 0;
let refused = 0;
const errors = [];
const latencies = [];
const start = performance.timeOrigin + performance.now();
for (let i = 0; i < cycles; i++) {
  try {
    const t0 = performance.now();
    let lease = null;
    for (let attempt = 0; attempt < 8 && !lease; attempt++) {
      const now = Date.now();
      const rows = await query(st.candidates, {
        now,
        action,
        since: Math.min(now - (now % DAY), now - 2 * HOUR),
        limit: CANDIDATE_PAGE,
        offset: 0,
      });
      const values = { now, holder, expiresAt: now + 60_000, action, channel: null };
      const seen = [...new Map(rows.map((r) => [r.id, r.fence])).entries()];
      if (seen.length === 0) break;
      for (let k = 0; k < CANDIDATE_PAGE; k++) {
        values[`id${k}`] = seen[k]?.[0] ?? null;
        values[`fence${k}`] = seen[k]?.[1] ?? null;
      }
      lease = (await query(st.claim, values))[0] ?? null;
    }
    if (!lease) {
      refused++;
      latencies.push(performance.now() - t0);
      continue;
    }
    const row = await releaseTx({
      id: lease.id,
      fence: lease.lease_token,
      now: Date.now(),
      used: 1,
      actions: caps.listParam(usedList(used)),
    });
    if (!row) throw new Error('lease lost');
    latencies.push(performance.now() - t0);
    leased++;
  } catch (e) {
    errors.push(String(e && e.code ? `${e.code}: ${e.message}` : e));
  }
}
const end = performance.timeOrigin + performance.now();
await close();
process.stdout.write(JSON.stringify({ summary: true, holder, leased, refused, errors, latencies, start, end }) + '\n');
