import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import * as v from 'valibot';
import { ConfigError, NoInputError } from '../errors.js';
import { isWebhookSecret, isWebhookUrl, WEBHOOK_SECRET_HELP } from '../domain/webhooks.js';
import { parseEmailList, parseSmtpUrl } from '../domain/smtpUrl.js';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';
import {
  ACTIVE_HOURS_HELP,
  DEFAULT_ACTIVE_HOURS,
  DEFAULT_PROXY_PACING,
  parseActiveHours,
  type PacingConfig,
} from '../domain/pacing.js';
import { registerSecret, urlCredentials } from '../security/redact.js';

export type DbTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** ACCTCTL_IG_RATE's default: 200 requests per 11 minutes, per Instagram session and endpoint kind. */
export const DEFAULT_IG_RATE: Readonly<{ requests: number; windowMs: number }> = { requests: 200, windowMs: 660_000 };
/** ACCTCTL_CHECK_CONCURRENCY's default: tenants checked at once. */
export const DEFAULT_CHECK_CONCURRENCY = 32;

export interface Config {
  db: DbTarget;
  keyFile: string;
  /** Set when the key comes from ACCTCTL_SECRET_KEY instead of a file. Never printed. */
  secretKeyEnv: string | undefined;
  telegramApiId: number | undefined;
  telegramApiHash: string | undefined;
  telegramMode: 'real' | 'sandbox';
  instagramUrl: string;
  chromiumPath: string | undefined;
  timeZone: string;
  /** Pacing of leases and joins (ACCTCTL_ACTIVE_HOURS; null: ACCTCTL_PACING=off, only the limits apply). */
  pacing: PacingConfig | null;
  logLevel: LogLevel;
  logFile: string | undefined;
  json: boolean;
  /** JSON file describing the API providers used by the `api` verify method. */
  apiProvidersFile: string | undefined;
  /** Requests per window, per Instagram session and endpoint kind (default 200 per 11 min). */
  igRate: { requests: number; windowMs: number };
  checkConcurrency: number;
  /** Flood waits up to this many seconds rest the account; longer ones cool it down (default 600). */
  floodThresholdSeconds: number | undefined;
  notify: NotifyConfig;
  /** ACCTCTL_BOT_ADMIN_CHAT_IDS: the chats `bot poll` answers (every other chat is ignored). */
  botAdminChatIds?: string[] | undefined;
  /** What reset-limits keeps, in days. */
  retention: RetentionConfig;
  /** Where older versions kept a Chromium profile per Instagram account (read once into the store, then deleted). */
  legacyProfileDir: string;
  /** A Chromium installed by `npx playwright install chromium` is looked for here (Playwright's own setting). */
  playwrightBrowsersPath: string | undefined;
  /** The sandbox Telegram's world (ACCTCTL_TELEGRAM=sandbox). */
  sandbox: SandboxConfig;
}

export interface SandboxConfig {
  /** Its state file (default: beside the SQLite database, `<db>.sandbox`). */
  statePath: string;
  /** Simulated round-trip time of each call, ms (benchmarks). */
  latencyMs: number;
}

export interface NotifyConfig {
  /** Events at or above this severity are delivered (default warning). */
  minSeverity: 'info' | 'warning' | 'critical';
  webhook: { url: string; secret: string | undefined } | undefined;
  /** The bot token is a secret: never printed, logged, or put in a payload. */
  telegram: { botToken: string; chatId: string | undefined } | undefined;
  /** Bot API base URL (tests point it at a loopback fake). */
  telegramApiUrl: string;
  /** Email through SMTP; the URL's userinfo (the credentials) is a secret. */
  email?:
    | { smtpUrl: string; to: string[]; from: string | undefined; minSeverity: 'info' | 'warning' | 'critical' }
    | undefined;
}

export interface RetentionConfig {
  eventsDays: number;
  deliveriesDays: number;
  igRequestsDays: number;
  snapshotsDays: number;
}

