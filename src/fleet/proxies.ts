import type { Clock } from '../domain/clock.js';
import { parseProxyUrl, type ProxySpec } from '../domain/proxyUrl.js';
import { validTenantName } from '../domain/tenants.js';
import type { SecretBox } from '../security/secretBox.js';
import { upsertProxy } from '../store/proxies.js';
import type { Store } from '../store/store.js';
import { parseJsonFile, rejectProblems, type ImportOptions } from '../config/inputFiles.js';
import { resolveTenants } from '../store/tenants.js';

export interface ProxyInput {
  spec: ProxySpec;
  tenant: string | null;
}

/** One URL per line (`#` comments), or JSON: ["url", …] or [{ "url": …, "tenant": … }, …]. */
export function parseProxyFile(path: string, text: string, defaultTenant: string | null): ProxyInput[] {
  const problems: string[] = [];
  const out: ProxyInput[] = [];
  const trimmed = text.trimStart();
  const entries: { where: string; url: unknown; tenant: unknown }[] = [];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const data = parseJsonFile(path, text);
    if (!Array.isArray(data)) rejectProblems(path, ['(top level): must be a JSON array']);
    data.forEach((e: unknown, i) => {
      if (typeof e === 'string') entries.push({ where: `[${i}]`, url: e, tenant: defaultTenant });
      else if (typeof e === 'object' && e !== null && !Array.isArray(e)) {
        const o = e as Record<string, unknown>;
        for (const k of Object.keys(o)) if (k !== 'url' && k !== 'tenant') problems.push(`[${i}].${k}: unknown field`);
        entries.push({ where: `[${i}].url`, url: o.url, tenant: o.tenant ?? defaultTenant });
      } else problems.push(`[${i}]: must be a URL string or {url, tenant}`);
    });
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      const l = line.replace(/#.*$/, '').trim();
      if (l) entries.push({ where: `line ${i + 1}`, url: l, tenant: defaultTenant });
    });
  }
  for (const e of entries) {
    if (typeof e.url !== 'string') {
      problems.push(`${e.where}: must be a proxy URL string`);
      continue;
    }
    const r = parseProxyUrl(e.url);
    if (!r.ok) problems.push(`${e.where}: ${r.problems.join('; ')}`);
    if (e.tenant !== null && (typeof e.tenant !== 'string' || !validTenantName(e.tenant))) {
      problems.push(`${e.where}: tenant must be a tenant name`);
      continue;
    }
    if (r.ok) out.push({ spec: r.value, tenant: e.tenant as string | null });
  }
  if (entries.length === 0) problems.push('(file): no proxies found');
  if (problems.length) rejectProblems(path, problems);
  return out;
}

export interface ImportProxiesResult {
  imported: number;
  created: number;
  updated: number;
  tenantsCreated: string[];
}

export async function importProxies(
  deps: { store: Store; box: SecretBox; clock: Clock },
  rows: ProxyInput[],
  opts: ImportOptions = {},
): Promise<ImportProxiesResult> {
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.flatMap((r) => (r.tenant ? [r.tenant] : [])),
      { create: opts.createTenants ?? true, now },
    );
    const tenantsCreated = tenants.created;
    let created = 0;
    for (const r of rows) {
      const tenantId = r.tenant ? tenants.ids.get(r.tenant)! : null;
      if ((await upsertProxy(tx, deps.box, r.spec, tenantId, now)).created) created++;
    }
    return { imported: rows.length, created, updated: rows.length - created, tenantsCreated };
  });
}
