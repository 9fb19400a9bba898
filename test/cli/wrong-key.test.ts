import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyFile } from '../../src/security/keyFiles.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { addTargets } from '../support/joinHarness.js';
import { snapshot } from '../support/snapshot.js';

/**
 * A host whose key file lacks the key the secrets are stored under (a rotation ran elsewhere, a
 * stale copy) must stop with a configuration error naming that key — before it touches any
 * account or target: the store is byte-for-byte (SQLite) / row-for-row (Postgres) unchanged.
 */
describe.each(DIALECTS)('a key that cannot decrypt, on $name', (dialect) => {
  const f = useFleetStore(dialect, 3, { sandbox: true });

  it.skipIf(dialect.skip)(
    'join and recover --probe exit 78 naming the missing key; the store is unchanged',
    async () => {
      await addTargets(f.store, ['@g_one', '@g_two']);
      // Something for --probe to look at (and for plain recover to change, if it ran first).
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ error_count: 2, state: 'flood_wait', state_until: 1 })
        .where('session_name', '=', 'acc_00001')
        .execute();
      const realKeyId = loadKeyRing({ keyFile: f.env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined }).primaryId;
      const wrong = generateKeyFile(join(f.t.dir, 'other.key'));
      const env = {
        ...f.env,
        ACCTCTL_KEY_FILE: wrong.keyFile,
        ACCTCTL_TELEGRAM: 'sandbox',
        ACCTCTL_SANDBOX_STATE: join(f.t.dir, 'sandbox.db'),
      };

      const sqlitePath = f.t.target.kind === 'sqlite' ? f.t.target.path : null;
      let before: string;
      if (sqlitePath) {
        await f.store.close(); // checkpoint: everything is in the main file
        before = readFileSync(sqlitePath).toString('base64');
      } else {
        before = await snapshot(f.store);
      }

      for (const args of [
        ['join', '--niche', 'n', '--batch', '5'],
        ['join', '--niche', 'n', '--max-wait', '60'],
        ['recover', '--probe'],
      ]) {
        const r = await runCli(args, { env });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(78);
        expect(r.stderr).toContain(realKeyId);
        expect(r.stderr).toMatch(/does not hold .*→ copy the current key file/);
        if (sqlitePath) {
          expect(readFileSync(sqlitePath).toString('base64') === before, `${args.join(' ')} changed the file`).toBe(
            true,
          );
          expect(existsSync(`${sqlitePath}-wal`) ? readFileSync(`${sqlitePath}-wal`).length : 0).toBe(0);
        } else {
          expect(await snapshot(f.store)).toBe(before);
        }
      }
      // useFleetStore closes the store after the test.
      if (sqlitePath) f.store = await openStore(f.t.target);
    },
  );
});
