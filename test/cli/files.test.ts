import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { baseEnv, runCli } from '../support/cli.js';
import { makeAccounts, makeKey, writeJson } from '../support/fixtures.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('files acctctl creates', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-files-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('the SQLite database and its -wal and -shm are mode 0600, even with a permissive umask', async () => {
    const old = process.umask(0o000);
    try {
      const path = join(dir, 'fleet.db');
      const store = await openStore({ kind: 'sqlite', path });
      await store.db.insertInto('settings').values({ name: 'x', value: 'y' }).execute();
      expect(existsSync(path + '-wal')).toBe(true);
      expect(existsSync(path + '-shm')).toBe(true);
      expect(mode(path)).toBe(0o600);
      expect(mode(path + '-wal')).toBe(0o600);
      expect(mode(path + '-shm')).toBe(0o600);
      await store.close();
    } finally {
      process.umask(old);
    }
  });

  it('SQLite runs with WAL, synchronous=FULL and a busy timeout', async () => {
    const { sql } = await import('kysely');
    const store = await openStore({ kind: 'sqlite', path: join(dir, 'p.db') });
    try {
      const one = async (p: string) =>
        Object.values((await sql.raw<Record<string, unknown>>(`pragma ${p}`).execute(store.db)).rows[0]!)[0];
      expect(await one('journal_mode')).toBe('wal');
      expect(await one('synchronous')).toBe(2); // FULL
      expect(await one('busy_timeout')).toBe(15000);
      expect(await one('foreign_keys')).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('keys generate writes a 0600 key file and refuses to overwrite one', async () => {
    const keyFile = join(dir, 'k.key');
    const env = baseEnv({ ACCTCTL_KEY_FILE: keyFile });
    const r = await runCli(['keys', 'generate'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(mode(keyFile)).toBe(0o600);
    const before = readFileSync(keyFile);
    const again = await runCli(['keys', 'generate'], { env, cwd: dir });
    expect(again.code).toBe(78);
    expect(again.stderr).toMatch(/already exists.*keys rotate/);
    expect(readFileSync(keyFile).equals(before)).toBe(true);
  });

  it.each([0o640, 0o604, 0o644])('refuses a key file with mode %o, says how to fix it, changes nothing', async (m) => {
    const keyFile = makeKey(dir);
    chmodSync(keyFile, m);
    const db = join(dir, 'acctctl.db');
    const env = baseEnv({ ACCTCTL_KEY_FILE: keyFile, DATABASE_URL: db });
    const r = await runCli(['accounts', 'import', writeJson(dir, 'a.json', makeAccounts(1))], { env, cwd: dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`chmod 600 ${keyFile}`);
    expect(existsSync(db)).toBe(false);
  });

  it('a missing key file is a configuration error that names the fix', async () => {
    const env = baseEnv({ ACCTCTL_KEY_FILE: join(dir, 'none.key'), DATABASE_URL: join(dir, 'a.db') });
    const r = await runCli(['accounts', 'import', writeJson(dir, 'a.json', makeAccounts(1))], { env, cwd: dir });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/does not exist → run `acctctl keys generate`/);
  });

  it('an unreadable key file is a configuration error (78) with the fix, not a raw EACCES', async () => {
    // Tests may run as root, for whom no mode is unreadable: a directory in the key file's place
    // fails the same read.
    const keyDir = join(dir, 'dir.key');
    mkdirSync(keyDir, { mode: 0o700 });
    const env = baseEnv({ ACCTCTL_KEY_FILE: keyDir, DATABASE_URL: join(dir, 'a.db') });
    const r = await runCli(['accounts', 'import', writeJson(dir, 'a.json', makeAccounts(1))], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(78);
    expect(r.stderr).toMatch(/cannot read the key file .*dir\.key \(EISDIR\) → .*chmod 600/);
  });

  it('--log-file is created mode 0600 and receives the logs', async () => {
    const log = join(dir, 'run.log');
    const env = baseEnv({ DATABASE_URL: join(dir, 'a.db') });
    // migrate: it creates the store (status reads one and never creates it).
    const r = await runCli(['--log-level', 'debug', '--log-file', log, 'migrate'], { env, cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(mode(log)).toBe(0o600);
    expect(readFileSync(log, 'utf8')).toMatch(/DEBUG command start command=migrate/);
  });

  it('reads .env from the working directory, below the real environment and flags', async () => {
    writeFileSync(join(dir, '.env'), `DATABASE_URL=${join(dir, 'from-dotenv.db')}\nACCTCTL_LOG_LEVEL=debug\n`);
    // migrate creates the store it is pointed at (read-only commands never create one).
    let r = await runCli(['migrate'], { env: baseEnv(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dir, 'from-dotenv.db'))).toBe(true);
    expect(r.stderr).toContain('DEBUG');
    r = await runCli(['migrate'], { env: baseEnv({ DATABASE_URL: join(dir, 'from-env.db') }), cwd: dir });
    expect(existsSync(join(dir, 'from-env.db'))).toBe(true);
    r = await runCli(['--db', join(dir, 'from-flag.db'), '--log-level', 'info', 'migrate'], {
      env: baseEnv({ DATABASE_URL: join(dir, 'from-env2.db') }),
      cwd: dir,
    });
    expect(existsSync(join(dir, 'from-flag.db'))).toBe(true);
    expect(existsSync(join(dir, 'from-env2.db'))).toBe(false);
    expect(r.stderr).not.toContain('DEBUG');
  });
});
