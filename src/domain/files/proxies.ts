import * as v from 'valibot';
import { parseProxyUrl, type ProxySpec } from '../proxyUrl.js';
import type { ParseResult } from '../result.js';
import { validTenantName } from '../tenants.js';
import { fields, parseWith } from './schema.js';

/**
 * The proxies file (`proxies import FILE`): one proxy URL per line (`#` comments), or JSON:
 * `["socks5://…", …]` or `[{ "url": "socks5://…", "tenant": "acme" }, …]`. URLs may hold a
 * password: problems name the place, never the URL.
 */
export interface ProxyInput {
  spec: ProxySpec;
  tenant: string | null;
}

const URL_MESSAGE = 'must be a proxy URL string';

/** A proxy URL, parsed (its own problem message when it is not one). */
const PROXY_URL = v.pipe(
  v.string(URL_MESSAGE),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const r = parseProxyUrl(dataset.value);
    if (r.ok) return r.value;
    addIssue({ message: r.problems.join('; ') });
    return NEVER;
  }),
);

const TENANT = v.pipe(v.string('must be a tenant name'), v.check(validTenantName, 'must be a tenant name'));

const PROXY_OBJECT = fields(
  { url: PROXY_URL, tenant: v.optional(v.nullable(TENANT)) },
  { typeMessage: 'must be a URL string or {url, tenant}', required: { url: 'a proxy URL' } },
);

/** A JSON entry: a URL string, or `{url, tenant}` (anything else fails with the object's message). */
function entrySchema(e: unknown) {
  return typeof e === 'string' ? PROXY_URL : PROXY_OBJECT;
}

export function parseProxies(text: string, data: unknown, defaultTenant: string | null): ParseResult<ProxyInput[]> {
  const problems: string[] = [];
  const out: ProxyInput[] = [];
  const take = (where: string, e: unknown) => {
    const r = parseWith(entrySchema(e), e, where);
    if (!r.ok) return void problems.push(...r.problems);
    out.push(
      typeof r.value === 'object' && 'url' in r.value
        ? { spec: r.value.url, tenant: r.value.tenant ?? defaultTenant }
        : { spec: r.value as ProxySpec, tenant: defaultTenant },
    );
  };
  if (data !== undefined) {
    const arr = parseWith(v.array(v.unknown(), 'must be a JSON array'), data);
    if (!arr.ok) return arr;
    arr.value.forEach((e, i) => take(`[${i}]`, e));
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      const l = line.replace(/#.*$/, '').trim();
      if (l) take(`line ${i + 1}`, l);
    });
  }
  if (out.length === 0 && problems.length === 0) problems.push('(file): no proxies found');
  return problems.length ? { ok: false, problems } : { ok: true, value: out };
}
