import { tenantIdByName } from '../store/tenants.js';
import {
  classifyError,
  DEFAULT_FLOOD_THRESHOLD_SECONDS,
  PERSON_STATES,
  TIMED_STATES,
  transition,
  type ErrorInput,
  type ErrorOutcome,
} from '../domain/accountStates.js';
import { localDay, startOfDay } from '../domain/calendar.js';
import { parseTargetLink, targetKey } from '../domain/links.js';
import { systemClock, type Clock } from '../domain/clock.js';
import {
  formatActiveHours,
  isActive,
  nextActiveStart,
  planPace,
  proxyNextAt,
  type ActiveHours,
  type PacePlan,
  type PacingConfig,
} from '../domain/pacing.js';
import {
  ACTIONS,
  activeHoursOf,
  evaluateLimits,
  floodThresholdOf,
  parseLimitsOverride,
  resolveLimits,
  type Action,
  type ActionRecord,
  type LimitVerdict,
  type Limits,
  type LimitsOverride,
} from '../domain/limits.js';
import { DataError, LeaseLostError, UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { AccountState } from '../domain/accountStates.js';
import {
  boundAccount,
  CANDIDATE_PAGE,
  claimLease,
  leaseCandidates,
  lockHeldLease,
  lockTokenAccount,
  nextStateChangeAt,
  recoverRows,
  releaseLease,
  releaseLeaseInTx,
  renewLease,
  resetDayRows,
  readLimitOverrides,
  storeLimits,
  usageInputs,
  writeErrorReport,
  type Candidate,
  type StoreTx,
} from '../store/leases.js';
import type { Store } from '../store/store.js';
import { wayBack } from './waysBack.js';

export interface LeaseRequest {
  action: Action;
  tenant?: string | undefined;
  /**
   * For per-channel limits (invites), in any target link form. A group some account joined goes
   * only to that account, and to none during its warm-up or while its join request is pending.
   */
  channel?: string | undefined;
  /** Who holds it: shown in status, e.g. "joiner@host:pid". */
  holder: string;
  ttlMs: number;
  /** Only this account (a target pinned to it). */
  accountId?: number | undefined;
  /** Never these accounts (e.g. ones that failed to connect in this run). */
  excludeIds?: readonly number[] | undefined;
}

/** An account's limits of one action, its verdict now (limits and pacing), and pacing's view. */
export interface ActionUsage {
  limits: Limits[Action];
  verdict: LimitVerdict;
  pace: PaceView;
}

/** Work done in the same transaction as a release or an error report (e.g. the target's row). */
export type InTx = (tx: StoreTx, now: number) => Promise<void>;

export interface Lease {
  /** `<accountId>.<fence>`: the fencing token every later call must present. */
  token: string;
  accountId: number;
  account: string;
  action: Action;
  channel: string | null;
  holder: string;
  expiresAt: number;
  /** Actions allowed now, one after another, before a gap or limit applies. */
  allowance: number;
}

export type LeaseResult =
  | { ok: true; lease: Lease }
  | {
      ok: false;
      /** When the next account may become eligible (null: none will without a person). */
      nextAt: number | null;
      reason: string;
    };

export interface ReleaseResult {
  account: string;
  recorded: Partial<Record<Action, number>>;
}

export interface ReportErrorResult {
  account: string;
  /** What the lease was for: only a join lease has a target to speak of. */
  action: Action | null;
  code: string;
  /** Telegram's (or the network's) own words, kept when the code alone loses them (UNKNOWN, NETWORK). */
  lastError: string;
  /** Not to be used again in this run (a long flood wait, a block). */
  skipForRun: boolean;
  state: AccountState;
  until: number | null;
  /** What to do with the join target (null for leases of other actions: they have none). */
  target: ErrorOutcome['target'] | null;
  pauseUntil: number | null;
  /**
   * The lease had already ended (expired, released, or taken over): the error was recorded on the
   * token's account all the same, and nobody's lease was touched.
   */
  late: boolean;
}

export interface RecoverResult {
  reactivated: { account: string; from: string }[];
  leasesFreed: string[];
  targetsRequeued: number;
  jobsFreed: number;
  /** Proxies marked unhealthy long enough ago to be tried again. */
  proxiesRetried: number;
  /**
   * Accounts in a state that needs a person, parked for joins by CHANNELS_TOO_MUCH, or parked
   * because their proxy was removed, with their way back.
   */
  needsPerson: {
    account: string;
    state: string;
    reason: string | null;
    lastError: string | null;
    channelsFull: boolean;
    /** The command that actually brings it back. */
    fix: string;
  }[];
}

export interface ResetResult {
  /** The local date in the fleet's time zone (ACCTCTL_TIMEZONE); each account is reset once per its own local day. */
  day: string;
  accountsReset: number;
  alreadyReset: number;
  actionLogPruned: number;
}

/** A channel given in any target link form is known by its target key (`@name`, `+hash`); other text as given. */
/** "09:00" — the local wall-clock time of `ms` in `timeZone`. */
export function localClock(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(ms),
  );
}

