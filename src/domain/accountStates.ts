/** Every state a Telegram account can be in (the `state` column holds one of these). */
export const ACCOUNT_STATES = ['active', 'flood_wait', 'cooldown', 'blocked', 'frozen', 'disabled', 'banned'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];

/**
 * The account state machine and the Telegram error table (README "Leases and limits"), as pure functions. Input is whatever
 * a caller has: a Telegram error string (`FLOOD_WAIT_42`), gramjs's message ("A wait of 42
 * seconds is required (caused by …)", "420: FROZEN_METHOD_INVALID (caused by …)") or a
 * structured `{ errorMessage, seconds, code }` taken from a gramjs error.
 */
export type TargetOutcome = 'queued' | 'joined' | 'pending_approval' | 'error' | 'banned';

export interface ErrorOutcome {
  /** The normalised error, e.g. FLOOD_WAIT, PEER_FLOOD, NETWORK. */
  code: string;
  /** New account state, when the error changes it; with `untilMs` for timed states. */
  state: AccountState | null;
  untilMs: number | null;
  /** A pause before the account's next action of any kind (ms from now). */
  pauseMs: number | null;
  channelsFull: boolean;
  countsAsError: boolean;
  /** An attempt was made and failed (goes into the action log with ok = 0). */
  failedAttempt: boolean;
  target: TargetOutcome;
  /** Timed state longer than the threshold: not to be used again in this run. */
  skipForRun: boolean;
}

export const DEFAULT_FLOOD_THRESHOLD_SECONDS = 600;
export const PEER_FLOOD_BLOCK_MS = 24 * 3_600_000;
export const TARGET_ERROR_PAUSE_MS = 60_000;

const DISABLED = [
  'AUTH_KEY_UNREGISTERED',
  'SESSION_REVOKED',
  'SESSION_EXPIRED',
  'AUTH_KEY_DUPLICATED',
  'USER_DEACTIVATED',
];
const BANNED = ['PHONE_NUMBER_BANNED', 'USER_DEACTIVATED_BAN'];
const FROZEN = ['FROZEN_METHOD_INVALID', 'FROZEN_PARTICIPANT_MISSING'];
const TARGET_ERRORS = [
  'USERNAME_NOT_OCCUPIED',
  'USERNAME_INVALID',
  'INVITE_HASH_INVALID',
  'INVITE_HASH_EXPIRED',
  'INVITE_HASH_EMPTY',
  'CHANNEL_INVALID',
  'CHANNEL_PRIVATE',
  'USERS_TOO_MUCH',
];
const NETWORK_RE =
  /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|EPIPE|TIMEOUT|SocksClientError|Proxy|socket|disconnected|Request was unsuccessful)\b/i;

export interface ErrorInput {
  errorMessage?: string | undefined;
  message?: string | undefined;
  seconds?: number | undefined;
  code?: number | undefined;
}

function base(code: string): ErrorOutcome {
  return {
    code,
    state: null,
    untilMs: null,
    pauseMs: null,
    channelsFull: false,
    countsAsError: true,
    failedAttempt: true,
    target: 'queued',
    skipForRun: false,
  };
}

/** Exponential backoff for network trouble: 30 s, 60 s, … up to 30 min. */
export function networkBackoffMs(errorCount: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, errorCount), 30 * 60_000);
}

function words(s: string): Set<string> {
  return new Set(s.match(/[A-Z][A-Z0-9_]{3,}/g) ?? []);
}

