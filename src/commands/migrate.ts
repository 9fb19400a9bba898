import type { Ctx } from './support/context.js';
import { checkTelegramMode, withStore } from './support/context.js';
import { FIRST_MIGRATION, migrateToLatest, schemaState } from '../store/migrations.js';
import type { Store } from '../store/store.js';

export interface MigrateResult {
  database: string;
  applied: string[];
  current: string[];
}

export async function migrate(store: Store): Promise<MigrateResult> {
  const applied = await migrateToLatest(store.db, store.caps);
  const state = await schemaState(store.db, store.caps);
  return { database: store.description, applied, current: state.applied };
}

export function renderMigrate(r: MigrateResult): string {
  return r.applied.length
    ? `migrated ${r.database}: applied ${r.applied.join(', ')}`
    : `${r.database} is up to date (${r.current.at(-1) ?? 'empty'})`;
}

export async function migrateCli(ctx: Ctx): Promise<void> {
  await withStore(
    ctx,
    async (store) => {
      const r = await migrate(store);
      await checkTelegramMode(ctx, store, r.applied.includes(FIRST_MIGRATION));
      ctx.emit(r, renderMigrate);
    },
    'none',
  );
}
