import { describe, expect, it } from 'vitest';
import { localTime } from '../../src/domain/calendar.js';
import type { ActionRecord } from '../../src/domain/limits.js';
import {
  activeLeft,
  activeSegments,
  ALWAYS,
  DEFAULT_ACTIVE_HOURS,
  drawBudget,
  isActive,
  nextActiveStart,
  parseActiveHours,
  planPace,
  proxyNextAt,
  WARMUP_RAMP,
  type PaceInput,
} from '../../src/domain/pacing.js';

const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: string) => Date.parse(s);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('active hours', () => {
  it('parses windows, midnight-crossing ones and the off switch; rejects the rest', () => {
    expect(parseActiveHours('09:00-23:00')).toEqual({ start: 540, end: 1380 });
    expect(parseActiveHours('18:00-02:00')).toEqual({ start: 1080, end: 120 });
    expect(parseActiveHours('00:00-24:00')).toEqual(ALWAYS);
    for (const bad of ['9-23', '09:00-09:00', '25:00-02:00', '09:60-10:00', '24:30-01:00', 'x'])
      expect(parseActiveHours(bad)).toBeUndefined();
  });

  it('are local: 09:00–23:00 in Tokyo is 00:00–14:00 UTC, in New York 14:00–04:00 UTC (winter)', () => {
    expect(
      activeSegments(at('2026-01-10T05:00:00Z'), 'Asia/Tokyo', DEFAULT_ACTIVE_HOURS).map((s) => s.map(iso)),
    ).toEqual([['2026-01-10T00:00:00.000Z', '2026-01-10T14:00:00.000Z']]);
    expect(
      activeSegments(at('2026-01-10T20:00:00Z'), 'America/New_York', DEFAULT_ACTIVE_HOURS).map((s) => s.map(iso)),
    ).toEqual([['2026-01-10T14:00:00.000Z', '2026-01-11T04:00:00.000Z']]);
    expect(isActive(at('2026-01-10T13:59:00Z'), 'America/New_York', DEFAULT_ACTIVE_HOURS)).toBe(false);
    expect(isActive(at('2026-01-11T03:59:00Z'), 'America/New_York', DEFAULT_ACTIVE_HOURS)).toBe(true);
    expect(iso(nextActiveStart(at('2026-01-11T04:00:00Z'), 'America/New_York', DEFAULT_ACTIVE_HOURS))).toBe(
      '2026-01-11T14:00:00.000Z',
    );
  });

  it('crossing midnight (18:00-02:00): active late evening and early morning, not at noon', () => {
    const h = parseActiveHours('18:00-02:00')!;
    const tz = 'Europe/Berlin'; // UTC+1 in January
    expect(isActive(at('2026-01-10T00:30:00Z'), tz, h)).toBe(true); // 01:30 local
    expect(isActive(at('2026-01-10T01:00:00Z'), tz, h)).toBe(false); // 02:00 local
    expect(isActive(at('2026-01-10T11:00:00Z'), tz, h)).toBe(false); // noon
    expect(isActive(at('2026-01-10T17:00:00Z'), tz, h)).toBe(true); // 18:00 local
    expect(isActive(at('2026-01-10T22:59:00Z'), tz, h)).toBe(true); // 23:59 local
    expect(iso(nextActiveStart(at('2026-01-10T11:00:00Z'), tz, h))).toBe('2026-01-10T17:00:00.000Z');
    // 8 active hours a day: 2 in the morning, 6 in the evening.
    expect(activeLeft(at('2026-01-09T23:00:00Z'), tz, h)).toBe(8 * HOUR);
  });

  it('follow the wall clock across DST: New York on 2026-03-08 (23-hour day) and 2026-11-01 (25 hours)', () => {
    const tz = 'America/New_York';
    // Spring forward: 09:00 EDT = 13:00 UTC (the day before it was 14:00 UTC).
    expect(activeSegments(at('2026-03-08T15:00:00Z'), tz, DEFAULT_ACTIVE_HOURS).map((s) => s.map(iso))).toEqual([
      ['2026-03-08T13:00:00.000Z', '2026-03-09T03:00:00.000Z'],
    ]);
    expect(activeSegments(at('2026-03-07T15:00:00Z'), tz, DEFAULT_ACTIVE_HOURS).map((s) => s.map(iso))).toEqual([
      ['2026-03-07T14:00:00.000Z', '2026-03-08T04:00:00.000Z'],
    ]);
    // A whole-day window is 23 hours long on that day and 25 on the fall-back day.
    expect(activeLeft(at('2026-03-08T05:00:00Z'), tz, ALWAYS)).toBe(23 * HOUR);
    expect(activeLeft(at('2026-11-01T04:00:00Z'), tz, ALWAYS)).toBe(25 * HOUR);
    // A window that starts inside the skipped hour starts when the clocks go on (02:30 → 03:30 EDT).
    expect(iso(localTime('2026-03-08', 150, tz))).toBe('2026-03-08T07:30:00.000Z');
    // 01:30 happens twice on 2026-11-01: the first one (EDT).
    expect(iso(localTime('2026-11-01', 90, tz))).toBe('2026-11-01T05:30:00.000Z');
  });
});

