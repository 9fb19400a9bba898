#!/usr/bin/env node
// The library from a service team's side: pack acctctl (`npm pack`), install the tarball in a
// fresh project in a temp dir, compile the README's "Use from another service" example under
// strict TypeScript, and run it against SQLite (and Postgres when ACCTCTL_TEST_POSTGRES_URL is
// set). Also checks that a service which forgets close() still exits. Exit 0 = all good.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const keep = process.argv.includes('--keep');
const log = (m) => process.stdout.write(`consumer: ${m}\n`);
const fail = (m) => {
  process.stderr.write(`consumer: FAILED: ${m}\n`);
  process.exit(1);
};
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15 * 60_000, ...opts });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};

// 1. The example, from the README (the ```ts block after the consumer-example marker).
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const m = /<!-- consumer-example[\s\S]*?-->\s*```ts\n([\s\S]*?)```/.exec(readme);
if (!m) fail('README.md has no ```ts block after <!-- consumer-example -->');
const example = m[1];
if (/\bany\b/.test(example.replace(/\/\/.*$/gm, ''))) fail('the README example uses `any`');

// 2. Pack and install in a fresh project.
const dir = mkdtempSync(join(tmpdir(), 'acctctl-consumer-'));
const project = join(dir, 'service');
mkdirSync(join(project, 'src'), { recursive: true });
try {
  run('npm', ['run', 'build'], { cwd: ROOT });
  const tarball = run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT })
    .trim()
    .split('\n')
    .pop();
  log(`packed ${tarball}`);
  const devVersion = (name) =>
    JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'service', version: '1.0.0', private: true, type: 'module' }, null, 2),
  );
  // Scripts are skipped and better-sqlite3's addon is copied from this checkout when the versions
  // match (building it from source takes minutes); otherwise it is rebuilt.
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--ignore-scripts',
      join(dir, tarball),
      `typescript@${devVersion('typescript')}`,
      `@types/node@${devVersion('@types/node')}`,
    ],
    { cwd: project },
  );
  const addon = join('node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (
    devVersion('better-sqlite3') ===
    JSON.parse(readFileSync(join(project, 'node_modules/better-sqlite3/package.json'), 'utf8')).version
  ) {
    mkdirSync(join(project, addon, '..'), { recursive: true });
    copyFileSync(join(ROOT, addon), join(project, addon));
  } else {
    run('npm', ['rebuild', 'better-sqlite3'], { cwd: project });
  }
  log('installed the tarball in a fresh project');

  // 3. Compile under strict TypeScript (the package's own .d.ts files are checked too).
  writeFileSync(join(project, 'src', 'service.ts'), example);
  writeFileSync(
    join(project, 'src', 'forgetful.ts'),
    `import { openFleet } from 'acctctl';\n` +
      `// A service that forgets close(): the process must still end on its own.\n` +
      `const fleet = await openFleet();\n` +
      `const r = await fleet.lease({ action: 'message' });\n` +
      `console.log(r.ok ? 'leased' : 'none free');\n`,
  );
  // The project's tsconfig is `tsc --init`'s, with only the changes the README asks for ("Use from
  // another service"): target es2022 (tsc lowers `await using` for Node 20), a lib with
  // esnext.disposable, and types ["node"] (acctctl's .d.ts use Buffer; checked: skipLibCheck
  // false). Its defaults are strict, noUncheckedIndexedAccess, exactOptionalPropertyTypes.
  const tsc = join(project, 'node_modules', '.bin', 'tsc');
  run(tsc, ['--init'], { cwd: project });
  const tsconfig = readFileSync(join(project, 'tsconfig.json'), 'utf8');
  const edited = tsconfig
    .replace(/"types": \[[^\]]*\]/, '"types": ["node"]')
    .replace(/"target": "[^"]*",/, '"target": "es2022",\n    "lib": ["es2022", "esnext.disposable", "dom"],');
  if (edited === tsconfig) fail('tsc --init wrote no "target" to change');
  writeFileSync(join(project, 'tsconfig.json'), edited);
  run(tsc, ['-p', '.', '--outDir', 'dist', '--rootDir', 'src', '--skipLibCheck', 'false'], { cwd: project });
  log("the README example compiles with tsc --init defaults (strict) and the README's changes");
  copyFileSync(
    join(project, 'node_modules', 'acctctl', 'accounts_config.example.json'),
    join(project, 'accounts_config.json'),
  );
  const bin = join(project, 'node_modules', '.bin', 'acctctl');

  // 4. Run it against each database.
  const targets = [{ name: 'SQLite', url: join(dir, 'fleet.db'), cleanup: () => {} }];
  const pgUrl = process.env.ACCTCTL_TEST_POSTGRES_URL;
  if (pgUrl) {
    const dbName = `acctctl_consumer_${randomBytes(4).toString('hex')}`;
    const psql = (sqlText) =>
      execFileSync(
        process.execPath,
        [
          '-e',
          `const pg=require('pg');const c=new pg.Client({connectionString:process.argv[1]});c.connect().then(()=>c.query(process.argv[2])).then(()=>c.end(),e=>{console.error(e.message);process.exit(1)})`,
          pgUrl,
          sqlText,
        ],
        { cwd: project, stdio: 'inherit' },
      );
    psql(`CREATE DATABASE ${dbName}`);
    const u = new URL(pgUrl);
    u.pathname = `/${dbName}`;
    targets.push({
      name: 'Postgres',
      url: u.toString(),
      cleanup: () => psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`),
    });
  } else {
    log('Postgres SKIPPED: set ACCTCTL_TEST_POSTGRES_URL to run the example against Postgres too');
  }
  for (const t of targets) {
    try {
      const keyFile = join(dir, `${t.name}.key`);
      // Only what a service's environment would hold; nothing of this checkout's settings.
      // Active hours around the clock: the example's lease must be granted at whatever hour CI runs.
      const env = {
        PATH: process.env.PATH,
        HOME: dir,
        DATABASE_URL: t.url,
        ACCTCTL_KEY_FILE: keyFile,
        ACCTCTL_ACTIVE_HOURS: '00:00-24:00',
        NO_COLOR: '1',
      };
      run(bin, ['keys', 'generate'], { cwd: project, env });
      run(bin, ['migrate'], { cwd: project, env });
      const out = run(process.execPath, ['dist/service.js'], { cwd: project, env, timeout: 60_000 });
      for (const want of [
        /^imported 3 accounts \(3 new\)$/m,
        /^demo_bob: active, enabled true$/m,
        /^leased demo_\w+ \(token \d+\.\d+, \d+ invites allowed now\)$/m,
        /^released demo_\w+$/m,
        /^after close: ClosedError$/m,
      ]) {
        if (!want.test(out)) fail(`${t.name}: the example's output lacks ${want}:\n${out}`);
      }
      log(`${t.name}: the README example ran: ${out.trim().split('\n').length} lines of output as expected`);
      const f = spawnSync(process.execPath, ['dist/forgetful.js'], {
        cwd: project,
        env,
        encoding: 'utf8',
        timeout: 8_000,
      });
      if (f.status !== 0)
        fail(`${t.name}: a service that forgets close() did not exit by itself (${f.status ?? f.signal})\n${f.stderr}`);
      log(`${t.name}: a service that forgets close() still exits`);
    } finally {
      t.cleanup();
    }
  }
  log('passed');
} finally {
  if (keep) log(`kept ${dir}`);
  else if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}
