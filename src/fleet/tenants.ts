import type { Clock } from '../domain/clock.js';
import { isVerifyMode, validTenantName, VERIFY_MODES } from '../domain/tenants.js';
import { UsageError } from '../errors.js';
import type { Store } from '../store/store.js';
import { SEVERITIES } from '../domain/events.js';
import {
  isWebhookSecret,
  isWebhookUrl,
  notifyTargetLabel,
  TELEGRAM_CHAT_ID,
  WEBHOOK_SECRET_HELP,
} from '../domain/webhooks.js';
import type { SecretBox } from '../security/secretBox.js';
import { registerSecret } from '../security/redact.js';
import {
  ensureTenant,
  LOGIN_FALLBACKS,
  setTenantLoginFallback,
  tenantLoginFallback,
  type LoginFallback,
  setTenantNotify,
  someTenantNames,
  tenantIdByName,
  tenantNotifySettings,
  updateTenantSettings,
  updateTenantTimeZone,
  type TenantNotifySet,
} from '../store/tenants.js';
import { isTimeZoneName, TIME_ZONE_HELP } from '../domain/pacing.js';

export interface TenantAddResult {
  name: string;
  verifyMode: string;
  created: boolean;
  /** The time zone set by --timezone (undefined: not given). */
  timeZone?: string | null;
}

/** --timezone: an IANA name, or "" to clear (the accounts then follow ACCTCTL_TIMEZONE). */
export function tenantTimeZoneInput(tz: string | undefined): string | null | undefined {
  if (tz === undefined) return undefined;
  const t = tz.trim();
  if (t === '') return null;
  if (!isTimeZoneName(t)) throw new UsageError(`--timezone "${tz}" → give ${TIME_ZONE_HELP} ("" clears it)`);
  return t;
}

/** `tenants set NAME --timezone TZ`: the default time zone of the tenant's accounts. */
export async function setTenantTimeZone(
  deps: { store: Store },
  name: string,
  timeZone: string | null,
): Promise<string | null> {
  return deps.store.writeTx(async (tx) => updateTenantTimeZone(tx, await tenantIdByName(tx, name), timeZone));
}

/** `tenants add`: create a tenant, or change its verify mode (its alerts: `tenants set`). */
export async function addTenant(
  deps: { store: Store; clock: Clock },
  input: { name: string; verifyMode?: string | undefined; timeZone?: string | undefined },
): Promise<TenantAddResult> {
  const timeZone = tenantTimeZoneInput(input.timeZone);
  if (!validTenantName(input.name)) {
    throw new UsageError(`tenant name "${input.name}" is not allowed → use letters, digits, _ . - (up to 64)`);
  }
  if (input.verifyMode !== undefined && !isVerifyMode(input.verifyMode)) {
    throw new UsageError(`--verify-mode "${input.verifyMode}" is unknown → use one of ${VERIFY_MODES.join(', ')}`);
  }
  return deps.store.writeTx(async (tx) => {
    const { id, created } = await ensureTenant(tx, input.name, deps.clock.now());
    const verifyMode = await updateTenantSettings(tx, id, { verifyMode: input.verifyMode });
    if (timeZone !== undefined) await updateTenantTimeZone(tx, id, timeZone);
    return { name: input.name, verifyMode, created, ...(timeZone !== undefined ? { timeZone } : {}) };
  });
}

/**
 * Tenants are walls: with more than one tenant, a command that hands out accounts or owns targets
 * (`lease`, `join`, `targets import`) must say whose — `--tenant NAME`, or where that makes sense
 * an explicit `--any-tenant`. The tenant to use (undefined: any, or the only one there is).
 */
