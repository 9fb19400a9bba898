import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, runCli, runCliInProcess, spawnCli, type CliResult } from '../support/cli.js';
import { makeAccounts, makeKey, writeJson } from '../support/fixtures.js';

/**
 * Most CLI tests run commands in process (runCli → runCliInProcess: the bundle's `main(argv)`,
 * which bin/acctctl.js calls). These prove that is the binary's behaviour: same exit code, same
 * output, nothing carried from one run to the next.
 */
describe('the in-process CLI runner', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-inproc-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Two fresh stores, one per runner, for the same sequence of commands. */
  async function both(steps: string[][]): Promise<{ spawned: CliResult[]; inProcess: CliResult[] }> {
    const out = { spawned: [] as CliResult[], inProcess: [] as CliResult[] };
    for (const [which, run] of [
      ['spawned', spawnCli],
      ['inProcess', runCliInProcess],
    ] as const) {
      const d = mkdtempSync(join(dir, which));
      writeJson(d, 'a.json', makeAccounts(2, { tenant: 'acme', withProxy: true }));
      writeFileSync(join(d, 'bad.json'), '[{"session_name": "x",');
      const env = baseEnv({ DATABASE_URL: join(d, 'fleet.db'), ACCTCTL_KEY_FILE: makeKey(d) });
      for (const args of steps) {
        const r = await run(args, { env, cwd: d });
        // Temp dirs and times differ between the two stores; nothing else may.
        const norm = (s: string) =>
          s
            .replaceAll(d, '<dir>')
            .replace(/\d{4}-\d\d-\d\d[T ][\d:.]+Z/g, '<time>')
            .replace(/"(createdAt|lastUsedAt)":\d+/g, '"$1":<time>');
        out[which].push({ ...r, stdout: norm(r.stdout), stderr: norm(r.stderr) });
      }
    }
    return out;
  }

  it('exit codes, stdout and stderr are the binary’s, success and failure, table and --json', async () => {
    const { spawned, inProcess } = await both([
      ['migrate'],
      ['accounts', 'import', 'a.json', '--create-tenant'],
      ['accounts', 'import', 'bad.json'],
      ['--json', 'accounts', 'list'],
      ['accounts', 'list'],
      ['tenants', 'remove', 'acme'],
      ['accounts', 'frobnicate'],
      ['--log-level', 'loud', 'status'],
      ['--version'],
    ]);
    expect(inProcess.map((r) => r.code)).toEqual([0, 0, 65, 0, 0, 65, 64, 64, 0]);
    expect(inProcess.map((r) => ({ ...r, signal: null }))).toEqual(spawned);
  });

  it('takes the environment and working directory it is given, and leaves the process’s alone', async () => {
    const envBefore = { ...process.env };
    const cwdBefore = process.cwd();
    const a = join(dir, 'a.db');
    const key = makeKey(dir);
    const r1 = await runCliInProcess(['--json', 'migrate'], {
      env: baseEnv({ DATABASE_URL: a, ACCTCTL_KEY_FILE: key }),
    });
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toContain(a);
    // The next run has no DATABASE_URL: the default ./acctctl.db in its own working directory.
    const r2 = await runCliInProcess(['--json', 'migrate'], { env: baseEnv({ ACCTCTL_KEY_FILE: key }), cwd: dir });
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stdout).toContain(join(dir, 'acctctl.db'));
    expect(process.env).toEqual(envBefore);
    expect(process.cwd()).toBe(cwdBefore);
  });

  it('one run at a time: runCli sends an overlapping run to the binary', async () => {
    const env = baseEnv({ DATABASE_URL: join(dir, 'c.db'), ACCTCTL_KEY_FILE: makeKey(dir) });
    const first = runCliInProcess(['migrate'], { env });
    await expect(runCliInProcess(['status'], { env })).rejects.toThrow(/another in-process run/);
    const second = runCli(['--version'], { env }); // overlaps: spawned
    expect((await first).code).toBe(0);
    expect((await second).code).toBe(0);
  });
});
