import { sql, type RawBuilder } from 'kysely';
import { EVENT_SEVERITY, kindsAtLeast, type Severity } from '../domain/events.js';
import { scrubStoredError } from '../domain/text.js';
import { EVENT_TENANT_SQL } from './events.js';
import type { Store } from './store.js';

/**
 * The outbox: one row per event and sink; claimed like a lease (renewed while the run works);
 * delivered once. A claim covers one send: a crash repeats at most the sends in flight.
 */
export const DELIVERY_LEASE_MS = 2 * 60_000;
/** After this many failed attempts of its own a delivery is given up (status `dead`, shown by status/doctor). */
export const MAX_ATTEMPTS = 20;
/** Events newer than the sink's last scan minus this margin are looked at again (late commits). */
const SCAN_MARGIN_MS = 10 * 60_000;
/** The first scan for a sink looks back this far. */
const FIRST_SCAN_MS = 24 * 3_600_000;
/** However long notify did not run (or no sink was configured), never send older alerts than this. */
const MAX_LOOKBACK_MS = 7 * 24 * 3_600_000;
/** Each sink keeps its own progress: `notify.scanned_at:<sink key>` in settings. */
const SCANNED_AT = 'notify.scanned_at:';

/** The one place a tenant's sink key is made and read (its id: ids are never reused). */
export function tenantSinkKey(tenantId: number): string {
  return `tenant:${tenantId}`;
}
export function tenantIdOfSink(sink: string): number | undefined {
  const m = /^tenant:(\d+)$/.exec(sink);
  return m ? Number(m[1]) : undefined;
}

export function backoffMs(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 6 * 3_600_000);
}

function severityFilter(min: Severity): RawBuilder<boolean> {
  const { known, unknownToo } = kindsAtLeast(min);
  const inKnown = known.length ? sql`e.kind in (${sql.join(known)})` : sql`1 = 0`;
  if (!unknownToo) return sql<boolean>`(${inKnown})`;
  return sql<boolean>`(${inKnown} or e.kind not in (${sql.join(Object.keys(EVENT_SEVERITY))}))`;
}

/** A sink this run delivers to: global (`webhook`, `telegram`) or one tenant's target. */
export interface SinkScan {
  key: string;
  minSeverity: Severity;
  /** A tenant's sink gets that tenant's events only. */
  tenantId?: number | undefined;
}

/**
 * Create the deliveries for events written since each sink's own last scan: every alert-worthy
 * event for a global sink, a tenant's own events for its target. Each sink's marker moves only
 * when this run scanned for it, so a run that knows fewer sinks never makes another miss events.
 * Idempotent: concurrent or repeated scans insert nothing twice.
 */
export async function enqueueDeliveries(store: Store, opts: { now: number; sinks: SinkScan[] }): Promise<number> {
  const { now } = opts;
  if (opts.sinks.length === 0) return 0;
  const marks = new Map(
    (
      await store.db
        .selectFrom('settings')
        .select(['name', 'value'])
        .where(
          'name',
          'in',
          opts.sinks.map((s) => SCANNED_AT + s.key),
        )
        .execute()
    ).map((r) => [r.name, Number(r.value)]),
  );
  let n = 0;
  for (const sink of opts.sinks) {
    const last = marks.get(SCANNED_AT + sink.key);
    const from = Math.max(last ?? now - FIRST_SCAN_MS, now - MAX_LOOKBACK_MS) - SCAN_MARGIN_MS;
    const sev = severityFilter(sink.minSeverity);
    const r =
      sink.tenantId === undefined
        ? await sql`insert into deliveries (event_id, sink, status, attempts, next_attempt_at, created_at)
      select e.id, ${sink.key}, 'pending', 0, ${now}, ${now} from events e
      where e.at >= ${from} and ${sev}
      on conflict (event_id, sink) do nothing`.execute(store.db)
        : await sql`insert into deliveries (event_id, sink, status, attempts, next_attempt_at, created_at)
      select e.id, ${sink.key}, 'pending', 0, ${now}, ${now} from events e
      where e.at >= ${from} and ${sev} and ${EVENT_TENANT_SQL} = ${sink.tenantId}
      on conflict (event_id, sink) do nothing`.execute(store.db);
    n += Number(r.numAffectedRows ?? 0n);
    await store.db
      .insertInto('settings')
      .values({ name: SCANNED_AT + sink.key, value: String(now) })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: String(now) }))
      .execute();
  }
  return n;
}

export interface ClaimedDelivery {
  id: number;
  event_id: number;
  sink: string;
  /** Failed attempts so far (a claim is not an attempt; only a send that failed counts). */
  attempts: number;
}

/**
 * Claim up to `limit` due deliveries of one sink in one atomic statement (`now` from the
 * clock; Postgres skips rows another run is claiming): two runs never hold the same delivery.
 */
