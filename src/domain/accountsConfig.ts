import { ok, why, type ParseResult } from './result.js';
import { fernetDecrypt, FernetError, looksLikeFernetToken } from '../security/fernet.js';
import { parseProxyUrl, type ProxySpec } from './proxyUrl.js';
import { encodeStringSession, parseStringSession, type DecodedSession } from './stringSession.js';
import { validTenantName } from './tenants.js';

/** One row of accounts_config.json (seed 002's format, extended), validated. */
export interface AccountInput {
  sessionName: string;
  apiId: number;
  apiHash: string;
  stringSession: string;
  session: DecodedSession;
  proxy: ProxySpec | null;
  tenant: string | null;
  phone: string | null;
}

/** gramjs speaks MTProto over SOCKS or MTProxy only: an HTTP proxy would fail every run. */
export const HTTP_PROXY_FOR_TELEGRAM =
  'http:// proxies cannot carry Telegram’s protocol (MTProto) → use a socks5://, socks4:// or mtproxy:// proxy for this account';

const KNOWN = new Set(['session_name', 'api_id', 'api_hash', 'string_session', 'proxy', 'tenant', 'phone']);

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
      for (let start = 0; start < raw.length; start += size) {
        const chunk: AccountInput[] = [];
        const problems: string[] = [];
        for (let i = start; i < Math.min(raw.length, start + size); i++) {
          const row = checkRow(raw.get(i), i, null, opts, problems);
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
  for (let i = 0; i < data.length; i++) {
    const row = checkRow(data.get(i), i, seen, opts, problems);
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
  opts: { fernetKey?: string | undefined },
  problems: string[],
): AccountInput | undefined {
  const at = (field: string) => `[${i}].${field}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`[${i}]: must be an object`);
    return undefined;
  }
  const o = raw as Record<string, unknown>;
  const before = problems.length;
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) problems.push(`${at(k)}: unknown field`);
  const secretField = (field: string): string | undefined => {
    const v = o[field];
    if (typeof v !== 'string' || v.trim() === '') {
      problems.push(`${at(field)}: required, a non-empty string`);
      return undefined;
    }
    const s = v.trim();
    if (!looksLikeFernetToken(s)) return s;
    if (!opts.fernetKey) {
      problems.push(`${at(field)}: is a Fernet token from the old system → pass --fernet-key-file FILE`);
      return undefined;
    }
    try {
      return fernetDecrypt(s, opts.fernetKey).toString('utf8');
    } catch (e) {
      problems.push(
        `${at(field)}: cannot decrypt the Fernet token (${e instanceof FernetError ? e.message : 'invalid'})`,
      );
      return undefined;
    }
  };

  const name = o.session_name;
  let sessionName: string | undefined;
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/.test(name)) {
    problems.push(`${at('session_name')}: required; letters, digits, _ . + - (up to 64)`);
  } else if (seen?.has(name)) {
    problems.push(`${at('session_name')}: "${name}" repeats row ${seen.get(name)}`);
  } else {
    seen?.set(name, i);
    sessionName = name;
  }

  const idRaw = o.api_id;
  const apiId = typeof idRaw === 'string' && /^\d+$/.test(idRaw) ? Number(idRaw) : idRaw;
  if (typeof apiId !== 'number' || !Number.isInteger(apiId) || apiId <= 0 || apiId > 2 ** 31 - 1) {
    problems.push(`${at('api_id')}: required, a positive integer`);
  }
  const apiHash = secretField('api_hash');
  if (apiHash !== undefined && !/^[0-9a-f]{32}$/i.test(apiHash)) {
    problems.push(`${at('api_hash')}: must be 32 hex characters`);
  }
  const ss = secretField('string_session');
  let session: DecodedSession | undefined;
  if (ss !== undefined) {
    const r = parseStringSession(ss);
    if (r.ok) session = r.value;
    else problems.push(`${at('string_session')}: ${why(r)}`);
  }

  let proxy: ProxySpec | null = null;
  if (o.proxy !== undefined && o.proxy !== null && o.proxy !== '') {
    if (typeof o.proxy !== 'string') problems.push(`${at('proxy')}: must be a proxy URL string`);
    else {
      const r = parseProxyUrl(o.proxy);
      if (!r.ok) problems.push(`${at('proxy')}: ${why(r)}`);
      else if (r.value.scheme === 'http') problems.push(`${at('proxy')}: ${HTTP_PROXY_FOR_TELEGRAM}`);
      else proxy = r.value;
    }
  }

  let tenant: string | null = null;
  if (o.tenant !== undefined && o.tenant !== null) {
    if (typeof o.tenant !== 'string' || !validTenantName(o.tenant)) {
      problems.push(`${at('tenant')}: letters, digits, _ . - (up to 64)`);
    } else tenant = o.tenant;
  }
  let phone: string | null = null;
  if (o.phone !== undefined && o.phone !== null && o.phone !== '') {
    const p = typeof o.phone === 'number' ? String(o.phone) : o.phone;
    if (typeof p !== 'string' || !/^\+?[1-9]\d{6,14}$/.test(p.replace(/[\s()-]/g, ''))) {
      problems.push(`${at('phone')}: an international phone number such as +15551234567`);
    } else phone = '+' + p.replace(/[\s()+-]/g, '');
  }

  if (problems.length !== before || !sessionName || !apiHash || !ss || !session) return undefined;
  // Stored in gramjs's own layout, so a Telethon export always loads in gramjs.
  return {
    sessionName,
    apiId: apiId as number,
    apiHash: apiHash.toLowerCase(),
    stringSession: encodeStringSession(session),
    session,
    proxy,
    tenant,
    phone,
  };
}
