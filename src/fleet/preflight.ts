import { count } from '../domain/plural.js';
import { methodsOf } from './checkDeps.js';
import type { TenantResourceCounts } from '../store/tenants.js';

/**
 * The pre-flight of a tenant (the original auto-checker's "does this user have what its mode
 * needs"): its verify mode, what it has of each resource, and one problem per missing resource
 * with the way to fix it. doctor shows it; check logs its start line from it.
 */
export type PreflightResource = 'API keys' | 'valid sessions' | 'proxies';

export interface PreflightProblem {
  resource: PreflightResource;
  detail: string;
  fix: string;
}

export interface TenantPreflight {
  tenant: string;
  mode: string;
  loginFallback: 'none' | 'http';
  /** What the mode (and its follower watches) needs, in the order check tries it. */
  needs: PreflightResource[];
  apiKeys: { total: number; usable: number; providers: string[] };
  validSessions: { total: number; valid: number };
  proxies: { total: number; healthy: number };
  problems: PreflightProblem[];
}

/** `providers`: the provider names ACCTCTL_API_PROVIDERS describes (null: the file is not set). */
export function tenantPreflight(r: TenantResourceCounts, providers: ReadonlySet<string> | null): TenantPreflight {
  const methods = methodsOf(r.verifyMode);
  const needs: PreflightResource[] = [];
  if (methods.includes('api')) needs.push('API keys');
  if (methods.includes('instagram') || r.followerWatches > 0) needs.push('valid sessions');
  if (methods.includes('proxy')) needs.push('proxies');
  const usable = r.usableApiKeyProviders.filter((p) => providers?.has(p));
  const problems: PreflightProblem[] = [];
  const t = r.name;
  if (needs.includes('API keys')) {
    if (r.apiKeys === 0)
      problems.push({
        resource: 'API keys',
        detail: `mode ${r.verifyMode} needs an API key; tenant ${t} has none`,
        fix: `acctctl apikeys import FILE (tenant "${t}")`,
      });
    else if (r.usableApiKeyProviders.length === 0)
      problems.push({
        resource: 'API keys',
        detail: `all ${count(r.apiKeys, 'API key')} of tenant ${t} are unhealthy or resting for quota`,
        fix: 'keys out of quota come back after an hour by themselves; else import a working key (acctctl apikeys import FILE)',
      });
    else if (usable.length === 0)
      problems.push({
        resource: 'API keys',
        detail: `no configured provider for the API keys of tenant ${t} (${[...new Set(r.usableApiKeyProviders)].join(', ')})`,
        fix:
          providers === null
            ? 'set ACCTCTL_API_PROVIDERS to a providers file describing them'
            : 'describe these providers in the ACCTCTL_API_PROVIDERS file',
      });
  }
  if (needs.includes('valid sessions') && r.validSessions === 0) {
    const why = methods.includes('instagram')
      ? `mode ${r.verifyMode} needs a valid Instagram session`
      : `its ${count(r.followerWatches, 'follower watch', 'follower watches')} need a valid Instagram session`;
    problems.push({
      resource: 'valid sessions',
      detail:
        r.igAccounts === 0
          ? `${why}; tenant ${t} has no Instagram account`
          : `${why}; none of the ${count(r.igAccounts, 'Instagram account')} of tenant ${t} has one`,
      fix:
        r.igAccounts === 0
          ? `acctctl ig import FILE (tenant "${t}", with a password or a sessionid)`
          : 'acctctl refresh-session --all (see `acctctl ig list` for why they are not valid)',
    });
  }
  if (needs.includes('proxies')) {
    if (r.proxies === 0)
      problems.push({
        resource: 'proxies',
        detail: `mode ${r.verifyMode} needs a proxy; tenant ${t} has none`,
        fix: `acctctl proxies import FILE --tenant ${t}`,
      });
    else if (r.healthyProxies === 0)
      problems.push({
        resource: 'proxies',
        detail: `all ${count(r.proxies, 'proxy', 'proxies')} of tenant ${t} are down`,
        fix: `acctctl proxies check --tenant ${t} (recover retries them), or import a working one`,
      });
  }
  return {
    tenant: t,
    mode: r.verifyMode,
    loginFallback: r.loginFallback,
    needs,
    apiKeys: { total: r.apiKeys, usable: usable.length, providers: [...new Set(usable)] },
    validSessions: { total: r.igAccounts, valid: r.validSessions },
    proxies: { total: r.proxies, healthy: r.healthyProxies },
    problems,
  };
}

/** "API keys 1 usable of 2, valid sessions 0 of 1, proxies 1 healthy of 1" (needed ones marked by the mode). */
export function preflightResources(p: TenantPreflight): string {
  return [
    `API keys ${p.apiKeys.usable} usable of ${p.apiKeys.total}`,
    `valid sessions ${p.validSessions.valid} of ${p.validSessions.total}`,
    `proxies ${p.proxies.healthy} healthy of ${p.proxies.total}`,
  ].join(', ');
}
