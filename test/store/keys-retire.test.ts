import { join } from 'node:path';
import { sql } from 'kysely';
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
import { sealingTx, secretCensus } from '../../src/store/secrets.js';
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

  // SQLite needs no lock of its own here: a sealing transaction holds the database's only write
  // lock, and `keys rotate` takes its store lock (a write) before it writes the key file, so a
  // secret sealed under the old key is always committed before the rotation starts.
  it.skipIf(dialect.skip || dialect.name !== 'postgres')(
    'a rotation waits for a transaction that sealed under the old key, then re-encrypts what it wrote',
    async () => {
      const keys = { keyFile: f.env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined };
      const clock = new FakeClock(Date.parse('2026-11-01T09:00:00Z'));
      const box = SecretBox.fromKeys(keys);
      const oldKey = loadKeyRing(keys).primaryId;
      await importIg(
        { store: f.store, box, clock },
        await parseIgFile('ig.json', JSON.stringify([{ tenant: 'acme', username: 'alice', password: 'pw-alice-1' }])),
      );
      const id = (await f.store.db.selectFrom('ig_accounts').select('id').executeTakeFirstOrThrow()).id;
      const ref = { table: 'ig_accounts', column: 'sessionid_enc', rowId: id };

      let inside!: () => void;
      const sealed = new Promise<void>((r) => (inside = r));
      let finish!: () => void;
      const held = new Promise<void>((r) => (finish = r));
      // A writer that read the key file (old primary) and sealed, not yet committed.
      const writer = sealingTx(f.store, box, async (tx) => {
        await tx
          .updateTable('ig_accounts')
          .set({
            sessionid_enc: box.seal('sid-in-flight', ref),
            password_enc: box.seal('pw-alice-2', { ...ref, column: 'password_enc' }),
          })
          .where('id', '=', id)
          .execute();
        inside();
        await held;
      });
      await sealed;
      const rotation = rotateKeys({ store: f.store, log: silentLogger, clock }, keys);
      // Let the writer commit only once the rotation has written its new key and is waiting on a
      // lock the writer holds (the key lock; without it, the row lock of its re-encryption, whose
      // update then finds the row changed and leaves it under the old key).
      while (loadKeyRing(keys).primaryId === oldKey) await new Promise((r) => setImmediate(r));
      const waiting = async () =>
        (
          await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`.execute(f.store.db)
        ).rows[0]!.n;
      while ((await waiting()) === 0) await new Promise((r) => setImmediate(r));
      finish();
      await writer;
      const rotated = await rotation;
      // What the writer sealed under the old key was re-encrypted: the old key protects nothing …
      expect((await secretCensus(f.store)).byKey).toEqual({ [rotated.primaryKeyId]: 2 });
      // … so it can go, and the secrets read with the new key alone.
      await removeKey({ store: f.store }, keys, oldKey);
      const fresh = new SecretBox(loadKeyRing(keys));
      const row = await f.store.db
        .selectFrom('ig_accounts')
        .select(['sessionid_enc', 'password_enc'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(fresh.open(row.sessionid_enc!, ref)).toBe('sid-in-flight');
      expect(fresh.open(row.password_enc!, { ...ref, column: 'password_enc' })).toBe('pw-alice-2');
    },
  );
});
