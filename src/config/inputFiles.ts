import { readFileSync } from 'node:fs';
import type { JsonRows } from '../domain/accountsConfig.js';
import { parseProviders, type ApiProvider } from '../domain/providers.js';
import { ConfigError, DataError, NoInputError } from '../errors.js';

/** How an import treats tenants it does not know. */
export interface ImportOptions {
  /**
   * Create tenants the rows name that do not exist yet (the CLI's --create-tenant). When false,
   * an unknown tenant rejects the whole import (DataError, 65) and nothing is written. The CLI
   * and openFleet() pass false unless asked; this function-level default stays true for callers
   * inside acctctl (demo, tests) that build their own data.
   */
  createTenants?: boolean;
  /** Mark every imported account new (`accounts import --new`): warm-up ramp from today. */
  markNew?: boolean;
}

export function readInputFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

/** A file that does not exist is a missing input (66); one that cannot be read is bad input (65). */
function unreadable(path: string, cause: unknown): DataError | NoInputError {
  if ((cause as NodeJS.ErrnoException).code === 'ENOENT') {
    return new NoInputError(`${path} does not exist → check the path (relative paths are from ${process.cwd()})`, {
      cause,
    });
  }
  return new DataError(`cannot read ${path} → check the path and its permissions`, { cause });
}

/**
 * A JSON file that is an array of objects, read as bytes (outside the JavaScript heap) with each
 * row parsed only when asked for: a 100,000-row import never holds the parsed file as a whole.
 * Anything else — another shape, a syntax error anywhere — is parsed whole as before
 * (`{ data }`), so problems and error messages are exactly those of JSON.parse on the file.
 */
export function readJsonRows(path: string): { rows: JsonRows } | { data: unknown } {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (cause) {
    throw unreadable(path, cause);
  }
  const spans = arrayOfObjectSpans(buf);
  const whole = () => ({ data: parseJsonFile(path, buf.toString('utf8')) });
  if (!spans) return whole();
  return {
    rows: {
      length: spans.length / 2,
      get: (i) => {
        const text = buf.toString('utf8', spans[2 * i], spans[2 * i + 1]);
        let row: unknown;
        try {
          row = JSON.parse(text) as unknown;
        } catch {
          // A row that does not parse makes the whole file invalid: report it as JSON.parse on the
          // file does (this always throws). Rows are all read by validation before anything is written.
          whole();
          throw new DataError(`${path} is not valid JSON → fix the file; nothing was imported`);
        }
        refuseKeyProblem(path, text, `[${i}]`);
        return row;
      },
      drop: () => {},
    },
  };
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * Byte ranges [start, end) of the elements of a top-level JSON array whose elements are all
 * objects, or null when the bytes are not such an array (the caller then parses the file whole).
 * Strings are skipped with their escapes; structure characters are ASCII, so UTF-8 needs nothing.
 */
function arrayOfObjectSpans(b: Buffer): Uint32Array | null {
  if (b.length >= 2 ** 32) return null;
  let i = 0;
  const ws = () => {
    while (i < b.length && WS.has(b[i]!)) i++;
  };
  ws();
  if (b[i] !== 0x5b /* [ */) return null;
  i++;
  let spans = new Uint32Array(1024);
  let n = 0;
  ws();
  if (b[i] === 0x5d /* ] */) {
    i++;
  } else {
    for (;;) {
      ws();
      if (b[i] !== 0x7b /* { */) return null;
      const start = i;
      let depth = 0;
      for (; i < b.length; i++) {
        const c = b[i]!;
        if (c === 0x22 /* " */) {
          for (i++; i < b.length && b[i] !== 0x22; i++) if (b[i] === 0x5c /* \ */) i++;
          if (i >= b.length) return null;
        } else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === 0) break;
        }
      }
      if (i >= b.length || b[i] !== 0x7d) return null;
      i++;
      if (n + 2 > spans.length) {
        const bigger = new Uint32Array(spans.length * 2);
        bigger.set(spans);
        spans = bigger;
      }
      spans[n++] = start;
      spans[n++] = i;
      ws();
      if (b[i] === 0x2c /* , */) {
        i++;
        continue;
      }
      if (b[i] !== 0x5d) return null;
      i++;
      break;
    }
  }
  ws();
  return i === b.length ? spans.subarray(0, n) : null;
}

export function parseJsonFile(path: string, text: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch {
    // V8's message can quote the file's content (a secret), so only the line is reported and
    // the original error is not chained.
    throw new DataError(`${path} is not valid JSON${jsonErrorLine(text)} → fix the file; nothing was imported`);
  }
  refuseKeyProblem(path, text, '');
  return data;
}

function refuseKeyProblem(path: string, text: string, where: string): void {
  const p = jsonKeyProblem(text);
  if (p) throw new DataError(`${path}: ${where}${where ? ' ' : ''}${p}; nothing was imported → give each key once`);
}

/**
 * In valid JSON text, the first object key that appears twice in one object (JSON.parse keeps the
 * last silently, so the file means something other than it shows) or that is `__proto__` (a
 * prototype key, never a field of ours). null when there is none. Keys are compared decoded
 * (`"__pro\u0074o__"` is `__proto__`).
 */
export function jsonKeyProblem(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) line++;
    else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack.at(-1) != null;
    } else if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) {
        if (text.charCodeAt(i) === 0x5c) {
          escaped = true;
          i++;
        }
      }
      if (expectKey) {
        const raw = text.slice(start, i + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        const keys = stack.at(-1)!;
        const shown = JSON.stringify(key.length > 40 ? key.slice(0, 40) + '…' : key);
        if (key === '__proto__') return `key ${shown} on line ${line} is not allowed`;
        if (keys.has(key)) return `key ${shown} appears twice in one object (line ${line})`;
        keys.add(key);
        expectKey = false;
      }
    }
  }
  return null;
}

export function rejectProblems(path: string, problems: string[]): never {
  throw new DataError(
    `${path}: ${problems.length} problem${problems.length > 1 ? 's' : ''}; nothing was imported → fix these and import again`,
    { details: problems },
  );
}

/** The line of the first JSON syntax error, found without quoting any content. */
function jsonErrorLine(text: string): string {
  try {
    JSON.parse(text);
    return '';
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    if (!m) return '';
    const line = text.slice(0, Number(m[1])).split('\n').length;
    return ` (near line ${line})`;
  }
}

/**
 * The API providers file (ACCTCTL_API_PROVIDERS) is configuration, not an import: a missing or
 * unreadable file, a syntax error or a wrong description is a ConfigError (78), found by `doctor`
 * as by `check`.
 */
export function loadProvidersFile(file: string | undefined): Map<string, ApiProvider> {
  if (!file) return new Map();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      `ACCTCTL_API_PROVIDERS ${file} cannot be read (${code}) → fix the path or its permissions, or unset ACCTCTL_API_PROVIDERS`,
      { cause },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch {
    // As parseJsonFile: V8's message may quote the content, so only the line is reported.
    throw new ConfigError(`ACCTCTL_API_PROVIDERS ${file} is not valid JSON${jsonErrorLine(text)} → fix the file`);
  }
  const keyProblem = jsonKeyProblem(text);
  if (keyProblem) throw new ConfigError(`ACCTCTL_API_PROVIDERS ${file}: ${keyProblem} → give each key once`);
  const r = parseProviders(data);
  if (!r.ok) throw new ConfigError(`${file} describes the API providers wrongly → fix it`, { details: r.problems });
  return r.value;
}
