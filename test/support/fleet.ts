import { afterEach, beforeEach } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { importAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { FIRST_MIGRATION, migrateToLatest } from '../../src/store/migrations.js';
import { guardTelegramMode } from '../../src/store/storeMode.js';
import { openStore, type Store } from '../../src/store/store.js';
import { baseEnv } from './cli.js';
import { DIALECTS, type TestDb } from './dialects.js';
import { makeAccounts, makeKey } from './fixtures.js';

/**
 * A migrated store (any dialect) with `n` accounts acc_00000… in tenant acme. `t` is a new empty
 * database (dialect.create(), migrated here) or a clone of the migrated template
 * (dialect.createMigrated(), faster).
 */
export async function fleetStore(
  t: TestDb,
  n: number,
  opts: { tenant?: string; sandbox?: boolean } = {},
): Promise<{ store: Store; env: Record<string, string> }> {
  const keyFile = makeKey(t.dir);
  // A sandbox store is made by a sandbox run (and only sandbox runs may use it).
  const env = baseEnv({
    DATABASE_URL: t.url,
    ACCTCTL_KEY_FILE: keyFile,
    ...(opts.sandbox ? { ACCTCTL_TELEGRAM: 'sandbox' } : {}),
  });
  // In-process, as `acctctl migrate` does it (test/store/migrations.test.ts tests the command).
  const store = await openStore(t.target, { schema: 'none' });
  try {
    const applied = await migrateToLatest(store.db, store.caps);
    await guardTelegramMode(store.db, opts.sandbox ? 'sandbox' : 'real', {
      // A database cloned from the migrated template is as new as one migrated just now.
      createdNow: applied.includes(FIRST_MIGRATION) || t.fromTemplate === true,
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  if (n > 0) {
    const box = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
    await importAccounts(
      { store, box, clock: new FakeClock(0) },
      parseAccountsFile('fixture', JSON.stringify(makeAccounts(n, { tenant: opts.tenant ?? 'acme' }))),
    );
  }
  return { store, env };
}

/**
 * The usual per-test database for a store test: a fresh migrated store with `accounts` accounts
 * before each test, closed and dropped after. Read its fields inside tests (they change per test).
 */
export function useFleetStore(
  dialect: { skip: boolean; create(): Promise<TestDb>; createMigrated?(): Promise<TestDb> },
  accounts: number,
  opts: { sandbox?: boolean } = {},
): { t: TestDb; store: Store; env: Record<string, string> } {
  const f = {} as { t: TestDb; store: Store; env: Record<string, string> };
  beforeEach(async () => {
    if (dialect.skip) return;
    // A { skip, create } picked out of a DIALECTS entry: its template clone is that entry's.
    const migrated = dialect.createMigrated ?? DIALECTS.find((d) => d.create === dialect.create)?.createMigrated;
    f.t = await (migrated ?? dialect.create)();
    Object.assign(f, await fleetStore(f.t, accounts, opts));
  });
  afterEach(async () => {
    if (dialect.skip) return;
    await f.store.close();
    await f.t.cleanup();
  });
  return f;
}
