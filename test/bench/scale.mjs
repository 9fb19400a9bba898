// npm run bench:scale — the commands an operator looks at, on a fleet of BENCH_ACCOUNTS (100,000)
// Telegram accounts with a busy day's action log, twice as many join targets and 1,000 Instagram
// sessions, on SQLite and on Postgres (ACCTCTL_TEST_POSTGRES_URL). Each command runs as a whole
// process (wall time and peak RSS from /usr/bin/time) next to the same queries run directly in
// this process. The store is filled with bulk inserts, not through the CLI.
//
// BENCH_ROOT=/path/to/an/older/build runs the whole-process half against that build (the "before"
// column: its own schema, no direct queries).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const ROOT = resolve(process.env.BENCH_ROOT ?? fileURLToPath(new URL('../../', import.meta.url)));
const BEFORE = Boolean(process.env.BENCH_ROOT);
const BIN = join(ROOT, 'bin/acctctl.js');
const dist = (p) => import(join(ROOT, 'dist', p));
const { openStore, FakeClock } = await dist('index.js');
const { migrateToLatest } = await dist('store/migrations.js');
const { sql } = await import('kysely');

const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 100_000);
const TARGETS = 2 * ACCOUNTS;
const IG = Number(process.env.BENCH_IG ?? 1000);
const TENANTS = 10; // tenant t0 holds a tenth of the accounts: the 10,000-row listing
const ACTIONS_PER_ACCOUNT = 5;
const PG = process.env.ACCTCTL_TEST_POSTGRES_URL;
const NOW = Date.now();
const DAY0 = Date.parse(new Date(NOW).toISOString().slice(0, 10) + 'T00:00:00Z');

