import type { Config } from '../../config/config.js';
import type { Clock } from '../../domain/clock.js';
import type { Logger } from '../../log/logger.js';
import { SecretBox } from '../../security/secretBox.js';
import { alignClock } from '../../store/dbClock.js';
import { guardTelegramMode } from '../../store/storeMode.js';
import { assertStoreExists, openStore, type SchemaMode, type Store } from '../../store/store.js';
import type { Terminal } from './terminal.js';

/** What every command action gets from the entry point. */
export interface Ctx {
  config: Config;
  log: Logger;
  clock: Clock;
  /** What stdout is: tables fit a terminal's width, and are plain aligned columns when piped (output.ts Grid). */
  terminal: Terminal;
  /** Write a command's result: JSON with --json, otherwise the human rendering. */
  emit<T>(data: T, human: (data: T) => string): void;
  /** Write a chunk of stdout as it is produced (streamed listings), redacted like emit. */
  out(text: string): void;
  /** A message for people, on stderr (`acctctl: …`): stdout carries only results. */
  note(text: string): void;
  /** Resolves once stdout has taken what `out` wrote (backpressure: a streamed listing waits here per page). */
  drain?(): Promise<void>;
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
  // One clock per decision: on a shared (Postgres) store, this run goes by the database's time.
  const hostClock = ctx.clock;
  try {
    if (schema !== 'none') {
      await checkTelegramMode(ctx, store, store.createdNow);
      ctx.clock = await alignClock(store, hostClock, ctx.log);
    }
    return await fn(store);
  } finally {
    ctx.clock = hostClock;
    await store.close();
  }
}

/** withStore for read-only commands: a store that does not exist is an error (66), never created. */
export function withExistingStore<T>(ctx: Ctx, fn: (store: Store) => Promise<T>): Promise<T> {
  assertStoreExists(ctx.config.db);
  return withStore(ctx, fn, 'existing');
}

export function secretBox(ctx: Ctx): SecretBox {
  return SecretBox.fromKeys({ keyFile: ctx.config.keyFile, secretKeyEnv: ctx.config.secretKeyEnv });
}

/**
 * Sandbox stores and real stores never mix (README "Configuration", ACCTCTL_TELEGRAM): refuse a run of the other kind
 * (78), mark a store the sandbox just created, and say on stderr that Telegram is simulated.
 */
export async function checkTelegramMode(ctx: Ctx, store: Store, createdNow: boolean): Promise<void> {
  const kind = await guardTelegramMode(store.db, ctx.config.telegramMode, { createdNow });
  if (ctx.config.telegramMode === 'sandbox') {
    ctx.log.info(
      `simulated Telegram (ACCTCTL_TELEGRAM=sandbox): nothing reaches Telegram${kind === 'sandbox' ? '; this is a sandbox store' : ''}`,
    );
  }
}
