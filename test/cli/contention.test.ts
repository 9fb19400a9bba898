import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/fleet/status.js';
import { CantCreateError } from '../../src/errors.js';
import { openStore } from '../../src/store/store.js';
import { baseEnv, runCli } from '../support/cli.js';
import { makeKey } from '../support/fixtures.js';

const mode = (p: string) => statSync(p).mode & 0o777;

/** Contention and missing paths are conditions with their own exit codes and fixes, not bugs (70). */
describe('contention, missing paths, damaged and loose files', () => {
  let dir: string;
  let env: Record<string, string>;
  let db: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-cont-'));
    db = join(dir, 'fleet.db');
    env = baseEnv({ DATABASE_URL: db, ACCTCTL_KEY_FILE: makeKey(dir) });
    const store = await openStore({ kind: 'sqlite', path: db });
    await store.close();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a SQLite store locked past the busy timeout exits 75: another run holds it, it retries next run', async () => {
    type Raw = { exec(s: string): void; close(): void };
    const D = createRequire(import.meta.url)('better-sqlite3') as new (p: string) => Raw;
    const holder = new D(db);
    holder.exec('BEGIN IMMEDIATE'); // another run mid-transaction, holding the write lock
    try {
      const r = await runCli(['tenants', 'add', 'acme'], { env, cwd: dir });
      expect(r.code, r.stderr).toBe(75);
      expect(r.stderr).toMatch(/another run holds the store .*it retries on its next run/);
      expect(r.stderr).not.toMatch(/internal error/);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    const again = await runCli(['tenants', 'add', 'acme'], { env, cwd: dir });
    expect(again.code, again.stderr).toBe(0);
  });

  it('--ttl is bounded: a lease that never expires and a 0 s renewal are refused (64)', async () => {
    for (const args of [
      ['lease', '--action', 'join', '--ttl', '100000h'],
      ['lease', '--action', 'join', '--ttl', '99999999999999999999s'],
      ['lease', '--action', 'join', '--ttl', '0s'],
      ['renew', '1.1', '--ttl', '0s'],
      ['renew', '1.1', '--ttl', '25h'],
    ]) {
      const r = await runCli(args, { env, cwd: dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(64);
      expect(r.stderr).toMatch(/--ttl .* is out of range → between 1s and 24h/);
    }
  });

  it('status --metrics-file into a missing directory exits 73 with the fix', async () => {
    const r = await runCli(['status', '--metrics-file', join(dir, 'nope', 'acctctl.prom')], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(73);
    expect(r.stderr).toMatch(/does not exist → create it \(`mkdir -p .*nope`\)/);
  });

  it('--log-file in a missing directory exits 78 naming the setting and the fix', async () => {
    const r = await runCli(['--log-file', join(dir, 'nope', 'a.log'), 'status'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(/--log-file .*its directory .*nope does not exist → create it/);
  });

  it('a file that is not a database, and a damaged one, exit 65 with integrity_check and backup as the hint', async () => {
    writeFileSync(db, Buffer.alloc(8192, 0x41)); // not a SQLite file at all
    rmSync(db + '-wal', { force: true });
    rmSync(db + '-shm', { force: true });
    const r = await runCli(['status'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(65);
    expect(r.stderr).toMatch(
      /corrupt or not a database → check it with .*PRAGMA integrity_check.*restore it from a backup/,
    );

    // A real store whose pages were overwritten in the middle.
    rmSync(db);
    const store = await openStore({ kind: 'sqlite', path: db });
    await store.close();
    const bytes = readFileSync(db);
    expect(bytes.length).toBeGreaterThan(8192);
    bytes.fill(0x5a, 4096, bytes.length); // every page after the first (the schema's tables) is garbage
    writeFileSync(db, bytes);
    const d = await runCli(['status'], { env, cwd: dir });
    expect(d.code, d.stderr).toBe(65);
    expect(d.stderr).toMatch(/PRAGMA integrity_check/);
  });

  it('an existing database, its -wal/-shm and the log file readable by others are tightened to 0600', async () => {
    const log = join(dir, 'acctctl.log');
    writeFileSync(log, '');
    for (const p of [db, log]) chmodSync(p, 0o644);
    const r = await runCli(['--log-file', log, 'tenants', 'add', 'acme'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(mode(db)).toBe(0o600);
    expect(mode(log)).toBe(0o600);
    for (const s of ['-wal', '-shm']) if (existsSync(db + s)) expect(mode(db + s)).toBe(0o600);
  });

  it('the sandbox state beside the database is created 0600, even with a permissive umask', async () => {
    const { SandboxTelegram } = await import('../../src/sandbox/telegram.js');
    const { FakeClock } = await import('../../src/domain/clock.js');
    const old = process.umask(0o000);
    try {
      const sb = new SandboxTelegram({ clock: new FakeClock(), statePath: `${db}.sandbox` });
      const c = await sb.client({
        accountId: 1,
        sessionName: 'a',
        apiId: 1,
        apiHash: 'x',
        stringSession: 'x',
        proxy: null,
      });
      await c.join({ kind: 'username', username: 'g' });
      await sb.closeAll();
    } finally {
      process.umask(old);
    }
    expect(mode(`${db}.sandbox`)).toBe(0o600);
    for (const s of ['-wal', '-shm'])
      if (existsSync(`${db}.sandbox${s}`)) expect(mode(`${db}.sandbox${s}`)).toBe(0o600);
  });

  it('the metrics temp file has a random name and never follows a planted symlink', () => {
    const target = join(dir, 'acctctl.prom');
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'untouched');
    // The old predictable name, planted by someone who can write the directory.
    symlinkSync(victim, join(dir, `.acctctl.prom.${process.pid}.tmp`));
    writeFileAtomic(target, 'metric 1\n');
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect(readFileSync(target, 'utf8')).toBe('metric 1\n');
    expect(() => writeFileAtomic(join(dir, 'missing', 'x.prom'), 'x')).toThrow(CantCreateError);
  });
});
