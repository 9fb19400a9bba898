import { ConfigError, DataError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import { chooseDevice, parseStoredDevice, storedDevice } from '../domain/device.js';
import { accountSessionRow, setDeviceIfUnset } from '../store/accounts.js';
import { loadProxy, PROXY_REMOVED_REASON } from '../store/proxies.js';
import type { SecretTable } from '../store/schema.js';
import { storedKeyIds } from '../store/secrets.js';
import type { Store } from '../store/store.js';
import type { AccountSession } from '../telegram/gateway.js';

/** Decrypt what a Telegram client needs for one account (session, API hash, proxy secrets). */
export async function loadSession(store: Store, box: SecretBox, accountId: number): Promise<AccountSession> {
  const a = await accountSessionRow(store, accountId);
  if (!a) throw new DataError(`account ${accountId} no longer exists`);
  // Its proxy was removed: without one it would connect directly, from this host.
  if (a.proxy_removed_at !== null)
    throw new DataError(
      `account ${a.session_name}: ${PROXY_REMOVED_REASON}; nothing was sent → \`acctctl accounts proxy ${a.session_name} PROXY_ID\` (or --direct)`,
    );
  // An account from before devices were kept gets its own now, chosen once and stored.
  const device =
    parseStoredDevice(a.device_json) ??
    parseStoredDevice(await setDeviceIfUnset(store, a.id, storedDevice(chooseDevice(a.session_name))))!;
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
    device,
  };
}

/** What a Telegram session needs decrypted: the account's secrets and its proxy's. */
export const TELEGRAM_SECRET_TABLES: readonly SecretTable[] = ['telegram_accounts', 'proxies'];

/**
 * Refuse to start when a secret is stored under a key this host does not have (a rotation on
 * another host, a stale key file): a configuration error naming the key, raised before any
 * account or target is touched — not an error counted against every account.
 */
export async function assertKeysPresent(
  store: Store,
  box: SecretBox,
  tables: readonly SecretTable[] = TELEGRAM_SECRET_TABLES,
): Promise<void> {
  const missing = [...(await storedKeyIds(store, tables))].filter(([kid]) => !box.hasKey(kid));
  if (missing.length === 0) return;
  throw new ConfigError(
    `stored secrets are encrypted with key ${missing.map(([kid]) => kid).join(', ')}, which this key file does not hold ` +
      `(e.g. ${missing[0]![1]}) → copy the current key file from the host that ran \`acctctl keys rotate\` (or restore it from backup); nothing was changed`,
  );
}