export function channelKey(channel: string | undefined | null): string | null {
  if (channel === undefined || channel === null || channel.trim() === '') return null;
  const r = parseTargetLink(channel);
  return r.ok ? targetKey(r.value) : channel.trim();
}

/**
 * What goes into `last_error`: the code, and for codes that lose the detail (UNKNOWN, NETWORK)
 * the raw text too, control characters out, bounded.
 */
export function errorText(code: string, error: string | ErrorInput): string {
  if (code !== 'UNKNOWN' && code !== 'NETWORK') return code;
  const raw = typeof error === 'string' ? error : (error.message ?? error.errorMessage ?? '');
  const clean = [...raw]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch))
    .join('')
    .trim()
    .slice(0, 300);
  return clean && clean !== code ? `${code}: ${clean}` : code;
}

/** Options of renew(); a plain number (the TTL in ms) is accepted too, as before. */
export interface RenewOptions {
  /** New time to live from now, in milliseconds (default 10 minutes). */
  ttlMs?: number | undefined;
}

export interface RenewResult {
  account: string;
  expiresAt: number;
}

/** The TTL of a lease or renewal when none is given: 10 minutes. */
export const DEFAULT_LEASE_TTL_MS = 600_000;

export function parseToken(token: string): { id: number; fence: number } {
  const m = /^(\d+)\.(\d+)$/.exec(token.trim());
  if (!m) throw new UsageError(`"${token}" is not a lease token → pass the token a lease returned (lease.token)`);
  return { id: Number(m[1]), fence: Number(m[2]) };
}

/** Candidates read per round: a few more than concurrent holders usually race for. */
const PAGE = CANDIDATE_PAGE;
const CLAIM_RETRIES = 8;
/** Accounts looked at per lease, at most: PAGE × MAX_PAGES. */
const MAX_PAGES = 100;
const HOUR = 3_600_000;
/** An unhealthy proxy is given another chance by recover after this long. */
export const PROXY_RETRY_MS = 30 * 60_000;

type PaceReasonOrProxy = 'active_hours' | 'budget' | 'spacing' | 'proxy';

const parsedOverrides = new Map<string, LimitsOverride>();

/** Overrides are stored as JSON; the same text is parsed once per process. */
export function parseOverride(json: string | null, where: string): LimitsOverride | null {
  if (!json) return null;
  const cached = parsedOverrides.get(json);
  if (cached) return cached;
  const r = parseLimitsOverride(JSON.parse(json) as unknown);
  if (!r.ok) throw new DataError(`${where} has invalid limits → fix them`, { details: r.problems });
  if (parsedOverrides.size > 10_000) parsedOverrides.clear();
  parsedOverrides.set(json, r.value);
  return r.value;
}

function ttlError(ttlMs: unknown): UsageError {
  return new UsageError(
    `the lease TTL ttlMs = ${String(ttlMs)} is not allowed → give a positive number of milliseconds, e.g. { ttlMs: 600_000 }`,
  );
}

