import { startOfDay } from './calendar.js';
import { parseActiveHours, type ActiveHours, type PaceReason } from './pacing.js';
import { LIMITS_FILE_SCHEMA, type ActionLimitsFile } from './files/limits.js';
import { parseWith } from './files/schema.js';
import { ok, type ParseResult } from './result.js';

/** Limits per action (README "Defaults"), overridable per tenant and per account. */
export const ACTIONS = ['join', 'invite', 'message', 'contact'] as const;
export type Action = (typeof ACTIONS)[number];

export function isAction(s: string): s is Action {
  return (ACTIONS as readonly string[]).includes(s);
}

export interface ActionLimits {
  perDay: number;
  perHour: number;
  perChannelPerDay: number | null;
  /** Pause after each successful action, milliseconds: [min, max] (pseudo-random in between). */
  gapMs: readonly [number, number];
  /** Pause after a failed attempt; null means the same as after a success. */
  gapAfterFailureMs: number | null;
  /** After `count` actions in a row (each less than `pauseMs` after the previous), pause `pauseMs`. */
  burst: { count: number; pauseMs: number } | null;
}
export type Limits = Readonly<Record<Action, ActionLimits>>;

const MIN = 60_000;
export const DEFAULT_LIMITS: Limits = {
  invite: {
    perDay: 30,
    perHour: 5,
    perChannelPerDay: 15,
    gapMs: [2 * MIN, 2 * MIN],
    gapAfterFailureMs: null,
    burst: { count: 3, pauseMs: 5 * MIN },
  },
  message: {
    perDay: 30,
    perHour: 10,
    perChannelPerDay: null,
    gapMs: [1 * MIN, 1 * MIN],
    gapAfterFailureMs: null,
    burst: { count: 5, pauseMs: 3 * MIN },
  },
  contact: {
    perDay: 15,
    perHour: 3,
    perChannelPerDay: null,
    gapMs: [5 * MIN, 5 * MIN],
    gapAfterFailureMs: null,
    burst: { count: 2, pauseMs: 10 * MIN },
  },
  join: {
    perDay: 20,
    perHour: 6,
    perChannelPerDay: null,
    gapMs: [5 * MIN, 10 * MIN],
    gapAfterFailureMs: 60_000,
    burst: null,
  },
};

export type LimitsOverride = Partial<Record<Action, Partial<ActionLimits>>> & {
  /** Actions the operator declared in a limits file, with their own limits (README "Leases and limits"). */
  actions?: Readonly<Record<string, Partial<ActionLimits>>> | undefined;
};

/** The original parsing service's purpose: no quota, but still one holder at a time (a lease). */
export const PARSING = 'parsing';

/**
 * What a lease (or `record`, or `limits check`) is for: one of ACTIONS, `parsing`, or an action
 * declared in a tenant's or account's limits file.
 */
export type Purpose = Action | typeof PARSING | (string & NonNullable<unknown>);

/** No limit at all: `parsing`, and every limit a declared action leaves out. */
export const NO_QUOTA: ActionLimits = {
  perDay: Infinity,
  perHour: Infinity,
  perChannelPerDay: null,
  gapMs: [0, 0],
  gapAfterFailureMs: null,
  burst: null,
};

/**
 * The limits of `purpose` for an account with these overrides (the tenant's, then its own): the
 * resolved limits of one of the four actions, none for `parsing`, and a declared action's own;
 * null when `purpose` is declared in neither (the account cannot be leased for it).
 */
export function limitsFor(purpose: string, ...overrides: (LimitsOverride | null | undefined)[]): ActionLimits | null {
  if (isAction(purpose)) return resolveLimits(...overrides)[purpose];
  if (purpose === PARSING) return NO_QUOTA;
  let l: ActionLimits | null = null;
  for (const o of overrides) {
    const d = o?.actions?.[purpose];
    if (d) l = { ...(l ?? NO_QUOTA), ...d };
  }
  return l;
}

/** The actions these overrides declare. */
export function declaredActionsOf(...overrides: (LimitsOverride | null | undefined)[]): string[] {
  return [...new Set(overrides.flatMap((o) => Object.keys(o?.actions ?? {})))];
}

