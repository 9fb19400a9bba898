import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { emitListing, pages, type Column, type Listing } from './support/listing.js';
import { c, table } from './support/output.js';
import { parseSince } from '../domain/events.js';
import { UsageError } from '../errors.js';
import { countEvents, eventsPage, listEvents, type EventFilter, type EventView } from '../store/events.js';
import type { Store } from '../store/store.js';

export interface EventsOptions {
  since?: string | undefined;
  kind?: string[] | undefined;
  tenant?: string | undefined;
  account?: string | undefined;
  limit?: string | undefined;
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
  const limit = o.limit === undefined ? 100 : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
    throw new UsageError(`--limit "${o.limit}" → give a whole number from 1 to 1000000`);
  }
  const kinds = (o.kind ?? [])
    .flatMap((k) => k.split(','))
    .map((k) => k.trim())
    .filter(Boolean);
  return { sinceMs, kinds, tenant: o.tenant, account: o.account, limit };
}

export function events(deps: { store: Store }, f: EventFilter): Promise<EventView[]> {
  return listEvents(deps.store, f);
}

const SEV = { critical: c.red, warning: c.yellow, info: (s: string) => s };

export function renderEvents(list: EventView[]): string {
  if (list.length === 0) return 'no events';
  return table(
    ['at', 'severity', 'kind', 'subject', 'tenant', 'message'],
    list.map((e) => [
      e.at.replace(/\.\d{3}Z$/, 'Z'),
      SEV[e.severity](e.severity),
      e.kind,
      e.subject.name ? `${e.subject.type} ${e.subject.name}` : e.subject.type,
      e.tenant,
      e.message,
    ]),
  );
}

const COLUMNS: Column<EventView>[] = [
  { head: 'at', value: (e) => e.at.replace(/\.\d{3}Z$/, 'Z') },
  { head: 'severity', value: (e) => e.severity, style: (t, e) => SEV[e.severity](t) },
  { head: 'kind', value: (e) => e.kind },
  { head: 'subject', value: (e) => (e.subject.name ? `${e.subject.type} ${e.subject.name}` : e.subject.type) },
  { head: 'tenant', value: (e) => e.tenant },
  { head: 'message', value: (e) => e.message },
];

/**
 * `events` as a listing (support/listing.ts): fetched a page at a time on the (at, id) index and
 * written as it comes, so any --limit runs in the memory of one page. Up to 200 rows it is the
 * table renderEvents draws; past that, plain aligned columns. `total` counts the matching events
 * up to --limit (as many as are shown).
 */
export async function eventsListing(store: Store, f: EventFilter, pageSize?: number): Promise<Listing<EventView>> {
  const limit = f.limit ?? null;
  return {
    columns: COLUMNS,
    total: await countEvents(store, f),
    rows: pages<EventView>((last, n) => eventsPage(store, f, last, n), limit, pageSize),
    empty: 'no events',
  };
}

export async function eventsCli(ctx: Ctx, opts: EventsOptions): Promise<void> {
  const f = parseEventsOptions(opts, ctx.clock.now());
  await withStore(ctx, async (store) => {
    await emitListing(
      ctx,
      { limit: f.limit ?? null, format: ctx.config.json ? 'json' : 'table' },
      await eventsListing(store, f),
    );
  });
}
