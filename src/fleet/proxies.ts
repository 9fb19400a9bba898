import type { Clock } from '../domain/clock.js';
import { parseProxies, type ProxyInput } from '../domain/files/proxies.js';
import type { SecretBox } from '../security/secretBox.js';
import { upsertProxy } from '../store/proxies.js';
import { sealingTx } from '../store/secrets.js';
import type { Store } from '../store/store.js';
import { parseJsonFile, rejectProblems, type ImportOptions } from '../config/inputFiles.js';
import { resolveTenants } from '../store/tenants.js';

export type { ProxyInput };

/** One URL per line (`#` comments), or JSON: ["url", …] or [{ "url": …, "tenant": … }, …]. */
export function parseProxyFile(path: string, text: string, defaultTenant: string | null): ProxyInput[] {
  const trimmed = text.trimStart();
  const data = trimmed.startsWith('[') || trimmed.startsWith('{') ? parseJsonFile(path, text) : undefined;
  const r = parseProxies(text, data, defaultTenant);
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
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
  return sealingTx(deps.store, deps.box, async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.flatMap((r) => (r.tenant ? [r.tenant] : [])),
      { create: opts.createTenants ?? true, now },
    );
    const tenantsCreated = tenants.created;
    let created = 0;
    for (const r of rows) {
      const tenantId = r.tenant ? tenants.ids.get(r.tenant)! : null;
      if ((await upsertProxy(tx, deps.box, r.spec, tenantId, now, true)).created) created++;
    }
    return { imported: rows.length, created, updated: rows.length - created, tenantsCreated };
  });
}