/**
 * Top-level key of a tenant's (or account's) limits: flood waits up to this many seconds rest the
 * account (`flood_wait`), longer ones cool it down and take it out of the run (`cooldown`).
 */
export const FLOOD_THRESHOLD_KEY = 'flood_threshold_seconds';

/** Top-level key of a tenant's (or account's) limits: its active hours, "HH:MM-HH:MM" local. */
export const ACTIVE_HOURS_KEY = 'active_hours';

/** The active hours a stored limits document sets, if any (already validated when stored). */
export function activeHoursOf(json: string | null | undefined): ActiveHours | undefined {
  if (!json) return undefined;
  const v = (JSON.parse(json) as Record<string, unknown>)[ACTIVE_HOURS_KEY];
  return typeof v === 'string' ? parseActiveHours(v) : undefined;
}

/** The flood threshold a stored limits document sets, if any (already validated when stored). */
export function floodThresholdOf(json: string | null | undefined): number | undefined {
  if (!json) return undefined;
  const v = (JSON.parse(json) as Record<string, unknown>)[FLOOD_THRESHOLD_KEY];
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined;
}

/**
 * Validate an override document against its schema (domain/files/limits.ts); every problem is
 * returned with its path (`invite.per_day: a whole number 0–10000`).
 */
export function parseLimitsOverride(data: unknown): ParseResult<LimitsOverride> {
  const r = parseWith(LIMITS_FILE_SCHEMA, data);
  if (!r.ok) return r;
  const out: LimitsOverride = {};
  for (const action of ACTIONS) {
    const o = r.value[action];
    if (o) out[action] = actionLimitsOf(o);
  }
  if (r.value.actions) {
    out.actions = Object.fromEntries(Object.entries(r.value.actions).map(([k, o]) => [k, actionLimitsOf(o)]));
  }
  return ok(out);
}

function actionLimitsOf(o: ActionLimitsFile): Partial<ActionLimits> {
  const a: Partial<ActionLimits> = {};
  if (o.per_day !== undefined) a.perDay = o.per_day;
  if (o.per_hour !== undefined) a.perHour = o.per_hour;
  if (o.per_channel_per_day !== undefined) a.perChannelPerDay = o.per_channel_per_day;
  if (o.gap_seconds !== undefined) {
    const [min, max] = typeof o.gap_seconds === 'number' ? [o.gap_seconds, o.gap_seconds] : o.gap_seconds;
    a.gapMs = [min * 1000, max * 1000];
  }
  if (o.gap_after_failure_seconds !== undefined)
    a.gapAfterFailureMs = o.gap_after_failure_seconds === null ? null : o.gap_after_failure_seconds * 1000;
  if (o.burst !== undefined)
    a.burst = o.burst === null ? null : { count: o.burst.count, pauseMs: o.burst.pause_seconds * 1000 };
  return a;
}

/** Defaults, then the tenant's overrides, then the account's. */
export function resolveLimits(...overrides: (LimitsOverride | null | undefined)[]): Limits {
  const out = {} as Record<Action, ActionLimits>;
  for (const a of ACTIONS) {
    let l: ActionLimits = { ...DEFAULT_LIMITS[a] };
    for (const o of overrides) if (o?.[a]) l = { ...l, ...o[a] };
    out[a] = l;
  }
  return out;
}

export interface ActionRecord {
  at: number;
  ok: boolean;
  channel: string | null;
}

/** Why not now: a limit, or pacing (outside active hours, today's budget spent, spacing, the proxy's spacing). */
export type LimitReason = 'per_day' | 'per_hour' | 'per_channel' | 'gap' | 'burst' | PaceReason | 'proxy';

export type LimitVerdict =
  | {
      allowed: true;
      /** Actions allowed right now, one after another, before a gap or a limit applies. */
      allowance: number;
      usedToday: number;
      usedLastHour: number;
    }
  | { allowed: false; reason: LimitReason; until: number; usedToday: number; usedLastHour: number };

const HOUR = 3_600_000;

