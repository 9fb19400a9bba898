import { PROVIDERS_FILE_SCHEMA } from './files/providers.js';
import { parseWith } from './files/schema.js';
import { ok, type ParseResult } from './result.js';

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

/** Read the providers file against its schema (domain/files/providers.ts): every problem, with its path. */
export function parseProviders(data: unknown): ParseResult<Map<string, ApiProvider>> {
  const r = parseWith(PROVIDERS_FILE_SCHEMA, data);
  if (!r.ok) return r;
  const out = new Map<string, ApiProvider>();
  for (const [name, p] of Object.entries(r.value)) {
    const rule = (x: (typeof p)['found']): ProviderRule => ({
      status: x.status,
      ...(x.path !== undefined ? { path: x.path, equals: x.equals } : {}),
    });
    out.set(name, {
      name,
      url: p.url,
      keyHeader: p.key_header,
      found: rule(p.found),
      notFound: rule(p.not_found),
      quotaStatus: p.quota_status,
    });
  }
  return ok(out);
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
