import { someTenantNames, tenantIdByName } from '../store/tenants.js';
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
import { MAX_LIMIT_COUNT } from '../domain/files/limits.js';
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
  declaredActionsOf,
  activeHoursOf,
  evaluateLimits,
  floodThresholdOf,
  isAction,
  limitsFor,
  parseLimitsOverride,
  PARSING,
  resolveLimits,
  type Action,
  type Purpose,
  type ActionRecord,
  type LimitVerdict,
  type Limits,
  type LimitsOverride,
} from '../domain/limits.js';
import { DataError, LeaseLostError, UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { AccountState } from '../domain/accountStates.js';
import { accountEvent } from '../store/events.js';
import { accountsOnDownProxies } from '../store/accounts.js';
import {
  accountForLease,
  boundAccount,
  CANDIDATE_PAGE,
  claimLease,
  leaseCandidates,
  limitDocuments,
  lockHeldLease,
  lockTokenAccount,
  nextStateChangeAt,
  recoverRows,
  releaseLease,
  releaseLeaseInTx,
  renewLease,
  resetDayRows,
  readLimitOverrides,
  recordActions,
  storeLimits,
  usageInputs,
  writeErrorReport,
  type AccountStandingRow,
  type Candidate,
  type StoreTx,
} from '../store/leases.js';
import type { Store } from '../store/store.js';
import { wayBack } from './waysBack.js';

export interface LeaseRequest {
  /** One of join, invite, message, contact; `parsing` (no quota); or an action declared in a limits file. */
  action: Purpose;
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
  /** This account by name if it can be had now, else another one (unless `only`). */
  account?: string | undefined;
  /** With `account`: that account or none (the result says why not). */
  only?: boolean | undefined;
  /**
   * With `account` and no `tenant`: the fallback may be any tenant's account. Without it, the
   * fallback stays in the preferred account's tenant; for an account of no tenant, in a fleet
   * of several tenants, there is none.
   */
  anyTenant?: boolean | undefined;
}

/** What `limits check` asks: would a lease for this succeed now? */
export type LimitsCheckRequest = Omit<LeaseRequest, 'holder' | 'ttlMs'>;

/** Whether a lease would succeed now, with which account, or when (nothing is taken). */
export interface LimitsCheckResult {
  ok: boolean;
  /** The account a lease would take now (null when none). */
  account: string | null;
  accountId: number | null;
  /** Actions it could do now, one after another (null when none). */
  allowance: number | null;
  /** When the next account may become free (null: now, or none will without a person). */
  nextAt: number | null;
  reason: string | null;
}

/** `record`: an action done with an account outside a lease, counted by its limits from now on. */
export interface RecordRequest {
  account: string;
  action: Purpose;
  /** In any target link form (per-channel limits). */
  channel?: string | undefined;
  /** false: a failed attempt (counts for the pause after a failure, not for the counts). Default true. */
  ok?: boolean | undefined;
}

export interface RecordResult {
  account: string;
  action: Purpose;
  channel: string | null;
  ok: boolean;
  at: number;
}

/** Options of release(). */
export interface ReleaseRequestOptions {
  /** Actions done with the account, recorded against its limits: `{ invite: 3 }`. */
  used?: Partial<Record<Purpose, number>> | undefined;
  /**
   * Actions done per channel (any target link form): `{ '@a': { invite: 2 }, '@b': { invite: 1 } }`.
   * Needed for the lease's action when the work used several channels.
   */
  usedByChannel?: Readonly<Record<string, Partial<Record<Purpose, number>>>> | undefined;
  /** The channels the work used (besides the lease's own). */
  channels?: readonly string[] | undefined;
  /** Whether the work succeeded: false also logs a failed attempt (the pause after a failure applies). */
  success?: boolean | undefined;
  /** Work of the caller's in the same transaction. */
  inTx?: InTx | undefined;
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
  action: Purpose;
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
  /** Actions recorded, by action (channels' counts included). */
  recorded: Partial<Record<Purpose, number>>;
  /** The channels of the work: the lease's and those named. */
  channels: string[];
  /** Whether the work succeeded, when said. */
  success: boolean | null;
}

export interface ReportErrorResult {
  account: string;
  /** What the lease was for: only a join lease has a target to speak of. */
  action: Purpose | null;
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

/** "09:00" — the local wall-clock time of `ms` in `timeZone`. */
export function localClock(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(
    new Date(ms),
  );
}

/** A channel given in any target link form is known by its target key (`@name`, `+hash`); other text as given. */
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
    action: Purpose,
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

  /** The verdict of `purpose`'s limits for a candidate; null: its limits do not declare that action. */
  private verdictOf(c: Candidate, purpose: Purpose, now: number, channel?: string | null): LimitVerdict | null {
    const limits = limitsFor(
      purpose,
      parseOverride(c.tenantLimits, 'the tenant'),
      parseOverride(c.limitsJson, `account ${c.id}`),
    );
    if (limits === null) return null;
    const timeZone = c.timeZone ?? this.timeZone;
    const v = evaluateLimits(limits, c.history, { now, timeZone, channel, accountId: c.id });
    if (!this.pacing) return v;
    return this.paced(v, this.paceOf(c, limits, purpose, c.history, now), now, purpose === 'join' ? c.proxy : null);
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
    await this.assertKnown(req.action);
    if (!(req.ttlMs > 0)) throw ttlError(req.ttlMs);
    return this.find(req, (r, allowed, now, tenantId) => this.claim(r, allowed, now, tenantId));
  }

  /**
   * The lease search shared by lease() and check(): a preferred account first, the bound account
   * of a joined group, then pages of eligible accounts until `take` gets one.
   */
  private async find(
    req: LeaseRequest,
    take: (
      req: LeaseRequest,
      allowed: { id: number; account: string; fence: number; allowance: number }[],
      now: number,
      tenantId: number | null,
    ) => Promise<Lease | null>,
    scope?: number | null,
  ): Promise<LeaseResult> {
    let tenantId = scope !== undefined ? scope : await this.tenantId(req.tenant);
    if (req.account !== undefined) {
      const row = await accountForLease(this.store.db, req.account);
      if (!row) throw new DataError(`account "${req.account}" does not exist → see acctctl accounts list`);
      // No tenant named: the preferred account's tenant (a fallback never crosses a tenant's wall).
      const unscoped = req.tenant === undefined && scope === undefined && !req.anyTenant;
      if (unscoped) tenantId = row.tenant_id;
      const { account: _name, only, anyTenant: _any, ...rest } = req;
      const mine = await this.find({ ...rest, accountId: row.id }, take, tenantId);
      if (mine.ok) return mine;
      const why = this.whyNot(row, req, tenantId, mine.reason);
      if (only) return { ok: false, nextAt: mine.nextAt, reason: why };
      // An account of no tenant says nothing about whose accounts may stand in for it.
      if (unscoped && row.tenant_id === null && (await someTenantNames(this.store, 2)).length > 1) {
        return {
          ok: false,
          nextAt: mine.nextAt,
          reason: `${why}; no other: ${row.session_name} belongs to no tenant and there are several → name the tenant whose accounts may stand in (--tenant; tenant), or allow any tenant's (--any-tenant; anyTenant)`,
        };
      }
      const other = await this.find({ ...rest, excludeIds: [...(rest.excludeIds ?? []), row.id] }, take, tenantId);
      return other.ok ? other : { ...other, reason: `${why}; and no other: ${other.reason}` };
    }
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
      let limited: string | null = null;
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
        const allowed: { id: number; account: string; fence: number; allowance: number }[] = [];
        for (const c of candidates) {
          const v = this.verdictOf(c, req.action, now, channel);
          // Its limits do not declare this action: not a candidate at all.
          if (v === null) continue;
          if (v.allowed) {
            allowed.push({
              id: c.id,
              account: c.account,
              fence: c.fence,
              allowance: Math.min(v.allowance, MAX_LIMIT_COUNT),
            });
          } else {
            if (earliest === null || v.until < earliest) {
              earliest = v.until;
              limited = `${c.account} is at its ${v.reason} limit for ${req.action} until ${new Date(v.until).toISOString()}`;
            }
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
          const lease = await take(req, allowed, now, tenantId);
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
              ? await this.noneFree(now, tenantId)
              : dayStarts && allOutside
                ? `outside active hours: ${dayStarts.account}'s day starts at ${localClock(dayStarts.at, dayStarts.tz)} ${dayStarts.tz} (${new Date(dayStarts.at).toISOString()}; active hours ${dayStarts.hours ? formatActiveHours(dayStarts.hours) : ''})`
                : req.accountId !== undefined && limited !== null
                  ? limited
                  : 'every free account is at one of its limits or paced (see status --accounts)',
        };
      }
    }
    return { ok: false, nextAt: this.clock.now(), reason: 'lost every claim to concurrent holders; try again' };
  }

  /** The actions a lease, `record` or `limits check` may name: the four, `parsing`, and every declared one. */
  async knownActions(): Promise<string[]> {
    const declared = new Set<string>();
    for (const doc of await limitDocuments(this.store.db)) {
      for (const a of declaredActionsOf(parseOverride(doc, 'a limits document'))) declared.add(a);
    }
    return [...ACTIONS, PARSING, ...[...declared].sort()];
  }

  private async assertKnown(purpose: string, where = 'action'): Promise<void> {
    if (isAction(purpose) || purpose === PARSING) return;
    const known = await this.knownActions();
    if (!known.includes(purpose)) {
      throw new UsageError(
        `unknown ${where} "${purpose.slice(0, 64)}" → use one of ${known.join(', ')}, or declare it in a tenant's or account's limits file ("actions": { "NAME": { "per_day": 50 } })`,
      );
    }
  }

  /**
   * `limits check`: whether a lease would succeed now, with which account (the one a lease would
   * take), or when the next account frees up. Read-only: nothing is taken or written.
   */
  async check(req: LimitsCheckRequest): Promise<LimitsCheckResult> {
    await this.assertKnown(req.action);
    const r = await this.find({ ...req, holder: '', ttlMs: 1 }, (q, allowed, now) => {
      const a = allowed[0]!;
      return Promise.resolve({
        token: '',
        accountId: a.id,
        account: a.account,
        action: q.action,
        channel: q.channel ?? null,
        holder: '',
        expiresAt: now,
        allowance: a.allowance,
      });
    });
    return r.ok
      ? {
          ok: true,
          account: r.lease.account,
          accountId: r.lease.accountId,
          allowance: r.lease.allowance,
          nextAt: null,
          reason: null,
        }
      : { ok: false, account: null, accountId: null, allowance: null, nextAt: r.nextAt, reason: r.reason };
  }

  /** Why a preferred account cannot be had now, in words (its state, lease, pause, proxy or limits). */
  private whyNot(row: AccountStandingRow, req: LeaseRequest, tenantId: number | null, found: string): string {
    const now = this.clock.now();
    const n = row.session_name;
    const at = (t: number | null) => new Date(t ?? now).toISOString();
    if (tenantId !== null && row.tenant_id !== tenantId) return `${n} belongs to another tenant`;
    if (!row.enabled) return `${n} is disabled (acctctl accounts enable ${n})`;
    if ((PERSON_STATES as readonly string[]).includes(row.state)) return `${n} is ${row.state}: it needs a person`;
    if ((TIMED_STATES as readonly string[]).includes(row.state) && (row.state_until ?? 0) > now) {
      return `${n} is in ${row.state} until ${at(row.state_until)}`;
    }
    if (row.lease_holder !== null && (row.lease_expires_at ?? 0) > now) {
      return `${n} is leased by ${row.lease_holder} until ${at(row.lease_expires_at)}`;
    }
    if ((row.next_action_at ?? 0) > now) return `${n} is pausing until ${at(row.next_action_at)}`;
    if (row.proxy_removed_at !== null) return `${n}'s proxy was removed (acctctl accounts proxy ${n} PROXY)`;
    if (row.proxy_healthy === 0) return `${n}'s proxy is unhealthy (recover tries it again later)`;
    if (req.action === 'join' && row.channels_full) return `${n} is in too many channels (CHANNELS_TOO_MUCH)`;
    if (req.excludeIds?.includes(row.id)) return `${n} is excluded by the request`;
    if (
      limitsFor(req.action, parseOverride(row.tenant_limits, 'the tenant'), parseOverride(row.limits_json, n)) === null
    ) {
      return `${n}'s limits do not declare the action "${req.action}"`;
    }
    return found.startsWith(n) ? found : `${n}: ${found}`;
  }

  /** Why no account is free, naming accounts that only wait for their proxy (never sent direct). */
  private async noneFree(now: number, tenantId: number | null): Promise<string> {
    const plain = 'no account is free (all leased, resting, disabled, or needing a person)';
    const down = await accountsOnDownProxies(this.store, {
      now,
      tenantId: tenantId ?? undefined,
      limit: 4,
      personStates: PERSON_STATES,
    });
    if (down.length === 0) return plain;
    const names = down.slice(0, 3).map((a) => a.session_name);
    const more = down.length > 3 ? ' and more' : '';
    return `${plain}; ${names.join(', ')}${more} ${down.length === 1 ? 'waits' : 'wait'} for a proxy that is down (dead by its last check, or unhealthy) → acctctl proxies list; acctctl proxies check`;
  }

  /** Per-proxy spacing for the claim (joins, pacing on). */
  private proxyPacing(action: Purpose): PacingConfig['proxy'] | undefined {
    return action === 'join' && this.pacing ? this.pacing.proxy : undefined;
  }

  /** One statement: take the least recently used allowed account whose fence we saw. */
  private async claim(
    req: LeaseRequest,
    allowed: { id: number; account: string; fence: number; allowance: number }[],
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
    return rows.flatMap((c) => {
      const verdict = this.verdictOf(c, action, now);
      return verdict === null ? [] : [{ id: c.id, account: c.account, verdict }];
    });
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
    action: string,
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
  async release(token: string, opts: ReleaseRequestOptions = {}): Promise<ReleaseResult> {
    const used = opts.used ?? {};
    const byChannel = opts.usedByChannel ?? {};
    const counts: [string, unknown][] = [
      ...Object.entries(used),
      ...Object.values(byChannel).flatMap((per) => Object.entries(per)),
    ];
    for (const [a, n] of counts) {
      if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 1000) {
        throw new UsageError(
          `used.${a} = ${String(n)} is not allowed → use { used: { ACTION: N } } with N a whole number from 0 to 1000`,
        );
      }
    }
    for (const a of new Set(counts.map(([a]) => a))) await this.assertKnown(a, `action in used (${a})`);
    const { id, fence } = parseToken(token);
    const lost = () =>
      new LeaseLostError(
        `lease ${token} is no longer held (expired, released, or taken over) → nothing was changed; take a new lease`,
      );
    const inTx = opts.inTx;
    const said = opts.success !== undefined || (opts.channels?.length ?? 0) > 0 || Object.keys(byChannel).length > 0;
    if (!said && !inTx) {
      // The hot path: one statement (Postgres) or one short write transaction (SQLite), held.
      const row = await releaseLease(this.store, { id, fence, now: () => this.clock.now(), used });
      if (!row) throw lost();
      return {
        account: row.session_name,
        recorded: used,
        channels: row.lease_channel ? [row.lease_channel] : [],
        success: null,
      };
    }
    if (!said) {
      return this.store.writeTx(async (tx) => {
        const now = this.clock.now();
        const row = await releaseLeaseInTx(tx, this.store.caps, { id, fence, now, used });
        if (!row) throw lost();
        await inTx!(tx, now);
        return {
          account: row.session_name,
          recorded: used,
          channels: row.lease_channel ? [row.lease_channel] : [],
          success: null,
        };
      });
    }
    // Channels or success said: the rows carry their channels, and an event keeps the outcome.
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      const row = await releaseLeaseInTx(tx, this.store.caps, { id, fence, now, used: {} });
      if (!row) throw lost();
      const channels = [
        ...new Set(
          [row.lease_channel, ...(opts.channels ?? []), ...Object.keys(byChannel)]
            .map((c) => channelKey(c))
            .filter((c): c is string => c !== null),
        ),
      ];
      const rows: { action: string; channel: string | null; ok: boolean }[] = [];
      const recorded: Record<string, number> = {};
      const add = (action: string, channel: string | null, n: number, ok = true) => {
        for (let i = 0; i < n; i++) rows.push({ action, channel, ok });
        if (ok) recorded[action] = (recorded[action] ?? 0) + n;
      };
      for (const [a, n] of Object.entries(used) as [string, number][]) {
        let channel: string | null = null;
        if (a === row.lease_action && n > 0) {
          if (channels.length > 1) {
            // Per-channel limits need to know which channel each action went to: never guess.
            throw new UsageError(
              `${a}=${n} over ${channels.length} channels (${channels.join(', ')}) → say how many went to each: --used ${a}:CHANNEL=N (library: usedByChannel); nothing was changed`,
            );
          }
          channel = channels[0] ?? null;
        }
        add(a, channel, n);
      }
      for (const [c, per] of Object.entries(byChannel)) {
        for (const [a, n] of Object.entries(per) as [string, number][]) add(a, channelKey(c), n);
      }
      // Failed work is a failed attempt of the lease's action: the pause after a failure applies.
      if (opts.success === false && row.lease_action) add(row.lease_action, row.lease_channel, 1, false);
      await recordActions(tx, { accountId: row.id, now, rows });
      const outcome = opts.success === undefined ? 'done' : opts.success ? 'succeeded' : 'failed';
      const usedText = Object.entries(recorded).map(([a, n]) => `${a}=${n}`);
      await accountEvent(
        tx,
        now,
        row.id,
        null,
        'lease_released',
        `${row.session_name}: ${row.lease_action ?? 'lease'} work ${outcome}` +
          `${channels.length ? ` in ${channels.join(', ')}` : ''}${usedText.length ? `; used ${usedText.join(', ')}` : ''}`,
        { action: row.lease_action, channels, success: opts.success ?? null, used: recorded },
      );
      if (inTx) await inTx(tx, now);
      return { account: row.session_name, recorded, channels, success: opts.success ?? null };
    });
  }

  /**
   * `record`: an action done with an account outside a lease (the account need not be free), in
   * the action log at `now` from the clock, so the limits count it from then on.
   */
  async record(req: RecordRequest): Promise<RecordResult> {
    await this.assertKnown(req.action);
    const channel = channelKey(req.channel);
    const ok = req.ok ?? true;
    return this.store.writeTx(async (tx) => {
      const row = await accountForLease(tx, req.account);
      if (!row) throw new DataError(`account "${req.account}" does not exist → see acctctl accounts list`);
      const now = this.clock.now();
      await recordActions(tx, { accountId: row.id, now, rows: [{ action: req.action, channel, ok }] });
      return { account: row.session_name, action: req.action, channel, ok, at: now };
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