const dir = mkdtempSync(join(tmpdir(), 'acctctl-scale-'));
const pgDbs = [];
async function pgDb(suffix) {
  const name = `acctctl_scale_${process.pid}_${suffix}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  pgDbs.push(name);
  const u = new URL(PG);
  u.pathname = '/' + name;
  return u.toString();
}
async function dropPg() {
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  for (const n of pgDbs) await admin.query(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
  await admin.end();
}

async function insertChunks(db, table, n, make, chunk = 1000) {
  for (let i = 0; i < n; i += chunk) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + chunk); j++) rows.push(make(j));
    await db.insertInto(table).values(rows).execute();
  }
}

const STATES = [
  ['active', 90],
  ['flood_wait', 3],
  ['cooldown', 2],
  ['blocked', 2],
  ['frozen', 1],
  ['disabled', 1],
  ['banned', 1],
];
function stateOf(j) {
  let k = j % 100;
  for (const [s, share] of STATES) {
    if (k < share) return s;
    k -= share;
  }
  return 'active';
}
const NICHES = ['crypto', 'news', 'games', 'music', 'sport', 'travel', 'food', 'tech'];
const TSTATUS = ['new', 'new', 'new', 'joined', 'joined', 'pending_approval', 'error', 'banned'];

async function populate(url) {
  const store = await openStore(url, { schema: 'none' });
  await migrateToLatest(store.db, store.caps);
  const db = store.db;
  await insertChunks(db, 'tenants', TENANTS, (j) => ({ name: `t${j}`, created_at: NOW }));
  const tenantIds = (await db.selectFrom('tenants').select('id').orderBy('name').execute()).map((t) => t.id);
  const fake = 'v1.k000000000000.' + randomBytes(24).toString('base64url');
  await insertChunks(db, 'telegram_accounts', ACCOUNTS, (j) => {
    const state = stateOf(j);
    return {
      session_name: `acc_${String(j).padStart(6, '0')}`,
      tenant_id: tenantIds[j % TENANTS],
      api_id: 1,
      api_hash_enc: fake,
      string_session_enc: fake,
      created_at: NOW,
      updated_at: NOW,
      state,
      state_until: ['flood_wait', 'cooldown', 'blocked'].includes(state) ? NOW + 3_600_000 : null,
      state_reason: state === 'active' ? null : `${state.toUpperCase()}_BENCH`,
      last_error: state === 'active' ? null : `${state.toUpperCase()}_BENCH`,
      lease_holder: j % 100 === 0 ? 'bench' : null,
      lease_token: j % 100 === 0 ? 1 : null,
      lease_expires_at: j % 100 === 0 ? NOW + 600_000 : null,
      ...(BEFORE ? {} : { lease_count: j % 7 }),
    };
  });
  const accIds = (await db.selectFrom('telegram_accounts').select('id').orderBy('id').execute()).map((a) => a.id);
  const acts = ['message', 'message', 'message', 'invite', 'join'];
  const span = Math.max(1, NOW - DAY0);
  await insertChunks(
    db,
    'action_log',
    ACCOUNTS * ACTIONS_PER_ACCOUNT,
    (j) => ({
      account_id: accIds[Math.floor(j / ACTIONS_PER_ACCOUNT)],
      action: acts[j % ACTIONS_PER_ACCOUNT],
      channel: j % ACTIONS_PER_ACCOUNT === 3 ? `@ch${j % 500}` : null,
      at: DAY0 + ((j * 7919) % span),
      ok: j % 23 === 0 ? 0 : 1,
    }),
    2000,
  );
  if (!BEFORE) {
    await insertChunks(db, 'error_log', ACCOUNTS / 20, (j) => ({
      account_id: accIds[j * 20],
      kind: ['FLOOD_WAIT', 'PEER_FLOOD', 'NETWORK'][j % 3],
      at: NOW - (j % 3600) * 1000,
    }));
  }
  await insertChunks(db, 'targets', TARGETS, (j) => {
    const status = TSTATUS[j % TSTATUS.length];
    return {
      ref: `@bench_group_${j}`,
      kind: 'username',
      value: `bench_group_${j}`,
      niche: NICHES[j % NICHES.length],
      status,
      account_id: status === 'joined' || status === 'pending_approval' ? accIds[j % ACCOUNTS] : null,
      joined_at: status === 'joined' ? NOW - (j % 5) * 86_400_000 : null,
      warmup_ends_at: null,
      next_attempt_at: null,
      error_message: status === 'error' ? 'USERNAME_INVALID' : null,
      lease_holder: null,
      lease_token: null,
      lease_expires_at: null,
      created_at: NOW,
      updated_at: NOW,
    };
  });
  const IGSTATES = [
    'valid',
    'valid',
    'valid',
    'valid',
    'valid',
    'valid',
    'expired',
    'refreshing',
    'needs_manual',
    'failed',
  ];
  await insertChunks(db, 'ig_accounts', IG, (j) => ({
    tenant_id: tenantIds[j % TENANTS],
    username: `ig_${j}`,
    state: IGSTATES[j % IGSTATES.length],
    created_at: NOW,
    updated_at: NOW,
    session_created_at: NOW - 86_400_000,
    rate_limited_until: j % 50 === 0 ? NOW + 60_000 : null,
  }));
  const igIds = (await db.selectFrom('ig_accounts').select('id').execute()).map((i) => i.id);
  await insertChunks(db, 'ig_requests', IG * 20, (j) => ({
    ig_account_id: igIds[j % IG],
    kind: j % 2 ? 'profile' : 'friendships',
    at: NOW - (j % 600) * 1000,
  }));
  await insertChunks(db, 'watches', IG, (j) => ({
    tenant_id: tenantIds[j % TENANTS],
    username: `w_${j}`,
    kind: j % 3 ? 'exists' : 'followers',
    created_at: NOW,
  }));
  const watchIds = (await db.selectFrom('watches').select('id').execute()).map((w) => w.id);
  await insertChunks(db, 'check_jobs', 100, (j) => ({
    watch_id: watchIds[j],
    kind: 'followers',
    status: ['in_progress', 'paused', 'completed', 'failed'][j % 4],
    started_at: NOW,
    updated_at: NOW,
  }));
  if (String(url).startsWith('postgres')) await sql`analyze`.execute(db);
  await store.close();
}

/** Wall time and peak RSS of one whole acctctl process. */
function run(args, env) {
  return new Promise((res, rej) => {
    const c = spawn('/usr/bin/time', ['-f', '%e %M %U %S', process.execPath, BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ACCTCTL_LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    let bytes = 0;
    c.stdout.on('data', (d) => (bytes += d.length));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => {
      const last = err.trim().split('\n').at(-1) ?? '';
      const [secs, kb, user, sys] = last.split(' ').map(Number);
      if (code !== 0) return rej(new Error(`acctctl ${args.join(' ')} exited ${code}: ${err.slice(-800)}`));
      res({ secs, mb: kb / 1024, cpu: user + sys, bytes });
    });
  });
}

async function direct(fn) {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

function makeImportFile(path, n) {
  return dist('domain/stringSession.js').then(({ encodeStringSession }) => {
    const rows = [];
    for (let i = 0; i < n; i++) {
      rows.push({
        session_name: `imp_${String(i).padStart(6, '0')}`,
        api_id: 100000 + (i % 1000),
        api_hash: randomBytes(16).toString('hex'),
        string_session: encodeStringSession({
          dcId: 2,
          serverAddress: '149.154.167.51',
          port: 443,
          authKey: randomBytes(256),
        }),
        tenant: `t${i % TENANTS}`,
      });
    }
    writeFileSync(path, JSON.stringify(rows));
    return rows;
  });
}

if (process.env.BENCH_FILL_ONLY) {
  // Fill one store (a SQLite path or a postgres:// URL) and stop: for looking at query plans.
  await populate(process.env.BENCH_FILL_ONLY);
  process.exit(0);
}

const results = []; // { what, dialect, proc: {secs, mb}, direct }
const fmt = (x) => (x === undefined ? '–' : x.toFixed(2));

const keyFile = join(dir, 'bench.key');
{
  const k = await run(['keys', 'generate', '--out', keyFile], {});
  void k;
}
const importFile = join(dir, 'accounts_config.json');
await makeImportFile(importFile, ACCOUNTS);

const dialects = [
  {
    name: 'sqlite',
    url: join(dir, 'scale.db'),
    importUrl: () => join(dir, `import-${randomBytes(3).toString('hex')}.db`),
  },
];
if (PG)
  dialects.push({
    name: 'postgres',
    url: await pgDb('main'),
    importUrl: () => pgDb(`imp${randomBytes(3).toString('hex')}`),
  });
else console.log('NOTE: Postgres skipped (set ACCTCTL_TEST_POSTGRES_URL to include it)');

for (const d of dialects) {
  const t0 = performance.now();
  await populate(d.url);
  console.log(
    `${d.name}: store filled in ${((performance.now() - t0) / 1000).toFixed(1)} s (${ACCOUNTS} accounts, ${ACCOUNTS * ACTIONS_PER_ACCOUNT} actions today, ${TARGETS} targets, ${IG} Instagram sessions)`,
  );
  const env = { DATABASE_URL: d.url, ACCTCTL_KEY_FILE: keyFile };
  const metrics = join(dir, `${d.name}.prom`);
  const store = BEFORE ? null : await openStore(d.url);
  const mods = BEFORE
    ? null
    : {
        status: await dist('fleet/status.js'),
        accounts: await dist('store/accounts.js'),
        listing: await dist('commands/support/listing.js'),
      };
  const deps = store && { store, clock: new FakeClock(Date.now()), timeZone: 'UTC' };
  const csvAll = async (filter) => {
    let n = 0;
    let after = null;
    for (;;) {
      const page = await mods.accounts.accountsPage(store, filter, after, 1000, Date.now());
      n += page.map((r) => Object.values(r).join(',')).join('\n').length;
      if (page.length < 1000) break;
      after = page.at(-1).name;
    }
    return n;
  };
  const cases = [
    ['status', ['status'], () => mods.status.status(deps)],
    ['status --json', ['--json', 'status'], async () => JSON.stringify(await mods.status.status(deps))],
    [
      'status --metrics-file F',
      ['status', '--metrics-file', metrics],
      async () => mods.status.toPrometheus(await mods.status.status(deps)),
    ],
    [
      'accounts list --limit 50',
      BEFORE ? ['accounts', 'list'] : ['accounts', 'list', '--limit', '50'],
      async () => {
        await mods.accounts.countAccounts(store, {}, Date.now());
        await mods.accounts.accountsPage(store, {}, null, 50, Date.now());
      },
    ],
    [
      `accounts list --all --csv (${ACCOUNTS / TENANTS} rows)`,
      ['accounts', 'list', '--all', '--csv', '--tenant', 't0'],
      () => csvAll({ tenant: 't0' }),
    ],
    [`accounts list --all --csv (${ACCOUNTS} rows)`, ['accounts', 'list', '--all', '--csv'], () => csvAll({})],
  ];
  for (const [what, args, fn] of cases) {
    if (BEFORE && what.includes('--csv')) continue; // the old build has no --csv/--all
    if (BEFORE && ACCOUNTS > 10_000 && !what.startsWith('status --json')) continue; // hours
    let proc;
    try {
      proc = await run(args, env);
    } catch (e) {
      proc = { error: e.message.split('\n')[0] };
    }
    const dt = BEFORE ? undefined : await direct(fn);
    results.push({ what, dialect: d.name, proc, direct: dt });
    console.log(
      `  ${d.name} ${what}: process ${fmt(proc.secs)} s (cpu ${fmt(proc.cpu)} s), ${fmt(proc.mb)} MB; direct ${fmt(dt)} s`,
    );
  }
  if (store) await store.close();

  // accounts import of ACCOUNTS rows into an empty store: whole process, then the same functions directly.
  const impUrl = await d.importUrl();
  if (d.name === 'postgres') await run(['migrate'], { DATABASE_URL: impUrl, ACCTCTL_KEY_FILE: keyFile });
  let proc;
  try {
    // The bench's tenants are new to this store: the CLI refuses unknown tenants unless asked.
    const create = BEFORE ? [] : ['--create-tenant'];
    proc = await run(['accounts', 'import', ...create, importFile], {
      DATABASE_URL: impUrl,
      ACCTCTL_KEY_FILE: keyFile,
    });
  } catch (e) {
    proc = { error: e.message.split('\n')[0] };
  }
  let dt;
  let url2;
  if (!BEFORE) {
    url2 = await d.importUrl();
    const s2 = await openStore(url2, { schema: 'none' });
    await migrateToLatest(s2.db, s2.caps);
    const acc = await dist('fleet/accounts.js');
    const { loadKeyRing } = await dist('security/keyring.js');
    const { SecretBox } = await dist('security/secretBox.js');
    const box = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
    dt = await direct(async () => {
      const rows = acc.parseAccountsFile(importFile, readFileSync(importFile, 'utf8'));
      await acc.importAccounts({ store: s2, box, clock: new FakeClock(Date.now()) }, rows);
    });
    await s2.close();
  }
  results.push({ what: `accounts import (${ACCOUNTS} rows)`, dialect: d.name, proc, direct: dt });
  console.log(
    `  ${d.name} accounts import: process ${fmt(proc.secs)} s (cpu ${fmt(proc.cpu)} s), ${fmt(proc.mb)} MB; direct ${fmt(dt)} s`,
  );

  // keys rotate of the imported accounts' secrets (api hash and session of each: 2 × ACCOUNTS):
  // whole process on the store the process import filled, then the same function directly on the
  // store the direct import filled. Each works on its own copy of the key file (rotate rewrites it).
  const rotWhat = `keys rotate (${2 * ACCOUNTS} secrets)`;
  let rot;
  if (proc.error) rot = { error: 'no store: the import failed' };
  else {
    const rotKey = join(dir, `rotate-${d.name}.key`);
    copyFileSync(keyFile, rotKey);
    try {
      rot = await run(['keys', 'rotate'], { DATABASE_URL: impUrl, ACCTCTL_KEY_FILE: rotKey });
    } catch (e) {
      rot = { error: e.message.split('\n')[0] };
    }
  }
  let rotDt;
  if (url2) {
    const rotKey = join(dir, `rotate-direct-${d.name}.key`);
    copyFileSync(keyFile, rotKey);
    const { rotateKeys } = await dist('fleet/keys.js');
    const s3 = await openStore(url2);
    const log = { error() {}, warn() {}, info() {}, debug() {}, close() {} };
    rotDt = await direct(() => rotateKeys({ store: s3, log }, { keyFile: rotKey, secretKeyEnv: undefined }));
    await s3.close();
  }
  results.push({ what: rotWhat, dialect: d.name, proc: rot, direct: rotDt });
  console.log(
    `  ${d.name} ${rotWhat}: process ${fmt(rot.secs)} s (cpu ${fmt(rot.cpu)} s), ${fmt(rot.mb)} MB; direct ${fmt(rotDt)} s`,
  );
}

// One side-by-side table.
const whats = [...new Set(results.map((r) => r.what))];
const cell = (r) =>
  !r
    ? '–'
    : r.proc.error
      ? `failed: ${r.proc.error.slice(0, 40)}`
      : `${fmt(r.proc.secs)} s (cpu ${fmt(r.proc.cpu)}) ${r.proc.mb.toFixed(0)} MB / ${fmt(r.direct)} s`;
const head = ['command', ...dialects.map((d) => `${d.name}: process wall (cpu) peak RSS / direct queries`)];
const rows = whats.map((w) => [
  w,
  ...dialects.map((d) => cell(results.find((r) => r.what === w && r.dialect === d.name))),
]);
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join(' | ');
const os = await import('node:os');
console.log(
  `\nload average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${os.cpus().length} cores`,
);
console.log(
  `\nbench:scale — ${ACCOUNTS} accounts, ${ACCOUNTS * ACTIONS_PER_ACCOUNT} actions today, ${TARGETS} targets, ${IG} Instagram sessions${BEFORE ? ` (build at ${ROOT})` : ''}`,
);
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
for (const r of rows) console.log(line(r));
const lin = (dn) => {
  const small = results.find((r) => r.dialect === dn && r.what.includes(`(${ACCOUNTS / TENANTS} rows)`));
  const big = results.find((r) => r.dialect === dn && r.what.includes(`(${ACCOUNTS} rows)`) && r.what.includes('csv'));
  return small && big && !small.proc.error && !big.proc.error ? (big.proc.secs / small.proc.secs).toFixed(1) : '–';
};
if (!BEFORE)
  console.log(
    `\nlinearity (--all --csv, 10× the rows): ${dialects.map((d) => `${d.name} ${lin(d.name)}× the time`).join(', ')}`,
  );

if (PG) await dropPg();
rmSync(dir, { recursive: true, force: true });
