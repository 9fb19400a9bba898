import { UsageError } from '../../errors.js';
import { count } from '../../domain/plural.js';
import { rehearsalStore } from '../../store/rehearsal.js';
import type { Store } from '../../store/store.js';
import { withExistingStore, withStore, type Ctx } from './context.js';

/** `; created tenant x` / `; created 2 tenants x, y` after an import that was allowed to create them. */
export function createdTenants(names: readonly string[]): string {
  if (names.length === 0) return '';
  return `; created ${names.length === 1 ? 'tenant' : `${names.length} tenants`} ${names.join(', ')}`;
}

/** Whole-number ids from argv (`proxies remove 3 4`), or a usage error. */
export function parseIds(values: readonly string[], what: string): number[] {
  const bad = values.filter((v) => !/^[1-9]\d{0,15}$/.test(v));
  if (bad.length || values.length === 0) {
    throw new UsageError(
      `${bad.length ? `"${bad.join('", "')}" ${bad.length === 1 ? 'is' : 'are'} not` : 'give one or more'} ${what} ids → see the id column of the list command`,
    );
  }
  return [...new Set(values.map(Number))];
}

/**
 * Every import says what it did in one wording: `imported 3 proxies (2 new, 1 updated)`, for rows
 * already there that were left as they are `(2 new, 1 unchanged)`; with --dry-run, what it would
 * do and that nothing was written.
 */
export function importSummary(
  noun: readonly [singular: string, plural?: string],
  n: { imported: number; created: number; existing: number },
  existing: 'updated' | 'unchanged',
  dryRun: boolean,
): string {
  const what = `${count(n.imported, noun[0], noun[1])} (${n.created} new, ${n.existing} ${existing})`;
  return dryRun ? `dry run: would import ${what}; nothing was written` : `imported ${what}`;
}

/**
 * The store an import writes to; with --dry-run the import runs in full and is rolled back (the
 * database is unchanged), on a store that must already exist (a dry run creates nothing).
 */
export function withImportStore<T>(
  ctx: Ctx,
  dryRun: boolean | undefined,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  return dryRun ? withExistingStore(ctx, (store) => fn(rehearsalStore(store))) : withStore(ctx, fn);
}

/**
 * The store a `remove` changes; with --dry-run a preview: the removal runs in full (its refusal
 * naming what uses the thing, or with --force what it would end) and is rolled back, and the
 * result says so. The database is unchanged.
 */
export async function withRemovalStore<T>(
  ctx: Ctx,
  dryRun: boolean | undefined,
  fn: (store: Store) => Promise<T>,
): Promise<T> {
  if (!dryRun) return withStore(ctx, fn);
  const emit = ctx.emit;
  ctx.emit = (data, human) =>
    emit(data, (d) => `dry run: nothing was changed; without --dry-run this would be done:\n${human(d)}`);
  try {
    return await withExistingStore(ctx, (store) => fn(rehearsalStore(store)));
  } finally {
    ctx.emit = emit;
  }
}
