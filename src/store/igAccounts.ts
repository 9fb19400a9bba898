import { proxyLabel } from './proxies.js';
import type { Store } from './store.js';

/** Instagram login accounts as `ig list` and `status` show them (no secret is read). */
export interface IgRow {
  id: number;
  rateLimitedUntil: number | null;
  tenant: string;
  username: string;
  state: string;
  priority: number;
  hasTotp: boolean;
  proxy: string | null;
  sessionAgeMs: number | null;
  lastVerifiedAt: number | null;
  nextRefreshAt: number | null;
  failures: number;
  lastError: string | null;
}

/** Which sessions a listing shows, and which page (ordered by tenant, then username). */
export interface IgFilter {
  tenant?: string | undefined;
  state?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

function filteredIg(store: Store, f: IgFilter) {
  let q = store.db.selectFrom('ig_accounts as i').innerJoin('tenants as t', 't.id', 'i.tenant_id');
  if (f.tenant !== undefined) q = q.where('t.name', '=', f.tenant);
  if (f.state !== undefined) q = q.where('i.state', '=', f.state);
  return q;
}

export async function countIg(store: Store, f: IgFilter): Promise<number> {
  const r = await filteredIg(store, f)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function listIg(store: Store, now: number, f: IgFilter = {}): Promise<IgRow[]> {
  let q = filteredIg(store, f)
    .leftJoin('proxies as p', 'p.id', 'i.proxy_id')
    .select([
      'i.id',
      'i.rate_limited_until',
      't.name as tenant',
      'i.username',
      'i.state',
      'i.priority',
      'i.totp_secret_enc',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username as puser',
      'i.session_created_at',
      'i.last_verified_at',
      'i.next_refresh_at',
      'i.fail_count',
      'i.last_error',
    ])
    .orderBy('t.name')
    .orderBy('i.username');
  if (f.limit !== undefined) q = q.limit(f.limit).offset(f.offset ?? 0);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    rateLimitedUntil: r.rate_limited_until,
    tenant: r.tenant,
    username: r.username,
    state: r.state,
    priority: r.priority,
    hasTotp: r.totp_secret_enc !== null,
    proxy: proxyLabel({ ...r, username: r.puser }),
    sessionAgeMs: r.session_created_at === null ? null : now - r.session_created_at,
    lastVerifiedAt: r.last_verified_at,
    nextRefreshAt: r.next_refresh_at,
    failures: r.fail_count,
    lastError: r.last_error,
  }));
}
