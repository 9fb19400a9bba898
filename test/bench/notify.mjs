// npm run bench:notify — (1) deliveries per second from the outbox to a loopback webhook, 10,000
// events; (2) `events --since 1d` on 1,000,000 events: acctctl (in process, and the CLI as a
// process) against the same SQL run directly on the driver, with the query plan (index used).
// SQLite, and Postgres when ACCTCTL_TEST_POSTGRES_URL is set.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { sql } from 'kysely';
import Database from 'better-sqlite3';
import { openStore, systemClock } from 'acctctl';
import { notify } from '../../dist/fleet/notify.js';
import { eventsQuery, listEvents } from '../../dist/store/events.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000);
const BIG = Number(process.env.BENCH_BIG ?? 1_000_000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const PG = process.env.ACCTCTL_TEST_POSTGRES_URL;
const BIN = fileURLToPath(new URL('../../bin/acctctl.js', import.meta.url));
const DAY = 86_400_000;
const silent = { error() {}, warn() {}, info() {}, debug() {}, close() {} };
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const dir = mkdtempSync(join(tmpdir(), 'acctctl-bench-notify-'));
const keyFile = join(dir, 'key');
spawnSync(process.execPath, [BIN, 'keys', 'generate', '--out', keyFile], { stdio: 'ignore' });

async function pgDb(tag) {
  const name = `acctctl_bench_${tag}_${process.pid}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG);
  u.pathname = '/' + name;
  return {
    url: u.toString(),
    drop: async () => {
      const a = new pg.Client({ connectionString: PG });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function databases(tag) {
  const out = [{ name: 'sqlite', url: join(dir, `${tag}.db`), drop: async () => {} }];
  if (PG) out.push({ name: 'postgres', ...(await pgDb(tag)) });
  return out;
}

function migrate(url) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, 'migrate'], {
      env: { PATH: process.env.PATH, DATABASE_URL: url, ACCTCTL_KEY_FILE: keyFile },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`migrate exited ${code}`))));
  });
}

/** N events ending now, spread evenly over `spanMs`, in one statement. */
async function fill(store, name, n, spanMs, kind) {
  const now = Date.now();
  const step = Math.max(1, Math.floor(spanMs / n));
  const series =
    name === 'postgres'
      ? sql`select i from generate_series(1, ${n}) as s(i)`
      : sql`with recursive s(i) as (select 1 union all select i + 1 from s where i < ${n}) select i from s`;
  await sql`insert into events (at, kind, subject_type, subject_id, tenant_id, message, data_json)
    select cast(${now} as bigint) - cast(i as bigint) * cast(${step} as bigint), ${kind ?? sql`case i % 4 when 0 then 'account_state' when 1 then 'watch_changed' when 2 then 'ig_refreshed' else 'followers_diff' end`},
      'fleet', null, null, 'bench event ' || cast(i as text), null
    from (${series}) x`.execute(store.db);
}

console.log(`acctctl bench:notify — ${new Date().toISOString()} (2 shared cores; other work was running)`);

// (1) Deliveries per second to a loopback webhook.
let received = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    received++;
    res.writeHead(204);
    res.end();
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${server.address().port}/hook`;
for (const d of await databases('deliver')) {
  await migrate(d.url);
  const store = await openStore(d.url);
  await fill(store, d.name, EVENTS, 10 * 60_000, sql`'account_needs_person'`);
  received = 0;
  const t0 = performance.now();
  const r = await notify({
    store,
    clock: systemClock,
    config: {
      minSeverity: 'warning',
      webhook: { url: hookUrl, secret: 'bench-secret-000000' },
      telegram: undefined,
      telegramApiUrl: 'http://127.0.0.1:9',
    },
    log: silent,
    budgetMs: 600_000,
  });
  const ms = performance.now() - t0;
  console.log(
    `${d.name.padEnd(8)} notify: ${r.delivered} of ${EVENTS} events delivered (webhook saw ${received}, signed) in ${(ms / 1000).toFixed(2)} s → ${Math.round(r.delivered / (ms / 1000))} deliveries/s (scan + enqueue + claim + POST + mark)`,
  );
  await store.close();
  await d.drop();
}
server.close();

// (2) events --since 1d on 1,000,000 events (BENCH_BIG=0 skips it).
for (const d of BIG > 0 ? await databases('events') : []) {
  await migrate(d.url);
  const store = await openStore(d.url);
  const t0 = performance.now();
  await fill(store, d.name, BIG, 100 * DAY);
  if (d.name === 'postgres') await sql`analyze events`.execute(store.db);
  else await sql`analyze`.execute(store.db);
  console.log(
    `${d.name.padEnd(8)} ${BIG} events over 100 days inserted in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  for (const limit of [100, 20_000]) {
    const f = { sinceMs: Date.now() - DAY, kinds: [], limit };
    const compiled = eventsQuery(store, f).compile();
    const plan =
      d.name === 'postgres'
        ? (
            await sql
              .raw(`explain ${compiled.sql.replace(/\$(\d+)/g, (_m, k) => pgLiteral(compiled.parameters[k - 1]))}`)
              .execute(store.db)
          ).rows
            .map((r) => r['QUERY PLAN'].trim())
            .filter((l) => /events|Limit|Sort/.test(l))
            .join(' | ')
        : (await sql.raw(`explain query plan ${inline(compiled)}`).execute(store.db)).rows
            .map((r) => r.detail)
            .join(' | ');
    let raw;
    if (d.name === 'postgres') {
      const c = new pg.Client({ connectionString: d.url });
      await c.connect();
      raw = { run: async () => (await c.query(compiled.sql, compiled.parameters)).rows.length, close: () => c.end() };
    } else {
      const db = new Database(d.url, { readonly: true });
      const stmt = db.prepare(compiled.sql);
      raw = { run: async () => stmt.all(...compiled.parameters).length, close: async () => db.close() };
    }
    const a = [];
    const b = [];
    const cli = [];
    let rows = 0;
    for (let i = 0; i < REPS; i++) {
      let t = performance.now();
      rows = (await listEvents(store, { ...f, sinceMs: Date.now() - DAY })).length;
      a.push(performance.now() - t);
      t = performance.now();
      await raw.run();
      b.push(performance.now() - t);
      t = performance.now();
      await new Promise((resolve, reject) => {
        const c = spawn(process.execPath, [BIN, 'events', '--since', '1d', '--limit', String(limit), '--json'], {
          env: { PATH: process.env.PATH, DATABASE_URL: d.url, ACCTCTL_KEY_FILE: keyFile },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`events exited ${code}`))));
      });
      cli.push(performance.now() - t);
    }
    await raw.close();
    console.log(
      `${d.name.padEnd(8)} events --since 1d --limit ${limit} (${rows} rows): acctctl in process ${median(a).toFixed(1)} ms, same SQL on the driver ${median(b).toFixed(1)} ms (ratio ${(median(a) / median(b)).toFixed(2)}x), the CLI as a process ${median(cli).toFixed(0)} ms (median of ${REPS}, interleaved)`,
    );
    console.log(`${' '.repeat(9)}plan: ${plan}`);
  }
  await store.close();
  await d.drop();
}
rmSync(dir, { recursive: true, force: true });

function pgLiteral(v) {
  return typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;
}
function inline(c) {
  let i = 0;
  return c.sql.replace(/\?/g, () => pgLiteral(c.parameters[i++]));
}