export function classifyError(
  err: string | ErrorInput,
  opts: { floodThresholdSeconds?: number; errorCount?: number } = {},
): ErrorOutcome {
  const e: ErrorInput = typeof err === 'string' ? { message: err } : err;
  const text = `${e.errorMessage ?? ''} ${e.message ?? ''}`;
  const w = words(text);
  const has = (list: string[]) => list.find((x) => w.has(x));
  const threshold = opts.floodThresholdSeconds ?? DEFAULT_FLOOD_THRESHOLD_SECONDS;

  // FROZEN_* comes with code 420 as well: it must never be read as a flood wait.
  const frozen = has(FROZEN);
  if (frozen) return { ...base(frozen), state: 'frozen' };

  const floodMatch =
    /\b(?:FLOOD_PREMIUM_WAIT|FLOOD_WAIT)_(\d+)\b/.exec(text) ?? /A wait of (\d+) seconds is required/.exec(text);
  const floodSeconds = floodMatch
    ? Number(floodMatch[1])
    : e.errorMessage === 'FLOOD' && e.seconds !== undefined
      ? e.seconds
      : null;
  if (floodSeconds !== null) {
    const ms = floodSeconds * 1000;
    return floodSeconds <= threshold
      ? { ...base('FLOOD_WAIT'), state: 'flood_wait', untilMs: ms }
      : { ...base('FLOOD_WAIT'), state: 'cooldown', untilMs: ms, skipForRun: true };
  }
  if (w.has('PEER_FLOOD'))
    return { ...base('PEER_FLOOD'), state: 'blocked', untilMs: PEER_FLOOD_BLOCK_MS, skipForRun: true };
  const banned = has(BANNED);
  if (banned) return { ...base(banned), state: 'banned' };
  const disabled = has(DISABLED);
  if (disabled) return { ...base(disabled), state: 'disabled' };
  if (w.has('CHANNELS_TOO_MUCH')) return { ...base('CHANNELS_TOO_MUCH'), channelsFull: true };
  if (w.has('USER_ALREADY_PARTICIPANT'))
    return { ...base('USER_ALREADY_PARTICIPANT'), countsAsError: false, failedAttempt: false, target: 'joined' };
  if (w.has('INVITE_REQUEST_SENT'))
    return { ...base('INVITE_REQUEST_SENT'), countsAsError: false, failedAttempt: false, target: 'pending_approval' };
  if (w.has('USER_BANNED_IN_CHANNEL'))
    return {
      ...base('USER_BANNED_IN_CHANNEL'),
      countsAsError: false,
      pauseMs: TARGET_ERROR_PAUSE_MS,
      target: 'banned',
    };
  const targetErr =
    has(TARGET_ERRORS) ?? (/No user has ".*" as username/.test(text) ? 'USERNAME_NOT_OCCUPIED' : undefined);
  if (targetErr) return { ...base(targetErr), countsAsError: false, pauseMs: TARGET_ERROR_PAUSE_MS, target: 'error' };
  const network = NETWORK_RE.test(text);
  return { ...base(network ? 'NETWORK' : 'UNKNOWN'), pauseMs: networkBackoffMs(opts.errorCount ?? 0) };
}

const SEVERITY: Record<AccountState, number> = {
  active: 0,
  flood_wait: 1,
  cooldown: 2,
  blocked: 3,
  frozen: 4,
  disabled: 5,
  banned: 6,
};
export const TIMED_STATES: readonly AccountState[] = ['flood_wait', 'cooldown', 'blocked'];
export const PERSON_STATES: readonly AccountState[] = ['frozen', 'disabled', 'banned'];

/** The state an account is really in at `now`: a timed state whose `until` passed is active. */
export function effectiveState(state: AccountState, until: number | null, now: number): AccountState {
  return TIMED_STATES.includes(state) && until !== null && until <= now ? 'active' : state;
}

/**
 * An account's state as every listing, `status` and the metrics show it at `now`: effectiveState,
 * with the `until` that belongs to it (null once a timed state has run out). The stored state
 * stays as it is until `recover` (or the next lease) writes `active`.
 */
export function effectiveAccountState(
  stored: { state: AccountState; until: number | null },
  now: number,
): { state: AccountState; until: number | null } {
  const state = effectiveState(stored.state, stored.until, now);
  return { state, until: state === stored.state ? stored.until : null };
}

/**
 * Apply an error's state change. A milder state never replaces a more severe one that is still
 * in force (a flood wait does not lift a ban); among timed states the later `until` wins.
 */
export function transition(
  current: { state: AccountState; until: number | null },
  outcome: ErrorOutcome,
  now: number,
): { state: AccountState; until: number | null; changed: boolean } {
  const cur = effectiveState(current.state, current.until, now);
  const curUntil = cur === 'active' ? null : current.until;
  if (!outcome.state) return { state: cur, until: curUntil, changed: cur !== current.state };
  const nextUntil = outcome.untilMs === null ? null : now + outcome.untilMs;
  if (SEVERITY[outcome.state] < SEVERITY[cur]) return { state: cur, until: curUntil, changed: cur !== current.state };
  if (outcome.state === cur && curUntil !== null && nextUntil !== null && nextUntil < curUntil) {
    return { state: cur, until: curUntil, changed: false };
  }
  return {
    state: outcome.state,
    until: nextUntil,
    changed: outcome.state !== current.state || nextUntil !== current.until,
  };
}
