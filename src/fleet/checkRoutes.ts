import type { ProxySpec } from '../domain/proxyUrl.js';
import { HttpError, httpGet, type HttpResponse } from '../instagram/http.js';
import { loadProxy, markProxy, tenantHttpProxies } from '../store/proxies.js';
import type { CheckDeps } from './checkDeps.js';

/**
 * How check's requests go out: through the tenant's proxy (or the session's own, see
 * IgSessions), recording the proxy's health. A proxy failure is never retried direct.
 */
export type TenantRoute = { kind: 'none' } | { kind: 'down' } | { kind: 'ok'; proxy: ProxySpec };

type RouteDeps = Pick<CheckDeps, 'store' | 'box' | 'clock'>;

/** HTTP through a proxy (or none), recording the proxy's health. */
export async function proxiedGet(
  deps: RouteDeps,
  url: string,
  headers: Record<string, string>,
  proxy: ProxySpec | null,
): Promise<HttpResponse> {
  const now = deps.clock.now();
  try {
    const r = await httpGet(url, { headers, proxy });
    await markProxy(deps.store, proxy, true, now);
    return r;
  } catch (e) {
    if (e instanceof HttpError && e.kind === 'proxy') await markProxy(deps.store, proxy, false, now, e.message);
    throw e;
  }
}

/**
 * The proxy the tenant's traffic goes through: `none` when it has none (direct), `down` when it
 * has proxies but none is healthy — then nothing may go out at all (fail closed, never direct).
 */
export async function tenantRoute(deps: RouteDeps, tenantId: number): Promise<TenantRoute> {
  const all = await tenantHttpProxies(deps.store, tenantId);
  if (all.length === 0) return { kind: 'none' };
  const healthy = all.find((p) => p.healthy === 1);
  const proxy = healthy ? await loadProxy(deps.store, deps.box, healthy.id) : null;
  return proxy ? { kind: 'ok', proxy } : { kind: 'down' };
}

/** The tenant's healthy proxy, or null. */
export async function tenantProxy(deps: RouteDeps, tenantId: number): Promise<ProxySpec | null> {
  const r = await tenantRoute(deps, tenantId);
  return r.kind === 'ok' ? r.proxy : null;
}
