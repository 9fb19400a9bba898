import { performance } from 'node:perf_hooks';
import type { Clock } from '../domain/clock.js';
import { proxyDisplay } from '../domain/proxyUrl.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import { loadProxy, proxiesToCheck, recordProxyCheck, type ProxyToCheck } from '../store/proxies.js';
import type { Store } from '../store/store.js';
import { tenantIdByName } from '../store/tenants.js';
import { reachThrough, type ReachTarget } from '../telegram/proxyReach.js';

/** How long one proxy's check may take (connect, handshake, Telegram's answer) before it counts as failed. */
export const PROXY_CHECK_TIMEOUT_MS = 10_000;
/** Proxies checked at once. */
const CHECK_CONCURRENCY = 8;

/** Telegram's production data centres (the address gramjs dials for each DC), port 443. */
export const TELEGRAM_DCS: Readonly<Record<number, string>> = {
  1: '149.154.175.53',
  2: '149.154.167.51',
  3: '149.154.175.100',
  4: '149.154.167.91',
  5: '91.108.56.130',
};

export interface ProxyCheckDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  log: Logger;
  /** The Instagram host HTTP proxies carry (from ACCTCTL_INSTAGRAM_URL). */
  instagram: { host: string; port: number };
  /** Where a Telegram DC is (tests point it at loopback); default TELEGRAM_DCS, port 443. */
  telegramDc?: (dcId: number) => { host: string; port: number };
  timeoutMs?: number;
  /** The deadline timer (tests: simulated). */
  after?: (ms: number) => Promise<void>;
  /** A monotonic clock in ms, for the latency. */
  elapsed?: () => number;
  /** ACCTCTL_TELEGRAM=sandbox: nothing may reach Telegram, so proxies that carry it are not checked. */
  telegramSimulated?: boolean;
}

export interface ProxyCheckRun {
  items: ProxyCheckRow[];
  /** Proxies not checked, and why (sandbox: the ones that carry Telegram). */
  notChecked: { id: number; proxy: string; reason: string }[];
}

export interface ProxyCheckRow {
  id: number;
  tenant: string | null;
  proxy: string;
  /** What it carries and was checked against: `telegram DC2 149.154.167.51:443`, `instagram www.instagram.com:443`. */
  target: string;
  ok: boolean;
  reason: string | null;
  latencyMs: number | null;
  checkedAt: number;
}

/** The Instagram host and port of a base URL (ACCTCTL_INSTAGRAM_URL). */
export function instagramTarget(baseUrl: string): { host: string; port: number } {
  const u = new URL(baseUrl);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443,
  };
}

/**
 * What a proxy carries: MTProxy → a Telegram DC; HTTP → Instagram; SOCKS → a Telegram DC when
 * Telegram accounts use it (the lowest DC among them), else Instagram (a SOCKS proxy of the
 * tenant's Instagram traffic).
 */
function targetOf(deps: ProxyCheckDeps, p: ProxyToCheck): { reach: ReachTarget; label: string } {
  const telegram = p.scheme === 'mtproxy' || (p.scheme !== 'http' && p.telegramAccounts > 0);
  if (!telegram) {
    const { host, port } = deps.instagram;
    return { reach: { host, port }, label: `instagram ${host}:${port}` };
  }
  const dcId = p.dcId ?? 2;
  const where = deps.telegramDc?.(dcId) ?? { host: TELEGRAM_DCS[dcId] ?? TELEGRAM_DCS[2]!, port: 443 };
  return { reach: { ...where, dcId }, label: `telegram DC${dcId} ${where.host}:${where.port}` };
}

/**
 * `proxies check [--tenant T]`: connect through each proxy to what it carries, with a deadline,
 * and record the result (ok or failed with the reason), the latency and the time. A failed check
 * marks the proxy dead — its accounts are skipped by join, lease, check and probe, never sent
 * direct — until a later check gets through (store/proxies.ts recordProxyCheck).
 */
export async function checkProxies(
  deps: ProxyCheckDeps,
  opts: { tenant?: string | undefined } = {},
): Promise<ProxyCheckRun> {
  const tenantId = opts.tenant === undefined ? undefined : await tenantIdByName(deps.store, opts.tenant);
  const all = await proxiesToCheck(deps.store, tenantId);
  const notChecked: ProxyCheckRun['notChecked'] = [];
  const proxies = all.filter((p) => {
    if (!deps.telegramSimulated || targetOf(deps, p).reach.dcId === undefined) return true;
    notChecked.push({
      id: p.id,
      proxy: p.label,
      reason: 'it carries Telegram, simulated here (ACCTCTL_TELEGRAM=sandbox)',
    });
    return false;
  });
  const items: ProxyCheckRow[] = new Array<ProxyCheckRow>(proxies.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < proxies.length) {
      const i = next++;
      items[i] = await checkOne(deps, proxies[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, proxies.length) }, worker));
  return { items, notChecked };
}

async function checkOne(deps: ProxyCheckDeps, p: ProxyToCheck): Promise<ProxyCheckRow> {
  const spec = await loadProxy(deps.store, deps.box, p.id);
  const label = spec ? proxyDisplay(spec) : p.label;
  const { reach, label: target } = targetOf(deps, p);
  const elapsed = deps.elapsed ?? (() => performance.now());
  let ok = false;
  let reason: string | null = null;
  let latencyMs: number | null = null;
  if (!spec) reason = 'removed meanwhile';
  else {
    const t0 = elapsed();
    try {
      await reachThrough(spec, reach, {
        timeoutMs: deps.timeoutMs ?? PROXY_CHECK_TIMEOUT_MS,
        ...(deps.after ? { after: deps.after } : {}),
        wallNow: () => deps.clock.now(),
      });
      ok = true;
      latencyMs = Math.max(0, Math.round(elapsed() - t0));
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  const checkedAt = deps.clock.now();
  await recordProxyCheck(deps.store, { id: p.id, ok, reason, latencyMs, target, at: checkedAt, label });
  if (ok) deps.log.info('proxy ok', { proxy: p.id, target, latencyMs });
  else deps.log.warn('proxy dead', { proxy: p.id, target, reason });
  return { id: p.id, tenant: p.tenant, proxy: label, target, ok, reason, latencyMs, checkedAt };
}
