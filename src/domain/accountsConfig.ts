import { accountRowSchema, SESSION_NAME_RE } from './files/accountsConfig.js';
import { parseWith } from './files/schema.js';
import { completeDevice, type TelegramDevice } from './device.js';
import type { ProxySpec } from './proxyUrl.js';
import { ok, type ParseResult } from './result.js';
import { encodeStringSession, type DecodedSession } from './stringSession.js';

export { HTTP_PROXY_FOR_TELEGRAM } from './files/accountsConfig.js';

/** One row of the Python SmartJoiner's accounts_config.json (extended), validated (schema: files/accountsConfig.ts). */
export interface AccountInput {
  sessionName: string;
  apiId: number;
  apiHash: string;
  stringSession: string;
  session: DecodedSession;
  proxy: ProxySpec | null;
  tenant: string | null;
  phone: string | null;
  /** IANA time zone of its local day and active hours; undefined: keep the stored one (null: clear). */
  timezone?: string | null | undefined;
  /** A new account: its daily budget follows the warm-up ramp from today (`new: true`). */
  isNew?: boolean | undefined;
  /** The device the file gives (completed from the account's chosen one); null: the stored one stays. */
  device: TelegramDevice | null;
  /** A session file's .json beyond the columns (twoFA, unknown keys…), stored encrypted; null: keep. */
  meta?: Record<string, unknown> | null;
}

/**
 * Validate the whole file and report every problem with its path (`[3].string_session: …`).
 * Problems never quote a secret. Values exported by the old system as Fernet tokens are
 * decrypted with `fernetKey` when given.
 */
export function validateAccountsConfig(
  data: unknown,
  opts: { fernetKey?: string | undefined } = {},
): ParseResult<AccountInput[]> {
  if (!Array.isArray(data)) {
    return { ok: false, problems: ['(top level): must be a JSON array of accounts'] };
  }
  const rows: AccountInput[] = [];
  const r = checkRows(rowsOfArray(data), opts, (row) => rows.push(row));
  return r.ok ? ok(rows) : r;
}

/** Validated rows handed out a chunk at a time, so a large file never exists twice over in memory. */
export interface AccountsSource {
  /** How many rows the file holds (all valid). */
  count: number;
  /** The distinct tenants the rows name. */
  tenants: string[];
  /** The rows in order, `size` at a time; each chunk is built when asked for and the raw rows it came from are released. */
  chunks(size: number): Iterable<AccountInput[]>;
}

/**
 * The rows of a JSON array, one at a time: a parsed array, or a file's rows parsed on demand
 * (see readJsonRows) so the parsed file is never in memory as a whole.
 */
export interface JsonRows {
  length: number;
  /** Row i (parsed again on every call when the rows are read from a file). */
  get(i: number): unknown;
  /** Row i will not be asked for again. */
  drop(i: number): void;
}

const rowsOfArray = (a: unknown[]): JsonRows => ({
  length: a.length,
  get: (i) => a[i],
  drop: (i) => {
    a[i] = undefined;
  },
});

/**
 * Validate the whole file (every problem reported at once, as validateAccountsConfig) without
 * keeping the converted rows: they are built again a chunk at a time by `chunks()`, and the raw
 * rows are released as they are consumed. `data` (a parsed file, or its rows) must not be used by
 * the caller afterwards.
 */
export function accountsSource(
  data: unknown,
  opts: { fernetKey?: string | undefined } = {},
): ParseResult<AccountsSource> {
  if (!Array.isArray(data)) {
    return { ok: false, problems: ['(top level): must be a JSON array of accounts'] };
  }
  return accountsSourceOfRows(rowsOfArray(data), opts);
}

export function accountsSourceOfRows(
  raw: JsonRows,
  opts: { fernetKey?: string | undefined } = {},
): ParseResult<AccountsSource> {
  const tenants = new Set<string>();
  const r = checkRows(raw, opts, (row) => {
    if (row.tenant) tenants.add(row.tenant);
  });
  if (!r.ok) return r;
  return ok({
    count: raw.length,
    tenants: [...tenants],
    *chunks(size: number) {
      const schema = accountRowSchema(opts);
      for (let start = 0; start < raw.length; start += size) {
        const chunk: AccountInput[] = [];
        const problems: string[] = [];
        for (let i = start; i < Math.min(raw.length, start + size); i++) {
          const row = checkRow(raw.get(i), i, null, schema, problems);
          // Validated already: a row that fails now means the data changed under us.
          if (!row) throw new Error(`accounts row ${i} no longer validates: ${problems.join('; ')}`);
          chunk.push(row);
          raw.drop(i);
        }
        yield chunk;
      }
    },
  });
}

function checkRows(
  data: JsonRows,
  opts: { fernetKey?: string | undefined },
  each: (row: AccountInput) => void,
): ParseResult<null> {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const schema = accountRowSchema(opts);
  for (let i = 0; i < data.length; i++) {
    const row = checkRow(data.get(i), i, seen, schema, problems);
    if (row) each(row);
  }
  if (data.length === 0) problems.push('(top level): the file holds no accounts');
  return problems.length ? { ok: false, problems } : ok(null);
}

/** One row: its problems are pushed to `problems`; the row when it has none. `seen` finds repeated names. */
function checkRow(
  raw: unknown,
  i: number,
  seen: Map<string, number> | null,
  schema: ReturnType<typeof accountRowSchema>,
  problems: string[],
): AccountInput | undefined {
  const r = parseWith(schema, raw, `[${i}]`);
  const name = (raw as { session_name?: unknown } | null)?.session_name;
  const named = typeof name === 'string' && SESSION_NAME_RE.test(name) ? name : undefined;
  const before = named === undefined ? undefined : seen?.get(named);
  if (before !== undefined) problems.push(`[${i}].session_name: "${named}" repeats row ${before}`);
  else if (named !== undefined) seen?.set(named, i);
  if (!r.ok) {
    problems.push(...r.problems);
    return undefined;
  }
  if (before !== undefined) return undefined;
  const o = r.value;
  // Stored in gramjs's own layout, so a Telethon export always loads in gramjs.
  return {
    sessionName: o.session_name,
    apiId: o.api_id,
    apiHash: o.api_hash,
    stringSession: encodeStringSession(o.string_session),
    session: o.string_session,
    proxy: o.proxy ?? null,
    tenant: o.tenant ?? null,
    phone: o.phone ?? null,
    device: completeDevice(o.device, o.session_name),
    ...(o.timezone !== undefined ? { timezone: o.timezone } : {}),
    ...(o.new === true ? { isNew: true } : {}),
  };
}
