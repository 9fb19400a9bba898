import { providerUrl, readProvider } from '../domain/providers.js';
import type { LookupResult } from '../instagram/webApi.js';
import { recordApiKeyUse, usableApiKeys } from '../store/apiKeys.js';
import type { CheckDeps } from './checkDeps.js';
import { proxiedGet, tenantRoute } from './checkRoutes.js';

/**
 * The `api` method: a profile lookup through a third-party provider, with the tenant's keys
 * least used first. A key out of quota rests (until its quota resets) and the next one is used;
 * through the tenant's proxy when it has one (none healthy → nothing is sent).
 */
export async function viaApi(
  deps: Pick<CheckDeps, 'store' | 'box' | 'clock' | 'providers'>,
  tenantId: number,
  username: string,
): Promise<LookupResult> {
  const keys = await usableApiKeys(deps.store, tenantId, deps.clock.now());
  const route = await tenantRoute(deps, tenantId);
  if (route.kind === 'down') return 'error'; // fail closed: never direct
  const proxy = route.kind === 'ok' ? route.proxy : null;
  for (const k of keys) {
    const p = deps.providers.get(k.provider);
    if (!p) continue;
    const key = deps.box.open(k.key_enc, { table: 'api_keys', column: 'key_enc', rowId: k.id });
    const res = await proxiedGet(deps, providerUrl(p, username), { [p.keyHeader]: key }, proxy);
    const verdict = readProvider(p, res.status, res.json);
    await recordApiKeyUse(deps.store, k, { quota: verdict === 'quota', status: res.status }, deps.clock.now());
    if (verdict === 'quota') continue;
    return verdict === 'error' ? 'error' : verdict;
  }
  return 'error';
}
