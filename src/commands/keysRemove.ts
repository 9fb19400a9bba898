import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { count } from '../domain/plural.js';
import { ConfigError, DataError, UsageError } from '../errors.js';
import { keyIdOf, loadKeyRing, orderedKeys, writeKeyFile } from '../security/keyring.js';
import type { Store } from '../store/store.js';
import { keyChangeTx, secretCensus } from '../store/secrets.js';

export interface KeyRemoval {
  keyId: string;
  keyFile: string;
  keysLeft: string[];
}

/**
 * Remove an old key from the key file once no stored secret needs it. Refused while any secret is
 * still under it (DataError, 65: finish `keys rotate` first), for the primary key, for a key not
 * in the file, and when the keys come from ACCTCTL_SECRET_KEY (edit that variable instead).
 */
export async function removeKey(
  deps: { store: Store },
  keys: { keyFile: string; secretKeyEnv: string | undefined },
  keyId: string,
): Promise<KeyRemoval> {
  const ring = loadKeyRing(keys);
  if (ring.source.kind !== 'file') {
    throw new ConfigError(
      'the keys come from ACCTCTL_SECRET_KEY → remove the old key from that variable yourself once `acctctl doctor` shows no secret under it',
    );
  }
  if (!ring.keys.has(keyId)) {
    throw new UsageError(
      `key ${keyId} is not in ${ring.source.path} (it holds ${[...ring.keys.keys()].join(', ')}) → see \`acctctl doctor\` for the key ids`,
    );
  }
  if (keyId === ring.primaryId) {
    throw new UsageError(
      `key ${keyId} is the primary key: every new secret is sealed with it → it can never be removed; \`acctctl keys rotate\` makes a new primary`,
    );
  }
  const path = ring.source.path;
  // Under the key lock: no transaction seals a secret between the count and the new key file (a
  // login that started under this key seals with the file's primary at its commit, see
  // store/secrets.ts sealingTx).
  return keyChangeTx(deps.store, async (tx) => {
    const census = await secretCensus(tx);
    const needed = census.byKey[keyId] ?? 0;
    if (needed > 0) {
      throw new DataError(
        `key ${keyId} still protects ${count(needed, 'secret')}; nothing was removed → run \`acctctl keys rotate\` until \`acctctl doctor\` shows 0 under it`,
      );
    }
    // Read the file again just before writing, so a key added meanwhile is kept.
    const fresh = loadKeyRing({ keyFile: path, secretKeyEnv: undefined });
    if (fresh.primaryId === keyId) {
      throw new UsageError(
        `key ${keyId} became the primary key of ${path} meanwhile → nothing was removed; see \`acctctl doctor\``,
      );
    }
    const left = orderedKeys(fresh).filter((k) => keyIdOf(k) !== keyId);
    writeKeyFile(path, left);
    return { keyId, keyFile: path, keysLeft: left.map(keyIdOf) };
  });
}

export async function removeKeyCli(ctx: Ctx, keyId: string): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(
      await removeKey({ store }, { keyFile: ctx.config.keyFile, secretKeyEnv: ctx.config.secretKeyEnv }, keyId),
      (r) =>
        `removed key ${r.keyId} from ${r.keyFile}; ${count(r.keysLeft.length, 'key')} left (${r.keysLeft.join(', ')}) → ` +
        'back up the key file again',
    ),
  );
}
