import type { Ctx } from './support/context.js';
import { c, KEY, paint, table } from './support/output.js';
import type { Config } from '../config/config.js';
import { loadProvidersFile } from '../config/inputFiles.js';
import { AcctctlError, ExitCode } from '../errors.js';
import { findChromium } from '../instagram/chromium.js';
import { loadKeyRing, type KeyRing } from '../security/keyring.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { CLOCK_SKEW_LIMIT_MS, databaseClockOffset } from '../store/dbClock.js';
import { schemaState } from '../store/migrations.js';
import { assertStoreExists, openStore, type Store } from '../store/store.js';
import { storeTelegramMode, telegramModeProblem } from '../store/storeMode.js';
import { secretCensus } from '../store/secrets.js';
import { count } from '../domain/plural.js';
import { sinkHealth } from '../store/deliveries.js';
import { parseSmtpUrl } from '../domain/smtpUrl.js';
import { tenantResources } from '../store/tenants.js';
import { preflightResources, tenantPreflight, type TenantPreflight } from '../fleet/preflight.js';

export interface DoctorCheck {
  check: string;
  ok: boolean;
  /** Warnings do not fail doctor: the feature that needs them is simply unavailable. */
  severity: 'error' | 'warning';
  detail: string;
  fix: string | null;
  exitCode?: number;
  /** Not a failure: the thing checked is simulated (ACCTCTL_TELEGRAM=sandbox). */
  simulated?: boolean;
  /** On the "secrets per key" row: how many stored secrets each key id still protects. */
  secretsByKey?: Record<string, number>;
  /** On a tenant's row: its mode and what it has of each resource (the pre-flight). */
  tenant?: TenantPreflight;
}

