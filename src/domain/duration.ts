const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * The one duration syntax of every flag: `250ms`, `90s`, `10m`, `2h`, `1d`, `1w`, or a plain
 * number of seconds. Returns milliseconds, or undefined when the text is not a duration.
 */
export function durationMs(s: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d|w)?$/.exec(s.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS];
}
