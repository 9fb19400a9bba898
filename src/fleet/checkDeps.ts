import type { Clock } from '../domain/clock.js';
import type { ApiProvider } from '../domain/providers.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Store } from '../store/store.js';

/** What check runs with (the CLI passes the configuration's values: src/config/config.ts). */
export interface CheckDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  log: Logger;
  instagramUrl: string;
  providers: Map<string, ApiProvider>;
  /** Requests per Instagram session and endpoint kind in a sliding window (ACCTCTL_IG_RATE). */
  rate: { requests: number; windowMs: number };
  /**
   * Refresh-session's login (shared lock + promise), when a browser is available: for a logout
   * confirmed on a 401/302, and for expired sessions of a tenant before it runs. Absent → a
   * confirmed logout only marks the session expired (and due for refresh-session at once).
   */
  refresh?: (igAccountId: number) => Promise<{ status: string }>;
  /** Tenants checked at once (ACCTCTL_CHECK_CONCURRENCY). */
  concurrency: number;
}

export type Method = 'api' | 'instagram' | 'proxy';

/** A verify mode's methods, in the order they are tried (`api+instagram` → api, then instagram). */
export function methodsOf(mode: string): Method[] {
  return mode.split('+') as Method[];
}

/** How long a watch rests after a check, by kind. */
export const CHECK_INTERVAL_MS: Record<string, number> = {
  exists: 6 * 3_600_000,
  followers: 24 * 3_600_000,
  following: 24 * 3_600_000,
};
export const RETRY_AFTER_ERROR_MS = 15 * 60_000;
/** A saved follower cursor is trusted this long; older, paging starts again (items kept). */
export const CURSOR_SHELF_LIFE_MS = 29 * 86_400_000;
export const JOB_LEASE_MS = 2 * 60_000;

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
