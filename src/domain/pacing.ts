import { localDay, localTime, startOfDay } from './calendar.js';
import type { ActionRecord } from './limits.js';

/**
 * Pacing (README "Leases and limits"): when an account acts, computed from its local time zone,
 * its active hours, today's drawn budget and its own history — pure, no I/O, no clock of its own.
 * Every draw is seeded by the account and its local date, so simulated time pins it.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Local wall-clock window, minutes after midnight; start > end crosses midnight (18:00-02:00). */
export interface ActiveHours {
  start: number;
  end: number;
}

/** Whether `tz` is an IANA time zone this Node knows (full ICU). */
export function isTimeZoneName(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const TIME_ZONE_HELP = 'an IANA time zone such as Europe/Moscow, America/New_York or UTC';

/** `00:00-24:00`: no window, the account may act at any hour. */
export const ALWAYS: ActiveHours = { start: 0, end: 1440 };
/** The default window: 09:00–23:00 local. */
export const DEFAULT_ACTIVE_HOURS: ActiveHours = { start: 9 * 60, end: 23 * 60 };

export function isAlways(h: ActiveHours): boolean {
  return h.start === 0 && h.end === 1440;
}

/** "HH:MM-HH:MM" (end 24:00 allowed; end before start crosses midnight); undefined when malformed. */
export function parseActiveHours(s: string): ActiveHours | undefined {
  const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(s);
  if (!m) return undefined;
  const [sh, sm, eh, em] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (sm > 59 || em > 59 || sh > 23 || eh > 24 || (eh === 24 && em !== 0)) return undefined;
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  if (start === end) return undefined;
  return { start, end };
}

const hhmm = (min: number) => `${String(Math.floor(min / 60)).padStart(2, '0')}:${String(min % 60).padStart(2, '0')}`;

export function formatActiveHours(h: ActiveHours): string {
  return `${hhmm(h.start)}-${hhmm(h.end)}`;
}

export const ACTIVE_HOURS_HELP = 'HH:MM-HH:MM in local time, e.g. 09:00-23:00 or 18:00-02:00; 00:00-24:00 turns it off';

/** A stable number in [0, 1) from a text (FNV-1a, then a finaliser so nearby keys spread). */
export function unit(key: string): number {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h = (h ^ (h >>> 16)) >>> 0;
  return h / 2 ** 32;
}

interface DayInfo {
  day: string;
  start: number;
  end: number;
  segments: Map<string, [number, number][]>;
}
/** Local days already worked out (Intl is slow): time zone + date → its bounds and active stretches. */
const days = new Map<string, DayInfo>();

function dayOf(ms: number, timeZone: string): DayInfo {
  const day = localDay(ms, timeZone);
  const key = `${timeZone}|${day}`;
  let d = days.get(key);
  if (!d) {
    const start = startOfDay(ms, timeZone);
    d = { day, start, end: startOfDay(start + 25 * HOUR, timeZone), segments: new Map() };
    if (days.size > 5000) days.clear();
    days.set(key, d);
  }
  return d;
}

/** The next local midnight after the day containing `ms`. */
function dayEnd(ms: number, timeZone: string): number {
  return dayOf(ms, timeZone).end;
}

/** The active stretches of the local day containing `ms`, as epoch [from, to), in order. */
export function activeSegments(ms: number, timeZone: string, h: ActiveHours): [number, number][] {
  const d = dayOf(ms, timeZone);
  const key = `${h.start}-${h.end}`;
  const hit = d.segments.get(key);
  if (hit) return hit;
  const { day, start, end } = d;
  const at = (min: number) => (min <= 0 ? start : min >= 1440 ? end : localTime(day, min, timeZone));
  let out: [number, number][];
  if (h.start < h.end) out = [[at(h.start), at(h.end)]];
  else {
    // Crossing midnight: the early-morning tail of the window, and the evening head of the next one.
    out = [];
    if (h.end > 0) out.push([start, at(h.end)]);
    out.push([at(h.start), end]);
  }
  out = out.filter(([a, b]) => b > a);
  d.segments.set(key, out);
  return out;
}

/** Whether `ms` falls inside the active hours. */
export function isActive(ms: number, timeZone: string, h: ActiveHours): boolean {
  if (isAlways(h)) return true;
  return activeSegments(ms, timeZone, h).some(([a, b]) => ms >= a && ms < b);
}

/** The first active instant at or after `ms` (`ms` itself when active). */
export function nextActiveStart(ms: number, timeZone: string, h: ActiveHours): number {
  let t = ms;
  for (let i = 0; i < 3; i++) {
    for (const [a, b] of activeSegments(t, timeZone, h)) {
      if (t < b) return Math.max(a, t);
    }
    t = dayEnd(t, timeZone);
  }
  return t;
}

/** Active milliseconds of the local day of `from`, from `from` to the end of its active hours. */
export function activeLeft(from: number, timeZone: string, h: ActiveHours): number {
  return activeSegments(from, timeZone, h).reduce((n, [a, b]) => n + Math.max(0, b - Math.max(a, from)), 0);
}

/** The instant `activeMs` of active time after `from`, within `from`'s day (null: the day ends first). */
export function addActive(from: number, activeMs: number, timeZone: string, h: ActiveHours): number | null {
  let left = activeMs;
  for (const [a, b] of activeSegments(from, timeZone, h)) {
    const s = Math.max(a, from);
    if (s >= b) continue;
    if (s + left < b) return s + left;
    left -= b - s;
  }
  return null;
}

/** Warm-up ramp of a new account: the budget of its first local days, then its limit. */
export const WARMUP_RAMP: readonly number[] = [3, 6, 10, 15];
/** Today's budget is drawn in [BUDGET_MIN_SHARE, 1] of the per-day limit. */
export const BUDGET_MIN_SHARE = 0.7;
/** The first action of a day falls within this long after the active hours start (drawn per day). */
export const FIRST_ACTION_SPREAD_MS = 90 * MIN;

/** Whole local days from `since`'s local date to `now`'s (0 on the day it was marked new). */
export function localDaysBetween(since: number, now: number, timeZone: string): number {
  const d = (ms: number) => Date.parse(`${localDay(ms, timeZone)}T00:00:00Z`);
  return Math.round((d(now) - d(since)) / 86_400_000);
}

/**
 * Today's budget: during the warm-up ramp (a new account's first days) the ramp's figure, else
 * a share of the per-day limit drawn once per account and local day (70–100%). Never above the limit.
 */
export function drawBudget(accountId: number, day: string, perDay: number, rampDay: number | null): number {
  if (rampDay !== null && rampDay >= 0 && rampDay < WARMUP_RAMP.length) return Math.min(WARMUP_RAMP[rampDay]!, perDay);
  const share = BUDGET_MIN_SHARE + (1 - BUDGET_MIN_SHARE) * unit(`budget:${accountId}:${day}`);
  return Math.min(perDay, Math.max(perDay > 0 ? 1 : 0, Math.round(perDay * share)));
}

export interface PaceInput {
  accountId: number;
  now: number;
  timeZone: string;
  hours: ActiveHours;
  perDay: number;
  /** The floor of a gap: the pause after an action (the smaller end of gap_seconds). */
  gapFloorMs: number;
  /** When the account was marked new (warm-up ramp), or null. */
  newSince: number | null;
  /** This action's records (any order); only today's successes count. */
  history: readonly ActionRecord[];
}

export type PaceReason = 'active_hours' | 'budget' | 'spacing';

export interface PacePlan {
  /** The account's local date now. */
  day: string;
  budget: number;
  usedToday: number;
  /** Day of the warm-up ramp (0 = first), or null when the account is not in its ramp. */
  rampDay: number | null;
  /** When the next action is planned (≤ now: due now). */
  nextAt: number;
  /** Why not now (null: due now). */
  reason: PaceReason | null;
  /** The first active instant at or after now (when the account's day starts, if it has not). */
  activeFrom: number;
}

function rampDayOf(i: PaceInput, at: number): number | null {
  if (i.newSince === null) return null;
  const d = localDaysBetween(i.newSince, at, i.timeZone);
  return d >= 0 && d < WARMUP_RAMP.length ? d : null;
}

/**
 * The plan for `now`: outside active hours the next action is the next active day's first; when
 * the budget is spent, tomorrow's first; otherwise the day's remaining budget is spread over its
 * remaining active time, each gap drawn around (remaining active time ÷ remaining budget) times a
 * factor in [0.3, 1.7], never below the pause floor. The day's first action falls at a drawn
 * minute in its first 90 active minutes.
 */
export function planPace(i: PaceInput): PacePlan {
  return planAt(i, i.now, 0);
}

function planAt(i: PaceInput, now: number, depth: number): PacePlan {
  const { timeZone: tz, hours: h } = i;
  const activeFrom = nextActiveStart(now, tz, h);
  const { day, start: dayStart, end } = dayOf(now, tz);
  const used = i.history.filter((r) => r.ok && r.at >= dayStart && r.at < end);
  const rampDay = rampDayOf(i, now);
  const budget = drawBudget(i.accountId, day, i.perDay, rampDay);
  const base = { day, budget, usedToday: used.length, rampDay, activeFrom };
  const later = (at: number, reason: PaceReason): PacePlan => {
    // The plan of the day (or window) that starts at `at`, seen from then; its reason is ours.
    if (depth >= 3) return { ...base, nextAt: at, reason };
    const p = planAt(i, at, depth + 1);
    return { ...base, nextAt: Math.max(p.nextAt, at), reason };
  };
  if (activeFrom > now) return later(activeFrom, 'active_hours');
  if (used.length >= budget) {
    const tomorrow = nextActiveStart(dayEnd(now, tz), tz, h);
    return later(tomorrow, 'budget');
  }
  const segments = activeSegments(now, tz, h);
  const remaining = budget - used.length;
  let nextAt: number | null;
  if (used.length === 0) {
    const first = segments[0]![0];
    const total = activeLeft(first, tz, h);
    const spread = Math.min(FIRST_ACTION_SPREAD_MS, total / Math.max(1, budget));
    nextAt = addActive(first, unit(`first:${i.accountId}:${day}`) * spread, tz, h);
  } else {
    const last = Math.max(...used.map((r) => r.at));
    const left = activeLeft(last, tz, h);
    const mean = left / (remaining + 0.5);
    const factor = 0.3 + 1.4 * unit(`gap:${i.accountId}:${day}:${used.length}`);
    const gap = Math.min(Math.max(i.gapFloorMs, mean * factor), Math.max(i.gapFloorMs, left * 0.9));
    nextAt = addActive(last, gap, tz, h);
  }
  if (nextAt === null) {
    // Today's active time is used up: tomorrow's first action.
    return later(nextActiveStart(dayEnd(now, tz), tz, h), 'budget');
  }
  return { ...base, nextAt, reason: nextAt <= now ? null : 'spacing' };
}

/** Per-proxy spacing: accounts sharing an exit IP do not act together (README "Defaults"). */
export interface ProxyPacing {
  perHour: number;
  gapMs: number;
}
export const DEFAULT_PROXY_PACING: ProxyPacing = { perHour: 12, gapMs: 2 * MIN };

/** When the next join through a proxy may happen, given the times of its recent joins (≤ now: now). */
export function proxyNextAt(joins: readonly number[], now: number, p: ProxyPacing): number {
  const sorted = [...joins].sort((a, b) => a - b);
  let at = now;
  const last = sorted.at(-1);
  if (last !== undefined) at = Math.max(at, last + p.gapMs);
  const inHour = sorted.filter((t) => t > now - HOUR);
  if (inHour.length >= p.perHour) at = Math.max(at, inHour[inHour.length - p.perHour]! + HOUR);
  return at;
}

/** Fleet-wide pacing settings (ACCTCTL_ACTIVE_HOURS, ACCTCTL_PACING). */
export interface PacingConfig {
  /** The default active hours (a tenant's or account's limits file may set its own). */
  activeHours: ActiveHours;
  proxy: ProxyPacing;
}
