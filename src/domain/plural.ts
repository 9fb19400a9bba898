/** "1 account", "2 accounts", "0 proxies": a count with its noun in the right number. */
export function count(n: number, singular: string, plural = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : plural}`;
}

/** "a", "a and b", "a, b and c". */
export function listing(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]!}`;
}

/**
 * A number as text without binary floating-point noise (0.571 rather than 0.5710000000000001):
 * at most 12 significant digits, no trailing zeros.
 */
export function cleanNumber(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(12)));
}
