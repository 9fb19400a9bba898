/**
 * Outcome of a pure parser: either the parsed value or a short, human-readable reason.
 * Reasons are safe to print: they never contain secret input (passwords, keys, sessions).
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(reason: string): ParseResult<T> {
  return { ok: false, reason };
}
