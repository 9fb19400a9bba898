import { sql } from 'kysely';
import type { Store } from './store.js';

/**
 * What the alert scan reads: every Instagram account and its tenant, but those an operator took
 * out of use (`ig disable`): nothing to alert about until they are enabled.
 */
export async function igAlertRows(store: Store) {
  return store.db
    .selectFrom('ig_accounts as i')
    .innerJoin('tenants as t', 't.id', 'i.tenant_id')
    .select([
      'i.id',
      'i.tenant_id',
      't.name as tenant',
      'i.username',
      'i.state',
      'i.session_created_at',
      'i.created_at',
      'i.last_error',
    ])
    .where('i.disabled_at', 'is', null)
    .execute();
}

/** Instagram accounts with at least `count` reactive session refreshes since `since`. */
export async function reactiveBursts(
  store: Store,
  since: number,
  count: number,
): Promise<{ ig_account_id: number; n: number }[]> {
  const rows = await store.db
    .selectFrom('ig_session_log')
    .select(['ig_account_id', sql<number>`count(*)`.as('n')])
    .where('what', '=', 'reactive')
    .where('at', '>', since)
    .groupBy('ig_account_id')
    .having(sql<number>`count(*)`, '>=', count)
    .execute();
  return rows.map((r) => ({ ig_account_id: r.ig_account_id, n: Number(r.n) }));
}

/** Enabled Telegram accounts in a state only a person can end. */
export async function telegramNeedingPerson(store: Store) {
  return store.db
    .selectFrom('telegram_accounts')
    .select(['id', 'tenant_id', 'session_name', 'phone', 'state', 'state_reason', 'last_error'])
    .where('enabled', '=', 1)
    .where('state', 'in', ['frozen', 'disabled', 'banned'])
    .execute();
}
