import type { AccountState } from '../domain/accountStates.js';
import type { Generated } from 'kysely';

/** Kysely's view of sql/*.sql. Times are epoch milliseconds; booleans are 0/1. */
export interface TenantsTable {
  id: Generated<number>;
  name: string;
  verify_mode: Generated<string>;
  notify_target: string | null;
  notify_target_enc: string | null;
  notify_target_label: string | null;
  notify_secret_enc: string | null;
  notify_min_severity: string | null;
  limits_json: string | null;
  /** null: Instagram logins only with Chromium; 'http': an HTTP login when the browser cannot (0018). */
  login_fallback: string | null;
  created_at: number;
  /** IANA time zone of its accounts that set none (NULL: ACCTCTL_TIMEZONE). */
  timezone: Generated<string | null>;
}

export interface ProxiesTable {
  id: Generated<number>;
  tenant_id: number | null;
  url_key: string;
  scheme: string;
  host: string;
  port: number;
  username: string | null;
  password_enc: string | null;
  secret_enc: string | null;
  healthy: Generated<number>;
  fail_count: Generated<number>;
  last_checked_at: number | null;
  last_error: string | null;
  created_at: number;
  /** 1: a tenant proxy (accounts may be pinned to it); 0: an Instagram account's own (ig import). */
  shared: Generated<number>;
  /** The last `proxies check`: 1 ok, 0 failed (dead until a check succeeds), null never checked. */
  check_ok: Generated<number | null>;
  check_reason: Generated<string | null>;
  check_latency_ms: Generated<number | null>;
  /** What the check connected to through it (`host:port`). */
  check_target: Generated<string | null>;
  checked_at: Generated<number | null>;
}

export interface TelegramAccountsTable {
  id: Generated<number>;
  session_name: string;
  tenant_id: number | null;
  phone: string | null;
  api_id: number;
  api_hash_enc: string;
  string_session_enc: string;
  dc_id: number | null;
  proxy_id: number | null;
  enabled: Generated<number>;
  state: Generated<AccountState>;
  state_until: number | null;
  state_reason: string | null;
  lease_holder: string | null;
  lease_token: number | null;
  lease_action: string | null;
  lease_expires_at: number | null;
  fence: Generated<number>;
  last_used_at: number | null;
  next_action_at: number | null;
  error_count: Generated<number>;
  last_error: string | null;
  last_error_at: number | null;
  limits_json: string | null;
  created_at: number;
  updated_at: number;
  channels_full: Generated<number>;
  lease_channel: string | null;
  lru_at: Generated<number>;
  /** Leases handed out since the account's last daily reset (the original lease service's counter). */
  lease_count: Generated<number>;
  /** When its proxy was removed (--force): it sends nothing until given a proxy or --direct. */
  proxy_removed_at: Generated<number | null>;
  /** The device it connects as (JSON of domain/device.ts TelegramDevice); chosen once, then kept. */
  device_json: string | null;
  /** A session file's .json beyond the columns (twoFA, unknown keys, user id), encrypted. */
  session_meta_enc: string | null;
  /** When it was last probed (recover --probe, any form). */
  probed_at: Generated<number | null>;
  /** When `recover --probe --all` probes it next (its slot of the day); null: not scheduled yet. */
  probe_due_at: Generated<number | null>;
  /** IANA time zone of its local day and active hours (NULL: its tenant's, else ACCTCTL_TIMEZONE). */
  timezone: Generated<string | null>;
  /** When it was marked new: its warm-up ramp counts local days from here (NULL: not new). */
  new_since: Generated<number | null>;
}

export interface LimitResetsTable {
  account_id: number;
  day: string;
  at: number;
}

export interface ApiKeysTable {
  id: Generated<number>;
  tenant_id: number;
  provider: string;
  key_enc: string;
  healthy: Generated<number>;
  quota_used: Generated<number>;
  quota_reset_at: number | null;
  last_error: string | null;
  created_at: number;
}

export interface IgAccountsTable {
  id: Generated<number>;
  tenant_id: number;
  username: string;
  password_enc: string | null;
  totp_secret_enc: string | null;
  sessionid_enc: string | null;
  cookies_enc: string | null;
  proxy_id: number | null;
  state: Generated<string>;
  priority: Generated<number>;
  session_created_at: number | null;
  last_verified_at: number | null;
  next_refresh_at: number | null;
  fail_count: Generated<number>;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  rate_limited_until: number | null;
  /** Playwright storageState (cookies + localStorage), encrypted. */
  browser_state_enc: Generated<string | null>;
  /** The account's device identity (JSON: userAgent, viewport, locale, timezoneId). */
  device_json: Generated<string | null>;
  /** The tenant proxy it was pinned to at first use (when it has no own proxy). */
  pinned_proxy_id: Generated<number | null>;
  /** 1: a person said it goes out directly (`ig proxy … --direct`). */
  direct: Generated<number>;
  /** When its proxy was removed (--force): it sends nothing until given a proxy or --direct. */
  proxy_removed_at: Generated<number | null>;
  /** When an operator disabled it (`ig disable`): check and refresh-session leave it alone until `ig enable`. */
  disabled_at: Generated<number | null>;
  /** When check last sent a request with its session. */
  last_used_at: Generated<number | null>;
}

