import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseIgFile } from '../../src/commands/ig.js';
import { removeKey } from '../../src/commands/keysRemove.js';
import { FakeClock } from '../../src/domain/clock.js';
import { importIg } from '../../src/fleet/checkImports.js';
import { rotateKeys } from '../../src/fleet/keys.js';
import { SessionRefresher } from '../../src/fleet/refresh.js';
import type { BrowserLoginRequest, LoginOutcome } from '../../src/instagram/browser.js';
import { silentLogger } from '../../src/log/logger.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { secretCensus } from '../../src/store/secrets.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';

/**
 * Issue 21 §4: a login that started before `keys rotate` must not seal its new session with the
 * key that was primary when it started: after `keys remove OLD` that session would be unreadable
 * for good. The refresher is the real one, with the real store and key code; only the browser is
 * a fake that blocks until the test lets it answer.
 */
describe.each(DIALECTS)('a login across keys rotate + keys remove on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);

  it.skipIf(dialect.skip)(
    'the session is sealed under the key that is primary at commit; the old key can go; the running process still reads everything',
    async () => {
      const keys = { keyFile: f.env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined };
      const clock = new FakeClock(Date.parse('2026-11-01T09:00:00Z'));
      // The refresh-session process: its box is made as the CLI makes it, before the rotation.
      const box = SecretBox.fromKeys(keys);
      const oldKey = loadKeyRing(keys).primaryId;
      await importIg(
        { store: f.store, box, clock },
        await parseIgFile('ig.json', JSON.stringify([{ tenant: 'acme', username: 'alice', password: 'pw-alice-1' }])),
      );
      const id = (await f.store.db.selectFrom('ig_accounts').select('id').executeTakeFirstOrThrow()).id;

      let started!: () => void;
      const loginStarted = new Promise<void>((r) => (started = r));
      let answer!: (o: LoginOutcome) => void;
      const seen: BrowserLoginRequest[] = [];
      const refresher = new SessionRefresher({
        store: f.store,
        box,
        clock,
        log: silentLogger,
        login: (req) => {
          seen.push(req);
          started();
          return new Promise<LoginOutcome>((r) => (answer = r));
        },
        instagramUrl: 'http://127.0.0.1:9',
        chromiumPath: undefined,
        legacyProfileRoot: join(f.t.dir, 'profiles'),
      });
      const login = refresher.refreshOne(id);
      await loginStarted;
      expect(seen[0]!.password).toBe('pw-alice-1');

      // Meanwhile an operator rotates the keys and retires the old one.
      const rotated = await rotateKeys({ store: f.store, log: silentLogger, clock }, keys);
      expect(rotated.newKey).toBe(true);
      expect(rotated.primaryKeyId).not.toBe(oldKey);
      const removed = await removeKey({ store: f.store }, keys, oldKey);
      expect(removed.keysLeft).toEqual([rotated.primaryKeyId]);

      // The browser answers; the login finishes.
      answer({
        kind: 'ok',
        cookies: [],
        sessionid: 'sid-after-rotation',
        verified: true,
        state: { cookies: [], origins: [] },
      });
      expect((await login).status).toBe('refreshed');

      // Every secret is under the new key, and a process started now (only the new key) reads the session.
      expect((await secretCensus(f.store)).byKey).toEqual({ [rotated.primaryKeyId]: 4 });
      const fresh = new SecretBox(loadKeyRing(keys));
      const row = await f.store.db
        .selectFrom('ig_accounts')
        .select(['sessionid_enc', 'password_enc'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      const ref = (column: string) => ({ table: 'ig_accounts', column, rowId: id });
      expect(fresh.open(row.sessionid_enc!, ref('sessionid_enc'))).toBe('sid-after-rotation');
      // The long-running process reads rows the rotation re-encrypted under a key it did not start with.
      expect(box.open(row.password_enc!, ref('password_enc'))).toBe('pw-alice-1');
      // And the old key is really gone.
      expect(loadKeyRing(keys).keys.has(oldKey)).toBe(false);
    },
  );
});
