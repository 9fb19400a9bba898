import { closeSync, openSync, writeSync, fsyncSync } from 'node:fs';
import { resolve } from 'node:path';
import { sql } from 'kysely';
import type { Ctx } from '../cli/context.js';
import { withStore } from '../cli/context.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import {
  generateKey,
  keyFileText,
  keyIdOf,
  loadKeyRing,
  orderedKeys,
  writeKeyFile,
  type KeyRing,
} from '../security/keyring.js';
import { SecretBox } from '../security/secretBox.js';
import { SECRET_COLUMNS, type SecretTable } from '../store/schema.js';
import type { Store } from '../store/store.js';

export interface GenerateResult {
  keyFile: string;
  keyId: string;
}

/** Create a new key file, mode 0600. Never overwrites: an existing key protects existing data. */
export function generateKeyFile(path: string): GenerateResult {
  const key = generateKey();
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(
        `${path} already exists and may protect stored secrets → keep it; use \`acctctl keys rotate\` to change keys, or --out another file`,
        { cause },
      );
    }
    throw new ConfigError(`cannot create ${path} → check the directory exists and is writable`, { cause });
  }
  try {
    writeSync(fd, keyFileText([key]));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { keyFile: path, keyId: keyIdOf(key) };
}

export interface SecretCensus {
  /** Number of stored secrets per key id. */
  byKey: Record<string, number>;
}

export async function secretCensus(store: Store): Promise<SecretCensus> {
  const byKey: Record<string, number> = {};
  for (const [table, cols] of Object.entries(SECRET_COLUMNS)) {
    for (const col of cols) {
      const rows = await sql<{
        v: string;
      }>`select ${sql.ref(col)} as v from ${sql.table(table)} where ${sql.ref(col)} is not null`.execute(store.db);
      for (const r of rows.rows) {
        const kid = SecretBox.keyIdOf(r.v) ?? 'invalid';
        byKey[kid] = (byKey[kid] ?? 0) + 1;
      }
    }
  }
  return { byKey };
}

export interface RotateResult {
  primaryKeyId: string;
  newKey: boolean;
  reencrypted: number;
  byKey: Record<string, number>;
}

const BATCH = 100;

/** Re-encrypt every secret that is not under the primary key, a batch per transaction. */
export async function reencryptAll(store: Store, ring: KeyRing, log: Logger): Promise<number> {
  const box = new SecretBox(ring);
  const prefix = `v1.${ring.primaryId}.`;
  let done = 0;
  for (const table of Object.keys(SECRET_COLUMNS) as SecretTable[]) {
    for (const col of SECRET_COLUMNS[table]) {
      for (;;) {
        const n = await store.writeTx(async (tx) => {
          const rows = await sql<{ id: number; v: string }>`select id, ${sql.ref(col)} as v from ${sql.table(table)}
            where ${sql.ref(col)} is not null and ${sql.ref(col)} not like ${prefix + '%'} order by id limit ${BATCH}`.execute(
            tx,
          );
          for (const r of rows.rows) {
            const ref = { table, column: col, rowId: r.id };
            const sealed = box.seal(box.open(r.v, ref), ref);
            await sql`update ${sql.table(table)} set ${sql.ref(col)} = ${sealed} where id = ${r.id} and ${sql.ref(col)} = ${r.v}`.execute(
              tx,
            );
          }
          return rows.rows.length;
        });
        done += n;
        if (n > 0) log.debug('re-encrypted a batch', { table, column: col, rows: n, total: done });
        if (n < BATCH) break;
      }
    }
  }
  return done;
}

/**
 * Rotate: when every secret is already under the primary key, add a new primary key to the key
 * file (atomically, old keys kept for reading); then re-encrypt everything under the primary.
 * Killed at any point, a rerun finishes the job and every row stays readable throughout.
 */
export async function rotateKeys(
  deps: { store: Store; log: Logger },
  keys: { keyFile: string; secretKeyEnv: string | undefined },
): Promise<RotateResult> {
  let ring = loadKeyRing(keys);
  const before = await secretCensus(deps.store);
  const pending = Object.entries(before.byKey).some(([kid, n]) => kid !== ring.primaryId && n > 0);
  let newKey = false;
  if (!pending) {
    if (ring.source.kind !== 'file') {
      throw new ConfigError(
        'every secret is already under the only key in ACCTCTL_SECRET_KEY → to rotate, set ACCTCTL_SECRET_KEY=NEW,OLD (new key first) or use a key file',
      );
    }
    const path = ring.source.path;
    writeKeyFile(path, [generateKey(), ...orderedKeys(ring)]);
    ring = loadKeyRing({ keyFile: path, secretKeyEnv: undefined });
    newKey = true;
    deps.log.info('new primary key written', { keyFile: path, keyId: ring.primaryId });
  } else {
    deps.log.info('resuming re-encryption under the primary key', { keyId: ring.primaryId });
  }
  const reencrypted = await reencryptAll(deps.store, ring, deps.log);
  const after = await secretCensus(deps.store);
  return { primaryKeyId: ring.primaryId, newKey, reencrypted, byKey: after.byKey };
}

export async function generateCli(ctx: Ctx, opts: { out?: string }): Promise<void> {
  const path = opts.out ? resolve(opts.out) : ctx.config.keyFile;
  ctx.emit(
    generateKeyFile(path),
    (r) => `wrote a new key ${r.keyId} to ${r.keyFile} (mode 0600) → back it up somewhere safe`,
  );
}

export async function rotateCli(ctx: Ctx): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(
      await rotateKeys({ store, log: ctx.log }, { keyFile: ctx.config.keyFile, secretKeyEnv: ctx.config.secretKeyEnv }),
      (r) =>
        `${r.newKey ? 'new primary key' : 'primary key'} ${r.primaryKeyId}; re-encrypted ${r.reencrypted} secrets; ` +
        `secrets by key: ${
          Object.entries(r.byKey)
            .map(([k, n]) => `${k}=${n}`)
            .join(', ') || 'none'
        }` +
        (Object.keys(r.byKey).every((k) => k === r.primaryKeyId)
          ? '\nolder keys in the key file are no longer used by this database'
          : ''),
    ),
  );
}
