import type { Clock } from '../domain/clock.js';
import type { WatchInput } from '../domain/files/watches.js';
import type { IgAccountInput } from '../domain/igAccountsFile.js';
import type { SecretBox } from '../security/secretBox.js';
import { addApiKeys } from '../store/apiKeys.js';
import { importIgAccounts } from '../store/igAccounts.js';
import type { Store } from '../store/store.js';
import { addWatches } from '../store/watches.js';
import { REFRESH_EVERY_MS } from './refresh.js';

/**
 * What check works from, imported: watches, API keys, Instagram sessions. Each import is all
 * rows or none. `createTenants` (ImportOptions): tenants the rows name that do not exist yet are
 * created (default here; the CLI passes false unless --create-tenant), else refused (65).
 */
interface ImportOpts {
  createTenants?: boolean;
}

export type { WatchInput };

/** New watches are due at once; a watch already there stays as it is. */
export async function importWatches(deps: { store: Store; clock: Clock }, rows: WatchInput[], opts: ImportOpts = {}) {
  return addWatches(deps.store, rows, { createTenants: opts.createTenants ?? true, now: deps.clock.now() });
}

export async function importApiKeys(
  deps: { store: Store; box: SecretBox; clock: Clock },
  rows: { tenant: string; provider: string; key: string }[],
  opts: ImportOpts = {},
) {
  return addApiKeys(deps.store, deps.box, rows, { createTenants: opts.createTenants ?? true, now: deps.clock.now() });
}

/** Secrets sealed to their row; a row with a sessionid is valid until its refresh is due. */
export async function importIg(
  deps: { store: Store; box: SecretBox; clock: Clock },
  rows: IgAccountInput[],
  opts: ImportOpts = {},
) {
  const now = deps.clock.now();
  return importIgAccounts(deps.store, deps.box, rows, {
    createTenants: opts.createTenants ?? true,
    now,
    sessionRefreshAt: now + REFRESH_EVERY_MS,
  });
}
