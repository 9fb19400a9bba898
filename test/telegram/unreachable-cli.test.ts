import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { baseEnv, runCli } from '../support/cli.js';
import { makeKey } from '../support/fixtures.js';
import { closedPort } from '../support/socks.js';

/**
 * The whole command line, Telegram unreachable: `accounts login` through a proxy nobody listens on
 * gets the adapter's connect error, which is a typed error → exit 69 with the fix, never 70 ("a bug").
 */
describe('accounts login with Telegram unreachable (the real CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'acctctl-unreachable-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 69 saying what failed and what to check; stores no account', async () => {
    const env = baseEnv({
      DATABASE_URL: `sqlite:${join(dir, 'a.db')}`,
      ACCTCTL_KEY_FILE: makeKey(dir),
      TELEGRAM_API_ID: '1',
      TELEGRAM_API_HASH: '0123456789abcdef0123456789abcdef',
    });
    const port = await closedPort();
    const proxies = join(dir, 'proxies.txt');
    writeFileSync(proxies, `socks5://127.0.0.1:${port}\n`);
    const imported = await runCli(['proxies', 'import', proxies], { env });
    expect(imported.code, imported.stderr).toBe(0);

    const r = await runCli(['accounts', 'login', '--phone', '+15551234567', '--proxy-id', '1'], { env });
    expect(r.code, r.stderr).toBe(69);
    expect(r.stderr).toMatch(
      /cannot reach Telegram through the socks5 proxy .*→ check the network and the --proxy-id proxy/,
    );
    expect(r.stderr).not.toMatch(/internal error|please report/i);

    const listed = await runCli(['accounts', 'list', '--json'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain('tg_15551234567');
  });
});
