import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, baseEnv } from '../support/cli.js';

const SPY = fileURLToPath(new URL('../support/load-spy.cjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'acctctl-lazy-'));

function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--require', SPY, ...args], {
      cwd: dir,
      env: baseEnv({ DATABASE_URL: join(dir, 'a.db'), ...env }),
    });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('heavy libraries load only where they are needed', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the spy sees a gramjs load (control)', async () => {
    const r = await run(['-e', "require('telegram')"]);
    expect(r.stderr).toContain('LOADED telegram');
  });

  it.each([['status'], ['--json', 'status'], ['--version'], ['--help'], ['doctor'], ['recover']])(
    'acctctl %s loads neither gramjs nor Playwright',
    async (...args) => {
      const r = await run([BIN, ...args]);
      expect(r.stderr).not.toMatch(/LOADED (telegram|playwright)/);
    },
  );

  it('join in sandbox mode does not load gramjs either', async () => {
    const r = await run([BIN, 'join', '--niche', 'x'], {
      ACCTCTL_TELEGRAM: 'sandbox',
      ACCTCTL_KEY_FILE: join(dir, 'none.key'),
    });
    expect(r.stderr).not.toContain('LOADED telegram');
  });
});
