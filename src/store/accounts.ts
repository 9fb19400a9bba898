import { sql } from 'kysely';
import { UsageError } from '../errors.js';
import { proxyLabel } from './proxies.js';
import { ACCOUNT_STATES, type AccountState } from '../domain/accountStates.js';
import type { Store } from './store.js';

/** Which Telegram accounts a listing shows (`--state`, `--tenant`). */
export interface AccountFilter {
  state?: string | undefined;
  tenant?: string | undefined;
}

export interface AccountListRow {
  id: number;
  name: string;
  tenant: string | null;
  phone: string | null;
  enabled: boolean;
  state: AccountState;
  until: number | null;
  reason: string | null;
  leaseHolder: string | null;
  leaseExpiresAt: number | null;
  proxy: string | null;
  lastUsedAt: number | null;
  errorCount: number;
  lastError: string | null;
}

export function checkAccountFilter(f: AccountFilter): void {
  if (f.state !== undefined && !(ACCOUNT_STATES as readonly string[]).includes(f.state)) {
    throw new UsageError(`--state "${f.state}" is unknown → use one of ${ACCOUNT_STATES.join(', ')}`);
  }
}

function filtered(store: Store, f: AccountFilter) {
  let q = store.db
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .leftJoin('proxies as p', 'p.id', 'a.proxy_id');
  if (f.state !== undefined) q = q.where('a.state', '=', f.state as AccountState);
  if (f.tenant !== undefined) q = q.where('t.name', '=', f.tenant);
  return q;
}

export async function countAccounts(store: Store, f: AccountFilter): Promise<number> {
  checkAccountFilter(f);
  let q = store.db.selectFrom('telegram_accounts as a');
  if (f.state !== undefined) q = q.where('a.state', '=', f.state as AccountState);
  if (f.tenant !== undefined) {
    const tenant = f.tenant;
    q = q.where('a.tenant_id', 'in', (eb) => eb.selectFrom('tenants').select('id').where('name', '=', tenant));
  }
  const r = await q.select(sql<number>`count(*)`.as('n')).executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** One page in name order, after the account named `after` (keyset paging: constant cost per page). */
export async function accountsPage(
  store: Store,
  f: AccountFilter,
  after: string | null,
  limit: number,
): Promise<AccountListRow[]> {
  checkAccountFilter(f);
  let q = filtered(store, f)
    .select([
      'a.id',
      'a.session_name',
      't.name as tenant',
      'a.phone',
      'a.enabled',
      'a.state',
      'a.state_until',
      'a.state_reason',
      'a.lease_holder',
      'a.lease_expires_at',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username',
      'a.last_used_at',
      'a.error_count',
      'a.last_error',
    ])
    .orderBy('a.session_name')
    .limit(limit);
  if (after !== null) q = q.where('a.session_name', '>', after);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.session_name,
    tenant: r.tenant,
    phone: r.phone,
    enabled: r.enabled === 1,
    state: r.state,
    until: r.state_until,
    reason: r.state_reason,
    leaseHolder: r.lease_holder,
    leaseExpiresAt: r.lease_expires_at,
    proxy: proxyLabel(r),
    lastUsedAt: r.last_used_at,
    errorCount: r.error_count,
    lastError: r.last_error,
  }));
}
