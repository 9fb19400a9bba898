import { sql, type RawBuilder } from 'kysely';
import { EVENT_SEVERITY, kindsAtLeast, type Severity } from '../domain/events.js';
import { EVENT_TENANT_SQL } from './events.js';
import type { Store } from './store.js';

/** The outbox: one row per event and sink; claimed like a lease; delivered once. */
export const DELIVERY_LEASE_MS = 2 * 60_000;
/** After this many failed attempts a delivery is given up (status `dead`, shown by status/doctor). */
export const MAX_ATTEMPTS = 20;
/** Events newer than the last scan minus this margin are looked at again (late commits). */
const SCAN_MARGIN_MS = 10 * 60_000;
/** The first scan of a store looks back this far. */
const FIRST_SCAN_MS = 24 * 3_600_000;
/** However long notify did not run (or no sink was configured), never send older alerts than this. */
const MAX_LOOKBACK_MS = 7 * 24 * 3_600_000;
const SCANNED_AT = 'notify.scanned_at';

export function backoffMs(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 6 * 3_600_000);
}

function severityFilter(min: Severity): RawBuilder<boolean> {
  const { known, unknownToo } = kindsAtLeast(min);
  const inKnown = known.length ? sql`e.kind in (${sql.join(known)})` : sql`1 = 0`;
  if (!unknownToo) return sql<boolean>`(${inKnown})`;
  return sql<boolean>`(${inKnown} or e.kind not in (${sql.join(Object.keys(EVENT_SEVERITY))}))`;
}

/**
 * Create the deliveries for events written since the last scan: every alert-worthy event for
 * each global sink, and each tenant's events for its notify_target (sink `tenant:<id>`).
 * Idempotent: concurrent or repeated scans insert nothing twice.
 */
export async function enqueueDeliveries(
  store: Store,
  opts: { now: number; minSeverity: Severity; globalSinks: string[]; tenantSinks: boolean },
): Promise<number> {
  const { now } = opts;
  const last = await store.db.selectFrom('settings').select('value').where('name', '=', SCANNED_AT).executeTakeFirst();
  const from = Math.max(last ? Number(last.value) : now - FIRST_SCAN_MS, now - MAX_LOOKBACK_MS) - SCAN_MARGIN_MS;
  const sev = severityFilter(opts.minSeverity);
  let n = 0;
  for (const sink of opts.globalSinks) {
    const r = await sql`insert into deliveries (event_id, sink, status, attempts, next_attempt_at, created_at)
      select e.id, ${sink}, 'pending', 0, ${now}, ${now} from events e
      where e.at >= ${from} and ${sev}
      on conflict (event_id, sink) do nothing`.execute(store.db);
    n += Number(r.numAffectedRows ?? 0n);
  }
  if (opts.tenantSinks) {
    const r = await sql`insert into deliveries (event_id, sink, status, attempts, next_attempt_at, created_at)
      select x.id, 'tenant:' || cast(t.id as text), 'pending', 0, ${now}, ${now}
      from (select e.id, ${EVENT_TENANT_SQL} as tenant_id from events e where e.at >= ${from} and ${sev}) x
      join tenants t on t.id = x.tenant_id
      where t.notify_target is not null and t.notify_target <> ''
      on conflict (event_id, sink) do nothing`.execute(store.db);
    n += Number(r.numAffectedRows ?? 0n);
  }
  await store.db
    .insertInto('settings')
    .values({ name: SCANNED_AT, value: String(now) })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: String(now) }))
    .execute();
  return n;
}

export interface ClaimedDelivery {
  id: number;
  event_id: number;
  sink: string;
  attempts: number;
}

/**
 * Claim up to `limit` due deliveries of these sinks in one atomic statement (`now` from the
 * clock; Postgres skips rows another run is claiming): two runs never hold the same delivery.
 */
export async function claimDeliveries(
  store: Store,
  opts: { holder: string; now: number; sinks: string[]; limit: number },
): Promise<ClaimedDelivery[]> {
  if (opts.sinks.length === 0) return [];
  const { now } = opts;
  const r = await sql<ClaimedDelivery>`update deliveries
    set lease_holder = ${opts.holder}, lease_expires_at = ${now + DELIVERY_LEASE_MS}, attempts = attempts + 1
    where id in (select id from deliveries
      where status = 'pending' and next_attempt_at <= ${now} and sink in (${sql.join(opts.sinks)})
        and (lease_expires_at is null or lease_expires_at <= ${now})
      order by next_attempt_at, id limit ${opts.limit} ${sql.raw(store.caps.claimLock)})
    returning id, event_id, sink, attempts`.execute(store.db);
  return r.rows.map((x) => ({ id: Number(x.id), event_id: Number(x.event_id), sink: x.sink, attempts: x.attempts }));
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

export async function markFailed(
  store: Store,
  holder: string,
  claimed: ClaimedDelivery[],
  error: string,
  now: number,
  retryAfterMs?: number,
): Promise<void> {
  for (const d of claimed) {
    await store.db
      .updateTable('deliveries')
      .set({
        status: d.attempts >= MAX_ATTEMPTS ? 'dead' : 'pending',
        next_attempt_at: now + Math.max(backoffMs(d.attempts), retryAfterMs ?? 0),
        lease_holder: null,
        lease_expires_at: null,
        last_error: error.slice(0, 500),
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
      lastError: last?.last_error ?? null,
      nextAttemptAt: r.next_at === null ? null : Number(r.next_at),
    });
  }
  return out;
}
