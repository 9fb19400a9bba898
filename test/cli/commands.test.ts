import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, runCli, spawnCli } from '../support/cli.js';

describe('the built CLI', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('demo runs on a fresh machine state, touches nothing in the working dir, and exits promptly', async () => {
    const r = await spawnCli(['demo'], { env: baseEnv(), cwd: dir, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.signal).toBeNull(); // it exited by itself: spawnCli would have SIGKILLed it
    expect(r.stdout).toMatch(/accounts import accounts_config\.example\.json: 3 accounts/);
    expect(r.stdout).toMatch(/targets import targets\.txt --niche demo: 8 targets/);
    expect(r.stdout).toMatch(
      /join --niche demo \(SIMULATED: sandbox Telegram\): joined 1, pending_approval 1, error 1/,
    );
    expect(r.stdout).toMatch(/Telegram accounts: 3 total, 3 healthy/);
    // With a Chromium (CI installs Debian's) the demo logs a fake Instagram account in; without, it says so.
    expect(r.stdout).toMatch(/refresh-session (--account demo_ig .*: refreshed|skipped: no Chromium)/);
    expect(r.stdout).toMatch(
      /check \(loopback fake Instagram\): initech found 1, not found 1, errors 0, follower jobs completed 1 \(60 fetched\); acme skipped/,
    );
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('demo --json is machine-readable', async () => {
    const r = await runCli(['--json', 'demo'], { env: baseEnv(), cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { status: { accounts: { total: number }; targets: { count: number }[] } };
    expect(j.status.accounts.total).toBe(3);
    expect(j.status.targets.reduce((a, t) => a + t.count, 0)).toBe(8);
  });

  it('doctor reports each problem with its fix and fails on a missing key', async () => {
    const env = baseEnv({
      DATABASE_URL: join(dir, 'a.db'),
      ACCTCTL_KEY_FILE: join(dir, 'missing.key'),
      ACCTCTL_CHROMIUM_PATH: '/nonexistent/chromium',
    });
    // An empty SQLite file: a store not migrated yet (doctor never creates one; a missing file is 66).
    writeFileSync(join(dir, 'a.db'), '');
    const r = await runCli(['--json', 'doctor'], { env, cwd: dir });
    expect(r.code).toBe(78);
    const report = JSON.parse(r.stdout) as {
      schemaVersion: number;
      ok: boolean;
      checks: { name: string; ok: boolean; severity: string | null; fix: string | null }[];
    };
    expect(report).toMatchObject({ schemaVersion: 1, ok: false });
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    // A passing check has no severity; a failing one says whether it fails doctor.
    expect(byName['database reachable']).toMatchObject({ ok: true, severity: null });
    expect(byName['secret key']).toMatchObject({
      ok: false,
      severity: 'error',
      fix: expect.stringContaining('acctctl keys generate') as string,
    });
    expect(byName['Chromium for refresh-session']).toMatchObject({
      ok: false,
      fix: expect.stringContaining('ACCTCTL_CHROMIUM_PATH') as string,
    });
    expect(byName['Telegram API']).toMatchObject({ ok: false });

    const ok = await runCli(['keys', 'generate'], { env, cwd: dir });
    expect(ok.code).toBe(0);
    const again = await runCli(['doctor'], { env, cwd: dir });
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toMatch(/secret key\s+ok/);
    // Once the database is migrated, the stored secrets are checked too.
    expect((await runCli(['migrate'], { env, cwd: dir })).code).toBe(0);
    const json = await runCli(['--json', 'doctor'], { env, cwd: dir });
    const names = (JSON.parse(json.stdout) as { checks: { name: string; ok: boolean }[] }).checks
      .filter((c) => c.ok)
      .map((c) => c.name);
    expect(names).toContain('stored secrets readable');
  });

  it('--version, --help and usage errors', async () => {
    const v = await spawnCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.split('\n')[0]).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await spawnCli(['--help']);
    expect(h.code).toBe(0);
    for (const cmd of ['demo', 'migrate', 'doctor', 'keys', 'tenants', 'proxies', 'accounts', 'targets', 'status']) {
      expect(h.stdout).toContain(cmd);
    }
    const u = await spawnCli(['accounts', 'import']);
    expect(u.code).toBe(64);
    expect(u.stderr).toMatch(/missing required argument/);
    const lvl = await spawnCli(['--log-level', 'loud', 'status']);
    expect(lvl.code).toBe(64);
  });

  it('an unreachable Postgres is exit 69 with the password hidden', async () => {
    const r = await runCli(['status'], {
      env: baseEnv({ DATABASE_URL: 'postgres://u:hunter2secret@127.0.0.1:1/db' }),
      cwd: dir,
    });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/db → check the server/);
    expect(r.stderr).not.toContain('hunter2secret');
  });
});
