import { resolve } from 'node:path';
import { count } from '../domain/plural.js';
import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { rotateKeys } from '../fleet/keys.js';
import { generateKeyFile } from '../security/keyFiles.js';

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
      await rotateKeys(
        { store, log: ctx.log, clock: ctx.clock },
        { keyFile: ctx.config.keyFile, secretKeyEnv: ctx.config.secretKeyEnv },
      ),
      (r) =>
        `${r.newKey ? 'new primary key' : 'primary key'} ${r.primaryKeyId}; re-encrypted ${count(r.reencrypted, 'secret')}; ` +
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
