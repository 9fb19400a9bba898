/**
 * Calendar days in a configured IANA time zone, computed with Intl only (no I/O, DST-safe):
 * the start of the day that contains `ms`, as epoch milliseconds.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function offsetMs(ms: number, timeZone: string): number {
  // UTC needs no ICU data: creating the first Intl formatter costs more than the rest of `status`.
  if (timeZone === 'UTC' || timeZone === 'Etc/UTC') return 0;
  const parts = formatter(timeZone).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The local calendar date (YYYY-MM-DD) of `ms` in `timeZone`. */
export function localDay(ms: number, timeZone: string): string {
  return new Date(ms + offsetMs(ms, timeZone)).toISOString().slice(0, 10);
}

/** Epoch ms of local midnight starting the day that contains `ms`. */
export function startOfDay(ms: number, timeZone: string): number {
  const day = localDay(ms, timeZone);
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const naive = Date.UTC(y, m - 1, d);
  // Midnight local = naive - offset(at midnight); the offset may differ from now's across DST.
  let guess = naive - offsetMs(naive, timeZone);
  guess = naive - offsetMs(guess, timeZone);
  // Some zones skip midnight on DST days: then the day starts at the first existing instant.
  if (localDay(guess, timeZone) !== day) guess += 3600_000;
  return guess;
}

/**
 * Epoch ms of the local wall-clock time `minute` minutes after midnight on `day` (YYYY-MM-DD) in
 * `timeZone`. A time the clocks skip (spring forward) is moved forward by the gap (02:30 on a
 * 02:00→03:00 day is 03:30, as Temporal's "compatible"); a time that occurs twice (fall back) is
 * its first occurrence. minute 1440 is the next midnight.
 */
export function localTime(day: string, minute: number, timeZone: string): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const naive = Date.UTC(y, m - 1, d) + minute * 60_000;
  const first = naive - offsetMs(naive - 14 * 3_600_000, timeZone);
  const candidates = [first, naive - offsetMs(first, timeZone), naive - offsetMs(naive + 14 * 3_600_000, timeZone)];
  const exact = candidates.filter((t) => t + offsetMs(t, timeZone) === naive).sort((a, b) => a - b);
  if (exact.length) return exact[0]!;
  // In the gap: the wall time does not exist; the day goes on at the end of the gap.
  const after = candidates.sort((a, b) => a - b).find((t) => t + offsetMs(t, timeZone) > naive);
  return after ?? candidates[candidates.length - 1]!;
}