export interface AccountManagerDeps {
  store: Store;
  /** Where "now" comes from (default: the system clock). */
  clock?: Clock | undefined;
  /** IANA time zone of "per day" limits (default UTC; openFleet() passes ACCTCTL_TIMEZONE). */
  timeZone?: string | undefined;
  log?: Logger | undefined;
  floodThresholdSeconds?: number | undefined;
  /**
   * Pacing (README "Leases and limits"): active hours, the day's drawn budget spread over them,
   * per-proxy spacing of joins. openFleet() and the CLI pass the configuration (on unless
   * ACCTCTL_PACING=off); without it only the limits apply.
   */
  pacing?: PacingConfig | null | undefined;
}

/** What pacing says about one account and action now (null fields: pacing is off or not a join). */
export interface PaceView {
  timeZone: string;
  activeHours: ActiveHours | null;
  /** Today's plan of joins (budget, next planned action); null for other actions or pacing off. */
  plan: PacePlan | null;
}

/**
 * Hands accounts to work: leases with fencing tokens, limits computed from the action log, and
 * the error → state table. Every claim is one atomic statement with `now` from the clock.
 */
export class AccountManager {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly timeZone: string;
  private readonly log: Logger;
  private readonly floodThresholdSeconds: number;
  private readonly pacing: PacingConfig | null;

  constructor(deps: AccountManagerDeps) {
    this.pacing = deps.pacing ?? null;
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.timeZone = deps.timeZone ?? 'UTC';
    this.log = deps.log ?? silentLogger;
    this.floodThresholdSeconds = deps.floodThresholdSeconds ?? DEFAULT_FLOOD_THRESHOLD_SECONDS;
  }

  private async tenantId(name: string | undefined): Promise<number | null> {
    return name === undefined ? null : tenantIdByName(this.store, name);
  }

  /**
   * Where a lease's history starts: enough for every limit at `now` (the local day of any time
   * zone — at most 26 hours back —, the last two hours).
   */
  private since(now: number): number {
    return Math.min(startOfDay(now, this.timeZone), now - 26 * HOUR);
  }

  /** The active hours of an account: its own limits', its tenant's, else the fleet's (pacing on). */
  private hoursOf(limitsJson: string | null, tenantLimits: string | null): ActiveHours | null {
    if (!this.pacing) return null;
    return activeHoursOf(limitsJson) ?? activeHoursOf(tenantLimits) ?? this.pacing.activeHours;
  }

  /** Pacing's view of an account now: its zone, active hours and (joins) today's plan. */
  private paceOf(
    a: {
      id: number;
      limitsJson: string | null;
      tenantLimits: string | null;
      timeZone: string | null;
      newSince: number | null;
    },
    limits: Limits[Action],
    action: Action,
    history: readonly ActionRecord[],
    now: number,
  ): PaceView {
    const timeZone = a.timeZone ?? this.timeZone;
    const hours = this.hoursOf(a.limitsJson, a.tenantLimits);
    if (!hours || action !== 'join') return { timeZone, activeHours: hours, plan: null };
    const plan = planPace({
      accountId: a.id,
      now,
      timeZone,
      hours,
      perDay: limits.perDay,
      gapFloorMs: limits.gapMs[0],
      newSince: a.newSince,
      history,
    });
    return { timeZone, activeHours: hours, plan };
  }

  private verdictOf(c: Candidate, action: Action, now: number, channel?: string | null): LimitVerdict {
    const limits = resolveLimits(
      parseOverride(c.tenantLimits, 'the tenant'),
      parseOverride(c.limitsJson, `account ${c.id}`),
    )[action];
    const timeZone = c.timeZone ?? this.timeZone;
    const v = evaluateLimits(limits, c.history, { now, timeZone, channel, accountId: c.id });
    if (!this.pacing) return v;
    return this.paced(v, this.paceOf(c, limits, action, c.history, now), now, action === 'join' ? c.proxy : null);
  }

