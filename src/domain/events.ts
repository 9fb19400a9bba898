import { durationMs, parseInstant } from './duration.js';
/**
 * Every event kind has one severity, fixed here (the only table of it). Alerts are the events
 * whose severity is at or above the configured minimum (default warning).
 */
export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const EVENT_SEVERITY = {
  // Telegram accounts
  account_state: 'info',
  account_probe: 'info',
  account_enabled: 'info',
  account_disabled: 'info',
  account_removed: 'info',
  account_reactivated: 'info',
  account_needs_person: 'critical',
  account_proxy: 'info',
  lease_released: 'info',
  // Fleet
  fleet_unhealthy: 'critical',
  // Proxies (`proxies check`)
  proxy_dead: 'warning',
  proxy_alive: 'info',
  // Instagram sessions
  ig_refreshed: 'info',
  ig_refresh_failed: 'warning',
  ig_needs_manual: 'critical',
  ig_failed: 'critical',
  ig_session_stale: 'critical',
  ig_session_old: 'warning',
  ig_reactive_burst: 'warning',
  ig_proxy: 'info',
  ig_session_lost: 'warning',
  ig_account_disabled: 'info',
  ig_account_enabled: 'info',
  ig_refresh_requested: 'info',
  // The admin bot (bot poll)
  bot_stranger: 'info',
  // Checks
  watch_changed: 'info',
  followers_diff: 'info',
  following_diff: 'info',
  // Operator actions: recorded, never paged.
  tenant_removed: 'info',
  proxy_removed: 'info',
  ig_account_removed: 'info',
  api_key_removed: 'info',
  ig_profile_migrated: 'info',
} as const satisfies Readonly<Record<string, Severity>>;

/** Every kind the code writes; `NewEvent.kind` takes only these, so a new kind needs its severity here first. */
export type EventKind = keyof typeof EVENT_SEVERITY;

export function isEventKind(kind: string): kind is EventKind {
  return Object.prototype.hasOwnProperty.call(EVENT_SEVERITY, kind);
}

/** A kind missing from the table (e.g. added by newer code) is delivered rather than lost. */
export const DEFAULT_SEVERITY: Severity = 'warning';

export function severityOf(kind: string): Severity {
  return isEventKind(kind) ? EVENT_SEVERITY[kind] : DEFAULT_SEVERITY;
}

export function rank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/**
 * The kinds at or above `min`, for a SQL filter: `kind IN (known)` plus, when the default
 * severity qualifies, every kind not in the table.
 */
export function kindsAtLeast(min: Severity): { known: string[]; unknownToo: boolean } {
  return {
    known: (Object.entries(EVENT_SEVERITY) as [string, Severity][])
      .filter(([, s]) => rank(s) >= rank(min))
      .map(([k]) => k),
    unknownToo: rank(DEFAULT_SEVERITY) >= rank(min),
  };
}

/**
 * `1d`, `12h`, `30m`, `45s`, `2w` (up to ten years), or an ISO 8601 time with its offset
 * (domain/duration.ts parseInstant) → epoch ms; or the problem, for the message.
 */
export function parseSince(s: string, now: number): { ms: number } | { problem: string } {
  const ms = durationMs(s);
  if (ms !== undefined) return { ms: now - ms };
  if (/^\d+(ms|s|m|h|d|w)?$/.test(s.trim())) return { problem: 'longer than ten years (3650d)' };
  if (/^\d{4}-/.test(s.trim())) return parseInstant(s);
  return { problem: 'neither a duration nor an ISO time' };
}