/** Global flags, already parsed by commander. They win over the environment. */
export interface GlobalFlags {
  db?: string | undefined;
  json?: boolean | undefined;
  logLevel?: string | undefined;
  logFile?: string | undefined;
  /** --env-file: read settings from this file instead of ./.env (env ACCTCTL_ENV_FILE). */
  envFile?: string | undefined;
  /** --key-file: the key file (env ACCTCTL_KEY_FILE). */
  keyFile?: string | undefined;
}

export function parseDbUrl(raw: string, cwd: string): DbTarget | undefined {
  if (/^postgres(ql)?:\/\//i.test(raw)) {
    // Whatever prints later (errors, migrate, doctor, debug logs) passes the redactor.
    for (const c of urlCredentials(raw)) registerSecret(c);
    return { kind: 'postgres', url: raw };
  }
  if (/^sqlite:/i.test(raw)) {
    const p = raw.replace(/^sqlite:(\/\/)?/i, '');
    return p ? { kind: 'sqlite', path: resolve(cwd, p) } : undefined;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return undefined;
  return { kind: 'sqlite', path: resolve(cwd, raw) };
}

/** Whether `tz` is an IANA time zone this Node knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const days = (s: string) => /^[1-9]\d{0,4}$/.test(s);

/** An optional setting: blank counts as unset; when set, `ok` must hold or `message` is reported. */
const setting = (ok: (v: string) => boolean = () => true, message = 'invalid') =>
  v.optional(
    v.pipe(
      v.string(),
      v.transform((s) => s.trim()),
      v.check((s) => s === '' || ok(s), message),
      v.transform((s) => (s === '' ? undefined : s)),
    ),
  );

const schema = v.object({
  DATABASE_URL: setting(),
  POSTGRES_HOST: setting(
    (s) => /^([\w.-]+|\[[0-9a-f:.]+\])$/i.test(s),
    'must be a host name or IP address (a [bracketed] IPv6 address), e.g. db.internal',
  ),
  POSTGRES_PORT: setting((s) => /^\d{1,5}$/.test(s) && +s >= 1 && +s <= 65_535, 'must be a port number 1–65535'),
  POSTGRES_USER: setting(),
  POSTGRES_PASSWORD: setting(),
  POSTGRES_DB: setting(),
  ACCTCTL_KEY_FILE: setting(),
  ACCTCTL_SECRET_KEY: setting(),
  TELEGRAM_API_ID: setting(
    (s) => /^[1-9]\d{0,9}$/.test(s),
    'must be the numeric api_id from my.telegram.org → set TELEGRAM_API_ID=12345',
  ),
  TELEGRAM_API_HASH: setting(
    (s) => /^[0-9a-f]{32}$/i.test(s),
    'must be the 32-character hex api_hash from my.telegram.org',
  ),
  ACCTCTL_TELEGRAM: setting((s) => s === 'sandbox' || s === 'real', 'must be "sandbox" or unset'),
  ACCTCTL_INSTAGRAM_URL: setting(
    (s) => /^https?:\/\/[^\s/]+/i.test(s),
    'must be an http(s) URL such as https://www.instagram.com',
  ),
  ACCTCTL_CHROMIUM_PATH: setting(),
  ACCTCTL_TIMEZONE: setting(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Moscow'),
  ACCTCTL_ACTIVE_HOURS: setting((s) => parseActiveHours(s) !== undefined, `must be ${ACTIVE_HOURS_HELP}`),
  ACCTCTL_PACING: setting((s) => s === 'on' || s === 'off', 'must be "on" (the default) or "off"'),
  ACCTCTL_LOG_LEVEL: setting(
    (s) => (LOG_LEVELS as readonly string[]).includes(s),
    `must be one of ${LOG_LEVELS.join(', ')}`,
  ),
  ACCTCTL_LOG_FILE: setting(),
  ACCTCTL_API_PROVIDERS: setting(),
  ACCTCTL_IG_RATE: setting(
    (s) => /^[1-9]\d*\/[1-9]\d*$/.test(s),
    'must be REQUESTS/SECONDS per Instagram session and endpoint kind, e.g. 200/660',
  ),
  ACCTCTL_FLOOD_THRESHOLD: setting(
    (s) => /^\d{1,5}$/.test(s) && Number(s) <= 86_400,
    'must be a number of seconds 0–86400 (flood waits up to it rest the account; longer ones cool it down)',
  ),
  ACCTCTL_CHECK_CONCURRENCY: setting((s) => /^[1-9]\d?$/.test(s), 'must be a number of tenants checked at once (1–99)'),
  ACCTCTL_NOTIFY_MIN_SEVERITY: setting(
    (s) => ['info', 'warning', 'critical'].includes(s),
    'must be info, warning or critical',
  ),
  ACCTCTL_NOTIFY_WEBHOOK: setting(
    isWebhookUrl,
    'must be an http(s) URL with a host, such as https://hooks.example.com/acctctl',
  ),
  ACCTCTL_NOTIFY_WEBHOOK_SECRET: setting(isWebhookSecret, `must be ${WEBHOOK_SECRET_HELP}`),
  ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN: setting(
    (s) => /^\d+:[\w-]+$/.test(s),
    'must be a bot token from @BotFather (digits, a colon, then letters)',
  ),
  ACCTCTL_NOTIFY_TELEGRAM_CHAT_ID: setting(
    (s) => /^(-?\d+|@\w{4,})$/.test(s),
    'must be a numeric chat id (e.g. -1001234567890) or a @channel name',
  ),
  ACCTCTL_NOTIFY_TELEGRAM_API_URL: setting(isWebhookUrl, 'must be an http(s) URL with a host'),
  ACCTCTL_BOT_ADMIN_CHAT_IDS: setting(
    (s) => s.split(',').every((x) => /^-?\d{1,20}$/.test(x.trim())),
    'must be numeric Telegram chat ids, comma-separated (e.g. 123456789,-1001234567890)',
  ),
  ACCTCTL_NOTIFY_SMTP_URL: setting(
    (s) => parseSmtpUrl(s) !== undefined,
    'must be smtps://USER:PASSWORD@HOST[:PORT] or smtp://[USER:PASSWORD@]HOST[:PORT] (percent-encode special characters)',
  ),
  ACCTCTL_NOTIFY_EMAIL_TO: setting(
    (s) => parseEmailList(s) !== undefined,
    'must be one or more email addresses, comma-separated',
  ),
  ACCTCTL_NOTIFY_EMAIL_FROM: setting((s) => parseEmailList(s)?.length === 1, 'must be one email address (the sender)'),
  ACCTCTL_NOTIFY_EMAIL_MIN_SEVERITY: setting(
    (s) => ['info', 'warning', 'critical'].includes(s),
    'must be info, warning or critical',
  ),
  ACCTCTL_RETENTION_EVENTS_DAYS: setting(days, 'must be a whole number of days ≥ 1'),
  ACCTCTL_RETENTION_DELIVERIES_DAYS: setting(days, 'must be a whole number of days ≥ 1'),
  ACCTCTL_RETENTION_IG_REQUESTS_DAYS: setting(days, 'must be a whole number of days ≥ 1'),
  ACCTCTL_RETENTION_SNAPSHOTS_DAYS: setting(days, 'must be a whole number of days ≥ 1'),
  ACCTCTL_PROFILE_DIR: setting(),
  PLAYWRIGHT_BROWSERS_PATH: setting(),
  ACCTCTL_SANDBOX_STATE: setting(),
  ACCTCTL_SANDBOX_LATENCY_MS: setting(
    (s) => /^\d{1,5}$/.test(s) && Number(s) <= 60_000,
    'must be a number of milliseconds 0–60000 (the sandbox Telegram’s simulated latency)',
  ),
});

/** The settings that name a Postgres database piece by piece (the original joiner's). */
export const POSTGRES_PARTS = [
  'POSTGRES_HOST',
  'POSTGRES_PORT',
  'POSTGRES_USER',
  'POSTGRES_PASSWORD',
  'POSTGRES_DB',
] as const;

/**
 * With neither `--db` nor DATABASE_URL: POSTGRES_HOST (with POSTGRES_PORT, _USER, _PASSWORD, _DB)
 * selects Postgres. The URL built from them has its password registered with the redactor, so it
 * never shows in errors, logs or doctor. Any of them without POSTGRES_HOST is a problem: the
 * operator meant Postgres, and a silent SQLite file would be the wrong database.
 */
function postgresFromParts(
  e: Partial<Record<(typeof POSTGRES_PARTS)[number], string | undefined>>,
  problems: string[],
): string | undefined {
  if (e.POSTGRES_HOST === undefined) {
    const stray = POSTGRES_PARTS.filter((k) => e[k] !== undefined);
    if (stray.length)
      problems.push(`${stray.join(', ')}: set POSTGRES_HOST too (they select Postgres together), or DATABASE_URL`);
    return undefined;
  }
  if (e.POSTGRES_PASSWORD !== undefined) registerSecret(e.POSTGRES_PASSWORD);
  const user = e.POSTGRES_USER === undefined ? '' : encodeURIComponent(e.POSTGRES_USER);
  const password = e.POSTGRES_PASSWORD === undefined ? '' : `:${encodeURIComponent(e.POSTGRES_PASSWORD)}`;
  const auth = user || password ? `${user}${password}@` : '';
  const port = e.POSTGRES_PORT === undefined ? '' : `:${Number(e.POSTGRES_PORT)}`;
  const db = e.POSTGRES_DB === undefined ? '' : `/${encodeURIComponent(e.POSTGRES_DB)}`;
  return `postgres://${auth}${e.POSTGRES_HOST}${port}${db}`;
}

/**
 * flag > environment > .env file > default. Every problem is collected and reported at once,
 * naming the setting but never its value.
 */
export function loadConfig(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): Config {
  // --env-file > ACCTCTL_ENV_FILE > ./.env. A file that was asked for must exist; ./.env may not.
  const asked = flags.envFile ?? (env.ACCTCTL_ENV_FILE?.trim() || undefined);
  const dotenvPath = resolve(cwd, asked ?? '.env');
  let fileVars: Record<string, string> = {};
  if (asked !== undefined && !existsSync(dotenvPath)) {
    throw new NoInputError(
      `env file ${dotenvPath} (${flags.envFile !== undefined ? '--env-file' : 'ACCTCTL_ENV_FILE'}) does not exist → fix the path, or leave it out to read ./.env`,
    );
  }
  if (existsSync(dotenvPath)) {
    try {
      fileVars = parseDotenv(readFileSync(dotenvPath));
    } catch (cause) {
      throw new ConfigError(`cannot read ${dotenvPath} → fix its permissions or remove it`, { cause });
    }
  }
  // Relative paths the env file gives are relative to the file's folder (cron needs no `cd`);
  // those from the environment or flags are relative to the working directory.
  const fileDir = dirname(dotenvPath);
  const baseOf = (key: string): string => (fileVars[key] !== undefined && env[key] === undefined ? fileDir : cwd);
  const merged: Record<string, string | undefined> = { ...fileVars };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;

  const problems: string[] = [];
  const parsed = v.safeParse(schema, merged, { abortPipeEarly: true });
  if (!parsed.success) {
    for (const issue of parsed.issues) {
      // Name the setting, never its value.
      problems.push(`${(issue.path ?? []).map((p) => String(p.key)).join('.')}: ${issue.message}`);
    }
  }
  const e: Partial<v.InferOutput<typeof schema>> = parsed.success ? parsed.output : {};

  const rawDb = flags.db ?? e.DATABASE_URL ?? postgresFromParts(e, problems) ?? 'acctctl.db';
  const db = parseDbUrl(rawDb, flags.db !== undefined ? cwd : baseOf('DATABASE_URL'));
  if (!db) {
    problems.push(
      `${flags.db !== undefined ? '--db' : 'DATABASE_URL'}: not a SQLite path, sqlite:PATH or postgres:// URL`,
    );
  }
  const level = flags.logLevel ?? e.ACCTCTL_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    problems.push(`--log-level: must be one of ${LOG_LEVELS.join(', ')}`);
  }
  if (e.ACCTCTL_NOTIFY_TELEGRAM_CHAT_ID !== undefined && e.ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN === undefined) {
    problems.push('ACCTCTL_NOTIFY_TELEGRAM_CHAT_ID: set ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN too (the bot that sends)');
  }
  if ((e.ACCTCTL_NOTIFY_SMTP_URL === undefined) !== (e.ACCTCTL_NOTIFY_EMAIL_TO === undefined)) {
    problems.push(
      e.ACCTCTL_NOTIFY_SMTP_URL === undefined
        ? 'ACCTCTL_NOTIFY_EMAIL_TO: set ACCTCTL_NOTIFY_SMTP_URL too (the server that sends)'
        : 'ACCTCTL_NOTIFY_SMTP_URL: set ACCTCTL_NOTIFY_EMAIL_TO too (who gets the email)',
    );
  }
  if (e.ACCTCTL_NOTIFY_SMTP_URL !== undefined) {
    // Whatever prints later (an SMTP error, doctor, debug logs) passes the redactor.
    for (const c of urlCredentials(e.ACCTCTL_NOTIFY_SMTP_URL)) registerSecret(c);
    registerSecret(e.ACCTCTL_NOTIFY_SMTP_URL);
  }
  if (problems.length > 0) {
    throw new ConfigError(
      `configuration has ${problems.length} problem${problems.length > 1 ? 's' : ''} → fix the settings below (flags, environment or .env)`,
      { details: problems },
    );
  }
  return {
    db: db!,
    keyFile:
      flags.keyFile !== undefined
        ? resolve(cwd, flags.keyFile)
        : resolve(baseOf('ACCTCTL_KEY_FILE'), e.ACCTCTL_KEY_FILE ?? 'acctctl.key'),
    secretKeyEnv: e.ACCTCTL_SECRET_KEY,
    telegramApiId: e.TELEGRAM_API_ID === undefined ? undefined : Number(e.TELEGRAM_API_ID),
    telegramApiHash: e.TELEGRAM_API_HASH,
    telegramMode: e.ACCTCTL_TELEGRAM === 'sandbox' ? 'sandbox' : 'real',
    instagramUrl: e.ACCTCTL_INSTAGRAM_URL ?? 'https://www.instagram.com',
    chromiumPath: e.ACCTCTL_CHROMIUM_PATH,
    timeZone: e.ACCTCTL_TIMEZONE ?? 'UTC',
    pacing:
      e.ACCTCTL_PACING === 'off'
        ? null
        : {
            activeHours:
              e.ACCTCTL_ACTIVE_HOURS === undefined ? DEFAULT_ACTIVE_HOURS : parseActiveHours(e.ACCTCTL_ACTIVE_HOURS)!,
            proxy: { ...DEFAULT_PROXY_PACING },
          },
    logLevel: level as LogLevel,
    logFile:
      flags.logFile ??
      (e.ACCTCTL_LOG_FILE === undefined ? undefined : resolve(baseOf('ACCTCTL_LOG_FILE'), e.ACCTCTL_LOG_FILE)),
    json: flags.json ?? false,
    apiProvidersFile:
      e.ACCTCTL_API_PROVIDERS === undefined
        ? undefined
        : resolve(baseOf('ACCTCTL_API_PROVIDERS'), e.ACCTCTL_API_PROVIDERS),
    igRate: e.ACCTCTL_IG_RATE
      ? { requests: Number(e.ACCTCTL_IG_RATE.split('/')[0]), windowMs: Number(e.ACCTCTL_IG_RATE.split('/')[1]) * 1000 }
      : { ...DEFAULT_IG_RATE },
    checkConcurrency: e.ACCTCTL_CHECK_CONCURRENCY ? Number(e.ACCTCTL_CHECK_CONCURRENCY) : DEFAULT_CHECK_CONCURRENCY,
    floodThresholdSeconds: e.ACCTCTL_FLOOD_THRESHOLD === undefined ? undefined : Number(e.ACCTCTL_FLOOD_THRESHOLD),
    notify: {
      minSeverity: (e.ACCTCTL_NOTIFY_MIN_SEVERITY as NotifyConfig['minSeverity'] | undefined) ?? 'warning',
      webhook: e.ACCTCTL_NOTIFY_WEBHOOK
        ? { url: e.ACCTCTL_NOTIFY_WEBHOOK, secret: e.ACCTCTL_NOTIFY_WEBHOOK_SECRET }
        : undefined,
      telegram: e.ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN
        ? { botToken: e.ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN, chatId: e.ACCTCTL_NOTIFY_TELEGRAM_CHAT_ID }
        : undefined,
      telegramApiUrl: (e.ACCTCTL_NOTIFY_TELEGRAM_API_URL ?? 'https://api.telegram.org').replace(/\/+$/, ''),
      email:
        e.ACCTCTL_NOTIFY_SMTP_URL && e.ACCTCTL_NOTIFY_EMAIL_TO
          ? {
              smtpUrl: e.ACCTCTL_NOTIFY_SMTP_URL,
              to: parseEmailList(e.ACCTCTL_NOTIFY_EMAIL_TO)!,
              // Unset: the SMTP user when it is an address, else acctctl@<this host> (fleet/email.ts).
              from: e.ACCTCTL_NOTIFY_EMAIL_FROM,
              minSeverity:
                (e.ACCTCTL_NOTIFY_EMAIL_MIN_SEVERITY as NotifyConfig['minSeverity'] | undefined) ?? 'critical',
            }
          : undefined,
    },
    botAdminChatIds: e.ACCTCTL_BOT_ADMIN_CHAT_IDS?.split(',').map((x) => x.trim()),
    retention: {
      eventsDays: Number(e.ACCTCTL_RETENTION_EVENTS_DAYS ?? 90),
      deliveriesDays: Number(e.ACCTCTL_RETENTION_DELIVERIES_DAYS ?? 14),
      igRequestsDays: Number(e.ACCTCTL_RETENTION_IG_REQUESTS_DAYS ?? 31),
      snapshotsDays: Number(e.ACCTCTL_RETENTION_SNAPSHOTS_DAYS ?? 30),
    },
    legacyProfileDir: resolve(
      baseOf('ACCTCTL_PROFILE_DIR'),
      e.ACCTCTL_PROFILE_DIR ?? join('path' in db! ? dirname(db!.path) : cwd, 'acctctl-profiles'),
    ),
    playwrightBrowsersPath: e.PLAYWRIGHT_BROWSERS_PATH === '0' ? undefined : e.PLAYWRIGHT_BROWSERS_PATH,
    sandbox: {
      statePath: resolve(
        baseOf('ACCTCTL_SANDBOX_STATE'),
        e.ACCTCTL_SANDBOX_STATE ?? ('path' in db! ? `${db!.path}.sandbox` : 'acctctl-sandbox.db'),
      ),
      latencyMs: Number(e.ACCTCTL_SANDBOX_LATENCY_MS ?? 0),
    },
  };
}
