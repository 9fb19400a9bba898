/**
 * The JSON conventions of every `--json` output (README "JSON output"), applied in one place:
 *
 * - every document is an object with `schemaVersion` (SCHEMA_VERSION); a listing is
 *   `{ schemaVersion, items: [...], total, more }` (total: rows matching; more: matching rows not shown);
 * - timestamps are ISO 8601 UTC strings (`2026-12-01T22:30:00.000Z`), never epoch milliseconds: a
 *   key is a timestamp when its name is `at`, `until` or `since`, or ends in `At`, `Until` or
 *   `Since` (isTimestampKey); durations carry their unit in the key (`waitSeconds`, `sessionAgeMs`);
 * - keys are camelCase (keys that are data, such as account states in `byState`, stay as the data
 *   spells them);
 * - optional values are present as `null`, never missing.
 *
 * The shapes are published as JSON Schema in schemas/ (from src/commands/support/schemas.ts).
 * Loaded by the entry point for every command: keep it free of imports.
 */

/** Bumped when a published shape changes incompatibly. */
export const SCHEMA_VERSION = 1;

const TIMESTAMP_KEY = /^(at|until|since)$|(At|Until|Since)$/;

/** Whether a key names a point in time (its value is an ISO 8601 UTC string or null). */
export function isTimestampKey(key: string): boolean {
  return TIMESTAMP_KEY.test(key);
}

/** A key in camelCase: letters and digits, no `_` or `-` (a leading `_` is not allowed either). */
export function isCamelCase(key: string): boolean {
  return /^[a-z][a-zA-Z0-9]*$/.test(key);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A value as JSON output: epoch-ms numbers under timestamp keys become ISO strings, `undefined`
 * becomes `null` (in objects; in arrays too), Dates become ISO strings. Nothing else changes.
 */
export function jsonValue(value: unknown, key = ''): unknown {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number' && isTimestampKey(key) && Number.isFinite(value)) return isoTime(value);
  if (Array.isArray(value)) return value.map((v) => jsonValue(v, ''));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = jsonValue(v, k);
    return out;
  }
  return value;
}

/** The listing envelope around rows already in memory. */
export function listingDocument(items: unknown[], total = items.length): Record<string, unknown> {
  return { schemaVersion: SCHEMA_VERSION, items: jsonValue(items), total, more: Math.max(0, total - items.length) };
}

/**
 * A command's result as its JSON document: an array is a listing (every row shown), an object
 * gets `schemaVersion` first.
 */
export function jsonDocument(data: unknown): Record<string, unknown> {
  if (Array.isArray(data)) return listingDocument(data);
  const v = jsonValue(data);
  if (v === null || typeof v !== 'object') return { schemaVersion: SCHEMA_VERSION, value: v };
  const { schemaVersion: _ignored, ...rest } = v as Record<string, unknown>;
  return { schemaVersion: SCHEMA_VERSION, ...rest };
}

/** The text written for `--json`: the document, pretty-printed, one trailing newline. */
export function jsonText(data: unknown): string {
  return JSON.stringify(jsonDocument(data), null, 2) + '\n';
}