/** Every check runs, whatever failed before it; each problem comes with its fix. */
export async function doctor(config: Config, hostClock: Clock = systemClock): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const fail = (check: string, e: unknown, severity: 'error' | 'warning' = 'error') => {
    const msg = e instanceof Error ? e.message : String(e);
    const [detail, fix] = msg.includes(' → ') ? msg.split(' → ', 2) : [msg, null];
    checks.push({
      check,
      ok: false,
      severity,
      detail: detail!,
      fix: fix ?? null,
      exitCode: e instanceof AcctctlError ? e.exitCode : ExitCode.SOFTWARE,
    });
  };

  let store: Store | undefined;
  let migrated = false;
  try {
    // doctor reads: a missing SQLite file is reported (66), never created.
    assertStoreExists(config.db);
    store = await openStore(config.db, { schema: 'none' });
    checks.push({ check: 'database reachable', ok: true, severity: 'error', detail: store.description, fix: null });
    const offset = await databaseClockOffset(store, hostClock);
    if (offset !== null) {
      const ok = Math.abs(offset) <= CLOCK_SKEW_LIMIT_MS;
      checks.push({
        check: 'clock agrees with the database',
        ok,
        severity: 'error',
        detail: `this host is ${(Math.abs(offset) / 1000).toFixed(1)} s ${offset > 0 ? 'behind' : 'ahead of'} the database`,
        fix: ok
          ? null
          : `sync this host's clock (NTP: \`timedatectl set-ntp true\`, chrony); acctctl goes by the database's time meanwhile`,
        ...(ok ? {} : { exitCode: ExitCode.CONFIG }),
      });
    }
    const state = await schemaState(store.db, store.caps);
    if (state.unknown.length) {
      checks.push({
        check: 'database schema',
        ok: false,
        severity: 'error',
        detail: `newer than this acctctl (${state.unknown.join(', ')})`,
        fix: 'upgrade acctctl',
        exitCode: ExitCode.CONFIG,
      });
    } else if (state.pending.length) {
      checks.push({
        check: 'database schema',
        ok: true,
        severity: 'warning',
        detail: `${count(state.pending.length, 'migration')} pending (applied by the next command)`,
        fix: 'run `acctctl migrate`',
        exitCode: ExitCode.CONFIG,
      });
    } else {
      migrated = true;
      checks.push({
        check: 'database schema',
        ok: true,
        severity: 'error',
        detail: `up to date (${state.applied.at(-1)})`,
        fix: null,
      });
    }
  } catch (e) {
    fail('database reachable', e);
  }

  let ring: KeyRing | undefined;
  try {
    ring = loadKeyRing({ keyFile: config.keyFile, secretKeyEnv: config.secretKeyEnv });
    checks.push({
      check: 'secret key',
      ok: true,
      severity: 'error',
      detail: `${ring.source.kind === 'file' ? `${ring.source.path} (private)` : 'ACCTCTL_SECRET_KEY'}, primary ${ring.primaryId}, ${count(ring.keys.size, 'key')}`,
      fix: null,
    });
  } catch (e) {
    fail('secret key', e);
  }
  if (store && ring && migrated) {
    try {
      const census = await secretCensus(store);
      const missing = Object.keys(census.byKey).filter((k) => !ring!.keys.has(k));
      const old = Object.keys(census.byKey).filter((k) => k !== ring!.primaryId && ring!.keys.has(k));
      checks.push({
        check: 'stored secrets readable',
        ok: missing.length === 0,
        severity: 'error',
        detail: missing.length
          ? `secrets under keys not in the key ring: ${missing.join(', ')}`
          : `${count(
              Object.values(census.byKey).reduce((a, b) => a + b, 0),
              'secret',
            )}${old.length ? `, some still under older keys ${old.join(', ')}` : ''}`,
        fix: missing.length
          ? 'restore the key file that holds those keys'
          : old.length
            ? 'finish with `acctctl keys rotate`'
            : null,
        exitCode: ExitCode.CONFIG,
      });
      checks.push(secretsPerKey(ring, census.byKey));
    } catch (e) {
      fail('stored secrets readable', e);
    }
  }

  if (store && migrated) {
    try {
      const problem = await telegramModeProblem(store.db, config.telegramMode);
      const kind = await storeTelegramMode(store.db);
      checks.push(
        problem
          ? {
              check: 'Telegram store',
              ok: false,
              severity: 'error',
              detail: problem.message,
              fix: problem.fix,
              exitCode: ExitCode.CONFIG,
            }
          : {
              check: 'Telegram store',
              ok: true,
              severity: 'error',
              detail: kind === 'sandbox' ? 'a sandbox store: its accounts and joins are simulated' : 'a real store',
              fix: null,
            },
      );
    } catch (e) {
      fail('Telegram store', e);
    }
  }
  if (config.telegramMode === 'sandbox') {
    checks.push({
      check: 'Telegram API',
      ok: false,
      simulated: true,
      severity: 'warning',
      detail: 'simulated: ACCTCTL_TELEGRAM=sandbox, nothing reaches Telegram',
      fix: 'unset ACCTCTL_TELEGRAM (and use a real database) to work with real accounts',
    });
  } else {
    const ok = config.telegramApiId !== undefined && config.telegramApiHash !== undefined;
    checks.push({
      check: 'Telegram API',
      ok,
      severity: 'warning',
      detail: ok
        ? `api id ${config.telegramApiId}`
        : 'TELEGRAM_API_ID / TELEGRAM_API_HASH not set (needed by `accounts login`)',
      fix: ok ? null : 'set both from https://my.telegram.org in the environment or .env',
      exitCode: ExitCode.CONFIG,
    });
  }

  if (store && migrated) {
    try {
      checks.push(await alertDeliveryCheck(store, config));
    } catch (e) {
      fail('alert delivery', e, 'warning');
    }
  }

  let providerNames: Set<string> | null = null;
  if (config.apiProvidersFile !== undefined) {
    // The file every `check` of an api tenant reads: a problem here fails every such check.
    providerNames = new Set();
    try {
      const providers = loadProvidersFile(config.apiProvidersFile);
      providerNames = new Set(providers.keys());
      checks.push({
        check: 'API providers file',
        ok: true,
        severity: 'error',
        detail: `${config.apiProvidersFile}: ${count(providers.size, 'provider')} (${[...providers.keys()].join(', ')})`,
        fix: null,
      });
    } catch (e) {
      fail('API providers file', e);
    }
  }

  if (store && migrated) {
    try {
      checks.push(...(await tenantChecks(store, providerNames, hostClock.now())));
    } catch (e) {
      fail('tenants', e, 'warning');
    }
  }

  const chromium = findChromium(config.chromiumPath, config.playwrightBrowsersPath);
  checks.push(
    'path' in chromium
      ? { check: 'Chromium for refresh-session', ok: true, severity: 'warning', detail: chromium.path, fix: null }
      : {
          check: 'Chromium for refresh-session',
          ok: false,
          severity: 'warning',
          detail: chromium.problem,
          fix: chromium.fix,
          exitCode: ExitCode.UNAVAILABLE,
        },
  );
  await store?.close();
  return checks;
}

