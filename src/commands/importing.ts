import { readFileSync } from 'node:fs';
import { DataError } from '../errors.js';

/** How an import treats tenants it does not know. */
export interface ImportOptions {
  /**
   * Create tenants the rows name that do not exist yet (the CLI's --create-tenant). When false,
   * an unknown tenant rejects the whole import (DataError, 65) and nothing is written. The CLI
   * and openFleet() pass false unless asked; this function-level default stays true for callers
   * inside acctctl (demo, tests) that build their own data.
   */
  createTenants?: boolean;
}

export function readInputFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DataError(`cannot read ${path} → check the path and its permissions`, { cause });
  }
}

/**
 * Read and parse a JSON file; the file's text is released once parsed (a large import would
 * otherwise hold it next to the parsed rows).
 */
export function readJsonFile(path: string): unknown {
  return parseJsonFile(path, readInputFile(path));
}

export function parseJsonFile(path: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // V8's message can quote the file's content (a secret), so only the line is reported and
    // the original error is not chained.
    throw new DataError(`${path} is not valid JSON${jsonErrorLine(text)} → fix the file; nothing was imported`);
  }
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
