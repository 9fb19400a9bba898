import { describe, expect, it } from 'vitest';
import { loadConfig, parseDbUrl } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { redact, redactUrl } from '../../src/security/redact.js';

describe('config', () => {
  it('defaults', () => {
    const c = loadConfig({}, {}, '/nowhere');
    expect(c.db).toEqual({ kind: 'sqlite', path: '/nowhere/acctctl.db' });
    expect(c.keyFile).toBe('/nowhere/acctctl.key');
    expect(c.telegramMode).toBe('real');
    expect(c.instagramUrl).toBe('https://www.instagram.com');
    expect(c.timeZone).toBe('UTC');
    expect(c.logLevel).toBe('info');
  });

  it.each([
    ['acctctl.db', { kind: 'sqlite', path: '/w/acctctl.db' }],
    ['/var/lib/a.db', { kind: 'sqlite', path: '/var/lib/a.db' }],
    ['sqlite:data/a.db', { kind: 'sqlite', path: '/w/data/a.db' }],
    ['sqlite:///abs/a.db', { kind: 'sqlite', path: '/abs/a.db' }],
    ['postgres://u:p@h/db', { kind: 'postgres', url: 'postgres://u:p@h/db' }],
    ['postgresql://h/db', { kind: 'postgres', url: 'postgresql://h/db' }],
    ['mysql://h/db', undefined],
  ])('DATABASE_URL %s', (raw, expected) => {
    expect(parseDbUrl(raw, '/w')).toEqual(expected);
  });

  it('owns the defaults and the settings commands used to read from the environment themselves', () => {
    const d = loadConfig({}, {}, '/w');
    expect(d.igRate).toEqual({ requests: 200, windowMs: 660_000 });
    expect(d.checkConcurrency).toBe(32);
    expect(d.legacyProfileDir).toBe('/w/acctctl-profiles');
    expect(d.playwrightBrowsersPath).toBeUndefined();
    expect(d.sandbox).toEqual({ statePath: '/w/acctctl.db.sandbox', latencyMs: 0 });
    const pg = loadConfig({}, { DATABASE_URL: 'postgres://h/db' }, '/w');
    expect(pg.legacyProfileDir).toBe('/w/acctctl-profiles');
    expect(pg.sandbox.statePath).toBe('/w/acctctl-sandbox.db');
    const set = loadConfig(
      {},
      {
        DATABASE_URL: 'sqlite:data/a.db',
        ACCTCTL_PROFILE_DIR: 'profiles',
        PLAYWRIGHT_BROWSERS_PATH: '/pw',
        ACCTCTL_SANDBOX_STATE: 'tg.sandbox',
        ACCTCTL_SANDBOX_LATENCY_MS: '25',
      },
      '/w',
    );
    expect(set.legacyProfileDir).toBe('/w/profiles');
    expect(set.playwrightBrowsersPath).toBe('/pw');
    expect(set.sandbox).toEqual({ statePath: '/w/tg.sandbox', latencyMs: 25 });
    expect(loadConfig({}, { DATABASE_URL: 'sqlite:data/a.db' }, '/w').legacyProfileDir).toBe(
      '/w/data/acctctl-profiles',
    );
    let err: unknown;
    try {
      loadConfig({}, { ACCTCTL_SANDBOX_LATENCY_MS: 'slow' }, '/w');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).details).toEqual([
      'ACCTCTL_SANDBOX_LATENCY_MS: must be a number of milliseconds 0–60000 (the sandbox Telegram’s simulated latency)',
    ]);
  });

  it('flag beats environment', () => {
    const c = loadConfig(
      { db: 'postgres://x/y', logLevel: 'debug' },
      { DATABASE_URL: 'a.db', ACCTCTL_LOG_LEVEL: 'error' },
      '/w',
    );
    expect(c.db.kind).toBe('postgres');
    expect(c.logLevel).toBe('debug');
  });

  it('reports every problem at once, naming each setting and never a secret value', () => {
    const secretHash = 'zz-not-hex-but-secret-zz';
    let err: unknown;
    try {
      loadConfig(
        { db: 'mysql://h/db' },
        {
          TELEGRAM_API_ID: 'abc',
          TELEGRAM_API_HASH: secretHash,
          ACCTCTL_TIMEZONE: 'Mars/Olympus',
          ACCTCTL_TELEGRAM: 'fake',
          ACCTCTL_INSTAGRAM_URL: 'ftp://x',
          ACCTCTL_LOG_LEVEL: 'loud',
        },
        '/w',
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.exitCode).toBe(78);
    const text = [e.message, ...e.details].join('\n');
    for (const name of [
      'TELEGRAM_API_ID',
      'TELEGRAM_API_HASH',
      'ACCTCTL_TIMEZONE',
      'ACCTCTL_TELEGRAM',
      'ACCTCTL_INSTAGRAM_URL',
      'ACCTCTL_LOG_LEVEL',
      '--db',
    ]) {
      expect(text).toContain(name);
    }
    expect(e.details).toHaveLength(7);
    expect(text).not.toContain(secretHash);
  });

  it('POSTGRES_HOST/PORT/USER/PASSWORD/DB select Postgres when neither --db nor DATABASE_URL is set', () => {
    const parts = {
      POSTGRES_HOST: 'db.internal',
      POSTGRES_PORT: '6543',
      POSTGRES_USER: 'joiner',
      POSTGRES_PASSWORD: 'p@ss:w/rd secret',
      POSTGRES_DB: 'integration_db',
    };
    const c = loadConfig({}, parts, '/w');
    expect(c.db).toEqual({
      kind: 'postgres',
      url: 'postgres://joiner:p%40ss%3Aw%2Frd%20secret@db.internal:6543/integration_db',
    });
    // The password is never shown: the printable form of the store masks it, the redactor knows it.
    expect(redact('connect failed for p@ss:w/rd secret')).not.toContain('p@ss:w/rd secret');
    expect(redactUrl((c.db as { url: string }).url)).not.toContain('secret');
    // Host alone: the server's own defaults for the rest.
    expect(loadConfig({}, { POSTGRES_HOST: '127.0.0.1' }, '/w').db).toEqual({
      kind: 'postgres',
      url: 'postgres://127.0.0.1',
    });
    // DATABASE_URL wins over them, and --db over both.
    expect(loadConfig({}, { ...parts, DATABASE_URL: 'sqlite:a.db' }, '/w').db).toEqual({
      kind: 'sqlite',
      path: '/w/a.db',
    });
    expect(loadConfig({ db: 'b.db' }, parts, '/w').db).toEqual({ kind: 'sqlite', path: '/w/b.db' });
  });

  it('POSTGRES_* without POSTGRES_HOST, or a bad port, is a configuration problem that never shows the password', () => {
    const problem = (env: Record<string, string>): ConfigError => {
      try {
        loadConfig({}, env, '/w');
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no ConfigError');
    };
    const e = problem({ POSTGRES_USER: 'joiner', POSTGRES_PASSWORD: 'hunter2-secret' });
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.exitCode).toBe(78);
    expect(e.details).toEqual([
      'POSTGRES_USER, POSTGRES_PASSWORD: set POSTGRES_HOST too (they select Postgres together), or DATABASE_URL',
    ]);
    const bad = problem({ POSTGRES_HOST: 'db/x', POSTGRES_PORT: '70000', POSTGRES_PASSWORD: 'hunter2-secret' });
    expect(bad.details.map((d) => d.split(':')[0])).toEqual(['POSTGRES_HOST', 'POSTGRES_PORT']);
    expect([bad.message, ...bad.details, e.message, ...e.details].join('\n')).not.toContain('hunter2');
  });

  it('ACCTCTL_TELEGRAM=sandbox switches to the simulated Telegram', () => {
    expect(loadConfig({}, { ACCTCTL_TELEGRAM: 'sandbox' }, '/w').telegramMode).toBe('sandbox');
  });
});
