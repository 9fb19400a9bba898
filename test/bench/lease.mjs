// npm run bench:lease — lease+release by 4 OS processes on a SQLite file and on Postgres
// (ACCTCTL_TEST_POSTGRES_URL), through acctctl (test/support/lease-worker.mjs) and, in the same
// run and process shape, the raw baseline (test/support/lease-raw-worker.mjs: better-sqlite3 or
// pg running the identical statements, taken from the store module, with acctctl's SQLite
// settings); rounds alternate between the two so load noise hits both. Then reset-limits and
// recover on 100,000 accounts against the same SQL run directly. One line per dialect and figure.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { sql } from 'kysely';
import { openStore, AccountManager, FakeClock } from 'acctctl';

const PROCS = Number(process.env.BENCH_PROCS ?? 4);
/** Cycles per process and per side (acctctl, raw), over ROUNDS alternating rounds. */
const CYCLES = Number(process.env.BENCH_CYCLES ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const workers = {
  // BENCH_ACCTCTL_WORKER: another build's lease-worker.mjs (e.g. a checkout of an older commit), for before/after.
  acctctl: process.env.BENCH_ACCTCTL_WORKER || fileURLToPath(new URL('../support/lease-worker.mjs', import.meta.url)),
  raw: fileURLToPath(new URL('../support/lease-raw-worker.mjs', import.meta.url)),
};
const PG = process.env.ACCTCTL_TEST_POSTGRES_URL;

const dbs = [];
const dir = mkdtempSync(join(tmpdir(), 'acctctl-bench-'));
dbs.push({ name: 'sqlite', url: join(dir, 'bench.db'), drop: async () => {} });
if (PG) {
  const name = `acctctl_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG);
  u.pathname = '/' + name;
  dbs.push({
    name: 'postgres',
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: PG });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  });
} else {
  console.log('NOTE: Postgres skipped (set ACCTCTL_TEST_POSTGRES_URL to include it)');
}

async function insertAccounts(store, n, now) {
  await store.db
    .insertInto('tenants')
    .values({
      name: 'bench',
      created_at: now,
      limits_json: JSON.stringify({ message: { per_hour: 1000000, per_day: 1000000, gap_seconds: 0, burst: null } }),
    })
    .execute();
  const tenant = (await store.db.selectFrom('tenants').select('id').executeTakeFirst()).id;
  const fake = 'v1.k000000000000.' + randomBytes(24).toString('base64url');
  for (let i = 0; i < n; i += 1000) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      rows.push({
        session_name: `b${j}`,
        tenant_id: tenant,
        api_id: 1,
        api_hash_enc: fake,
        string_session_enc: fake,
        created_at: now,
        updated_at: now,
      });
    }
    await store.db.insertInto('telegram_accounts').values(rows).execute();
  }
}

const pct = (a, p) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((a.length * p) / 100))];
const median = (a) => pct(a, 50);

/** A worker process, started and opened; `go()` starts its cycles, `done` is its summary. */
function startWorker(kind, url, cycles, holder) {
  const c = spawn(process.execPath, [workers[kind], url, String(cycles), 'message', holder, '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, LEASE_WORKER_GO: '1', LEASE_WORKER_QUIET: '1' },
  });
  let out = '';
  let onReady;
  const ready = new Promise((res) => (onReady = res));
  c.stdout.on('data', (d) => {
    out += d;
    if (out.startsWith('ready\n')) onReady();
  });
  const done = new Promise((resolve, reject) =>
    c.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`${kind} worker ${code}`)),
    ),
  );
  return { ready, done, go: () => c.stdin.end('go\n') };
}

/** PROCS processes of one kind, started together once all are open; time from first start to last end. */
async function round(kind, url, cycles, r) {
  const ws = Array.from({ length: PROCS }, (_, i) => startWorker(kind, url, cycles, `${kind}${r}.${i}`));
  await Promise.all(ws.map((w) => w.ready));
  for (const w of ws) w.go();
  const sums = await Promise.all(ws.map((w) => w.done));
  return {
    leased: sums.reduce((a, x) => a + x.leased, 0),
    ms: Math.max(...sums.map((x) => x.end)) - Math.min(...sums.map((x) => x.start)),
    latencies: sums.flatMap((x) => x.latencies),
    errors: sums.flatMap((x) => x.errors),
  };
}

for (const d of dbs) {
  // -- leases: 200 accounts with limits out of the way.
  const store = await openStore(d.url, { schema: 'none' });
  const { migrateToLatest } = await import('../../dist/store/migrations.js');
  await migrateToLatest(store.db, store.caps);
  await insertAccounts(store, 200, Date.now());
  await store.close();
  const sides = {
    acctctl: { leased: 0, ms: 0, latencies: [], errors: [] },
    raw: { leased: 0, ms: 0, latencies: [], errors: [] },
  };
  const per = Math.ceil(CYCLES / ROUNDS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of r % 2 ? ['raw', 'acctctl'] : ['acctctl', 'raw']) {
      const x = await round(kind, d.url, per, r);
      const s = sides[kind];
      s.leased += x.leased;
      s.ms += x.ms;
      s.latencies.push(...x.latencies);
      s.errors.push(...x.errors);
    }
  }
  const rate = (s) => s.leased / (s.ms / 1000);
  const a = sides.acctctl;
  const b = sides.raw;
  console.log(
    `${d.name} lease+release: acctctl ${rate(a).toFixed(0)} cycles/s, raw ${rate(b).toFixed(0)} cycles/s, ratio ${(rate(a) / rate(b)).toFixed(2)}` +
      ` (${PROCS} processes × ${per * ROUNDS} cycles each side, ${ROUNDS} alternating rounds; p50/p99 acctctl ` +
      `${median(a.latencies).toFixed(2)}/${pct(a.latencies, 99).toFixed(2)} ms, raw ${median(b.latencies).toFixed(2)}/${pct(b.latencies, 99).toFixed(2)} ms` +
      `${a.errors.length + b.errors.length ? `; errors: acctctl ${a.errors.length}, raw ${b.errors.length}` : ''})`,
  );
  if (a.errors.length + b.errors.length) console.log(`  first error: ${[...a.errors, ...b.errors][0]}`);
}

for (const d of dbs) {
  // -- maintenance on ACCOUNTS accounts: a third in expired timed states, a tenth with expired leases.
  const url = d.name === 'sqlite' ? join(dir, 'maint.db') : d.url;
  const store = await openStore(url, { schema: 'none' });
  const { migrateToLatest } = await import('../../dist/store/migrations.js');
  await migrateToLatest(store.db, store.caps);
  await store.db.deleteFrom('telegram_accounts').execute();
  await store.db.deleteFrom('tenants').execute();
  const now = Date.parse('2026-11-23T12:00:00Z');
  await insertAccounts(store, ACCOUNTS, now);
  const setup = async () => {
    await sql`update telegram_accounts set state = case when id % 3 = 0 then 'cooldown' else 'active' end,
      state_until = case when id % 3 = 0 then cast(${now - 1} as bigint) else null end,
      lease_holder = case when id % 10 = 0 then 'dead' else null end,
      lease_token = case when id % 10 = 0 then 1 else null end,
      lease_expires_at = case when id % 10 = 0 then cast(${now - 1} as bigint) else null end`.execute(store.db);
    await store.db.deleteFrom('limit_resets').execute();
    await store.db.deleteFrom('events').execute();
  };
  const fleet = new AccountManager({ store, clock: new FakeClock(now) });
  const timed = sql`'flood_wait', 'cooldown', 'blocked'`;
  const raw = {
    recover: () =>
      store.writeTx(async (tx) => {
        await sql`insert into events (at, kind, subject_type, subject_id, tenant_id, message, data_json)
          select ${now}, 'account_state', 'telegram_account', id, tenant_id, session_name || ': ' || state || ' → active (recover)', null
          from telegram_accounts where state in (${timed}) and state_until <= ${now}`.execute(tx);
        await sql`update telegram_accounts set state = 'active', state_until = null, state_reason = state, updated_at = ${now}
          where state in (${timed}) and state_until <= ${now} returning session_name, state_reason`.execute(tx);
        await sql`update telegram_accounts set lease_holder = null, lease_token = null, lease_expires_at = null,
          lease_action = null, lease_channel = null, fence = fence + 1, updated_at = ${now}
          where lease_holder is not null and lease_expires_at <= ${now} returning session_name`.execute(tx);
        await sql`update targets set status = case when status = 'joining' then 'new' else status end,
          lease_holder = null, lease_token = null, lease_expires_at = null, updated_at = ${now}
          where lease_holder is not null and lease_expires_at <= ${now}`.execute(tx);
        await sql`update check_jobs set lease_holder = null, lease_token = null, lease_expires_at = null, updated_at = ${now}
          where lease_holder is not null and lease_expires_at <= ${now}`.execute(tx);
        await sql`select session_name, state, state_reason, last_error from telegram_accounts where state in ('frozen', 'disabled', 'banned') order by session_name`.execute(
          tx,
        );
      }),
    resetLimits: () =>
      store.writeTx(async (tx) => {
        await sql`select count(*) from telegram_accounts`.execute(tx);
        await sql`insert into limit_resets (account_id, day, at) select id, '2026-11-23', ${now} from telegram_accounts where true on conflict (account_id, day) do nothing`.execute(
          tx,
        );
        await sql`update telegram_accounts set error_count = 0 where id in (select account_id from limit_resets where day = '2026-11-23' and at = ${now})`.execute(
          tx,
        );
        await sql`delete from action_log where at < ${now - 30 * 86400000}`.execute(tx);
        await sql`delete from limit_resets where at < ${now - 30 * 86400000}`.execute(tx);
      }),
  };
  const mine = { recover: () => fleet.recover(), resetLimits: () => fleet.resetLimits() };
  for (const op of ['recover', 'resetLimits']) {
    const a = [];
    const b = [];
    for (let i = 0; i < REPS; i++) {
      for (const [list, fn] of i % 2
        ? [
            [a, mine[op]],
            [b, raw[op]],
          ]
        : [
            [b, raw[op]],
            [a, mine[op]],
          ]) {
        await setup();
        const t = performance.now();
        await fn();
        list.push(performance.now() - t);
      }
    }
    console.log(
      `${d.name.padEnd(8)} ${op.padEnd(11)} on ${ACCOUNTS} accounts: acctctl ${median(a).toFixed(0)} ms, raw SQL ${median(b).toFixed(0)} ms, ratio ${(median(a) / median(b)).toFixed(2)}x (median of ${REPS}, interleaved)`,
    );
  }
  await store.close();
}
for (const d of dbs) await d.drop();
rmSync(dir, { recursive: true, force: true });
