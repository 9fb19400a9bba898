// npm run bench:events — peak RSS of the listings issue 21 bounded: `events --limit N --json`,
// `events --limit N` (table form) and `watch followers` exports (--json, --csv, human) over
// BENCH_ROWS (1,000,000) events and a snapshot of as many followers, on SQLite. Each command runs as
// a whole process (wall time and peak RSS from /usr/bin/time); stdout is read and counted, not kept.
// The store is filled with bulk inserts in this process, not through the CLI.
//
// BENCH_ROOT=/path/to/an/older/build runs the commands of that build (the "before" column); the
// store is filled with this build's schema when its migrations are a superset.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = resolve(fileURLToPath(new URL('../../', import.meta.url)));
const ROOT = resolve(process.env.BENCH_ROOT ?? HERE);
const BIN = join(ROOT, 'bin/acctctl.js');
const { openStore } = await import(join(ROOT, 'dist', 'index.js'));
const { migrateToLatest } = await import(join(ROOT, 'dist', 'store/migrations.js'));

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const NOW = Date.parse('2026-12-01T12:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'acctctl-events-mem-'));

async function insertChunks(db, table, n, make, chunk = 2000) {
  for (let i = 0; i < n; i += chunk) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) rows.push(make(j));
    await db.insertInto(table).values(rows).execute();
  }
}

async function populate(url) {
  const store = await openStore(url, { schema: 'none' });
  await migrateToLatest(store.db, store.caps);
  const db = store.db;
  await db.insertInto('tenants').values({ name: 'acme', created_at: NOW }).execute();
  const tenantId = (await db.selectFrom('tenants').select('id').executeTakeFirstOrThrow()).id;
  const KINDS = ['account_state', 'ig_refreshed', 'watch_changed', 'ig_failed'];
  await store.writeTx(async (tx) => {
    await insertChunks(tx, 'events', ROWS, (j) => ({
      at: NOW - (ROWS - j) * 1000,
      kind: KINDS[j % KINDS.length],
      subject_type: 'fleet',
      subject_id: null,
      tenant_id: tenantId,
      message: `event number ${j}: something happened to the fleet`,
      data_json: JSON.stringify({ j, note: 'x'.repeat(j % 40) }),
    }));
  });
  const watchId = (
    await db
      .insertInto('watches')
      .values({ tenant_id: tenantId, username: 'star', kind: 'followers', created_at: NOW })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  const jobId = (
    await db
      .insertInto('check_jobs')
      .values({
        watch_id: watchId,
        kind: 'followers',
        status: 'completed',
        started_at: NOW,
        updated_at: NOW,
        completed_at: NOW,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  await store.writeTx(async (tx) => {
    await insertChunks(tx, 'check_job_items', ROWS, (j) => ({
      job_id: jobId,
      ig_user_id: String(10_000_000_000 + j),
      username: `fan_${(j * 7919) % ROWS}`,
      full_name: `Fan Number ${j}`,
      is_private: j % 2,
    }));
  });
  await store.close();
}

/** Wall time and peak RSS of one whole acctctl process; stdout counted, not kept. */
function run(args, env) {
  return new Promise((res) => {
    const c = spawn('/usr/bin/time', ['-f', '%e %M', process.execPath, BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ACCTCTL_LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    let bytes = 0;
    c.stdout.on('data', (d) => (bytes += d.length));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => {
      const lines = err.trim().split('\n');
      const [secs, kb] = (lines.at(-1) ?? '').split(' ').map(Number);
      const why =
        code === 0 ? '' : (lines.slice(0, -1).find((l) => /error|exceeded|heap/i.test(l)) ?? lines.at(-2) ?? '');
      res({ code, secs, mb: kb / 1024, bytes, why: why.slice(0, 120) });
    });
  });
}

try {
  const url = join(dir, 'events.db');
  const keyFile = join(dir, 'bench.key');
  await run(['keys', 'generate', '--out', keyFile], {});
  const t0 = performance.now();
  await populate(url);
  console.log(
    `sqlite: ${ROWS} events and a ${ROWS}-follower snapshot in ${((performance.now() - t0) / 1000).toFixed(1)} s; build ${ROOT}`,
  );
  const env = { DATABASE_URL: url, ACCTCTL_KEY_FILE: keyFile };
  const cases = [
    ['events', '--limit', String(ROWS), '--json'],
    ['events', '--limit', String(ROWS)],
    ['--json', 'watch', 'followers', 'star', '--tenant', 'acme'],
    ['watch', 'followers', 'star', '--tenant', 'acme', '--csv'],
    ['watch', 'followers', 'star', '--tenant', 'acme'],
  ];
  for (const args of cases) {
    const r = await run(
      args[0] === 'events' && args.includes('--json') ? ['--json', ...args.filter((a) => a !== '--json')] : args,
      env,
    );
    console.log(
      `${('acctctl ' + args.join(' ')).padEnd(62)} exit ${String(r.code).padEnd(3)} ${r.secs.toFixed(1).padStart(6)} s  peak RSS ${r.mb.toFixed(0).padStart(5)} MB  stdout ${(r.bytes / 1e6).toFixed(0)} MB${r.why ? `  (${r.why})` : ''}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
