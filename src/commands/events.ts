import type { Ctx } from './support/context.js';
import { withExistingStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags, type Listing } from './support/listing.js';
import { c, EXTRA, fmtTime, KEY } from './support/output.js';
import { parseSince } from '../domain/events.js';
import { UsageError } from '../errors.js';
import { countEvents, eventsPage, type EventFilter, type EventView } from '../store/events.js';
import { checkEventKinds, checkTenantFilter } from '../store/filters.js';
import type { Store } from '../store/store.js';

/** Rows `events` shows without --limit/--all. */
export const EVENTS_DEFAULT_LIMIT = 100;

export interface EventsOptions extends ListFlags {
  since?: string | undefined;
  kind?: string[] | undefined;
  tenant?: string | undefined;
  account?: string | undefined;
}

export function parseEventsOptions(o: EventsOptions, now: number): EventFilter {
  let sinceMs: number | undefined;
  if (o.since !== undefined) {
    const since = parseSince(o.since, now);
    if ('problem' in since) {
      throw new UsageError(
        `--since "${o.since}" → give a duration (30m, 12h, 1d, 2w) or an ISO time with its offset (2026-12-01T08:00Z); this one is ${since.problem}`,
      );
    }
    sinceMs = since.ms;
  }
  const kinds = (o.kind ?? [])
    .flatMap((k) => k.split(','))
    .map((k) => k.trim())
    .filter(Boolean);
  return { sinceMs, kinds, tenant: o.tenant, account: o.account };
}

const SEV = { critical: c.red, warning: c.yellow, info: (s: string) => s };

export const eventColumns: Column<EventView>[] = [
  { head: 'at', value: (e) => fmtTime(Date.parse(e.at)), priority: KEY },
  { head: 'severity', value: (e) => e.severity, style: (t, e) => SEV[e.severity](t), priority: EXTRA },
  { head: 'kind', value: (e) => e.kind, priority: KEY },
  { head: 'subject', value: (e) => (e.subject.name ? `${e.subject.type} ${e.subject.name}` : e.subject.type) },
  { head: 'tenant', value: (e) => e.tenant, priority: EXTRA },
  { head: 'message', value: (e) => e.message },
];

/**
 * `events` as a listing (support/listing.ts): fetched a page at a time on the (at, id) index and
 * written as it comes, so any --limit runs in the memory of one page. `total` counts every match
 * (a COUNT, no rows fetched), as in every other listing: "showing N of M".
 */
export async function eventsListing(
  store: Store,
  f: EventFilter,
  limit: number | null,
  pageSize?: number,
): Promise<Listing<EventView>> {
  return {
    columns: eventColumns,
    total: await countEvents(store, f),
    rows: pages<EventView>((last, n) => eventsPage(store, f, last, n), limit, pageSize),
    empty: 'no events',
    filters: '--since, --kind, --tenant, --account',
  };
}

export async function eventsCli(ctx: Ctx, opts: EventsOptions): Promise<void> {
  const spec = listSpec(opts, ctx.config.json, EVENTS_DEFAULT_LIMIT);
  const f = parseEventsOptions(opts, ctx.clock.now());
  await withExistingStore(ctx, async (store) => {
    await checkTenantFilter(store, f.tenant);
    await checkEventKinds(store, f.kinds ?? []);
    await emitListing(ctx, spec, await eventsListing(store, { ...f, limit: undefined }, spec.limit));
  });
}
