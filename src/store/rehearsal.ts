import type { Store } from './store.js';

/** What a rehearsed transaction produced, thrown to roll it back. */
class Rehearsed {
  constructor(readonly value: unknown) {}
}

/**
 * The store as an import's `--dry-run` sees it: every write transaction runs in full (every
 * check the real import makes, against the real rows) and is then rolled back, so the database
 * is unchanged. Reads are the store's own.
 */
export function rehearsalStore(store: Store): Store {
  return Object.create(store, {
    writeTx: {
      value: async <T>(fn: Parameters<Store['writeTx']>[0]): Promise<T> => {
        try {
          await store.writeTx(async (tx) => {
            throw new Rehearsed(await fn(tx));
          });
        } catch (e) {
          if (e instanceof Rehearsed) return e.value as T;
          throw e;
        }
        throw new Error('bug: a rehearsed transaction committed');
      },
    },
  }) as Store;
}
