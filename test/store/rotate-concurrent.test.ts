import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { secretCensus } from '../../src/store/secrets.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { SECRET_COLUMNS, type SecretTable } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';
import { runCli, spawnCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { soakCount } from '../support/soak.js';

/**
 * Several `acctctl keys rotate` processes at once (the built CLI, as cron or two operators would
 * run it) must never lose a key: one rotates, the others wait their turn or exit 75, and afterwards
 * every stored secret decrypts with the key file. Trials per concurrency level:
 * ACCTCTL_ROTATE_TRIALS, default 1 in `npm test` and 6 in `npm run test:soak`.
 */
const TRIALS = Number(process.env.ACCTCTL_ROTATE_TRIALS ?? soakCount(1, 6));
const ACCOUNTS = 300; // 600 secrets: each rotation takes a few batches, so runs really overlap

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

describe.each(DIALECTS)('concurrent keys rotate on $name', (dialect) => {
  const f = useFleetStore(dialect, ACCOUNTS);

  it.skipIf(dialect.skip)(
    `2 and 4 rotations at once, ${TRIALS} trial${TRIALS === 1 ? '' : 's'} each: no key lost, every secret decrypts`,
    async () => {
      const keyFile = f.env.ACCTCTL_KEY_FILE!;
      const total = Object.values((await secretCensus(f.store)).byKey).reduce((a, b) => a + b, 0);
      expect(total).toBe(ACCOUNTS * 2);
      const tally = { trials: 0, ok: 0, refused: 0 };
      for (const procs of [2, 4]) {
        for (let trial = 0; trial < TRIALS; trial++) {
          const runs = await Promise.all(
            Array.from({ length: procs }, () => spawnCli(['--json', 'keys', 'rotate'], { env: f.env })),
          );
          tally.trials++;
          for (const r of runs) {
            // Exactly two outcomes: rotated, or refused because another rotation holds the lock.
            expect([0, 75], r.stderr).toContain(r.code);
            if (r.code === 75) expect(r.stderr).toMatch(/another `keys rotate` is running/);
          }
          const winners = runs.filter((r) => r.code === 0);
          expect(winners.length).toBeGreaterThanOrEqual(1);
          tally.ok += winners.length;
          tally.refused += procs - winners.length;

          // Every secret decrypts with the key file as it is now, and all are under its primary.
          const ring = loadKeyRing({ keyFile, secretKeyEnv: undefined });
          expect(await decryptAll(f.store, new SecretBox(ring))).toBe(total);
          expect((await secretCensus(f.store)).byKey).toEqual({ [ring.primaryId]: total });
          // The last successful run reports that primary; nothing is left locked.
          const last = JSON.parse(winners.at(-1)!.stdout) as { primaryKeyId: string };
          expect(ring.keys.has(last.primaryKeyId)).toBe(true);
          expect(existsSync(`${keyFile}.lock`)).toBe(false);
          expect(await f.store.db.selectFrom('locks').selectAll().where('name', '=', 'keys-rotate').execute()).toEqual(
            [],
          );
        }
      }
      process.stderr.write(
        `concurrent keys rotate on ${dialect.name}: ${tally.trials} trials, ${tally.ok} rotations, ${tally.refused} refused (75), 0 keys lost\n`,
      );
    },
    600_000,
  );

  it.skipIf(dialect.skip)(
    'a rotation holding the lock file or the store lock makes another exit 75, changing nothing',
    async () => {
      const keyFile = f.env.ACCTCTL_KEY_FILE!;
      const keysBefore = readFileSync(keyFile, 'utf8');
      const census = (await secretCensus(f.store)).byKey;
      // A live process (this test) holds the lock file beside the key.
      writeFileSync(`${keyFile}.lock`, JSON.stringify({ pid: process.pid, host: 'here', since: 'now' }), {
        mode: 0o600,
      });
      const r1 = await runCli(['keys', 'rotate'], { env: f.env });
      expect(r1.code, r1.stderr).toBe(75);
      // Written by an older version ({ pid, host }): read as the holder id it stands for.
      expect(r1.stderr).toMatch(/another `keys rotate` is running \(keys-rotate@here:\d+ since now/);
      expect(readFileSync(keyFile, 'utf8')).toBe(keysBefore);
      // Another host holds the store lock (its key file is elsewhere).
      await f.store.db
        .insertInto('locks')
        .values({ name: 'keys-rotate', holder: 'keys-rotate@otherhost:1', token: 7, expires_at: Date.now() + 60_000 })
        .execute();
      unlinkSync(`${keyFile}.lock`);
      const r2 = await runCli(['keys', 'rotate'], { env: f.env });
      expect(r2.code, r2.stderr).toBe(75);
      expect(r2.stderr).toMatch(/keys-rotate@otherhost:1/);
      expect(readFileSync(keyFile, 'utf8')).toBe(keysBefore);
      expect(existsSync(`${keyFile}.lock`)).toBe(false);
      expect((await secretCensus(f.store)).byKey).toEqual(census);
    },
  );
});
