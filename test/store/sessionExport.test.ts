import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { parseStringSession } from '../../src/domain/stringSession.js';
import { DataError, UsageError } from '../../src/errors.js';
import { importAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { exportAccounts } from '../../src/fleet/sessionExport.js';
import { readSessionFiles } from '../../src/fleet/sessionImport.js';
import { readSessionFile, writeSessionFile } from '../../src/store/sessionFiles.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { makeAccounts } from '../support/fixtures.js';
import { boxFor } from '../support/joinHarness.js';
import { NO_TELETHON, TELETHON_PYTHON, telethonRead, telethonReadString } from '../support/telethon.js';

if (!TELETHON_PYTHON) console.warn(NO_TELETHON);

const mode = (p: string) => statSync(p).mode & 0o777;

describe.each(DIALECTS)('session files out (accounts export) on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);
  const clock = new FakeClock(Date.parse('2026-12-01T10:00:00Z'));

  /** Two accounts of acme: one from a Pyrogram file with its .json (meta, user id), one from accounts_config. */
  async function seed() {
    const box = boxFor(f.env);
    const src = join(f.t.dir, 'in');
    mkdirSync(src);
    const key = randomBytes(256);
    writeSessionFile(join(src, 'pyro_ann.session'), {
      kind: 'pyrogram',
      dcId: 5,
      apiId: 611335,
      authKey: key,
      userId: '4242',
      date: 1_700_000_000,
    });
    writeFileSync(
      join(src, 'pyro_ann.json'),
      JSON.stringify({ app_hash: 'b18441a1ff607e10a989891a5462e627', twoFA: 'pw-ann', device: 'iPhone 13' }),
    );
    await importAccounts({ store: f.store, box, clock }, readSessionFiles([src], { tenant: 'acme' }), {
      createTenants: true,
    });
    const rows = makeAccounts(1, { tenant: 'acme' });
    await importAccounts({ store: f.store, box, clock }, parseAccountsFile('a.json', JSON.stringify(rows)));
    const other = parseStringSession(rows[0]!.string_session);
    if (!other.ok) throw new Error('fixture');
    return { box, annKey: key, other: other.value };
  }

  it.skipIf(dialect.skip || !TELETHON_PYTHON)(
    'telethon and string exports open in real Telethon with the same data centre and key; private files',
    async () => {
      const { box, annKey, other } = await seed();
      const out = join(f.t.dir, 'out', 'telethon');
      const r = await exportAccounts({ store: f.store, box, clock }, { tenant: 'acme' }, { format: 'telethon', out });
      expect(r.exported).toEqual(['acc_00000', 'pyro_ann']);
      expect(mode(out)).toBe(0o700);
      expect(readdirSync(out).sort()).toEqual([
        'acc_00000.json',
        'acc_00000.session',
        'pyro_ann.json',
        'pyro_ann.session',
      ]);
      for (const n of readdirSync(out)) expect(mode(join(out, n))).toBe(0o600);
      expect(telethonRead(join(out, 'pyro_ann.session'))).toEqual({
        dc_id: 5,
        server_address: '91.108.56.130',
        port: 443,
        auth_key: annKey.toString('hex'),
      });
      expect(telethonRead(join(out, 'acc_00000.session'))).toMatchObject({
        dc_id: other.dcId,
        server_address: other.serverAddress,
        auth_key: other.authKey.toString('hex'),
      });
      const json = JSON.parse(readFileSync(join(out, 'pyro_ann.json'), 'utf8')) as Record<string, unknown>;
      expect(json).toMatchObject({
        app_id: 611335,
        app_hash: 'b18441a1ff607e10a989891a5462e627',
        twoFA: 'pw-ann',
        device: 'iPhone 13',
        user_id: '4242',
      });

      const sOut = join(f.t.dir, 'out', 'string');
      await exportAccounts({ store: f.store, box, clock }, { all: true }, { format: 'string', out: sOut });
      const cfg = JSON.parse(readFileSync(join(sOut, 'accounts_config.json'), 'utf8')) as { string_session: string }[];
      expect(mode(join(sOut, 'accounts_config.json'))).toBe(0o600);
      expect(telethonReadString(cfg[1]!.string_session)).toEqual({
        dc_id: 5,
        server_address: '91.108.56.130',
        port: 443,
        auth_key: annKey.toString('hex'),
      });
      // …and acctctl reads it back (another store's import).
      expect(parseAccountsFile('x', JSON.stringify(cfg)).map((a) => a.session.authKey.equals(annKey))).toEqual([
        false,
        true,
      ]);

      // Nothing is ever overwritten.
      await expect(
        exportAccounts({ store: f.store, box, clock }, { names: ['pyro_ann'] }, { format: 'telethon', out }),
      ).rejects.toThrow(/already holds pyro_ann.session, pyro_ann.json/);
    },
  );

  it.skipIf(dialect.skip)('pyrogram export: its documented schema, the key, api_id and user id', async () => {
    const { box, annKey } = await seed();
    const out = join(f.t.dir, 'pyro');
    await exportAccounts({ store: f.store, box, clock }, { names: ['pyro_ann'] }, { format: 'pyrogram', out });
    const back = readSessionFile(join(out, 'pyro_ann.session'));
    expect(back.ok && back.value).toMatchObject({
      kind: 'pyrogram',
      dcId: 5,
      apiId: 611335,
      userId: '4242',
      testMode: false,
    });
    expect(back.ok && back.value.authKey.equals(annKey)).toBe(true);
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(out, 'pyro_ann.session'), { readonly: true });
    const cols = (db.prepare('PRAGMA table_info(sessions)').all() as { name: string }[]).map((c) => c.name);
    db.close();
    expect(cols).toEqual(['dc_id', 'api_id', 'test_mode', 'auth_key', 'date', 'user_id', 'is_bot']);
  });

  it.skipIf(dialect.skip)(
    'asks for exactly one selector, a known format, known names and a private directory',
    async () => {
      const { box } = await seed();
      const deps = { store: f.store, box, clock };
      const out = join(f.t.dir, 'x');
      await expect(exportAccounts(deps, {}, { format: 'telethon', out })).rejects.toThrow(UsageError);
      await expect(exportAccounts(deps, { all: true, tenant: 'acme' }, { format: 'telethon', out })).rejects.toThrow(
        UsageError,
      );
      await expect(exportAccounts(deps, { all: true }, { format: 'tdata', out })).rejects.toThrow(UsageError);
      await expect(exportAccounts(deps, { names: ['ghost'] }, { format: 'string', out })).rejects.toThrow(DataError);
      const open = join(f.t.dir, 'open');
      mkdirSync(open, { mode: 0o755 });
      await expect(exportAccounts(deps, { all: true }, { format: 'string', out: open })).rejects.toThrow(
        /readable by others/,
      );
    },
  );
});
