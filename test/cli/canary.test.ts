import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { baseEnv, runCli, spawnCli, type CliResult } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { makeKey, makeSession, writeJson } from '../support/fixtures.js';
import { snapshot } from '../support/snapshot.js';
import { fernetEncrypt } from '../../src/security/fernet.js';
import { closedPort } from '../support/socks.js';

/** Every encoding a careless log line might use. */
function forms(secret: string): string[] {
  const b = Buffer.from(secret, 'utf8');
  const out = [secret, b.toString('base64').replace(/=+$/, ''), b.toString('base64url'), b.toString('hex')];
  // A string session is itself base64: also look for its decoded auth key bytes.
  if (/^1[A-Za-z0-9+/=_-]{300,}$/.test(secret)) {
    const raw = Buffer.from(secret.slice(1), 'base64');
    const key = raw.subarray(raw.length - 256);
    out.push(key.toString('hex'), key.toString('base64').slice(0, 40), key.subarray(0, 32).toString('hex'));
  }
  return out.filter((f) => f.length >= 8);
}

describe.each(DIALECTS)('secret canary on $name', ({ name, skip, create }) => {
  let t: TestDb;
  const canary = {
    apiHash: randomBytes(16).toString('hex'),
    session: makeSession(),
    proxyPassword: 'CanaryPw' + randomBytes(8).toString('hex'),
    mtSecret: randomBytes(16).toString('hex'),
    fernetSession: makeSession(),
    igPassword: 'IgCanaryPw-' + randomBytes(8).toString('hex'),
    totp:
      'JBSWY3DPEHPK3PXP' +
      'ABCDEFGHIJKLMNOP'
        .split('')
        .sort(() => Math.random() - 0.5)
        .join(''),
    sessionid: `4242%3A${randomBytes(7).toString('hex')}%3A11%3AAY${randomBytes(18).toString('base64url')}`,
    apiKey: 'apikey-' + randomBytes(12).toString('hex'),
    botToken: `${1000 + Math.floor(Math.random() * 1e6)}:AA${randomBytes(16).toString('hex')}`,
    webhookSecret: 'whsec_' + randomBytes(32).toString('base64'),
  };
  const fernetKey = randomBytes(32).toString('base64url');
  const outputs: { label: string; text: string }[] = [];
  let keyFile = '';
  let deadPort = 0;

  beforeAll(async () => {
    if (skip) return;
    t = await create();
    keyFile = makeKey(t.dir);
    deadPort = await closedPort();
    const logFile = join(t.dir, 'acctctl.log');
    const fernetKeyFile = join(t.dir, 'fernet.key');
    writeFileSync(fernetKeyFile, fernetKey + '\n', { mode: 0o600 });
    const accounts = writeJson(t.dir, 'accounts.json', [
      {
        session_name: 'canary_one',
        api_id: 111,
        api_hash: canary.apiHash,
        string_session: canary.session,
        proxy: `socks5://canary:${canary.proxyPassword}@127.0.0.1:1080`,
        tenant: 'acme',
      },
      {
        session_name: 'canary_two',
        api_id: 222,
        api_hash: canary.apiHash,
        string_session: fernetEncrypt(Buffer.from(canary.fernetSession), fernetKey),
        proxy: `mtproxy://${canary.mtSecret}@127.0.0.1:443`,
      },
    ]);
    const proxiesFile = join(t.dir, 'proxies.txt');
    writeFileSync(proxiesFile, `http://canary:${canary.proxyPassword}@127.0.0.1:3128\n`);
    const targetsFile = join(t.dir, 'targets.txt');
    writeFileSync(targetsFile, '@canary_group\n');
    const metrics = join(t.dir, 'metrics.prom');
    const igFile = writeJson(t.dir, 'ig.json', [
      {
        tenant: 'acme',
        username: 'canary_ig',
        password: canary.igPassword,
        totp_secret: canary.totp,
        sessionid: canary.sessionid,
      },
    ]);
    const keysFile = writeJson(t.dir, 'keys.json', [{ tenant: 'acme', provider: 'lookup', key: canary.apiKey }]);
    const watchFile = writeJson(t.dir, 'watch.json', [
      { tenant: 'acme', username: 'someone', kind: 'exists' },
      { tenant: 'acme', username: 'someone', kind: 'followers' },
    ]);
    const providersFile = writeJson(t.dir, 'providers.json', {
      lookup: {
        url: `http://127.0.0.1:${deadPort}/v1/{username}`,
        key_header: 'X-API-Key',
        found: { status: 200 },
        not_found: { status: [404] },
      },
    });
    // Instagram and the API provider are a dead loopback port: nothing leaves the machine.
    const env = baseEnv({
      DATABASE_URL: t.url,
      ACCTCTL_KEY_FILE: keyFile,
      ACCTCTL_INSTAGRAM_URL: `http://127.0.0.1:${deadPort}`,
      ACCTCTL_API_PROVIDERS: providersFile,
      ACCTCTL_TELEGRAM: 'sandbox',
      ACCTCTL_PROFILE_DIR: join(t.dir, 'profiles'),
      // Alert sinks are dead loopback ports too: deliveries fail, and say so without the secrets.
      ACCTCTL_NOTIFY_WEBHOOK: `http://127.0.0.1:${deadPort}/hook`,
      ACCTCTL_NOTIFY_WEBHOOK_SECRET: canary.webhookSecret,
      ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN: canary.botToken,
      ACCTCTL_NOTIFY_TELEGRAM_CHAT_ID: '-100123456',
      ACCTCTL_NOTIFY_TELEGRAM_API_URL: `http://127.0.0.1:${deadPort}`,
      ACCTCTL_NOTIFY_MIN_SEVERITY: 'info',
    });
    const g = ['--log-level', 'debug', '--log-file', logFile];
    const commands: string[][] = [
      ['migrate'],
      ['accounts', 'import', accounts, '--fernet-key-file', fernetKeyFile, '--create-tenant'],
      ['accounts', 'import', accounts], // fails: Fernet token without the key
      ['proxies', 'import', proxiesFile, '--tenant', 'acme'],
      ['targets', 'import', targetsFile, '--niche', 'n1'],
      ['tenants', 'add', 'acme', '--verify-mode', 'api'],
      ['tenants', 'list'],
      ['accounts', 'list'],
      ['accounts', 'disable', 'canary_one'],
      ['accounts', 'enable', 'canary_one'],
      ['proxies', 'list'],
      ['proxies', 'check'],
      ['targets', 'list'],
      ['ig', 'import', igFile],
      ['apikeys', 'import', keysFile],
      ['watch', 'import', watchFile],
      ['ig', 'list'],
      ['watch', 'list'],
      ['apikeys', 'list'],
      ['check'],
      ['refresh-session', '--all'],
      ['join', '--niche', 'n1'],
      ['recover', '--probe'],
      ['recover', '--probe', '--all'],
      ['reset-limits'],
      ['status', '--metrics-file', metrics],
      ['doctor'],
      ['keys', 'rotate'],
      ['notify'],
      ['events', '--limit', '1000'],
      ['doctor'],
      ['status'],
      ['ig', 'remove', 'canary_ig', '--force'],
      ['apikeys', 'remove', '1', '--force'],
      ['proxies', 'remove', '1', '--force'],
    ];
    for (const cmd of commands) {
      for (const json of [false, true]) {
        // Each command through the binary once (SQLite, human output); the rest in process, where
        // every run starts with no secret registered for redaction, as a new process does.
        const r: CliResult = await (name === 'sqlite' && !json ? spawnCli : runCli)(
          [...g, ...(json ? ['--json'] : []), ...cmd],
          { env },
        );
        outputs.push(
          { label: `${cmd.join(' ')} stdout`, text: r.stdout },
          { label: `${cmd.join(' ')} stderr`, text: r.stderr },
        );
      }
    }
    outputs.push({ label: 'log file', text: readFileSync(logFile, 'latin1') });
    outputs.push({ label: 'metrics', text: readFileSync(metrics, 'latin1') });
    if (name === 'sqlite') {
      for (const f of readdirSync(t.dir).filter((f) => f.startsWith('acctctl.db'))) {
        outputs.push({ label: f, text: readFileSync(join(t.dir, f), 'latin1') });
      }
    }
    const s = await openStore(t.target);
    outputs.push({ label: 'every row', text: await snapshot(s) });
    await s.close();
  });
  afterAll(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('the commands really ran and imported the secrets', () => {
    const all = outputs.map((o) => o.text).join('\n');
    expect(all).toContain('canary_one');
    expect(all).toContain('canary_two');
    expect(all).toContain('re-encrypted');
    expect(all).toContain('canary_ig');
    expect(all).toMatch(/imported 1 API key\b/);
    expect(all).not.toMatch(/\b1 (accounts|proxies|API keys|Instagram accounts)\b/);
    expect(all).toContain('removed 1 proxy');
    expect(all).toMatch(/DEBUG/);
    // The batches tried the dead sinks and said so (the bot token and secret never appear: below).
    expect(all).toMatch(/alert delivery failed.*webhook http:\/\/127\.0\.0\.1:\d+.*ECONNREFUSED/);
    expect(all).toMatch(/alert delivery failed.*telegram chat -100123456.*ECONNREFUSED/);
  });

  it.skipIf(skip)('the detector finds the secrets where they are meant to be (the input file)', () => {
    const input = readFileSync(join(t.dir, 'accounts.json'), 'utf8');
    for (const secret of [canary.apiHash, canary.session, canary.proxyPassword, canary.mtSecret]) {
      expect(forms(secret).some((f) => input.includes(f))).toBe(true);
    }
    const igInput = readFileSync(join(t.dir, 'ig.json'), 'utf8');
    for (const secret of [canary.igPassword, canary.totp, canary.sessionid]) {
      expect(forms(secret).some((f) => igInput.includes(f))).toBe(true);
    }
  });

  it.skipIf(skip)('no stdout, stderr, log file or database byte holds a secret in plain, base64 or hex', () => {
    if (name === 'sqlite') expect(existsSync(t.url)).toBe(true);
    const fileKeys = readFileSync(keyFile, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Za-z0-9+/]{40}/.test(l));
    expect(fileKeys).toHaveLength(3); // the original key and one per `keys rotate` run
    const secrets: Record<string, string> = { ...canary, fernetKey };
    fileKeys.forEach((k, i) => (secrets[`key${i}`] = k));
    for (const [which, secret] of Object.entries(secrets)) {
      for (const f of forms(secret)) {
        for (const o of outputs) {
          expect(o.text.includes(f), `${which} (${f.slice(0, 6)}…) found in ${o.label}`).toBe(false);
        }
      }
    }
  });
});