  /** The limits' verdict with pacing on top: outside active hours, not due yet, or the proxy busy → not now. */
  private paced(v: LimitVerdict, pace: PaceView, now: number, proxy: Candidate['proxy'] | null): LimitVerdict {
    const blocks: { reason: PaceReasonOrProxy; until: number }[] = [];
    const hours = pace.activeHours;
    if (hours && !isActive(now, pace.timeZone, hours)) {
      blocks.push({ reason: 'active_hours', until: nextActiveStart(now, pace.timeZone, hours) });
    }
    if (pace.plan && pace.plan.reason !== null) blocks.push({ reason: pace.plan.reason, until: pace.plan.nextAt });
    if (proxy && this.pacing) {
      const p = this.pacing.proxy;
      const recent = [proxy.last, proxy.hourFirst].filter((x): x is number => x !== null);
      let until = proxyNextAt(proxy.last === null ? [] : [proxy.last], now, p);
      if (proxy.hour >= p.perHour && proxy.hourFirst !== null) until = Math.max(until, proxy.hourFirst + HOUR);
      if (proxy.busy > 0) until = Math.max(until, now + p.gapMs);
      if (until > now && recent.length + proxy.busy > 0) blocks.push({ reason: 'proxy', until });
    }
    // A limit that ends outside the active hours ends, in effect, when they start again.
    const open = (t: number) => (hours ? nextActiveStart(t, pace.timeZone, hours) : t);
    if (!blocks.length) {
      if (!v.allowed) return { ...v, until: open(v.until) };
      return pace.plan ? { ...v, allowance: Math.min(v.allowance, 1) } : v;
    }
    const worst = blocks.reduce((a, b) => (b.until > a.until ? b : a));
    if (!v.allowed && v.until >= worst.until) return { ...v, until: open(v.until) };
    return {
      allowed: false,
      reason: worst.reason,
      until: open(worst.until),
      usedToday: v.usedToday,
      usedLastHour: v.usedLastHour,
    };
  }

  async lease(req: LeaseRequest): Promise<LeaseResult> {
    if (!(ACTIONS as readonly string[]).includes(req.action)) {
      throw new UsageError(`unknown action "${req.action}" → use one of ${ACTIONS.join(', ')}`);
    }
    if (!(req.ttlMs > 0)) throw ttlError(req.ttlMs);
    const tenantId = await this.tenantId(req.tenant);
    const channel = channelKey(req.channel);
    // A group some account joined is bound to it for good, and rests through its warm-up.
    const bound = channel === null ? null : await boundAccount(this.store.db, channel);
    if (bound) {
      const now = this.clock.now();
      if (bound.status === 'pending_approval') {
        return {
          ok: false,
          nextAt: null,
          reason: `${channel} is bound to ${bound.account}, whose join request is waiting for an admin's approval (join re-checks it)`,
        };
      }
      if (bound.warmupEndsAt !== null && bound.warmupEndsAt > now) {
        return {
          ok: false,
          nextAt: bound.warmupEndsAt,
          reason: `${channel} is bound to ${bound.account}, which joined it recently: warm-up ends at ${new Date(bound.warmupEndsAt).toISOString()}`,
        };
      }
      if (req.accountId !== undefined && req.accountId !== bound.accountId) {
        return { ok: false, nextAt: null, reason: `${channel} is bound to another account (${bound.account})` };
      }
      req = { ...req, accountId: bound.accountId };
    }
    req = { ...req, channel: channel ?? undefined };
    for (let attempt = 0; attempt < CLAIM_RETRIES; attempt++) {
      const now = this.clock.now();
      let earliest: number | null = null;
      let lostRace = false;
      /** Every free account is outside its active hours: whose day starts first, and when. */
      let dayStarts: { account: string; at: number; tz: string; hours: ActiveHours | null } | null = null;
      let allOutside = true;
      for (let page = 0; page < MAX_PAGES; page++) {
        const candidates = await leaseCandidates(this.store, {
          now,
          action: req.action,
          tenantId,
          accountId: req.accountId,
          excludeIds: req.excludeIds,
          proxy: this.proxyPacing(req.action),
          since: this.since(now),
          limit: PAGE,
          offset: page * PAGE,
        });
        const allowed: { id: number; fence: number; allowance: number }[] = [];
        for (const c of candidates) {
          const v = this.verdictOf(c, req.action, now, channel);
          if (v.allowed) allowed.push({ id: c.id, fence: c.fence, allowance: v.allowance });
          else {
            if (earliest === null || v.until < earliest) earliest = v.until;
            if (v.reason === 'active_hours') {
              if (!dayStarts || v.until < dayStarts.at)
                dayStarts = {
                  account: c.account,
                  at: v.until,
                  tz: c.timeZone ?? this.timeZone,
                  hours: this.hoursOf(c.limitsJson, c.tenantLimits),
                };
            } else allOutside = false;
          }
        }
        if (allowed.length > 0) {
          const lease = await this.claim(req, allowed, now, tenantId);
          if (lease) return { ok: true, lease };
          // Another holder took or changed them between our read and our claim: read again.
          lostRace = true;
          break;
        }
        if (candidates.length < PAGE) break;
      }
      if (!lostRace) {
        return {
          ok: false,
          nextAt: await this.nextFreeAt(now, req.action, tenantId, earliest, req.accountId),
          reason:
            earliest === null
              ? 'no account is free (all leased, resting, disabled, or needing a person)'
              : dayStarts && allOutside
                ? `outside active hours: ${dayStarts.account}'s day starts at ${localClock(dayStarts.at, dayStarts.tz)} ${dayStarts.tz} (${new Date(dayStarts.at).toISOString()}; active hours ${dayStarts.hours ? formatActiveHours(dayStarts.hours) : ''})`
                : 'every free account is at one of its limits or paced (see status --accounts)',
        };
      }
    }
    return { ok: false, nextAt: this.clock.now(), reason: 'lost every claim to concurrent holders; try again' };
  }

