import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  evaluateLimits,
  gapAfter,
  limitsFor,
  nextDayStart,
  NO_QUOTA,
  PARSING,
  parseLimitsOverride,
  resolveLimits,
  type ActionLimits,
  type ActionRecord,
} from '../../src/domain/limits.js';

const MIN = 60_000;
const H = 3_600_000;
const T0 = Date.parse('2026-11-23T09:00:00Z');
const ok = (at: number, channel: string | null = null): ActionRecord => ({ at, ok: true, channel });
const fail = (at: number): ActionRecord => ({ at, ok: false, channel: null });
const ev = (l: ActionLimits, h: ActionRecord[], now: number, extra: { timeZone?: string; channel?: string } = {}) =>
  evaluateLimits(l, h, { now, timeZone: extra.timeZone ?? 'UTC', channel: extra.channel ?? null, accountId: 7 });

/** Limits with everything but the one under test out of the way. */
const only = (l: Partial<ActionLimits>): ActionLimits => ({
  perDay: 1000,
  perHour: 1000,
  perChannelPerDay: null,
  gapMs: [0, 0],
  gapAfterFailureMs: null,
  burst: null,
  ...l,
});

describe('limits in simulated time', () => {
  it('defaults are the README "Defaults" table', () => {
    expect(DEFAULT_LIMITS.invite).toMatchObject({
      perDay: 30,
      perHour: 5,
      perChannelPerDay: 15,
      gapMs: [2 * MIN, 2 * MIN],
      burst: { count: 3, pauseMs: 5 * MIN },
    });
    expect(DEFAULT_LIMITS.message).toMatchObject({
      perDay: 30,
      perHour: 10,
      gapMs: [MIN, MIN],
      burst: { count: 5, pauseMs: 3 * MIN },
    });
    expect(DEFAULT_LIMITS.contact).toMatchObject({
      perDay: 15,
      perHour: 3,
      gapMs: [5 * MIN, 5 * MIN],
      burst: { count: 2, pauseMs: 10 * MIN },
    });
    expect(DEFAULT_LIMITS.join).toMatchObject({
      perDay: 20,
      perHour: 6,
      gapMs: [5 * MIN, 10 * MIN],
      gapAfterFailureMs: MIN,
      burst: null,
    });
  });

  it('per day: the Nth allowed, the N+1th refused until local midnight; failures do not count', () => {
    const l = only({ perDay: 3 });
    const h = [ok(T0), ok(T0 + H), fail(T0 + 2 * H)];
    expect(ev(l, h, T0 + 3 * H)).toMatchObject({ allowed: true, allowance: 1, usedToday: 2 });
    h.push(ok(T0 + 3 * H));
    const v = ev(l, h, T0 + 4 * H);
    expect(v).toMatchObject({ allowed: false, reason: 'per_day', until: Date.parse('2026-11-24T00:00:00Z') });
    expect(ev(l, h, Date.parse('2026-11-24T00:00:00Z'))).toMatchObject({ allowed: true, usedToday: 0 });
    expect(ev(l, h, Date.parse('2026-11-23T23:59:59.999Z')).allowed).toBe(false);
  });

  it('per day follows the calendar day of the configured zone (Moscow midnight is 21:00 UTC)', () => {
    const l = only({ perDay: 2 });
    const h = [ok(Date.parse('2026-11-23T20:00:00Z')), ok(Date.parse('2026-11-23T20:30:00Z'))];
    expect(ev(l, h, Date.parse('2026-11-23T20:59:00Z'), { timeZone: 'Europe/Moscow' })).toMatchObject({
      allowed: false,
      reason: 'per_day',
      until: Date.parse('2026-11-23T21:00:00Z'),
    });
    expect(ev(l, h, Date.parse('2026-11-23T21:00:00Z'), { timeZone: 'Europe/Moscow' }).allowed).toBe(true);
    // In UTC the same two actions still count until 00:00Z.
    expect(ev(l, h, Date.parse('2026-11-23T21:00:00Z')).allowed).toBe(false);
  });

  it('across a DST change the day is 25 hours long and the limit holds all of it', () => {
    const tz = 'America/New_York';
    const l = only({ perDay: 1 });
    const h = [ok(Date.parse('2026-11-01T04:30:00Z'))]; // 00:30 EDT on the 25-hour day
    expect(nextDayStart(Date.parse('2026-11-01T12:00:00Z'), tz)).toBe(Date.parse('2026-11-02T05:00:00Z'));
    expect(ev(l, h, Date.parse('2026-11-02T04:59:00Z'), { timeZone: tz })).toMatchObject({
      allowed: false,
      until: Date.parse('2026-11-02T05:00:00Z'),
    });
    expect(ev(l, h, Date.parse('2026-11-02T05:00:00Z'), { timeZone: tz }).allowed).toBe(true);
    // and the spring day is 23 hours long.
    expect(nextDayStart(Date.parse('2026-03-08T12:00:00Z'), tz)).toBe(Date.parse('2026-03-09T04:00:00Z'));
  });

  it('an action recorded a moment after our clock reading still counts (another process was faster)', () => {
    const l = only({ perHour: 2 });
    expect(ev(l, [ok(T0 - 1000), ok(T0 + 5)], T0)).toMatchObject({ allowed: false, reason: 'per_hour' });
    expect(ev(only({ perDay: 1 }), [ok(T0 + 5)], T0)).toMatchObject({ allowed: false, reason: 'per_day' });
  });

  it('per sliding hour: refused until the oldest action in the window is an hour old', () => {
    const l = only({ perHour: 3 });
    const h = [ok(T0), ok(T0 + 10 * MIN), ok(T0 + 20 * MIN)];
    expect(ev(l, h, T0 + 30 * MIN)).toMatchObject({ allowed: false, reason: 'per_hour', until: T0 + H });
    expect(ev(l, h, T0 + H - 1).allowed).toBe(false);
    expect(ev(l, h, T0 + H)).toMatchObject({ allowed: true, usedLastHour: 2 });
  });

  it('per channel per day, independent of other channels', () => {
    const l = only({ perChannelPerDay: 2 });
    const h = [ok(T0, 'a'), ok(T0 + MIN, 'a'), ok(T0 + 2 * MIN, 'b')];
    expect(ev(l, h, T0 + 3 * MIN, { channel: 'a' })).toMatchObject({ allowed: false, reason: 'per_channel' });
    expect(ev(l, h, T0 + 3 * MIN, { channel: 'b' })).toMatchObject({ allowed: true, allowance: 1 });
    expect(ev(l, h, T0 + 3 * MIN, { channel: 'c' })).toMatchObject({ allowed: true });
  });

  it('a fixed gap after each action, and a different one after a failure', () => {
    const l = only({ gapMs: [2 * MIN, 2 * MIN], gapAfterFailureMs: 30_000 });
    expect(ev(l, [ok(T0)], T0 + 2 * MIN - 1)).toMatchObject({ allowed: false, reason: 'gap', until: T0 + 2 * MIN });
    expect(ev(l, [ok(T0)], T0 + 2 * MIN)).toMatchObject({ allowed: true, allowance: 1 });
    expect(ev(l, [fail(T0)], T0 + 29_999)).toMatchObject({ allowed: false, until: T0 + 30_000 });
    expect(ev(l, [fail(T0)], T0 + 30_000).allowed).toBe(true);
  });

  it('join’s random 5–10 min gap: within the range, stable for one action, varied across actions', () => {
    const l = DEFAULT_LIMITS.join;
    const gaps = Array.from({ length: 200 }, (_, i) => gapAfter(l, 7, ok(T0 + i * 997)));
    for (const g of gaps) {
      expect(g).toBeGreaterThanOrEqual(5 * MIN);
      expect(g).toBeLessThanOrEqual(10 * MIN);
    }
    expect(new Set(gaps).size).toBeGreaterThan(150);
    expect(gapAfter(l, 7, ok(T0))).toBe(gapAfter(l, 7, ok(T0)));
    expect(gapAfter(l, 7, fail(T0))).toBe(MIN);
    const g = gapAfter(l, 7, ok(T0));
    expect(ev(l, [ok(T0)], T0 + g - 1)).toMatchObject({ allowed: false, reason: 'gap', until: T0 + g });
    expect(ev(l, [ok(T0)], T0 + g).allowed).toBe(true);
  });

  it('burst: N in a row, then a pause; a long enough break resets the run', () => {
    const l = only({ burst: { count: 3, pauseMs: 5 * MIN } });
    const h = [ok(T0), ok(T0 + 2 * MIN), ok(T0 + 4 * MIN)];
    expect(ev(l, h.slice(0, 2), T0 + 3 * MIN)).toMatchObject({ allowed: true, allowance: 1 });
    expect(ev(l, h, T0 + 5 * MIN)).toMatchObject({ allowed: false, reason: 'burst', until: T0 + 9 * MIN });
    expect(ev(l, h, T0 + 9 * MIN)).toMatchObject({ allowed: true, allowance: 3 });
    // A 5-minute gap inside the history splits the run.
    const split = [ok(T0), ok(T0 + 2 * MIN), ok(T0 + 7 * MIN), ok(T0 + 8 * MIN)];
    expect(ev(l, split, T0 + 9 * MIN)).toMatchObject({ allowed: true, allowance: 1 });
  });

  it('the default invite policy over a simulated day never exceeds any limit', () => {
    const l = DEFAULT_LIMITS.invite;
    const h: ActionRecord[] = [];
    const start = Date.parse('2026-11-23T00:00:00Z');
    for (let t = start; t < start + 24 * H; t += 15_000) {
      const v = ev(l, h, t, { channel: h.length % 2 ? 'a' : 'b' });
      if (v.allowed) h.push(ok(t, h.length % 2 ? 'a' : 'b'));
    }
    expect(h.length).toBe(30);
    for (const r of h) expect(h.filter((x) => x.at > r.at - H && x.at <= r.at).length).toBeLessThanOrEqual(5);
    for (let i = 1; i < h.length; i++) expect(h[i]!.at - h[i - 1]!.at).toBeGreaterThanOrEqual(2 * MIN);
    expect(h.filter((x) => x.channel === 'a').length).toBeLessThanOrEqual(15);
  });

  it('overrides: defaults, then tenant, then account; invalid documents list every problem', () => {
    const tenant = parseLimitsOverride({ invite: { per_day: 10, gap_seconds: [30, 90] } });
    const account = parseLimitsOverride({ invite: { per_day: 5 }, join: { burst: { count: 2, pause_seconds: 60 } } });
    expect(tenant.ok && account.ok).toBe(true);
    if (!tenant.ok || !account.ok) return;
    const l = resolveLimits(tenant.value, account.value);
    expect(l.invite).toMatchObject({ perDay: 5, perHour: 5, gapMs: [30_000, 90_000] });
    expect(l.join.burst).toEqual({ count: 2, pauseMs: 60_000 });
    expect(l.message).toEqual(DEFAULT_LIMITS.message);
    const bad = parseLimitsOverride({ invite: { per_day: -1, gap_seconds: [9, 3], color: 'red' }, wave: {} });
    expect(bad.ok).toBe(false);
    if (!bad.ok)
      expect(bad.problems).toEqual([
        'invite.per_day: a whole number 0–10000',
        'invite.gap_seconds: seconds 0–604800 (7 days), or [min, max] seconds with min ≤ max',
        'invite.color: unknown setting',
        'wave: unknown action (join, invite, message, contact; declare others under "actions")',
      ]);
  });

  it('every count and pause has a range: a gap of 2^53-1 seconds, a limit past 10,000 are refused with the range', () => {
    // Today's bug: this gap was accepted, and the next lease / status --accounts exited 70 ("Invalid time value").
    expect(parseLimitsOverride({ invite: { gap_seconds: 9007199254740991 } })).toEqual({
      ok: false,
      problems: ['invite.gap_seconds: seconds 0–604800 (7 days), or [min, max] seconds with min ≤ max'],
    });
    expect(
      parseLimitsOverride({
        join: {
          per_day: 10_001,
          per_hour: 1e9,
          per_channel_per_day: 20_000,
          gap_seconds: [0, 604_801],
          gap_after_failure_seconds: 604_801,
          burst: { count: 10_001, pause_seconds: 1e12 },
        },
      }),
    ).toEqual({
      ok: false,
      problems: [
        'join.per_day: a whole number 0–10000',
        'join.per_hour: a whole number 0–10000',
        'join.per_channel_per_day: a whole number 0–10000, or null',
        'join.gap_seconds[1]: seconds 0–604800 (7 days), or [min, max] seconds with min ≤ max',
        'join.gap_after_failure_seconds: seconds, a whole number 0–604800 (7 days), or null',
        'join.burst.count: a whole number 1–10000',
        'join.burst.pause_seconds: seconds, a whole number 0–604800 (7 days)',
      ],
    });
    // The edges themselves are fine.
    const edge = parseLimitsOverride({
      invite: { per_day: 10_000, gap_seconds: [604_800, 604_800], burst: { count: 10_000, pause_seconds: 604_800 } },
    });
    expect(edge.ok).toBe(true);
  });

  it('override files: every problem at once, each with its field path', () => {
    const bad = parseLimitsOverride({
      flood_threshold_seconds: 90_000,
      join: { burst: { count: 0, pause_seconds: 'x', extra: 1 }, per_channel_per_day: 'many' },
      message: [],
      contact: { gap_seconds: [1, 2, 3], gap_after_failure_seconds: -5 },
    });
    expect(bad).toEqual({
      ok: false,
      problems: [
        'flood_threshold_seconds: seconds, a whole number 0–86400',
        'join.per_channel_per_day: a whole number 0–10000, or null',
        'join.burst.count: a whole number 1–10000',
        'join.burst.pause_seconds: seconds, a whole number 0–604800 (7 days)',
        'join.burst.extra: unknown setting',
        'message: must be an object',
        'contact.gap_seconds: seconds 0–604800 (7 days), or [min, max] seconds with min ≤ max',
        'contact.gap_after_failure_seconds: seconds, a whole number 0–604800 (7 days), or null',
      ],
    });
    expect(parseLimitsOverride([1])).toEqual({
      ok: false,
      problems: [
        '(top level): must be an object keyed by action (join, invite, message, contact), flood_threshold_seconds, or actions (declared ones)',
      ],
    });
    expect(parseLimitsOverride({ join: { burst: { count: 2 } } })).toEqual({
      ok: false,
      problems: ['join.burst.pause_seconds: required, seconds, a whole number 0–604800 (7 days)'],
    });
    expect(
      parseLimitsOverride({
        flood_threshold_seconds: 0,
        message: { gap_seconds: 5, gap_after_failure_seconds: null, burst: null, per_channel_per_day: null },
      }),
    ).toEqual({
      ok: true,
      value: { message: { gapMs: [5000, 5000], gapAfterFailureMs: null, burst: null, perChannelPerDay: null } },
    });
  });

  it('declared actions: named under "actions", their own limits (left out: none), checked like the four', () => {
    const r = parseLimitsOverride({ actions: { scrape: { per_day: 5, gap_seconds: 30 } } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(limitsFor('scrape', r.value)).toEqual({ ...NO_QUOTA, perDay: 5, gapMs: [30_000, 30_000] });
    // The account's declaration wins field by field over its tenant's.
    const own = parseLimitsOverride({ actions: { scrape: { per_hour: 2 } } });
    if (!own.ok) throw new Error('invalid');
    expect(limitsFor('scrape', r.value, own.value)).toMatchObject({ perDay: 5, perHour: 2 });
    expect(limitsFor('export', r.value, own.value)).toBeNull();
    expect(limitsFor(PARSING, null)).toBe(NO_QUOTA);
    expect(limitsFor('invite', r.value)).toEqual(DEFAULT_LIMITS.invite);
    const bad = parseLimitsOverride({ actions: { Join: {}, parsing: {}, ok_1: { per_dy: 1 } } });
    expect(bad.ok ? [] : bad.problems).toEqual([
      'actions.Join: an action name: a–z, digits and _ (up to 32), not join, invite, message, contact, parsing',
      'actions.parsing: an action name: a–z, digits and _ (up to 32), not join, invite, message, contact, parsing',
      'actions.ok_1.per_dy: unknown setting',
    ]);
    expect(parseLimitsOverride({ actions: [] }).ok).toBe(false);
  });
});
