import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { parseStringSession } from '../../src/domain/stringSession.js';
import { DataError } from '../../src/errors.js';
import { importAccounts, listAccounts } from '../../src/fleet/accounts.js';
import { readSessionFiles } from '../../src/fleet/sessionImport.js';
import { writeSessionFile } from '../../src/store/sessionFiles.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';
import { NO_TELETHON, TELETHON_PYTHON, telethonWrite } from '../support/telethon.js';

const API_HASH = '0123456789abcdef0123456789abcdef';
const digest = (dir: string) =>
  Object.fromEntries(
    readdirSync(dir)
      .sort()
      .map((n) => [
        n,
        createHash('sha256')
          .update(readFileSync(join(dir, n)))
          .digest('hex'),
      ]),
  );

if (!TELETHON_PYTHON) console.warn(NO_TELETHON);

describe.each(DIALECTS)('session files in (accounts import PATH) on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);
  const clock = new FakeClock(Date.parse('2026-12-01T10:00:00Z'));

  it.skipIf(dialect.skip || !TELETHON_PYTHON)(
    'a Telethon file (real Telethon wrote it) with its .json, and a Pyrogram file (built from its schema): imported, files untouched',
    async () => {
      const dir = join(f.t.dir, 'market');
      mkdirSync(dir);
      const k1 = randomBytes(256);
      const k2 = randomBytes(256);
      telethonWrite(join(dir, '+15550001111.session'), { dcId: 2, ip: '149.154.167.51', port: 443, authKey: k1 });
      writeFileSync(
        join(dir, '+15550001111.json'),
        JSON.stringify({
          session_file: '+15550001111',
          phone: '15550001111',
          app_id: 2040,
          app_hash: 'b18441a1ff607e10a989891a5462e627',
          device: 'Samsung SM-G991B',
          sdk: 'SDK 33',
          app_version: '10.14.5 (47741)',
          lang_pack: 'en',
          system_lang_pack: 'en-US',
          twoFA: 'cloud-password-123',
          register_time: 1700000000,
          first_name: 'Alice',
        }),
      );
      // Pyrogram is on neither npm nor Debian: this file follows its documented schema (better-sqlite3).
      writeSessionFile(join(dir, 'pyro_bob.session'), {
        kind: 'pyrogram',
        dcId: 4,
        apiId: 611335,
        authKey: k2,
        userId: '777000111',
        date: 1_700_000_000,
      });
      const before = digest(dir);
      const rows = readSessionFiles([dir], { tenant: 'acme', apiHash: API_HASH });
      const box = boxFor(f.env);
      const r = await importAccounts({ store: f.store, box, clock }, rows, { createTenants: true });
      expect(r.created).toEqual(['15550001111', 'pyro_bob']);
      // Read, never modified, nothing left beside them (no journal, no decrypted copy).
      expect(digest(dir)).toEqual(before);

      const list = Object.fromEntries((await listAccounts(f.store)).map((a) => [a.name, a]));
      expect(list['15550001111']).toMatchObject({
        tenant: 'acme',
        phone: '+15550001111',
        device: {
          model: 'Samsung SM-G991B',
          systemVersion: 'SDK 33',
          appVersion: '10.14.5 (47741)',
          langCode: 'en',
          systemLangCode: 'en-US',
        },
      });
      const stored = await f.store.db
        .selectFrom('telegram_accounts')
        .select(['id', 'session_name', 'api_id', 'string_session_enc', 'api_hash_enc', 'session_meta_enc', 'dc_id'])
        .orderBy('session_name')
        .execute();
      const [alice, bob] = stored;
      const open = (row: (typeof stored)[number], column: 'string_session_enc' | 'api_hash_enc' | 'session_meta_enc') =>
        box.open(row[column]!, { table: 'telegram_accounts', column, rowId: row.id });
      const s1 = parseStringSession(open(alice!, 'string_session_enc'));
      expect(s1.ok && [s1.value.dcId, s1.value.serverAddress, s1.value.authKey.equals(k1)]).toEqual([
        2,
        '149.154.167.51',
        true,
      ]);
      expect(alice!.api_id).toBe(2040);
      expect(open(alice!, 'api_hash_enc')).toBe('b18441a1ff607e10a989891a5462e627');
      // Unknown keys and the 2FA password are kept, encrypted; never in the clear.
      expect(alice!.session_meta_enc).not.toContain('cloud-password');
      expect(JSON.parse(open(alice!, 'session_meta_enc'))).toMatchObject({
        twoFA: 'cloud-password-123',
        register_time: 1700000000,
        first_name: 'Alice',
        session_file: '+15550001111',
      });
      const s2 = parseStringSession(open(bob!, 'string_session_enc'));
      expect(s2.ok && [s2.value.dcId, s2.value.serverAddress, s2.value.authKey.equals(k2)]).toEqual([
        4,
        '149.154.167.91',
        true,
      ]);
      expect(bob!.api_id).toBe(611335); // Pyrogram's own api_id; the hash from TELEGRAM_API_HASH
      expect(JSON.parse(open(bob!, 'session_meta_enc'))).toMatchObject({ user_id: '777000111', source: 'pyrogram' });

      // Re-importing the same files changes nothing about the devices.
      const devices = (await listAccounts(f.store)).map((a) => a.device);
      await importAccounts({ store: f.store, box, clock }, readSessionFiles([dir], { apiHash: API_HASH }));
      expect((await listAccounts(f.store)).map((a) => a.device)).toEqual(devices);
    },
  );

  it.skipIf(dialect.skip)('every problem, each with its file name; nothing imported', async () => {
    const dir = join(f.t.dir, 'bad');
    mkdirSync(dir);
    writeSessionFile(join(dir, 'good.session'), {
      kind: 'telethon',
      dcId: 2,
      serverAddress: '149.154.167.51',
      port: 443,
      authKey: randomBytes(256),
    });
    writeFileSync(join(dir, 'notsqlite.session'), 'hello, this is not a database');
    writeSessionFile(join(dir, 'testdc.session'), {
      kind: 'pyrogram',
      dcId: 2,
      apiId: 1,
      authKey: randomBytes(256),
      userId: null,
      date: 0,
    });
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ app_id: 1, app_hash: 'SECRET-not-hex' }));
    // A Pyrogram file of the test servers.
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dir, 'testdc.session'));
    db.prepare('UPDATE sessions SET test_mode = 1').run();
    db.close();
    const e = (() => {
      try {
        readSessionFiles([dir], { apiId: 5, apiHash: API_HASH });
      } catch (x) {
        return x;
      }
      return undefined;
    })();
    expect(e).toBeInstanceOf(DataError);
    const details = (e as DataError).details.join('\n');
    expect(details).toContain(`${join(dir, 'good.session')}: good.json: app_hash: must be 32 hex characters`);
    expect(details).toMatch(new RegExp(`${join(dir, 'notsqlite.session')}: (cannot open|not a Telethon)`));
    expect(details).toContain(`${join(dir, 'testdc.session')}: a session of Telegram’s test servers`);
    expect(details).not.toContain('SECRET');
    expect(await listAccounts(f.store)).toEqual([]);
  });
});