export async function tenantScope(
  store: Store,
  opts: { tenant?: string | undefined; anyTenant?: boolean | undefined; command: string; anyAllowed: boolean },
): Promise<string | undefined> {
  if (opts.tenant !== undefined && opts.anyTenant) {
    throw new UsageError(`${opts.command}: --tenant and --any-tenant exclude each other → give one of them`);
  }
  if (opts.tenant !== undefined || opts.anyTenant) return opts.tenant;
  const names = await someTenantNames(store, 4);
  if (names.length > 1) {
    const shown = `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}`;
    throw new UsageError(
      `there is more than one tenant (${shown}): \`${opts.command}\` must say whose → add --tenant NAME` +
        (opts.anyAllowed ? ", or --any-tenant to take any tenant's accounts" : ''),
    );
  }
  return undefined;
}

export interface TenantNotifyInput {
  /** A webhook URL or a Telegram chat id; "" removes it. Where it came from, for messages (never the value). */
  target?: { value: string; from: string } | undefined;
  /** A `whsec_…` secret; "" removes it. */
  secret?: { value: string; from: string } | undefined;
  /** info, warning or critical; "" goes back to ACCTCTL_NOTIFY_MIN_SEVERITY. */
  minSeverity?: string | undefined;
  /** How its Instagram accounts log in when the browser cannot: `http`, or `none` (browser only). */
  loginFallback?: string | undefined;
}

export interface TenantNotifyResult {
  name: string;
  /** The target as it may be shown: scheme and host, or the chat id. */
  target: string | null;
  signed: boolean;
  minSeverity: string | null;
  /** `http`: an Instagram login falls back to HTTP when Chromium is missing or fails; `none`: browser only. */
  loginFallback: LoginFallback;
}

/**
 * `tenants set NAME`: where a tenant's alerts go, signed with its own secret, from which severity.
 * The target and the secret are secrets: sealed in the store, never echoed (not even when malformed).
 */
export async function setTenantNotifySettings(
  deps: { store: Store; box: SecretBox },
  name: string,
  input: TenantNotifyInput,
): Promise<TenantNotifyResult> {
  const target = input.target?.value.trim();
  const secret = input.secret?.value.trim();
  registerSecret(target);
  registerSecret(secret);
  if (target && !isWebhookUrl(target) && !TELEGRAM_CHAT_ID.test(target)) {
    throw new UsageError(
      `the notify target in ${input.target!.from} is neither an http(s) URL with a host nor a Telegram chat id → write a webhook URL (https://…) or a chat id (-100…, @channel) there; an empty file removes it`,
    );
  }
  if (secret && !isWebhookSecret(secret)) {
    throw new UsageError(`the notify secret in ${input.secret!.from} is not ${WEBHOOK_SECRET_HELP}`);
  }
  const sev = input.minSeverity?.trim();
  if (sev && !(SEVERITIES as readonly string[]).includes(sev)) {
    throw new UsageError(
      `--notify-min-severity "${sev}" → use one of ${SEVERITIES.join(', ')} ("" for the global minimum)`,
    );
  }
  const fallback = input.loginFallback?.trim();
  if (fallback !== undefined && !(LOGIN_FALLBACKS as readonly string[]).includes(fallback)) {
    throw new UsageError(
      `--login-fallback "${fallback}" → use http (log in over HTTP when the browser cannot) or none (browser only)`,
    );
  }
  const box = deps.box;
  return deps.store.writeTx(async (tx) => {
    const id = await tenantIdByName(tx, name);
    const set: TenantNotifySet = {};
    if (target !== undefined) {
      set.target = target
        ? {
            enc: box.seal(target, { table: 'tenants', column: 'notify_target_enc', rowId: id }),
            label: notifyTargetLabel(target),
          }
        : null;
    }
    if (secret !== undefined) {
      set.secretEnc = secret ? box.seal(secret, { table: 'tenants', column: 'notify_secret_enc', rowId: id }) : null;
    }
    if (sev !== undefined) set.minSeverity = sev || null;
    await setTenantNotify(tx, id, set);
    if (fallback !== undefined) await setTenantLoginFallback(tx, id, fallback as LoginFallback);
    const now = await tenantNotifySettings(tx, id);
    return { name, ...now, loginFallback: await tenantLoginFallback(tx, id) };
  });
}
