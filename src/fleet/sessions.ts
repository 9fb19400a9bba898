import type { ProxySpec } from '../domain/proxyUrl.js';
import { DataError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Store } from '../store/store.js';
import type { AccountSession } from '../telegram/gateway.js';

/** Decrypt what a Telegram client needs for one account (session, API hash, proxy secrets). */
export async function loadSession(store: Store, box: SecretBox, accountId: number): Promise<AccountSession> {
  const a = await store.db
    .selectFrom('telegram_accounts as a')
    .leftJoin('proxies as p', 'p.id', 'a.proxy_id')
    .select([
      'a.id',
      'a.session_name',
      'a.api_id',
      'a.api_hash_enc',
      'a.string_session_enc',
      'p.id as proxy_id',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username',
      'p.password_enc',
      'p.secret_enc',
    ])
    .where('a.id', '=', accountId)
    .executeTakeFirst();
  if (!a) throw new DataError(`account ${accountId} no longer exists`);
  let proxy: ProxySpec | null = null;
  if (a.proxy_id !== null && a.scheme && a.host && a.port) {
    proxy = { scheme: a.scheme as ProxySpec['scheme'], host: a.host, port: a.port };
    if (a.username) proxy.username = a.username;
    if (a.password_enc)
      proxy.password = box.open(a.password_enc, { table: 'proxies', column: 'password_enc', rowId: a.proxy_id });
    if (a.secret_enc)
      proxy.secret = box.open(a.secret_enc, { table: 'proxies', column: 'secret_enc', rowId: a.proxy_id });
  }
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
    proxy,
  };
}
