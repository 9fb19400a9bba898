import { holderGoneHere, holderId } from './holder.js';
import { closeSync, constants, fsyncSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { systemClock, type Clock } from '../domain/clock.js';
import { ConfigError, TempFailError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { generateKey, keyIdOf, loadKeyRing, orderedKeys, writeKeyFile, type KeyRing } from '../security/keyring.js';
import { SecretBox } from '../security/secretBox.js';
import { SECRET_COLUMNS, type SecretTable } from '../store/schema.js';
import { keyChangeTx, replaceSecret, secretCensus, secretsNotUnder } from '../store/secrets.js';
import { acquireLock, lockInfo, releaseLock, renewLock, takeOverLock } from '../store/locks.js';
import type { Store } from '../store/store.js';

export interface RotateResult {
  primaryKeyId: string;
  newKey: boolean;
  reencrypted: number;
  byKey: Record<string, number>;
}

const BATCH = 100;

/**
 * Re-encrypt every secret that is not under the primary key, a batch per transaction, paging by id.
 * `fence` runs inside each batch's transaction (rotation: still holding the store lock); when it
 * throws, that batch is rolled back.
 */
export async function reencryptAll(
  store: Store,
  ring: KeyRing,
  log: Logger,
  fence?: (tx: Store['db']) => Promise<void>,
): Promise<number> {
  const box = new SecretBox(ring);
  const prefix = `v1.${ring.primaryId}.`;
  let done = 0;
  for (const table of Object.keys(SECRET_COLUMNS) as SecretTable[]) {
    for (const col of SECRET_COLUMNS[table]) {
      let after = -1;
      for (;;) {
        const r = await store.writeTx(async (tx) => {
          if (fence) await fence(tx);
          const rows = await secretsNotUnder(tx, table, col, prefix, after, BATCH);
          for (const r of rows) {
            const ref = { table, column: col, rowId: r.id };
            await replaceSecret(tx, table, col, r, box.seal(box.open(r.v, ref), ref));
          }
          return { n: rows.length, last: rows.at(-1)?.id ?? after };
        });
        done += r.n;
        after = r.last;
        if (r.n > 0) log.debug('re-encrypted a batch', { table, column: col, rows: r.n, total: done });
        if (r.n < BATCH) break;
      }
    }
  }
  return done;
}

export const ROTATE_LOCK = 'keys-rotate';
const ROTATE_LOCK_TTL_MS = 2 * 60_000;

/** The lock file's content: who holds it (holderId), since when. */
interface LockFileBody {
  holder: string;
  since: string;
}

/** Who holds a lock file; one written by an older version says `{ pid, host }`. */
function lockFileHolder(body: Partial<LockFileBody> & { pid?: unknown; host?: unknown }): string | undefined {
  if (typeof body.holder === 'string') return body.holder;
  return typeof body.pid === 'number' && typeof body.host === 'string'
    ? `${ROTATE_LOCK}@${body.host}:${body.pid}`
    : undefined;
}

function anotherRotation(where: string, who: string): TempFailError {
  return new TempFailError(
    `another \`keys rotate\` is running (${who}; ${where}) → let it finish; run \`acctctl keys rotate\` again afterwards only if you still want a newer key`,
  );
}

/**
 * The exclusive lock file beside the key file (`<key file>.lock`, created with O_EXCL). A lock
 * left by a rotation that died on this host (its process is gone) is taken over; one from another
 * host is never guessed about.
 */
function takeLockFile(keyFile: string): () => void {
  const path = `${keyFile}.lock`;
  const body: LockFileBody = { holder: holderId(ROTATE_LOCK), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        writeSync(fd, JSON.stringify(body) + '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          const now = readFileSync(path, 'utf8');
          if (now.trim() === JSON.stringify(body)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigError(
          `cannot create the lock file ${path} → check its directory is writable by the user running acctctl`,
          { cause },
        );
      }
    }
    let text = '';
    let other: Partial<LockFileBody> = {};
    try {
      text = readFileSync(path, 'utf8');
      other = JSON.parse(text) as Partial<LockFileBody>;
    } catch {
      // being written right now, or not ours: treat as held
    }
    const holder = lockFileHolder(other);
    const who = `${holder ?? '?'} since ${other.since ?? '?'}`;
    const dead = holder !== undefined && holderGoneHere(holder, ROTATE_LOCK);
    if (!dead) throw anotherRotation(`lock file ${path}`, who);
    // Its process is gone: remove that very lock (unless it changed meanwhile) and try once more.
    try {
      if (readFileSync(path, 'utf8') === text) unlinkSync(path);
    } catch {
      // gone already
    }
  }
  throw anotherRotation(`lock file ${path}`, 'taken over meanwhile');
}

/** The rotation lock in the store (across hosts that share the database). */
async function takeStoreLock(store: Store, clock: Clock): Promise<number> {
  const holder = holderId(ROTATE_LOCK);
  let token = await acquireLock(store, ROTATE_LOCK, holder, ROTATE_LOCK_TTL_MS, clock.now());
  if (token !== null) return token;
  const cur = await lockInfo(store, ROTATE_LOCK);
  if (cur) {
    if (holderGoneHere(cur.holder, ROTATE_LOCK)) {
      token = await takeOverLock(store, ROTATE_LOCK, holder, ROTATE_LOCK_TTL_MS, clock.now(), cur.token);
      if (token !== null) return token;
    }
  }
  throw anotherRotation(
    `store lock ${ROTATE_LOCK}`,
    cur ? `${cur.holder} until ${new Date(cur.expires_at).toISOString()}` : 'just now',
  );
}

/**
 * Rotate: when every secret is already under the primary key, add a new primary key to the key
 * file (atomically, old keys kept for reading); then re-encrypt everything under the primary.
 * Killed at any point, a rerun finishes the job and every row stays readable throughout.
 *
 * Exclusive across processes and hosts: an O_EXCL lock file beside the key file and a lock in the
 * store (renewed, and checked, in every re-encryption batch). A second rotation exits 75. Under
 * both locks the key file is read again (another rotation may just have finished), and after our
 * rename it is read once more: we re-encrypt only if our new key is still its primary.
 */
export async function rotateKeys(
  deps: { store: Store; log: Logger; clock?: Clock },
  keys: { keyFile: string; secretKeyEnv: string | undefined },
): Promise<RotateResult> {
  const clock = deps.clock ?? systemClock;
  const first = loadKeyRing(keys);
  const releaseFile = first.source.kind === 'file' ? takeLockFile(first.source.path) : () => {};
  try {
    const token = await takeStoreLock(deps.store, clock);
    try {
      return await rotateLocked(deps, keys, clock, token);
    } finally {
      await releaseLock(deps.store, ROTATE_LOCK, token).catch(() => {});
    }
  } finally {
    releaseFile();
  }
}

async function rotateLocked(
  deps: { store: Store; log: Logger },
  keys: { keyFile: string; secretKeyEnv: string | undefined },
  clock: Clock,
  lockToken: number,
): Promise<RotateResult> {
  // Read again under the locks: a rotation that just finished may have changed the file.
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
    const fresh = generateKey();
    writeKeyFile(path, [fresh, ...orderedKeys(ring)]);
    ring = loadKeyRing({ keyFile: path, secretKeyEnv: undefined });
    if (ring.primaryId !== keyIdOf(fresh)) {
      // Someone replaced the file after our rename: re-encrypting now could strand rows under a
      // key that is no longer in it. Nothing was re-encrypted.
      throw new TempFailError(
        `${path} changed after this rotation wrote it (its primary key is now ${ring.primaryId}) → nothing was re-encrypted; check who else writes the key file, then run \`acctctl keys rotate\` again`,
      );
    }
    newKey = true;
    deps.log.info('new primary key written', { keyFile: path, keyId: ring.primaryId });
    // Wait for the sealing transactions that read the key file before our rename: what they
    // commit under the old key is then visible to the re-encryption below (store/secrets.ts sealingTx).
    await keyChangeTx(deps.store, async () => {});
  } else {
    deps.log.info('resuming re-encryption under the primary key', { keyId: ring.primaryId });
  }
  const reencrypted = await reencryptAll(deps.store, ring, deps.log, async (tx) => {
    if (!(await renewLock(tx, ROTATE_LOCK, lockToken, ROTATE_LOCK_TTL_MS, clock.now()))) {
      throw new TempFailError(
        'this rotation lost its store lock (it stalled past the lock time) → run `acctctl keys rotate` again; every row is still readable',
      );
    }
  });
  const after = await secretCensus(deps.store);
  return { primaryKeyId: ring.primaryId, newKey, reencrypted, byKey: after.byKey };
}
