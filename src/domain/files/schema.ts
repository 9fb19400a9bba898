import * as v from 'valibot';
import { problemAt, type ParseResult } from '../result.js';

/**
 * Valibot glue shared by the input files' schemas: field paths in the form operators read them
 * (`[3].proxy`, `invite.per_day`, `lookupco.found.status`), every problem at once, one result shape.
 */

/** `[3].proxy.port` from a valibot issue path; `(top level)` when the issue is about the whole file. */
export function pathOf(path: readonly { key: unknown }[] | undefined, prefix = ''): string {
  let out = prefix;
  for (const p of path ?? []) {
    if (typeof p.key === 'number') out += `[${p.key}]`;
    else out += out ? `.${String(p.key)}` : String(p.key);
  }
  return out || '(top level)';
}

/** Every issue as one `path: message` line, in the order the file holds them. */
export function problemsOf(issues: readonly v.BaseIssue<unknown>[], prefix = ''): string[] {
  return issues.map((i) => problemAt(pathOf(i.path, prefix), i.message));
}

/** Validate `data` against `schema`: every problem, each with its field path (under `prefix`). */
export function parseWith<S extends v.GenericSchema>(
  schema: S,
  data: unknown,
  prefix = '',
): ParseResult<v.InferOutput<S>> {
  const r = v.safeParse(schema, data, { abortPipeEarly: true });
  return r.success ? { ok: true, value: r.output } : { ok: false, problems: problemsOf(r.issues, prefix) };
}

/** As parseWith, for schemas with asynchronous checks. */
export async function parseWithAsync<S extends v.GenericSchemaAsync>(
  schema: S,
  data: unknown,
  prefix = '',
): Promise<ParseResult<v.InferOutput<S>>> {
  const r = await v.safeParseAsync(schema, data, { abortPipeEarly: true });
  return r.success ? { ok: true, value: r.output } : { ok: false, problems: problemsOf(r.issues, prefix) };
}

/**
 * An object of known fields: a field it does not know is refused (`unknownMessage`), a missing
 * required field says what it needs (`required[field]`, else "required"), anything not an object
 * gets `typeMessage`.
 */
export function fields<E extends v.ObjectEntries>(
  entries: E,
  opts: { typeMessage: string; unknownMessage?: string; required?: Partial<Record<keyof E & string, string>> },
) {
  return v.pipe(
    v.unknown(),
    // valibot takes an array for an object with no fields: a file that holds one is wrong.
    v.check((x) => !Array.isArray(x), opts.typeMessage),
    v.objectWithRest(entries, v.never(opts.unknownMessage ?? 'unknown field'), (issue) => {
      if (issue.expected === 'Object') return opts.typeMessage;
      const key = issue.path?.at(-1)?.key;
      const need = typeof key === 'string' ? opts.required?.[key as keyof E & string] : undefined;
      return need ? `required, ${need}` : 'required';
    }),
  );
}

/** A whole number ≥ `min` (every failure says `message`). */
export function wholeNumber(message: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return v.pipe(v.number(message), v.integer(message), v.minValue(min, message), v.maxValue(max, message));
}

/** A field that is absent, null or "" counts as not given (undefined); anything else must pass `schema`. */
export function blankAsAbsent<S extends v.GenericSchema>(schema: S) {
  return v.optional(
    v.pipe(
      v.unknown(),
      v.transform((x) => (x === null || x === '' ? undefined : x)),
      v.optional(schema),
    ),
  );
}
