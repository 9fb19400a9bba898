import { DataError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import { loadProxy } from '../store/proxies.js';
import type { Store } from '../store/store.js';
import type { AccountSession } from '../telegram/gateway.js';

/** Decrypt what a Telegram client needs for one account (session, API hash, proxy secrets). */
export async function loadSession(store: Store, box: SecretBox, accountId: number): Promise<AccountSession> {
  const a = await store.db
    .selectFrom('telegram_accounts')
    .select(['id', 'session_name', 'api_id', 'api_hash_enc', 'string_session_enc', 'proxy_id'])
    .where('id', '=', accountId)
    .executeTakeFirst();
  if (!a) throw new DataError(`account ${accountId} no longer exists`);
  return {
    accountId: a.id,
    sessionName: a.session_name,
    apiId: a.api_id,
    apiHash: box.open(a.api_hash_enc, { table: 'telegram_accounts', column: 'api_hash_enc', rowId: a.id }),
    stringSession: box.open(a.string_session_enc, {
      table: 'telegram_accounts',
      column: 'string_session_enc',
      rowId: a.id,
    }),
    proxy: a.proxy_id === null ? null : await loadProxy(store, box, a.proxy_id),
  };
}
