/**
 * acctctl as a library: the fleet for services that lease Telegram accounts. See the README's
 * "Use from another service".
 *
 *   import { openFleet } from 'acctctl';
 *   await using fleet = await openFleet();                 // DATABASE_URL, .env, ./acctctl.db — as the CLI
 *   const r = await fleet.lease({ action: 'invite', channel: '@mygroup' });
 *   if (r.ok) await fleet.release(r.lease.token, { used: { invite: 1 } });
 *
 * Every type that appears in a public signature is exported from here (a test checks it).
 */
import { parseDbUrl, type DbTarget } from './config/config.js';
import { ConfigError } from './errors.js';
import { openStore as openStoreAt, type SchemaMode, type Store } from './store/store.js';

/** Open the store alone (no configuration read): a SQLite path, `sqlite:PATH` or `postgres://…`. */
export async function openStore(where: string | DbTarget, opts: { schema?: SchemaMode } = {}): Promise<Store> {
  const target = typeof where === 'string' ? parseDbUrl(where, process.cwd()) : where;
  if (!target) throw new ConfigError('the database is not a SQLite path, sqlite:PATH or postgres:// URL → fix it');
  return openStoreAt(target, opts);
}

export { openFleet } from './openFleet.js';
export type {
  AccountsImportOptions,
  AccountsSource,
  Fleet,
  FleetAccounts,
  FleetLeaseRequest,
  FleetSettings,
  OpenFleetOptions,
  ReleaseOptions,
} from './openFleet.js';
export { AccountManager, parseToken, DEFAULT_LEASE_TTL_MS } from './fleet/accountManager.js';
export type {
  AccountManagerDeps,
  InTx,
  Lease,
  LeaseRequest,
  LeaseResult,
  LimitsCheckRequest,
  LimitsCheckResult,
  RecordRequest,
  RecordResult,
  ReleaseRequestOptions,
  ReleaseResult,
  RenewOptions,
  RenewResult,
  ReportErrorResult,
  RecoverResult,
  ResetResult,
  ActionUsage,
  PaceView,
} from './fleet/accountManager.js';
export type { AccountChange, AccountRow, ImportAccountsResult } from './fleet/accounts.js';
export type { TelegramDevice } from './domain/device.js';
export type { ImportOptions } from './config/inputFiles.js';
export { classifyError, transition, effectiveState } from './domain/accountStates.js';
export type { ErrorOutcome, ErrorInput, TargetOutcome } from './domain/accountStates.js';
export {
  ACTIONS,
  DEFAULT_LIMITS,
  evaluateLimits,
  resolveLimits,
  limitsFor,
  parseLimitsOverride,
  PARSING,
  NO_QUOTA,
} from './domain/limits.js';
export type { ParseResult } from './domain/result.js';
export type {
  Action,
  ActionLimits,
  ActionRecord,
  LimitReason,
  Limits,
  LimitsOverride,
  LimitVerdict,
  Purpose,
} from './domain/limits.js';
export { DEFAULT_ACTIVE_HOURS, DEFAULT_PROXY_PACING, parseActiveHours, planPace } from './domain/pacing.js';
export type { ActiveHours, PaceInput, PacePlan, PaceReason, PacingConfig, ProxyPacing } from './domain/pacing.js';
export { systemClock, FakeClock } from './domain/clock.js';
export type { Clock } from './domain/clock.js';
export type { Logger, LogFields, LogLevel } from './log/logger.js';
export type { SchemaMode, Store } from './store/store.js';
export type { DialectCaps, HeldStatements } from './store/dialects.js';
export type { StoreTx } from './store/leases.js';
export { ACCOUNT_STATES } from './domain/accountStates.js';
export type { AccountState } from './domain/accountStates.js';
export { TARGET_STATUSES } from './store/schema.js';
export type * from './store/schema.js';
export { alignClock, databaseClockOffset, CLOCK_SKEW_LIMIT_MS } from './store/dbClock.js';
export type { DbTarget } from './config/config.js';
export * from './errors.js';
