const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Flag ranges (README "Defaults"): --batch of check and join, join --max-wait, reset-limits --retention-days. */
export const MAX_BATCH = 10_000;
export const MAX_WAIT_SECONDS = 7 * 86_400;
export const MAX_RETENTION_DAYS = 3650;

/** The longest duration any flag takes (README "Defaults"): ten years. */
export const MAX_DURATION_MS = 3650 * 86_400_000;

/**
 * The one duration syntax of every flag: `250ms`, `90s`, `10m`, `2h`, `1d`, `1w`, or a plain
 * number of seconds. Returns milliseconds, or undefined when the text is not a duration (or
 * is longer than MAX_DURATION_MS: `99999999999w` is not a time span anything here means).
 */
export function durationMs(s: string): number | undefined {
  const ms = spelledDurationMs(s);
  return ms !== undefined && ms <= MAX_DURATION_MS ? ms : undefined;
}

/** What the text spells as a duration, however long (a flag with its own range says it is out of it). */
export function spelledDurationMs(s: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(s.trim());
  return m ? Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS] : undefined;
}

/**
 * A whole number from a flag within [min, max]; anything else (fractions, exponents, signs,
 * values outside) is refused with the range: `--batch must be a whole number 1–10000`.
 */
export function wholeInRange(text: string, min: number, max: number): number | undefined {
  if (!/^\d{1,16}$/.test(text.trim())) return undefined;
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?)?$/;

/**
 * An ISO 8601 time that means exactly one instant: a real calendar date (`2026-02-30` is refused,
 * not read as March 2), and a time of day only with its offset (`Z`, `+03:00`) — without one it
 * would be read in whatever TZ the host has. A date alone is that day's start in UTC.
 * Returns epoch ms, or a problem saying what is wrong.
 */
export function parseInstant(s: string): { ms: number } | { problem: string } {
  const m = ISO.exec(s.trim());
  if (!m) return { problem: 'not an ISO time (2026-12-01T08:00Z)' };
  const [, y, mo, d, hh, mi, ss, frac, off] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const date = new Date(Date.UTC(year, month - 1, day));
  if (month < 1 || month > 12 || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    return { problem: `${y}-${mo}-${d} is not a date in the calendar` };
  }
  if (hh === undefined) return { ms: date.getTime() };
  if (off === undefined) {
    return { problem: 'a time of day needs its offset (Z, +03:00), else it would be read in the host’s time zone' };
  }
  const h = Number(hh);
  const min = Number(mi);
  const sec = ss === undefined ? 0 : Number(ss);
  if (h > 23 || min > 59 || sec > 59) return { problem: `${hh}:${mi}${ss ? `:${ss}` : ''} is not a time of day` };
  let offMin = 0;
  if (off !== 'Z' && off !== 'z') {
    const om = /^([+-])(\d{2}):?(\d{2})?$/.exec(off)!;
    const oh = Number(om[2]);
    const omin = Number(om[3] ?? '0');
    if (oh > 14 || omin > 59) return { problem: `offset ${off} is not a UTC offset (−12:00 to +14:00)` };
    offMin = (om[1] === '-' ? -1 : 1) * (oh * 60 + omin);
  }
  const ms = Number(((frac ?? '') + '000').slice(0, 3));
  return { ms: Date.UTC(year, month - 1, day, h, min, sec, ms) - offMin * 60_000 };
}