export async function claimDeliveries(
  store: Store,
  opts: { holder: string; now: number; sink: string; limit: number; leaseMs?: number },
): Promise<ClaimedDelivery[]> {
  const { now } = opts;
  const lease = opts.leaseMs ?? DELIVERY_LEASE_MS;
  const r = await sql<ClaimedDelivery>`update deliveries
    set lease_holder = ${opts.holder}, lease_expires_at = ${now + lease}
    where id in (select id from deliveries
      where status = 'pending' and next_attempt_at <= ${now} and sink = ${opts.sink}
        and (lease_expires_at is null or lease_expires_at <= ${now})
      order by next_attempt_at, id limit ${opts.limit} ${sql.raw(store.caps.claimLock)})
    returning id, event_id, sink, attempts`.execute(store.db);
  return r.rows
    .map((x) => ({ id: Number(x.id), event_id: Number(x.event_id), sink: x.sink, attempts: Number(x.attempts) }))
    .sort((a, b) => a.id - b.id);
}

/** Extend every claim this holder still has (a run renews while it works). Returns how many. */
export async function renewClaims(
  store: Store,
  holder: string,
  now: number,
  leaseMs = DELIVERY_LEASE_MS,
): Promise<number> {
  const r = await store.db
    .updateTable('deliveries')
    .set({ lease_expires_at: now + leaseMs })
    .where('lease_holder', '=', holder)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Give back claims that were not sent (budget spent, sink down): no attempt is counted. */
export async function releaseClaims(store: Store, holder: string, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await store.db
      .updateTable('deliveries')
      .set({ lease_holder: null, lease_expires_at: null })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('lease_holder', '=', holder)
      .where('status', '=', 'pending')
      .execute();
  }
}

/** Only the holder's claims change (a claim that expired and was taken over is left alone). */
export async function markDelivered(store: Store, holder: string, ids: number[], now: number): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await store.db
      .updateTable('deliveries')
      .set({ status: 'delivered', delivered_at: now, lease_holder: null, lease_expires_at: null, last_error: null })
      .where('id', 'in', ids.slice(i, i + 500))
      .where('lease_holder', '=', holder)
      .execute();
  }
}

/**
 * These deliveries were sent and failed: each counts one attempt of its own and backs off on its
 * own; `dead` after MAX_ATTEMPTS. The error is stored scrubbed (secrets, control bytes).
 */
export async function markFailed(
  store: Store,
  holder: string,
  claimed: ClaimedDelivery[],
  error: string,
  now: number,
  retryAfterMs?: number,
): Promise<void> {
  const stored = scrubStoredError(error);
  for (const d of claimed) {
    const attempts = d.attempts + 1;
    await store.db
      .updateTable('deliveries')
      .set({
        status: attempts >= MAX_ATTEMPTS ? 'dead' : 'pending',
        attempts,
        next_attempt_at: now + Math.max(backoffMs(attempts), retryAfterMs ?? 0),
        lease_holder: null,
        lease_expires_at: null,
        last_error: stored,
      })
      .where('id', '=', d.id)
      .where('lease_holder', '=', holder)
      .execute();
  }
}

export interface SinkHealth {
  sink: string;
  pending: number;
  /** Pending deliveries that failed at least once. */
  failing: number;
  dead: number;
  oldestPendingAt: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
}

/** Sinks with undelivered events (status and doctor report these). */
export async function sinkHealth(store: Store): Promise<SinkHealth[]> {
  const rows = await store.db
    .selectFrom('deliveries')
    .select([
      'sink',
      sql<number>`sum(case when status = 'pending' then 1 else 0 end)`.as('pending'),
      sql<number>`sum(case when status = 'pending' and last_error is not null then 1 else 0 end)`.as('failing'),
      sql<number>`sum(case when status = 'dead' then 1 else 0 end)`.as('dead'),
      sql<number | null>`min(case when status = 'pending' then created_at end)`.as('oldest'),
      sql<number | null>`min(case when status = 'pending' then next_attempt_at end)`.as('next_at'),
      sql<number>`max(id)`.as('max_id'),
    ])
    .where('status', 'in', ['pending', 'dead'])
    .groupBy('sink')
    .orderBy('sink')
    .execute();
  const out: SinkHealth[] = [];
  for (const r of rows) {
    const last = await store.db
      .selectFrom('deliveries')
      .select('last_error')
      .where('sink', '=', r.sink)
      .where('status', 'in', ['pending', 'dead'])
      .where('last_error', 'is not', null)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    out.push({
      sink: r.sink,
      pending: Number(r.pending),
      failing: Number(r.failing),
      dead: Number(r.dead),
      oldestPendingAt: r.oldest === null ? null : Number(r.oldest),
      lastError: last?.last_error == null ? null : scrubStoredError(last.last_error),
      nextAttemptAt: r.next_at === null ? null : Number(r.next_at),
    });
  }
  return out;
}
