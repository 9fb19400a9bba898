import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import { loadKeyRing } from '../security/keyring.js';
import { SecretBox } from '../security/secretBox.js';
import { openStore, type SchemaMode, type Store } from '../store/store.js';

/** What every command action gets from the entry point. */
export interface Ctx {
  config: Config;
  log: Logger;
  clock: Clock;
  /** Write a command's result: JSON with --json, otherwise the human rendering. */
  emit<T>(data: T, human: (data: T) => string): void;
  /** Write a chunk of stdout as it is produced (streamed listings), redacted like emit. */
  out(text: string): void;
  /** A command that completed but must report failure (e.g. status --fail-under). */
  setExitCode(code: number): void;
}

export async function withStore<T>(
  ctx: Ctx,
  fn: (store: Store) => Promise<T>,
  schema: SchemaMode = 'auto',
): Promise<T> {
  const store = await openStore(ctx.config.db, { schema });
  ctx.log.debug('store opened', { db: store.description });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function secretBox(ctx: Ctx): SecretBox {
  return new SecretBox(loadKeyRing({ keyFile: ctx.config.keyFile, secretKeyEnv: ctx.config.secretKeyEnv }));
}