  /** Per-proxy spacing for the claim (joins, pacing on). */
  private proxyPacing(action: Action): PacingConfig['proxy'] | undefined {
    return action === 'join' && this.pacing ? this.pacing.proxy : undefined;
  }

  /** One statement: take the least recently used allowed account whose fence we saw. */
  private async claim(
    req: LeaseRequest,
    allowed: { id: number; fence: number; allowance: number }[],
    now: number,
    tenantId: number | null,
  ): Promise<Lease | null> {
    const row = await claimLease(this.store, {
      now,
      action: req.action,
      tenantId,
      accountId: req.accountId,
      excludeIds: req.excludeIds,
      proxy: this.proxyPacing(req.action),
      seen: allowed,
      holder: req.holder,
      expiresAt: now + req.ttlMs,
      channel: req.channel ?? null,
    });
    if (!row) return null;
    return {
      token: `${row.id}.${row.lease_token}`,
      accountId: row.id,
      account: row.session_name,
      action: req.action,
      channel: req.channel ?? null,
      holder: req.holder,
      expiresAt: row.lease_expires_at,
      allowance: allowed.find((a) => a.id === row.id)?.allowance ?? 1,
    };
  }

  private async verdicts(action: Action, tenantId: number | null, now: number, limit: number) {
    const rows = await leaseCandidates(this.store, {
      now,
      action,
      tenantId,
      proxy: this.proxyPacing(action),
      since: this.since(now),
      limit,
      offset: 0,
    });
    return rows.map((c) => ({ id: c.id, account: c.account, verdict: this.verdictOf(c, action, now) }));
  }

  /** Accounts a lease for `action` could take right now, in the order it would take them (read-only). */
  async eligibleNow(
    action: Action,
    opts: { tenant?: string; limit?: number } = {},
  ): Promise<{ id: number; account: string; allowance: number }[]> {
    const now = this.clock.now();
    const v = await this.verdicts(action, await this.tenantId(opts.tenant), now, opts.limit ?? 1000);
    return v.flatMap(({ id, account, verdict }) =>
      verdict.allowed ? [{ id, account, allowance: verdict.allowance }] : [],
    );
  }

