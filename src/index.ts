/**
 * acctctl as a library: the fleet for other services and scripts, the way seed 003's HTTP API
 * was used.
 *
 *   import { openStore, AccountManager, systemClock } from 'acctctl';
 *   const store = await openStore('postgres://…');           // or a SQLite path
 *   const clock = await alignClock(store, systemClock);      // Postgres: the database's time
 *   const fleet = new AccountManager({ store, clock });
 *   const r = await fleet.lease({ action: 'invite', channel: 'c1', holder: 'inviter', ttlMs: 600_000 });
 *   if (r.ok) await fleet.release(r.lease.token, { used: { invite: 1 } });
 */
import { parseDbUrl, type DbTarget } from './config/config.js';
import { ConfigError } from './errors.js';
import { openStore as openStoreAt, type SchemaMode, type Store } from './store/store.js';

export async function openStore(where: string | DbTarget, opts: { schema?: SchemaMode } = {}): Promise<Store> {
  const target = typeof where === 'string' ? parseDbUrl(where, process.cwd()) : where;
  if (!target) throw new ConfigError(`"${where}" is not a SQLite path, sqlite:PATH or postgres:// URL`);
  return openStoreAt(target, opts);
}

export { AccountManager, parseToken } from './fleet/accountManager.js';
export type {
  Lease,
  LeaseRequest,
  LeaseResult,
  ReleaseResult,
  ReportErrorResult,
  RecoverResult,
  ResetResult,
} from './fleet/accountManager.js';
export { classifyError, transition, effectiveState } from './domain/accountStates.js';
export type { ErrorOutcome, ErrorInput, TargetOutcome } from './domain/accountStates.js';
export { ACTIONS, DEFAULT_LIMITS, evaluateLimits, resolveLimits, parseLimitsOverride } from './domain/limits.js';
export type { Action, ActionLimits, Limits, LimitVerdict } from './domain/limits.js';
export { systemClock, FakeClock } from './domain/clock.js';
export type { Clock } from './domain/clock.js';
export type { Store } from './store/store.js';
export { alignClock, databaseClockOffset, CLOCK_SKEW_LIMIT_MS } from './store/dbClock.js';
export type { DbTarget } from './config/config.js';
export * from './errors.js';