/**
 * The pre-flight of every tenant (the original auto-checker's check that each user has what its
 * mode needs): a row per tenant with its mode and resources, and a row per missing resource with
 * its fix. Warnings: `check` skips such a tenant (or checks it with what it has); others go on.
 */
async function tenantChecks(store: Store, providers: Set<string> | null, now: number): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  for (const r of await tenantResources(store, now)) {
    const p = tenantPreflight(r, providers);
    out.push({
      check: `tenant ${p.tenant}`,
      ok: p.problems.length === 0,
      severity: 'warning',
      detail:
        `mode ${p.mode}: ${preflightResources(p)}` +
        (p.loginFallback === 'http' ? '; Instagram login falls back to HTTP' : ''),
      fix: p.problems.length ? `${count(p.problems.length, 'resource')} missing, see below` : null,
      exitCode: ExitCode.CONFIG,
      tenant: p,
    });
    for (const m of p.problems)
      out.push({
        check: `tenant ${p.tenant}: ${m.resource}`,
        ok: false,
        severity: 'warning',
        detail: m.detail,
        fix: m.fix,
        exitCode: ExitCode.CONFIG,
      });
  }
  return out;
}

/**
 * How many secrets each key still protects: the key ring's keys (primary first, 0 when unused)
 * and any key id found in the database but missing from the ring. A non-primary key at 0 may be
 * removed with `keys remove`.
 */
export function secretsPerKey(ring: KeyRing, byKey: Record<string, number>): DoctorCheck {
  const ids = [ring.primaryId, ...[...ring.keys.keys()].filter((k) => k !== ring.primaryId)];
  for (const k of Object.keys(byKey)) if (!ids.includes(k)) ids.push(k);
  const secretsByKey: Record<string, number> = {};
  for (const k of ids) secretsByKey[k] = byKey[k] ?? 0;
  const removable = ids.filter((k) => k !== ring.primaryId && ring.keys.has(k) && secretsByKey[k] === 0);
  return {
    check: 'secrets per key',
    ok: true,
    severity: 'warning',
    detail: ids
      .map(
        (k) =>
          `${k}${k === ring.primaryId ? ' (primary)' : ring.keys.has(k) ? '' : ' (not in the key ring)'}: ${count(secretsByKey[k]!, 'secret')}`,
      )
      .join('; '),
    fix: removable.length
      ? `no secret needs ${removable.join(', ')} any more: \`acctctl keys remove ${removable[0]!}\` (after a backup)`
      : null,
    secretsByKey,
  };
}