  /** When the next account may be leased for `action`: now, a time, or null (none will without a person). */
  async nextFree(action: Action, tenant?: string): Promise<number | null> {
    const now = this.clock.now();
    const tenantId = await this.tenantId(tenant);
    const v = await this.verdicts(action, tenantId, now, 10_000);
    if (v.some((x) => x.verdict.allowed)) return now;
    const limitsUntil = v.reduce<number | null>(
      (m, x) => (x.verdict.allowed ? m : m === null ? x.verdict.until : Math.min(m, x.verdict.until)),
      null,
    );
    return this.nextFreeAt(now, action, tenantId, limitsUntil);
  }

  /** The earliest moment another lease could succeed: limits, timed states, leases, pauses. */
  private async nextFreeAt(
    now: number,
    action: Action,
    tenantId: number | null,
    limitsUntil: number | null,
    accountId?: number,
  ): Promise<number | null> {
    const fromState = await nextStateChangeAt(this.store.db, { now, action, tenantId, accountId });
    const options = [fromState, limitsUntil].filter((x): x is number => x !== null);
    return options.length ? Math.min(...options) : null;
  }

  /** Lock the leased row (still ours, not expired) inside a write transaction. */
  private async heldRow(tx: StoreTx, token: string, now: number) {
    const { id, fence } = parseToken(token);
    const row = await lockHeldLease(tx, this.store.caps, { id, fence, now });
    if (!row) {
      throw new LeaseLostError(
        `lease ${token} is no longer held (expired, released, or taken over) → nothing was changed; take a new lease`,
      );
    }
    return row;
  }

  /**
   * The token's account when its lease is no longer held by it (null while it is: the normal
   * path). A token the account never issued (its fence is beyond the account's) is not its.
   */
  private async lateRow(tx: StoreTx, token: string, now: number) {
    const { id, fence } = parseToken(token);
    if (await lockHeldLease(tx, this.store.caps, { id, fence, now })) return null;
    return lockTokenAccount(tx, this.store.caps, { id, fence });
  }

  /** Extend a lease still held: `renew(token, { ttlMs })` (or the older `renew(token, ttlMs)`). */
  async renew(token: string, opts: RenewOptions | number = {}): Promise<RenewResult> {
    const ttlMs = typeof opts === 'number' ? opts : (opts.ttlMs ?? DEFAULT_LEASE_TTL_MS);
    if (!(ttlMs > 0)) throw ttlError(ttlMs);
    const now = this.clock.now();
    const { id, fence } = parseToken(token);
    const r = await renewLease(this.store.db, { id, fence, now, expiresAt: now + ttlMs });
    if (!r) throw new LeaseLostError(`lease ${token} is no longer held → nothing was changed; take a new lease`);
    return { account: r.session_name, expiresAt: r.lease_expires_at! };
  }