/** A stable pseudo-random gap in [min, max]: the same account and action time always give the same gap. */
export function gapAfter(l: ActionLimits, accountId: number, last: ActionRecord): number {
  if (!last.ok && l.gapAfterFailureMs !== null) return l.gapAfterFailureMs;
  const [min, max] = l.gapMs;
  if (max <= min) return min;
  let h = 2166136261;
  for (const ch of `${accountId}:${last.at}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return min + (h % (max - min + 1));
}

export function nextDayStart(now: number, timeZone: string): number {
  return startOfDay(startOfDay(now, timeZone) + 25 * HOUR, timeZone);
}

/**
 * Whether one more `action` is allowed now, computed only from the action history (so it is
 * right whether or not reset-limits ran). History: this account's records of this action, any
 * order, covering at least the current local day and the last two hours.
 */
export function evaluateLimits(
  l: ActionLimits,
  history: readonly ActionRecord[],
  ctx: { now: number; timeZone: string; channel?: string | null; accountId: number; dayStart?: number },
): LimitVerdict {
  const { now } = ctx;
  if (history.length === 0) {
    const allowance = Math.min(
      l.perDay,
      l.perHour,
      l.perChannelPerDay ?? Infinity,
      l.burst?.count ?? Infinity,
      l.gapMs[0] > 0 ? 1 : Infinity,
    );
    if (allowance > 0) return { allowed: true, allowance, usedToday: 0, usedLastHour: 0 };
  }
  const dayStart = ctx.dayStart ?? startOfDay(now, ctx.timeZone);
  // Every record counts, even one stamped a moment after `now`: another process may have
  // recorded an action between our reading of the clock and our reading of the log, and
  // leaving it out would let a limit be exceeded by one.
  const past = [...history].sort((a, b) => a.at - b.at);
  const okToday = past.filter((r) => r.ok && r.at >= dayStart);
  const okHour = past.filter((r) => r.ok && r.at > now - HOUR);
  const usedToday = okToday.length;
  const usedLastHour = okHour.length;
  const blocks: { reason: LimitReason; until: number }[] = [];

  if (usedToday >= l.perDay) blocks.push({ reason: 'per_day', until: nextDayStart(now, ctx.timeZone) });
  if (usedLastHour >= l.perHour) {
    const k = usedLastHour - l.perHour;
    blocks.push({
      reason: 'per_hour',
      until: l.perHour === 0 ? nextDayStart(now, ctx.timeZone) : okHour[k]!.at + HOUR,
    });
  }
  let channelLeft = Infinity;
  if (l.perChannelPerDay !== null && ctx.channel) {
    const used = okToday.filter((r) => r.channel === ctx.channel).length;
    channelLeft = l.perChannelPerDay - used;
    if (channelLeft <= 0) blocks.push({ reason: 'per_channel', until: nextDayStart(now, ctx.timeZone) });
  }
  const last = past.at(-1);
  let gap = 0;
  if (last) {
    gap = gapAfter(l, ctx.accountId, last);
    if (now < last.at + gap) blocks.push({ reason: 'gap', until: last.at + gap });
  }
  let burstLeft = l.burst ? l.burst.count : Infinity;
  if (l.burst && last && now - last.at < l.burst.pauseMs) {
    // The current run: successful actions each less than pauseMs after the one before.
    let run = 0;
    for (let i = past.length - 1; i >= 0; i--) {
      const r = past[i]!;
      if (i < past.length - 1 && past[i + 1]!.at - r.at >= l.burst.pauseMs) break;
      if (r.ok) run++;
    }
    burstLeft = l.burst.count - run;
    if (burstLeft <= 0) blocks.push({ reason: 'burst', until: last.at + l.burst.pauseMs });
  }
  if (blocks.length) {
    const worst = blocks.reduce((a, b) => (b.until > a.until ? b : a));
    return { allowed: false, reason: worst.reason, until: worst.until, usedToday, usedLastHour };
  }
  const gapsAfterEach = l.gapMs[0] > 0 ? 1 : Infinity;
  const allowance = Math.min(l.perDay - usedToday, l.perHour - usedLastHour, channelLeft, burstLeft, gapsAfterEach);
  return { allowed: true, allowance, usedToday, usedLastHour };
}
