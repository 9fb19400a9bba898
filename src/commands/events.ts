import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { c, table } from './support/output.js';
import { parseSince } from '../domain/events.js';
import { UsageError } from '../errors.js';
import { listEvents, type EventFilter, type EventView } from '../store/events.js';
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

export async function eventsCli(ctx: Ctx, opts: EventsOptions): Promise<void> {
  const f = parseEventsOptions(opts, ctx.clock.now());
  await withStore(ctx, async (store) => ctx.emit(await events({ store }, f), renderEvents));
}