/** Sinks that keep failing (a warning: alerts wait in the outbox, batches are not held up). */
async function alertDeliveryCheck(store: Store, config: Config): Promise<DoctorCheck> {
  const sinks = await sinkHealth(store);
  const bad = sinks.filter((s) => s.failing > 0 || s.dead > 0);
  const configured = [
    config.notify.webhook ? 'webhook' : null,
    config.notify.telegram?.chatId ? 'telegram' : null,
    // Shown by its recipients and server (scheme, host, port), never the URL's credentials.
    config.notify.email
      ? `email to ${config.notify.email.to.join(', ')} via ${parseSmtpUrl(config.notify.email.smtpUrl)?.label ?? 'SMTP'} (min severity ${config.notify.email.minSeverity})`
      : null,
  ].filter(Boolean);
  if (bad.length) {
    return {
      check: 'alert delivery',
      ok: false,
      severity: 'warning',
      detail: bad
        .map((s) => `${s.sink}: ${s.pending} pending, ${s.dead} given up, last error ${s.lastError ?? 'unknown'}`)
        .join('; '),
      fix: 'check the sink is reachable and its settings (ACCTCTL_NOTIFY_*, tenants set NAME --notify-target-file F); `acctctl notify` retries',
      exitCode: ExitCode.UNAVAILABLE,
    };
  }
  return {
    check: 'alert delivery',
    ok: true,
    severity: 'warning',
    detail: configured.length
      ? `${configured.join(', ')} configured; nothing failing (min severity ${config.notify.minSeverity})`
      : 'no global sink configured (ACCTCTL_NOTIFY_WEBHOOK / ACCTCTL_NOTIFY_TELEGRAM_* / ACCTCTL_NOTIFY_SMTP_URL); nothing failing',
    fix: null,
  };
}

export function renderDoctor(checks: DoctorCheck[]): string {
  return table(
    [{ head: 'check', priority: KEY }, { head: 'result', priority: KEY }, 'detail', 'fix'],
    checks.map((k) => [
      k.check,
      k.ok
        ? paint(c.green, 'ok')
        : k.simulated
          ? paint(c.yellow, 'simulated')
          : k.severity === 'error'
            ? paint(c.red, 'FAIL')
            : paint(c.yellow, 'warn'),
      k.detail,
      k.fix ?? '',
    ]),
  );
}

/** One check as `doctor --json` shows it: every key present; a passing check has no severity. */
export interface DoctorCheckJson {
  name: string;
  ok: boolean;
  /** null when the check passed; a failing warning does not fail doctor. */
  severity: 'error' | 'warning' | null;
  simulated: boolean;
  detail: string;
  fix: string | null;
  /** The exit code a failing check gives doctor, else null. */
  exitCode: number | null;
  secretsByKey: Record<string, number> | null;
  /** A tenant's row: its mode, what it needs and has (null on other rows). */
  tenant: TenantPreflight | null;
}

/** `doctor --json`: ok is false when any check fails with severity error (doctor exits non-zero). */
export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheckJson[];
}

export function doctorReport(checks: DoctorCheck[]): DoctorReport {
  return {
    ok: !checks.some((k) => !k.ok && k.severity === 'error'),
    checks: checks.map((k) => ({
      name: k.check,
      ok: k.ok,
      severity: k.ok ? null : k.severity,
      simulated: k.simulated === true,
      detail: k.detail,
      fix: k.fix,
      exitCode: k.ok ? null : (k.exitCode ?? null),
      secretsByKey: k.secretsByKey ?? null,
      tenant: k.tenant ?? null,
    })),
  };
}

export async function doctorCli(ctx: Ctx): Promise<void> {
  const checks = await doctor(ctx.config);
  ctx.emit(doctorReport(checks), () => renderDoctor(checks));
  const failures = checks.filter((k) => !k.ok && k.severity === 'error');
  const failed = failures[0];
  if (failed) {
    // One line on stderr as well, so cron (stdout sent to /dev/null) mails the operator.
    ctx.note(
      `doctor: ${count(failures.length, 'problem')} (${failures.map((k) => k.check).join(', ')}) → run \`acctctl doctor\` for the fixes`,
    );
    ctx.setExitCode(failed.exitCode ?? ExitCode.SOFTWARE);
  }
}