  /** End the lease and record what was done with it. */
  async release(
    token: string,
    opts: { used?: Partial<Record<Action, number>>; inTx?: InTx } = {},
  ): Promise<ReleaseResult> {
    const used = opts.used ?? {};
    for (const [a, n] of Object.entries(used)) {
      if (!(ACTIONS as readonly string[]).includes(a) || !Number.isInteger(n) || n! < 0 || n! > 1000) {
        throw new UsageError(
          `used.${a} = ${n} is not allowed → use { used: { ACTION: N } } with an action of ${ACTIONS.join(', ')} and N a whole number from 0 to 1000`,
        );
      }
    }
    const { id, fence } = parseToken(token);
    const lost = () =>
      new LeaseLostError(
        `lease ${token} is no longer held (expired, released, or taken over) → nothing was changed; take a new lease`,
      );
    const inTx = opts.inTx;
    if (!inTx) {
      // The hot path: one statement (Postgres) or one short write transaction (SQLite), held.
      const row = await releaseLease(this.store, { id, fence, now: () => this.clock.now(), used });
      if (!row) throw lost();
      return { account: row.session_name, recorded: used };
    }
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      const row = await releaseLeaseInTx(tx, this.store.caps, { id, fence, now, used });
      if (!row) throw lost();
      await inTx(tx, now);
      return { account: row.session_name, recorded: used };
    });
  }

  /**
   * Apply the error table to the leased account, log the failed attempt, and end the lease.
   * Returns what the caller should do with its target.
   */
  async reportError(
    token: string,
    error: string | ErrorInput,
    inTx?: (tx: StoreTx, now: number, outcome: ErrorOutcome) => Promise<void>,
  ): Promise<ReportErrorResult> {
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      // A report after the lease ended is still about the token's account (ids are never reused,
      // fences never go back, so only that account's tokens match); join and pending checks
      // (inTx) act on their target only while they hold the lease.
      const late = inTx === undefined ? await this.lateRow(tx, token, now) : null;
      const row = late ?? (await this.heldRow(tx, token, now));
      const outcome = classifyError(error, {
        floodThresholdSeconds:
          floodThresholdOf(row.limits_json) ?? floodThresholdOf(row.tenant_limits) ?? this.floodThresholdSeconds,
        errorCount: row.error_count,
      });
      const next = transition({ state: row.state, until: row.state_until }, outcome, now);
      const lastError = errorText(outcome.code, error) + (late ? ' (reported after the lease ended)' : '');
      const pauseUntil = outcome.pauseMs === null ? null : now + outcome.pauseMs;
      await writeErrorReport(tx, {
        now,
        row,
        late: late !== null,
        failedAttempt: outcome.failedAttempt,
        code: outcome.code,
        next,
        channelsFull: outcome.channelsFull,
        pauseUntil,
        countsAsError: outcome.countsAsError,
        lastError,
        event:
          next.changed || outcome.channelsFull
            ? {
                message: `${row.session_name}: ${row.state} → ${next.state} (${outcome.code})`,
                data: { from: row.state, to: next.state, until: next.until, code: outcome.code, error: lastError },
              }
            : null,
      });
      if (inTx) await inTx(tx, now, outcome);
      return {
        account: row.session_name,
        action: row.lease_action,
        code: outcome.code,
        lastError,
        skipForRun: outcome.skipForRun,
        state: next.state,
        until: next.until,
        target: row.lease_action === 'join' ? outcome.target : null,
        pauseUntil,
        late: late !== null,
      };
    });
  }

  /** Timed states that are over → active; expired leases freed and their work requeued. */
  async recover(): Promise<RecoverResult> {
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      const r = await recoverRows(tx, {
        now,
        timedStates: TIMED_STATES,
        personStates: PERSON_STATES,
        proxyRetryBefore: now - PROXY_RETRY_MS,
      });
      return {
        reactivated: r.reactivated,
        leasesFreed: r.leasesFreed,
        targetsRequeued: r.targetsRequeued,
        jobsFreed: r.jobsFreed,
        proxiesRetried: r.proxiesRetried,
        needsPerson: r.needsPerson.map((p) => ({
          account: p.session_name,
          state: p.state,
          reason: p.state_reason,
          lastError: p.last_error,
          channelsFull: p.channels_full === 1,
          fix: wayBack({
            account: p.session_name,
            state: p.state,
            phone: p.phone,
            channelsFull: p.channels_full === 1,
            proxyRemoved: p.proxy_removed_at !== null,
          }),
        })),
      };
    });
  }

  /**
   * Exactly one reset per account per local day however often it runs (a row per account and
   * day); it zeroes the day's error count and prunes the action log past the retention period.
   * Limits never depend on it: they are computed from the action log.
   */
  async resetLimits(opts: { retentionDays?: number } = {}): Promise<ResetResult> {
    const retentionMs = (opts.retentionDays ?? 30) * 24 * HOUR;
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      const day = localDay(now, this.timeZone);
      // Each account's own local day: run at any hour, it resets those whose day has turned.
      const { total, accountsReset, actionLogPruned } = await resetDayRows(tx, {
        dayIn: (zone) => localDay(now, zone),
        defaultZone: this.timeZone,
        now,
        pruneBefore: now - retentionMs,
      });
      return {
        day,
        accountsReset,
        alreadyReset: total - accountsReset,
        actionLogPruned,
      };
    });
  }

  /**
   * Limits and today's use per account and action, from the same functions `lease` uses; only the
   * accounts `ids` when given (a page of `status --accounts`).
   */
  async usage(ids?: readonly number[]): Promise<Map<number, Record<Action, ActionUsage>>> {
    const now = this.clock.now();
    if (ids && ids.length === 0) return new Map();
    const since = this.since(now);
    const { accounts, log: rows } = await usageInputs(this.store.db, { ids, since });
    const hist = new Map<string, ActionRecord[]>();
    for (const r of rows) {
      const k = `${r.account_id}:${r.action}`;
      let list = hist.get(k);
      if (!list) hist.set(k, (list = []));
      list.push({ at: r.at, ok: r.ok === 1, channel: r.channel });
    }
    const out = new Map<number, Record<Action, ActionUsage>>();
    const resolved = new Map<string, Limits>();
    for (const a of accounts) {
      const key = `${a.tenant_limits ?? ''}\u0000${a.limits_json ?? ''}`;
      let limits = resolved.get(key);
      if (!limits) {
        limits = resolveLimits(
          parseOverride(a.tenant_limits, 'the tenant'),
          parseOverride(a.limits_json, `account ${a.id}`),
        );
        resolved.set(key, limits);
      }
      const per = {} as Record<Action, ActionUsage>;
      const who = {
        id: a.id,
        limitsJson: a.limits_json,
        tenantLimits: a.tenant_limits,
        timeZone: a.timezone,
        newSince: a.new_since === null ? null : Number(a.new_since),
      };
      const timeZone = a.timezone ?? this.timeZone;
      for (const action of ACTIONS) {
        const history = hist.get(`${a.id}:${action}`) ?? [];
        const verdict = evaluateLimits(limits[action], history, { now, timeZone, accountId: a.id });
        const pace = this.paceOf(who, limits[action], action, history, now);
        per[action] = {
          limits: limits[action],
          verdict: this.pacing ? this.paced(verdict, pace, now, null) : verdict,
          pace,
        };
      }
      out.set(a.id, per);
    }
    return out;
  }

  /**
   * The limits that apply (README "Limits overrides"): the defaults, then the tenant's overrides,
   * then the account's; and which overrides are set.
   */
  async effectiveLimits(target: { account: string } | { tenant: string }): Promise<{
    limits: Limits;
    overrides: { tenant: unknown; account: unknown };
    /** Its time zone (its own, its tenant's, else the fleet's). */
    timeZone: string;
    /** Its active hours ("09:00-23:00"), or null when pacing is off (ACCTCTL_PACING=off). */
    activeHours: string | null;
    /** A new account's warm-up ramp started here (null: not new). */
    newSince: number | null;
  }> {
    const o = await readLimitOverrides(this.store.db, target);
    if (!o) {
      throw new DataError(
        `${'account' in target ? `account "${target.account}"` : `tenant "${target.tenant}"`} does not exist`,
      );
    }
    return {
      limits: resolveLimits(parseOverride(o.tenant, 'the tenant'), parseOverride(o.account, 'the account')),
      overrides: {
        tenant: o.tenant === null ? null : (JSON.parse(o.tenant) as unknown),
        account: o.account === null ? null : (JSON.parse(o.account) as unknown),
      },
      timeZone: o.timezone ?? this.timeZone,
      activeHours: (() => {
        const h = this.hoursOf(o.account, o.tenant);
        return h ? formatActiveHours(h) : null;
      })(),
      newSince: o.newSince,
    };
  }

  /** Set (or clear, with null) an account's or a tenant's limit overrides. */
  async setLimits(target: { account: string } | { tenant: string }, override: unknown): Promise<void> {
    let json: string | null = null;
    if (override !== null) {
      const r = parseLimitsOverride(override);
      if (!r.ok) throw new DataError('the limits are invalid → fix them', { details: r.problems });
      json = JSON.stringify(override);
    }
    const now = this.clock.now();
    const found = await storeLimits(this.store.db, target, json, now);
    if (!found) {
      throw new DataError(
        `${'account' in target ? `account "${target.account}"` : `tenant "${target.tenant}"`} does not exist`,
      );
    }
  }
}
