import { describe, expect, it } from 'vitest';
import { localDay, startOfDay } from '../../src/domain/calendar.js';

const iso = (ms: number) => new Date(ms).toISOString();

describe('calendar days in a time zone', () => {
  it.each([
    ['UTC', '2026-03-10T23:59:59Z', '2026-03-10', '2026-03-10T00:00:00.000Z'],
    ['Europe/Moscow', '2026-03-10T21:00:00Z', '2026-03-11', '2026-03-10T21:00:00.000Z'],
    ['Europe/Moscow', '2026-03-10T20:59:59Z', '2026-03-10', '2026-03-09T21:00:00.000Z'],
    ['Asia/Kolkata', '2026-06-01T18:29:00Z', '2026-06-01', '2026-05-31T18:30:00.000Z'],
    // New York: DST starts 2026-03-08 02:00 local (EST → EDT).
    ['America/New_York', '2026-03-08T12:00:00Z', '2026-03-08', '2026-03-08T05:00:00.000Z'],
    ['America/New_York', '2026-03-09T12:00:00Z', '2026-03-09', '2026-03-09T04:00:00.000Z'],
    // and ends 2026-11-01 02:00 local (EDT → EST): that day is 25 hours long.
    ['America/New_York', '2026-11-01T23:00:00Z', '2026-11-01', '2026-11-01T04:00:00.000Z'],
    ['America/New_York', '2026-11-02T04:59:59Z', '2026-11-01', '2026-11-01T04:00:00.000Z'],
    ['America/New_York', '2026-11-02T05:00:00Z', '2026-11-02', '2026-11-02T05:00:00.000Z'],
    // Santiago skips midnight when DST starts (2026-09-06 00:00 → 01:00).
    ['America/Santiago', '2026-09-06T12:00:00Z', '2026-09-06', '2026-09-06T04:00:00.000Z'],
  ])('%s at %s is %s, starting %s', (tz, at, day, start) => {
    const ms = Date.parse(at);
    expect(localDay(ms, tz)).toBe(day);
    expect(iso(startOfDay(ms, tz))).toBe(start);
    expect(startOfDay(ms, tz)).toBeLessThanOrEqual(ms);
  });
});
