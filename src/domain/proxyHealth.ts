import { proxyDisplay, type ProxySpec } from './proxyUrl.js';

/** Failures in a row (in use) after which a proxy is marked unhealthy; recover retries it later. */
export const PROXY_FAILURES_TO_DOWN = 3;

/** A proxy's health columns, as an account's row carries them (left join: null when it has none). */
export interface ProxyHealthCols {
  proxy_id: number | null;
  proxy_healthy: number | null;
  scheme: string | null;
  host: string | null;
  port: number | null;
  username: string | null;
  check_ok: number | null;
  check_reason: string | null;
  checked_at: number | null;
  proxy_error: string | null;
}

/** True when the account has a proxy and it may not be used now (a failed check, or failures in use). */
export function proxyDown(r: ProxyHealthCols): boolean {
  return r.proxy_id !== null && r.proxy_healthy === 0;
}

/**
 * Why an account on a down proxy is skipped, and the way out. A proxy whose last `proxies check`
 * failed stays dead until a check gets through; one that failed in use comes back by `recover`.
 */
export function proxyDownReason(r: ProxyHealthCols): string {
  const label =
    r.scheme && r.host && r.port
      ? proxyDisplay({
          scheme: r.scheme as ProxySpec['scheme'],
          host: r.host,
          port: r.port,
          ...(r.username ? { username: r.username } : {}),
        })
      : '';
  const which = `its proxy ${r.proxy_id}${label ? ` (${label})` : ''}`;
  if (r.check_ok === 0)
    return (
      `${which} is dead: the check at ${r.checked_at === null ? '?' : new Date(r.checked_at).toISOString()} failed` +
      `${r.check_reason ? ` (${r.check_reason})` : ''} → fix the proxy, then \`acctctl proxies check\` (it is used again once a check gets through)`
    );
  return (
    `${which} is down after ${PROXY_FAILURES_TO_DOWN} failures in a row${r.proxy_error ? ` (${r.proxy_error})` : ''} → ` +
    '`acctctl recover` tries it again 30 min after the last failure; `acctctl proxies check` tests it now'
  );
}
