import type { Ctx } from '../cli/context.js';
import { c, table } from '../cli/output.js';
import type { Config } from '../config/config.js';
import { AcctctlError, ExitCode } from '../errors.js';
import { findChromium } from '../instagram/chromium.js';
import { loadKeyRing, type KeyRing } from '../security/keyring.js';
import { schemaState } from '../store/migrations.js';
import { openStore, type Store } from '../store/store.js';
import { secretCensus } from './keys.js';
import { sinkHealth } from '../store/deliveries.js';

export interface DoctorCheck {
  check: string;
  ok: boolean;
  /** Warnings do not fail doctor: the feature that needs them is simply unavailable. */
  severity: 'error' | 'warning';
  detail: string;
  fix: string | null;
  exitCode?: number;
}

/** Every check runs, whatever failed before it; each problem comes with its fix. */
export async function doctor(config: Config): Promise<DoctorCheck[]> {
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
    store = await openStore(config.db, { schema: 'none' });
    checks.push({ check: 'database reachable', ok: true, severity: 'error', detail: store.description, fix: null });
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
        ok: !store.caps.autoMigrate ? false : true,
        severity: store.caps.autoMigrate ? 'warning' : 'error',
        detail: `${state.pending.length} migration(s) pending${store.caps.autoMigrate ? ' (applied by the next command)' : ''}`,
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
      detail: `${ring.source.kind === 'file' ? `${ring.source.path} (private)` : 'ACCTCTL_SECRET_KEY'}, primary ${ring.primaryId}, ${ring.keys.size} key(s)`,
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
          : `${Object.values(census.byKey).reduce((a, b) => a + b, 0)} secrets${old.length ? `, some still under older keys ${old.join(', ')}` : ''}`,
        fix: missing.length
          ? 'restore the key file that holds those keys'
          : old.length
            ? 'finish with `acctctl keys rotate`'
            : null,
        exitCode: ExitCode.CONFIG,
      });
    } catch (e) {
      fail('stored secrets readable', e);
    }
  }

  if (config.telegramMode === 'sandbox') {
    checks.push({
      check: 'Telegram API',
      ok: true,
      severity: 'warning',
      detail: 'ACCTCTL_TELEGRAM=sandbox (simulated Telegram)',
      fix: null,
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

  const chromium = findChromium(config.chromiumPath);
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

/** Sinks that keep failing (a warning: alerts wait in the outbox, batches are not held up). */
async function alertDeliveryCheck(store: Store, config: Config): Promise<DoctorCheck> {
  const sinks = await sinkHealth(store);
  const bad = sinks.filter((s) => s.failing > 0 || s.dead > 0);
  const configured = [
    config.notify.webhook ? 'webhook' : null,
    config.notify.telegram?.chatId ? 'telegram' : null,
  ].filter(Boolean);
  if (bad.length) {
    return {
      check: 'alert delivery',
      ok: false,
      severity: 'warning',
      detail: bad
        .map((s) => `${s.sink}: ${s.pending} pending, ${s.dead} given up, last error ${s.lastError ?? 'unknown'}`)
        .join('; '),
      fix: 'check the sink is reachable and its settings (ACCTCTL_NOTIFY_*, tenants add --notify-target); `acctctl notify` retries',
      exitCode: ExitCode.UNAVAILABLE,
    };
  }
  return {
    check: 'alert delivery',
    ok: true,
    severity: 'warning',
    detail: configured.length
      ? `${configured.join(', ')} configured; nothing failing (min severity ${config.notify.minSeverity})`
      : 'no global sink configured (ACCTCTL_NOTIFY_WEBHOOK / ACCTCTL_NOTIFY_TELEGRAM_*); nothing failing',
    fix: null,
  };
}

export function renderDoctor(checks: DoctorCheck[]): string {
  return table(
    ['check', 'result', 'detail', 'fix'],
    checks.map((k) => [
      k.check,
      k.ok ? c.green('ok') : k.severity === 'error' ? c.red('FAIL') : c.yellow('warn'),
      k.detail,
      k.fix ?? '',
    ]),
  );
}

export async function doctorCli(ctx: Ctx): Promise<void> {
  const checks = await doctor(ctx.config);
  ctx.emit(checks, renderDoctor);
  const failed = checks.find((k) => !k.ok && k.severity === 'error');
  if (failed) ctx.setExitCode(failed.exitCode ?? ExitCode.SOFTWARE);
}
