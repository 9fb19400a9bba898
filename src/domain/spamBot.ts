/**
 * Reading @SpamBot's answer (pure). Its texts change over time and by language; we look for the
 * stable English phrases and fall back to "unknown" rather than guessing.
 */
export type SpamVerdict =
  { kind: 'fine' } | { kind: 'restricted'; until: number | null } | { kind: 'frozen' } | { kind: 'unknown' };

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export function readSpamBot(text: string): SpamVerdict {
  const t = text.toLowerCase();
  if (/no limits are currently applied|you.re free as a bird|not limited/.test(t)) return { kind: 'fine' };
  if (/frozen|blocked for violations|account was blocked/.test(t)) return { kind: 'frozen' };
  if (/limited|restricted|can(no|')t send messages|report/.test(t)) {
    // e.g. "… will be automatically released on 25 Dec 2026, 14:31 UTC."
    const m = /(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{4})(?:,?\s+(\d{1,2}):(\d{2}))?/.exec(t);
    if (m) {
      const month = MONTHS.indexOf(m[2]!);
      if (month >= 0) {
        return {
          kind: 'restricted',
          until: Date.UTC(Number(m[3]), month, Number(m[1]), Number(m[4] ?? 0), Number(m[5] ?? 0)),
        };
      }
    }
    return { kind: 'restricted', until: null };
  }
  return { kind: 'unknown' };
}
