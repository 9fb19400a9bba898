import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { redactUrl, urlCredentials } from '../../src/security/redact.js';
import { baseEnv, runCli } from '../support/cli.js';
import { makeKey } from '../support/fixtures.js';
import { closedPort } from '../support/socks.js';

describe('credentials in Postgres URLs are never printed', () => {
  it('redactUrl hides the password and credential query parameters, keeps the rest', () => {
    expect(redactUrl('postgres://u:Pw123456@db:5432/acct?sslmode=require&password=Q1uerySecret&sslpassword=K3y')).toBe(
      'postgres://u:***@db:5432/acct?sslmode=require&password=***&sslpassword=***',
    );
    expect(redactUrl('postgres://u@db/acct?PASSWORD=x&application_name=a')).toBe(
      'postgres://u@db/acct?PASSWORD=***&application_name=a',
    );
    expect(redactUrl('postgres://u:p@[bad')).toBe('postgres://…');
    expect(urlCredentials('postgres://u:p%40ss@db/x?password=a%26b')).toEqual(expect.arrayContaining(['p@ss', 'a&b']));
  });

  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-url-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('errors, migrate, doctor and debug logs never show ?password= or the userinfo password', async () => {
    const port = await closedPort();
    const inQuery = 'QueryPassw0rdXYZ';
    const inUser = 'UserPassw0rdXYZ';
    for (const url of [
      `postgres://acct@127.0.0.1:${port}/fleet?password=${inQuery}`,
      `postgresql://acct:${inUser}@127.0.0.1:${port}/fleet?sslpassword=${inQuery}`,
    ]) {
      const env = baseEnv({ DATABASE_URL: url, ACCTCTL_KEY_FILE: makeKey(dir) });
      for (const args of [['migrate'], ['doctor'], ['--log-level', 'debug', 'status'], ['--json', 'status']]) {
        const r = await runCli(args, { env, cwd: dir });
        const out = r.stdout + r.stderr;
        expect(r.code, out).not.toBe(0);
        expect(out, args.join(' ')).not.toContain(inQuery);
        expect(out, args.join(' ')).not.toContain(inUser);
      }
      rmSync(join(dir, 'acctctl.key'));
    }
  });

  it('POSTGRES_HOST/PORT/USER/PASSWORD/DB: errors, migrate, doctor and debug logs never show POSTGRES_PASSWORD', async () => {
    const port = await closedPort();
    const password = 'PartsPassw0rd:XYZ@';
    const env = baseEnv({
      POSTGRES_HOST: '127.0.0.1',
      POSTGRES_PORT: String(port),
      POSTGRES_USER: 'acct',
      POSTGRES_PASSWORD: password,
      POSTGRES_DB: 'fleet',
      ACCTCTL_KEY_FILE: makeKey(dir),
    });
    for (const args of [['migrate'], ['doctor'], ['--log-level', 'debug', 'status'], ['--json', 'doctor']]) {
      const r = await runCli(args, { env, cwd: dir });
      const out = r.stdout + r.stderr;
      // Postgres was chosen (its host is named, the connection fails: 69), never a SQLite file.
      expect(r.code, out).not.toBe(0);
      expect(out, args.join(' ')).toContain(`127.0.0.1:${port}`);
      for (const shown of [password, encodeURIComponent(password), 'PartsPassw0rd']) {
        expect(out, args.join(' ')).not.toContain(shown);
      }
    }
    expect(existsSync(join(dir, 'acctctl.db'))).toBe(false);
  });
});