/** A live session Instagram throttled, resting for one endpoint kind. */
export interface IgBackoffsTable {
  ig_account_id: number;
  kind: string;
  until_at: number;
  strikes: number;
  reason: string | null;
}

export const TARGET_STATUSES = ['new', 'joining', 'joined', 'pending_approval', 'error', 'banned', 'expired'] as const;
export type TargetStatus = (typeof TARGET_STATUSES)[number];

export interface TargetsTable {
  id: Generated<number>;
  ref: string;
  kind: 'username' | 'invite';
  value: string;
  niche: Generated<string>;
  status: Generated<TargetStatus>;
  account_id: number | null;
  joined_at: number | null;
  warmup_ends_at: number | null;
  attempts: Generated<number>;
  next_attempt_at: number | null;
  error_message: string | null;
  lease_holder: string | null;
  lease_token: number | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
  /** When the join request was sent (pending_approval): it expires N days later. */
  requested_at: number | null;
  /** The tenant whose target it is (null: imported before targets had tenants). */
  tenant_id: number | null;
}

/** What a removed thing was called, so its events stay readable under that name. */
export interface RemovedSubjectsTable {
  subject_type: string;
  subject_id: number;
  name: string;
  tenant_id: number | null;
  tenant_name: string | null;
  removed_at: number;
}

export interface WatchesTable {
  id: Generated<number>;
  tenant_id: number;
  username: string;
  kind: string;
  last_result: string | null;
  checked_at: number | null;
  next_check_at: number | null;
  changed_at: number | null;
  created_at: number;
}

export interface CheckJobsTable {
  id: Generated<number>;
  watch_id: number;
  kind: string;
  status: Generated<string>;
  cursor: string | null;
  cursor_expires_at: number | null;
  fetched: Generated<number>;
  expected_total: number | null;
  attempts: Generated<number>;
  ig_account_id: number | null;
  lease_holder: string | null;
  lease_token: number | null;
  lease_expires_at: number | null;
  last_error: string | null;
  started_at: number;
  updated_at: number;
  completed_at: number | null;
  target_user_id: string | null;
}

export interface IgRequestsTable {
  ig_account_id: number;
  kind: string;
  at: number;
}

export interface CheckJobItemsTable {
  job_id: number;
  ig_user_id: string;
  username: string | null;
  full_name: string | null;
  is_private: number | null;
}

export interface DeliveriesTable {
  id: Generated<number>;
  event_id: number;
  sink: string;
  status: Generated<string>;
  attempts: Generated<number>;
  next_attempt_at: number;
  lease_holder: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface OpenAlertsTable {
  alert_key: string;
  event_id: number | null;
  opened_at: number;
}

export interface IgSessionLogTable {
  ig_account_id: number;
  /** proactive | reactive (a login) or check (an authenticated request). */
  what: string;
  at: number;
  ok: number;
}

export interface ActionLogTable {
  id: Generated<number>;
  account_id: number;
  action: string;
  channel: string | null;
  at: number;
  ok: number;
}

/** Errors report-error applied, by kind, for acctctl_errors_total. */
export interface ErrorLogTable {
  id: Generated<number>;
  account_id: number;
  kind: string;
  at: number;
}

export interface EventsTable {
  id: Generated<number>;
  at: number;
  kind: string;
  subject_type: string;
  subject_id: number | null;
  tenant_id: number | null;
  message: string;
  data_json: string | null;
}

export interface LocksTable {
  name: string;
  holder: string;
  token: number;
  expires_at: number;
}

export interface SettingsTable {
  name: string;
  value: string;
}

export interface Database {
  tenants: TenantsTable;
  proxies: ProxiesTable;
  telegram_accounts: TelegramAccountsTable;
  api_keys: ApiKeysTable;
  ig_accounts: IgAccountsTable;
  targets: TargetsTable;
  watches: WatchesTable;
  check_jobs: CheckJobsTable;
  check_job_items: CheckJobItemsTable;
  action_log: ActionLogTable;
  error_log: ErrorLogTable;
  events: EventsTable;
  locks: LocksTable;
  settings: SettingsTable;
  limit_resets: LimitResetsTable;
  ig_requests: IgRequestsTable;
  deliveries: DeliveriesTable;
  open_alerts: OpenAlertsTable;
  ig_session_log: IgSessionLogTable;
  ig_backoffs: IgBackoffsTable;
  removed_subjects: RemovedSubjectsTable;
}

/** Every encrypted column, by table. `keys rotate` and the canary test walk this list. */
export const SECRET_COLUMNS = {
  proxies: ['password_enc', 'secret_enc'],
  telegram_accounts: ['api_hash_enc', 'string_session_enc', 'session_meta_enc'],
  api_keys: ['key_enc'],
  ig_accounts: ['password_enc', 'totp_secret_enc', 'sessionid_enc', 'cookies_enc', 'browser_state_enc'],
  tenants: ['notify_target_enc', 'notify_secret_enc'],
} as const;
export type SecretTable = keyof typeof SECRET_COLUMNS;
