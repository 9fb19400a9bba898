import { UsageError } from '../../errors.js';

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
