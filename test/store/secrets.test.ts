import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { reencryptAll, rotateKeys } from '../../src/fleet/keys.js';
import { secretCensus } from '../../src/store/secrets.js';
import { FakeClock } from '../../src/domain/clock.js';
import { DataError } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { SECRET_COLUMNS, type SecretTable } from '../../src/store/schema.js';
import { openStore, type Store } from '../../src/store/store.js';
import { BIN, ROOT, baseEnv, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { makeAccounts, makeKey } from '../support/fixtures.js';

async function importN(store: Store, box: SecretBox, n: number, withProxy = true): Promise<void> {
  const rows = parseAccountsFile('mem.json', JSON.stringify(makeAccounts(n, { tenant: 'acme', withProxy })));
  await importAccounts({ store, box, clock: new FakeClock() }, rows);
}

/** Open every stored secret with the key ring; throws on the first unreadable one. */
async function decryptAll(store: Store, box: SecretBox): Promise<number> {
  let n = 0;
  for (const table of Object.keys(SECRET_COLUMNS) as SecretTable[]) {
    for (const col of SECRET_COLUMNS[table]) {
      const rows = await sql<{
        id: number;
        v: string;
      }>`select id, ${sql.ref(col)} as v from ${sql.table(table)} where ${sql.ref(col)} is not null`.execute(store.db);
      for (const r of rows.rows) {
        box.open(r.v, { table, column: col, rowId: r.id });
        n++;
      }
    }
  }
  return n;
}

describe.each(DIALECTS)('secrets on $name', ({ name, skip, create }) => {
  let t: TestDb;
  let store: Store;
  let keyFile: string;
  beforeEach(async () => {
    if (skip) return;
    t = await create();
    keyFile = makeKey(t.dir);
    if (name === 'postgres')
      expect((await runCli(['migrate'], { env: baseEnv({ DATABASE_URL: t.url }) })).code).toBe(0);
    store = await openStore(t.target);
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  it.skipIf(skip)('stores only ciphertext bound to its row: a ciphertext copied to another row fails', async () => {
    const box = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
    await importN(store, box, 2);
    const rows = await store.db
      .selectFrom('telegram_accounts')
      .select(['id', 'string_session_enc', 'api_hash_enc'])
      .orderBy('id')
      .execute();
    expect(rows).toHaveLength(2);
    const [a, b] = rows as [(typeof rows)[0], (typeof rows)[0]];
    expect(a.string_session_enc).toMatch(/^v1\.k[0-9a-f]{12}\./);
    const ref = (id: number, column = 'string_session_enc') => ({ table: 'telegram_accounts', column, rowId: id });
    expect(box.open(a.string_session_enc, ref(a.id))).toMatch(/^1/);
    // Another row, another column, another table: all refuse.
    expect(() => box.open(a.string_session_enc, ref(b.id))).toThrow(DataError);
    expect(() => box.open(a.string_session_enc, ref(a.id, 'api_hash_enc'))).toThrow(DataError);
    expect(() => box.open(a.api_hash_enc, { table: 'proxies', column: 'api_hash_enc', rowId: a.id })).toThrow(
      DataError,
    );
    // Really copy it in the database, as an attacker with write access would.
    await store.db
      .updateTable('telegram_accounts')
      .set({ string_session_enc: a.string_session_enc })
      .where('id', '=', b.id)
      .execute();
    const copied = await store.db
      .selectFrom('telegram_accounts')
      .select('string_session_enc')
      .where('id', '=', b.id)
      .executeTakeFirstOrThrow();
    expect(() => box.open(copied.string_session_enc, ref(b.id))).toThrow(/failed authentication/);
    // A flipped bit fails too.
    const flipped =
      a.string_session_enc.slice(0, -3) +
      (a.string_session_enc.at(-3) === 'A' ? 'B' : 'A') +
      a.string_session_enc.slice(-2);
    expect(() => box.open(flipped, ref(a.id))).toThrow(DataError);
  });

  it.skipIf(skip)('rotate adds a primary key, re-encrypts everything, keeps every row readable', async () => {
    const box1 = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
    await importN(store, box1, 30);
    const before = await secretCensus(store);
    expect(Object.keys(before.byKey)).toEqual([box1.primaryKeyId]);
    const total = before.byKey[box1.primaryKeyId]!;
    expect(total).toBe(90); // api hash + session + proxy password for 30 accounts

    const r = await rotateKeys({ store, log: silentLogger }, { keyFile, secretKeyEnv: undefined });
    expect(r.newKey).toBe(true);
    expect(r.primaryKeyId).not.toBe(box1.primaryKeyId);
    expect(r.reencrypted).toBe(total);
    expect(r.byKey).toEqual({ [r.primaryKeyId]: total });
    const box2 = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
    expect(await decryptAll(store, box2)).toBe(total);
    // The old key alone can no longer read the data: it really moved.
    await expect(decryptAll(store, box1)).rejects.toThrow(/not in the key ring/);
  });

  it.skipIf(skip)('ACCTCTL_SECRET_KEY=NEW,OLD re-encrypts to NEW without a key file', async () => {
    const old = loadKeyRing({ keyFile, secretKeyEnv: undefined });
    await importN(store, new SecretBox(old), 5);
    const oldB64 = [...old.keys.values()][0]!.toString('base64');
    const newB64 = Buffer.alloc(32, 7).toString('base64');
    const r = await rotateKeys(
      { store, log: silentLogger },
      { keyFile: '/nonexistent', secretKeyEnv: `${newB64},${oldB64}` },
    );
    expect(r.newKey).toBe(false);
    expect(Object.keys(r.byKey)).toEqual([r.primaryKeyId]);
    await expect(
      rotateKeys({ store, log: silentLogger }, { keyFile: '/nonexistent', secretKeyEnv: newB64 }),
    ).rejects.toThrow(/already under the only key/);
  });

  it.skipIf(skip)(
    'keys rotate killed with SIGKILL halfway, then rerun: every row decrypts, old-key count only goes down',
    async () => {
      const box1 = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
      await importN(store, box1, 1500, false); // 3,000 secrets, 30 batches
      const oldId = box1.primaryKeyId;
      const env = baseEnv({ DATABASE_URL: t.url, ACCTCTL_KEY_FILE: keyFile });

      const child = spawn(process.execPath, [BIN, '--log-level', 'debug', 'keys', 'rotate'], { cwd: ROOT, env });
      let err = '';
      const oldCounts: number[] = [];
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if ((err.match(/re-encrypted a batch/g) ?? []).length >= 3 && !child.killed) child.kill('SIGKILL');
        });
        child.on('close', () => resolve());
      });
      expect(child.signalCode).toBe('SIGKILL');

      // Killed midway: some rows moved, none lost, all readable with the (new) key file.
      const box2 = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
      expect(box2.primaryKeyId).not.toBe(oldId);
      const mid = await secretCensus(store);
      oldCounts.push(3000, mid.byKey[oldId] ?? 0);
      expect(mid.byKey[oldId]).toBeGreaterThan(0);
      expect(mid.byKey[oldId]).toBeLessThan(3000);
      expect((mid.byKey[oldId] ?? 0) + (mid.byKey[box2.primaryKeyId] ?? 0)).toBe(3000);
      expect(await decryptAll(store, box2)).toBe(3000);

      // A rerun resumes to the same primary key instead of making another one.
      const rerun = await runCli(['--json', 'keys', 'rotate'], { env });
      expect(rerun.code, rerun.stderr).toBe(0);
      const out = JSON.parse(rerun.stdout) as { newKey: boolean; primaryKeyId: string; byKey: Record<string, number> };
      expect(out.newKey).toBe(false);
      expect(out.primaryKeyId).toBe(box2.primaryKeyId);
      expect(out.byKey).toEqual({ [box2.primaryKeyId]: 3000 });
      oldCounts.push(out.byKey[oldId] ?? 0);
      for (let i = 1; i < oldCounts.length; i++) expect(oldCounts[i]!).toBeLessThanOrEqual(oldCounts[i - 1]!);
      expect(await decryptAll(store, new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined })))).toBe(3000);
    },
  );

  it.skipIf(skip)('reencryptAll is idempotent', async () => {
    const ring = loadKeyRing({ keyFile, secretKeyEnv: undefined });
    await importN(store, new SecretBox(ring), 3);
    expect(await reencryptAll(store, ring, silentLogger)).toBe(0);
  });
});