describe('budget draw', () => {
  it('is 70–100% of the limit, stable per account and day, and varies across days and accounts', () => {
    const seen = new Set<number>();
    for (let a = 1; a <= 20; a++) {
      for (let d = 1; d <= 20; d++) {
        const day = `2026-02-${String(d).padStart(2, '0')}`;
        const b = drawBudget(a, day, 20, null);
        expect(b).toBeGreaterThanOrEqual(14);
        expect(b).toBeLessThanOrEqual(20);
        expect(drawBudget(a, day, 20, null)).toBe(b);
        seen.add(b);
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(5);
    expect(drawBudget(1, '2026-02-01', 0, null)).toBe(0);
  });

  it('follows the warm-up ramp for a new account (3, 6, 10, 15, then the drawn share), never above the limit', () => {
    expect(WARMUP_RAMP).toEqual([3, 6, 10, 15]);
    expect([0, 1, 2, 3].map((d) => drawBudget(7, '2026-02-01', 20, d))).toEqual([3, 6, 10, 15]);
    expect(drawBudget(7, '2026-02-01', 8, 2)).toBe(8);
    const input = (now: number): PaceInput => ({
      accountId: 7,
      now,
      timeZone: 'Asia/Tokyo',
      hours: DEFAULT_ACTIVE_HOURS,
      perDay: 20,
      gapFloorMs: 5 * MIN,
      newSince: at('2026-02-01T01:00:00Z'), // 10:00 in Tokyo, Feb 1
      history: [],
    });
    const budgets = [1, 2, 3, 4, 5].map((d) => planPace(input(at(`2026-02-0${d}T03:00:00Z`))));
    expect(budgets.map((p) => p.budget).slice(0, 4)).toEqual([3, 6, 10, 15]);
    expect(budgets.map((p) => p.rampDay)).toEqual([0, 1, 2, 3, null]);
    expect(budgets[4]!.budget).toBeGreaterThanOrEqual(14);
  });
});

/** Simulate one account through a day, acting each time the plan says it is due (cron every 10 min). */
function simulateDay(input: Omit<PaceInput, 'now' | 'history'>, from: number, to: number): number[] {
  const history: ActionRecord[] = [];
  for (let now = from; now < to; now += 10 * MIN) {
    const p = planPace({ ...input, now, history });
    if (p.reason === null) history.push({ at: now, ok: true, channel: null });
  }
  return history.map((r) => r.at);
}

describe('the day plan', () => {
  const base = {
    accountId: 3,
    timeZone: 'America/New_York',
    hours: DEFAULT_ACTIVE_HOURS,
    perDay: 20,
    gapFloorMs: 5 * MIN,
    newSince: null,
  };

  it('outside active hours: not due, and the next action is at or after the day start', () => {
    const p = planPace({ ...base, now: at('2026-01-10T09:00:00Z'), history: [] }); // 04:00 local
    expect(p.reason).toBe('active_hours');
    expect(iso(p.activeFrom)).toBe('2026-01-10T14:00:00.000Z');
    expect(p.nextAt).toBeGreaterThanOrEqual(p.activeFrom);
    expect(p.nextAt).toBeLessThan(p.activeFrom + 90 * MIN);
  });

  it("spreads the day's budget over the active hours: all inside, ≤ 40% in the first 3 hours, gaps vary", () => {
    const joins = simulateDay(base, at('2026-01-10T05:00:00Z'), at('2026-01-11T05:00:00Z'));
    const budget = drawBudget(3, '2026-01-10', 20, null);
    expect(joins.length).toBeGreaterThanOrEqual(budget - 2);
    expect(joins.length).toBeLessThanOrEqual(budget);
    const start = at('2026-01-10T14:00:00Z');
    for (const j of joins) expect(isActive(j, base.timeZone, DEFAULT_ACTIVE_HOURS)).toBe(true);
    expect(joins.filter((j) => j < start + 3 * HOUR).length / joins.length).toBeLessThanOrEqual(0.4);
    const gaps = joins.slice(1).map((j, i) => j - joins[i]!);
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(5 * MIN);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
    expect(sd / mean).toBeGreaterThanOrEqual(0.25);
    // Pinned: the same account and day always give the same plan.
    expect(simulateDay(base, at('2026-01-10T05:00:00Z'), at('2026-01-11T05:00:00Z'))).toEqual(joins);
  });

  it('the first action of a day falls at a different minute on different days', () => {
    const firsts = [10, 11, 12, 13, 14, 15].map((d) => {
      const p = planPace({ ...base, now: at(`2026-01-${d}T09:00:00Z`), history: [] });
      return (p.nextAt - p.activeFrom) / MIN;
    });
    expect(new Set(firsts.map(Math.round)).size).toBeGreaterThanOrEqual(5);
    for (const f of firsts) expect(f).toBeLessThan(90);
  });

  it('stops when the budget is spent and plans tomorrow', () => {
    const now = at('2026-01-10T20:00:00Z');
    const budget = drawBudget(3, '2026-01-10', 20, null);
    const history = Array.from({ length: budget }, (_, k) => ({
      at: now - (k + 1) * 10 * MIN,
      ok: true,
      channel: null,
    }));
    const p = planPace({ ...base, now, history });
    expect(p.reason).toBe('budget');
    expect(p.nextAt).toBeGreaterThanOrEqual(at('2026-01-11T14:00:00Z'));
  });

  it('counts by the local day: yesterday-local joins do not use up today (UTC date is the same)', () => {
    // 2026-01-10T04:30Z is 23:30 on Jan 9 in New York; 14:30Z is Jan 10 there.
    const history = Array.from({ length: 20 }, (_, k) => ({
      at: at('2026-01-10T03:00:00Z') + k * 4 * MIN,
      ok: true,
      channel: null,
    }));
    const p = planPace({ ...base, now: at('2026-01-10T18:00:00Z'), history });
    expect(p.day).toBe('2026-01-10');
    expect(p.usedToday).toBe(0);
    expect(p.reason).not.toBe('budget');
  });

  it('a midnight-crossing window spreads over both of its stretches and never acts at noon', () => {
    const hours = parseActiveHours('18:00-02:00')!;
    const joins = simulateDay(
      { ...base, timeZone: 'Europe/Berlin', hours },
      at('2026-01-09T23:00:00Z'),
      at('2026-01-10T23:00:00Z'),
    );
    expect(joins.length).toBeGreaterThanOrEqual(10);
    for (const j of joins) expect(isActive(j, 'Europe/Berlin', hours)).toBe(true);
    expect(joins.some((j) => j < at('2026-01-10T01:00:00Z'))).toBe(true);
    expect(joins.some((j) => j >= at('2026-01-10T17:00:00Z'))).toBe(true);
  });

  it('on the DST day, nothing is planned before 09:00 local (13:00 UTC after spring-forward)', () => {
    const joins = simulateDay(base, at('2026-03-08T05:00:00Z'), at('2026-03-09T04:00:00Z'));
    expect(joins.length).toBeGreaterThan(10);
    expect(joins[0]!).toBeGreaterThanOrEqual(at('2026-03-08T13:00:00Z'));
    expect(joins.at(-1)!).toBeLessThan(at('2026-03-09T03:00:00Z'));
  });
});

describe('per-proxy spacing', () => {
  const p = { perHour: 3, gapMs: 2 * MIN };
  const now = at('2026-01-10T12:00:00Z');
  it('keeps the gap after the last join through the proxy', () => {
    expect(proxyNextAt([], now, p)).toBe(now);
    expect(proxyNextAt([now - MIN], now, p)).toBe(now + MIN);
    expect(proxyNextAt([now - 3 * MIN], now, p)).toBe(now);
  });
  it('caps joins through the proxy per hour', () => {
    const joins = [now - 50 * MIN, now - 30 * MIN, now - 10 * MIN];
    expect(proxyNextAt(joins, now, p)).toBe(now + 10 * MIN);
    expect(proxyNextAt(joins.slice(1), now, p)).toBe(now);
  });
});
