// npm run bench:startup — process start-up cost of the built CLI, as ratios to `node -e 0`
// measured side by side in one run (interleaved, median of N runs each).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_RUNS ?? 15);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 1000);
const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'bin/acctctl.js');
const dir = mkdtempSync(join(tmpdir(), 'acctctl-bench-'));

const { generateKeyFile } = await import(join(root, 'dist/security/keyFiles.js'));
const { importAccounts, parseAccountsFile } = await import(join(root, 'dist/fleet/accounts.js'));
const { encodeStringSession } = await import(join(root, 'dist/domain/stringSession.js'));
const { loadKeyRing } = await import(join(root, 'dist/security/keyring.js'));
const { SecretBox } = await import(join(root, 'dist/security/secretBox.js'));
const { openStore } = await import(join(root, 'dist/store/store.js'));
const { systemClock } = await import(join(root, 'dist/domain/clock.js'));
const { randomBytes } = await import('node:crypto');

const keyFile = join(dir, 'acctctl.key');
const dbFile = join(dir, 'acctctl.db');
generateKeyFile(keyFile);
const rows = Array.from({ length: ACCOUNTS }, (_, i) => ({
  session_name: `bench_${i}`,
  api_id: 1000 + i,
  api_hash: randomBytes(16).toString('hex'),
  string_session: encodeStringSession({
    dcId: 2,
    serverAddress: '149.154.167.51',
    port: 443,
    authKey: randomBytes(256),
  }),
  tenant: `t${i % 10}`,
}));
const store = await openStore({ kind: 'sqlite', path: dbFile });
await importAccounts(
  { store, box: new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined })), clock: systemClock },
  parseAccountsFile('bench', JSON.stringify(rows)),
);
await store.close();

const env = {
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DATABASE_URL: dbFile,
  ACCTCTL_KEY_FILE: keyFile,
  NO_COLOR: '1',
};
const cases = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'acctctl --version': [process.execPath, [bin, '--version']],
  'acctctl status --json': [process.execPath, [bin, '--json', 'status']],
};
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const run = ([cmd, args]) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
};
for (const c of Object.values(cases)) run(c); // warm the file cache
for (let i = 0; i < N; i++) for (const [k, c] of Object.entries(cases)) times[k].push(run(c));
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const base = median(times['node -e 0']);
console.log(`startup, ${N} interleaved runs each, SQLite store with ${ACCOUNTS} accounts, node ${process.version}`);
for (const [k, a] of Object.entries(times)) {
  console.log(
    `${k.padEnd(24)} median ${median(a).toFixed(1).padStart(7)} ms   ratio ${(median(a) / base).toFixed(2)}x`,
  );
}
rmSync(dir, { recursive: true, force: true });
