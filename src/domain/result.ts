/**
 * The one result shape of every parser and validator (links, proxy URLs, sessions, input files,
 * limits): the value, or every problem found. A problem is one line, `path: what is wrong`, where
 * the path names the field (`[3].proxy`, `invite.per_day`) and is left out when the input is a
 * single value (a link, a URL). Problems are safe to print: they never quote secret input
 * (passwords, keys, sessions).
 */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export function ok<T>(value: T): ParseResult<T> {
  return { ok: true, value };
}

export function fail<T = never>(...problems: [string, ...string[]]): ParseResult<T> {
  return { ok: false, problems };
}

/** One problem at a field: `path: message` (just the message when there is no path). */
export function problemAt(path: string, message: string): string {
  return path ? `${path}: ${message}` : message;
}

/** A failed result's problems as one line (for a single value's parser, which has one). */
export function why(r: { ok: false; problems: readonly string[] }): string {
  return r.problems.join('; ');
}
