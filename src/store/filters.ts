import { EVENT_SEVERITY } from '../domain/events.js';
import { UsageError } from '../errors.js';
import type { Store } from './store.js';

/**
 * The values a filter flag may take. A typo in a filter is a usage error (64) naming the known
 * values, never an empty success: `join --niche <typo>` in cron would say "nothing to do" forever.
 */

/** Sessions' states (`ig list --state`). */
export const IG_STATES = ['valid', 'expired', 'refreshing', 'needs_manual', 'failed'] as const;
/** A watch's last result, or `unchecked` (`watch list --status`). */
export const WATCH_STATUSES = ['found', 'not_found', 'error', 'unchecked'] as const;

/** Known values shown in an error: the first few, then how many more. */
const SHOWN = 20;

export function unknownFilterValue(
  flag: string,
  value: string,
  known: readonly string[],
  none: string,
  total = known.length,
): UsageError {
  const shown = known.slice(0, SHOWN).join(', ');
  const more = total > SHOWN ? ` and ${total - SHOWN} more` : '';
  return new UsageError(
    known.length === 0
      ? `${flag} "${value}" is unknown: ${none}`
      : `${flag} "${value}" is unknown → use one of ${shown}${more}`,
  );
}

/** A fixed list of values (states, results). */
export function checkFixedFilter(flag: string, value: string | undefined, known: readonly string[]): void {
  if (value !== undefined && !known.includes(value)) throw unknownFilterValue(flag, value, known, '');
}

/** `--tenant NAME` names an existing tenant. */
export async function checkTenantFilter(store: Store, name: string | undefined, flag = '--tenant'): Promise<void> {
  if (name === undefined) return;
  const hit = await store.db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
  if (hit) return;
  const all = await store.db.selectFrom('tenants').select('name').orderBy('name').limit(SHOWN).execute();
  const total = Number(
    (
      await store.db
        .selectFrom('tenants')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  throw unknownFilterValue(
    flag,
    name,
    all.map((t) => t.name),
    'there are no tenants yet → acctctl tenants add NAME (or an import with --create-tenant)',
    total,
  );
}

/**
 * `--niche NICHE` names a niche some target has. With no targets at all there is nothing to
 * check against (a fresh store's `join` has simply nothing to do).
 */
export async function checkNicheFilter(store: Store, niche: string | undefined): Promise<void> {
  if (niche === undefined) return;
  const rows = await store.db.selectFrom('targets').select('niche').distinct().orderBy('niche').execute();
  const known = rows.map((r) => r.niche);
  if (known.length === 0 || known.includes(niche)) return;
  throw unknownFilterValue('--niche', niche, known, '');
}

/** `--kind K`: a kind in the severity table or one the store has recorded. */
export async function checkEventKinds(store: Store, kinds: readonly string[]): Promise<void> {
  const unknown = kinds.filter((k) => !Object.prototype.hasOwnProperty.call(EVENT_SEVERITY, k));
  if (unknown.length === 0) return;
  const stored = await store.db.selectFrom('events').select('kind').where('kind', 'in', unknown).distinct().execute();
  const missing = unknown.filter((k) => !stored.some((s) => s.kind === k));
  if (missing.length === 0) return;
  const known = [...Object.keys(EVENT_SEVERITY)].sort();
  throw unknownFilterValue('--kind', missing[0]!, known, '');
}
