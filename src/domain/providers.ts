import type { ParseResult } from './result.js';

/**
 * API providers for the `api` verify method, described in a JSON file (ACCTCTL_API_PROVIDERS):
 *
 *   { "lookupco": {
 *       "url": "https://api.lookup.example/v1/instagram/{username}",
 *       "key_header": "X-API-Key",
 *       "found": { "status": 200, "path": "data.exists", "equals": true },
 *       "not_found": { "status": [404] },
 *       "quota_status": [402, 429] } }
 *
 * `path`/`equals` are optional; a response matching neither rule is an error.
 */
export interface ProviderRule {
  status: number[];
  path?: string;
  equals?: unknown;
}
export interface ApiProvider {
  name: string;
  url: string;
  keyHeader: string;
  found: ProviderRule;
  notFound: ProviderRule;
  quotaStatus: number[];
}

function rule(v: unknown, where: string, problems: string[]): ProviderRule | undefined {
  if (typeof v !== 'object' || v === null) {
    problems.push(`${where}: must be an object with "status"`);
    return undefined;
  }
  const o = v as Record<string, unknown>;
  const status = typeof o.status === 'number' ? [o.status] : Array.isArray(o.status) ? o.status : null;
  if (!status || !status.every((x) => Number.isInteger(x))) {
    problems.push(`${where}.status: an HTTP status or a list of them`);
    return undefined;
  }
  if (o.path !== undefined && typeof o.path !== 'string')
    problems.push(`${where}.path: a dotted path such as data.exists`);
  return { status: status as number[], ...(typeof o.path === 'string' ? { path: o.path, equals: o.equals } : {}) };
}

export function parseProviders(data: unknown): ParseResult<Map<string, ApiProvider>> {
  const problems: string[] = [];
  const out = new Map<string, ApiProvider>();
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return { ok: false, problems: ['(top level): an object keyed by provider name'] };
  for (const [name, raw] of Object.entries(data as Record<string, unknown>)) {
    const o = (raw ?? {}) as Record<string, unknown>;
    if (typeof o.url !== 'string' || !/^https?:\/\/.+\{username\}/.test(o.url))
      problems.push(`${name}.url: an http(s) URL containing {username}`);
    if (typeof o.key_header !== 'string' || !/^[A-Za-z0-9-]+$/.test(o.key_header))
      problems.push(`${name}.key_header: the header that carries the key`);
    const found = rule(o.found, `${name}.found`, problems);
    const notFound = rule(o.not_found, `${name}.not_found`, problems);
    const quota = o.quota_status === undefined ? [429] : o.quota_status;
    if (!Array.isArray(quota) || !quota.every((x) => Number.isInteger(x)))
      problems.push(`${name}.quota_status: a list of HTTP statuses`);
    if (found && notFound && typeof o.url === 'string' && typeof o.key_header === 'string' && Array.isArray(quota)) {
      out.set(name, { name, url: o.url, keyHeader: o.key_header, found, notFound, quotaStatus: quota as number[] });
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: out };
}

function at(json: unknown, path: string): unknown {
  let cur: unknown = json;
  for (const k of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function matches(r: ProviderRule, status: number, json: unknown): boolean {
  if (!r.status.includes(status)) return false;
  if (r.path === undefined) return true;
  return at(json, r.path) === r.equals;
}

/** A provider's answer, read by its rules. */
export function readProvider(p: ApiProvider, status: number, json: unknown): 'found' | 'not_found' | 'quota' | 'error' {
  if (p.quotaStatus.includes(status)) return 'quota';
  if (matches(p.found, status, json)) return 'found';
  if (matches(p.notFound, status, json)) return 'not_found';
  return 'error';
}

export function providerUrl(p: ApiProvider, username: string): string {
  return p.url.replace('{username}', encodeURIComponent(username));
}
