import { sql, type Kysely } from 'kysely';
import { severityOf, type EventKind, type Severity } from '../domain/events.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** One event as `events --json` prints it and the webhook receives it. */
export interface EventView {
  id: number;
  at: string;
  kind: string;
  severity: Severity;
  subject: { type: string; name: string | null };
  tenant: string | null;
  message: string;
  data: unknown;
}

export interface EventFilter {
  sinceMs?: number | undefined;
  kinds?: string[] | undefined;
  tenant?: string | undefined;
  /** A Telegram session name or an Instagram username (the event's subject). */
  account?: string | undefined;
  ids?: number[] | undefined;
  limit?: number | undefined;
  /** Keyset paging: only events older than this one (newest-first order). */
  before?: { at: number; id: number } | undefined;
}

export interface NewEvent {
  at: number;
  kind: EventKind;
  subject_type: string;
  subject_id: number | null;
  tenant_id: number | null;
  message: string;
  data_json: string | null;
}

/**
 * An event's tenant: its own column, else the tenant of its subject (many writers leave the
 * column empty). Also used by the outbox to route events to a tenant's notify_target.
 */
export const EVENT_TENANT_SQL = sql<number | null>`coalesce(e.tenant_id,
  (select ta.tenant_id from telegram_accounts ta where e.subject_type = 'telegram_account' and ta.id = e.subject_id),
  (select ia.tenant_id from ig_accounts ia where e.subject_type = 'ig_account' and ia.id = e.subject_id),
  (select w.tenant_id from watches w where e.subject_type = 'watch' and w.id = e.subject_id))`;

function parseData(s: string | null): unknown {
  if (s === null) return null;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

/** The query behind `events` (the bench runs its compiled SQL directly to compare). */
export function eventsQuery(store: Store, f: EventFilter) {
  let q = store.db
    .selectFrom('events as e')
    .leftJoin('telegram_accounts as ta', (j) =>
      j.onRef('ta.id', '=', 'e.subject_id').on('e.subject_type', '=', 'telegram_account'),
    )
    .leftJoin('ig_accounts as ia', (j) => j.onRef('ia.id', '=', 'e.subject_id').on('e.subject_type', '=', 'ig_account'))
    .leftJoin('watches as w', (j) => j.onRef('w.id', '=', 'e.subject_id').on('e.subject_type', '=', 'watch'))
    .leftJoin('targets as tg', (j) => j.onRef('tg.id', '=', 'e.subject_id').on('e.subject_type', '=', 'target'))
    // A removed subject (its id is never reused): the name and tenant it had.
    .leftJoin('removed_subjects as rs', (j) =>
      j.onRef('rs.subject_type', '=', 'e.subject_type').onRef('rs.subject_id', '=', 'e.subject_id'),
    )
    .leftJoin('tenants as t', (j) =>
      j.on((eb) =>
        eb(
          't.id',
          '=',
          eb.fn.coalesce(
            'e.tenant_id',
            'ta.tenant_id',
            'ia.tenant_id',
            'w.tenant_id',
            'rs.tenant_id',
          ) as unknown as number,
        ),
      ),
    )
    .leftJoin('removed_subjects as rt', (j) =>
      j
        .on('rt.subject_type', '=', 'tenant')
        .on((eb) =>
          eb(
            'rt.subject_id',
            '=',
            eb.fn.coalesce(
              'e.tenant_id',
              'ta.tenant_id',
              'ia.tenant_id',
              'w.tenant_id',
              'rs.tenant_id',
            ) as unknown as number,
          ),
        ),
    )
    .select([
      'e.id',
      'e.at',
      'e.kind',
      'e.subject_type',
      'e.message',
      'e.data_json',
      sql<string | null>`coalesce(t.name, rt.name, rs.tenant_name)`.as('tenant'),
      sql<string | null>`coalesce(ta.session_name, ia.username, w.username, tg.ref, rs.name)`.as('subject_name'),
    ]);
  if (f.sinceMs !== undefined) q = q.where('e.at', '>=', f.sinceMs);
  if (f.before !== undefined) {
    const b = f.before;
    q = q.where((eb) => eb.or([eb('e.at', '<', b.at), eb.and([eb('e.at', '=', b.at), eb('e.id', '<', b.id)])]));
  }
  if (f.kinds?.length) q = q.where('e.kind', 'in', f.kinds);
  if (f.ids) q = q.where('e.id', 'in', f.ids.length ? f.ids : [-1]);
  if (f.tenant !== undefined) {
    const tenant = f.tenant;
    q = q.where((eb) => eb(sql<string | null>`coalesce(t.name, rt.name, rs.tenant_name)`, '=', tenant));
  }
  if (f.account !== undefined) {
    const name = f.account.replace(/^@/, '');
    q = q.where((eb) =>
      eb.or([
        eb('ta.session_name', '=', name),
        eb('ia.username', '=', name.toLowerCase()),
        eb.and([
          eb('rs.subject_type', 'in', ['telegram_account', 'ig_account']),
          eb('rs.name', 'in', [name, name.toLowerCase()]),
        ]),
      ]),
    );
  }
  // By id: the outbox's look-up of the events it claimed goes by primary key, not through the time index.
  q = f.ids ? q.orderBy('e.id') : q.orderBy('e.at', 'desc').orderBy('e.id', 'desc');
  if (f.limit !== undefined) q = q.limit(f.limit);
  return q;
}

type EventRow = Awaited<ReturnType<ReturnType<typeof eventsQuery>['execute']>>[number];

function eventView(r: EventRow): EventView {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    kind: r.kind,
    severity: severityOf(r.kind),
    subject: { type: r.subject_type, name: r.subject_name },
    tenant: r.tenant,
    message: r.message,
    data: parseData(r.data_json),
  };
}

/**
 * One page of `events`, newest first, after `last` (keyset on the (at, id) index): a listing of
 * any length holds one page in memory.
 */
export async function eventsPage(
  store: Store,
  f: EventFilter,
  last: { at: string; id: number } | null,
  n: number,
): Promise<EventView[]> {
  let q = eventsQuery(store, { ...f, limit: n });
  if (last) {
    const at = Date.parse(last.at);
    // `at <= last` bounds the index range (each page starts where the last ended, not at the top);
    // the OR only sorts out the events that share the last one's time.
    q = q.where('e.at', '<=', at).where((eb) => eb.or([eb('e.at', '<', at), eb('e.id', '<', last.id)]));
  }
  return (await q.execute()).map(eventView);
}

/** Newest first. Walks the (at, id) index from the newest and stops at the limit. */
export async function listEvents(store: Store, f: EventFilter): Promise<EventView[]> {
  const rows = await eventsQuery(store, f).execute();
  return rows.map(eventView);
}

/** How many events match (for `total` and "showing N of M"): a COUNT, no rows fetched. */
export async function countEvents(store: Store, f: EventFilter): Promise<number> {
  const inner = eventsQuery(store, { ...f, limit: undefined, before: undefined })
    .clearSelect()
    .clearOrderBy()
    .select('e.id');
  const r = await store.db
    .selectFrom(inner.as('x'))
    .select(sql<number | string>`count(*)`.as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertEvent(tx: Kysely<Database>, e: NewEvent): Promise<number> {
  return (await tx.insertInto('events').values(e).returning('id').executeTakeFirstOrThrow()).id;
}

/**
 * Alert a condition once while it lasts: the first caller that opens `key` writes the event;
 * later callers (this run or another, concurrently) find it open and write nothing. Run inside
 * a write transaction. Returns the new event's id, or null when it was already open.
 */
export async function raiseAlert(tx: Kysely<Database>, key: string, e: NewEvent): Promise<number | null> {
  const ins = await tx
    .insertInto('open_alerts')
    .values({ alert_key: key, event_id: null, opened_at: e.at })
    .onConflict((oc) => oc.column('alert_key').doNothing())
    .executeTakeFirst();
  if (Number(ins.numInsertedOrUpdatedRows ?? 0n) === 0) return null;
  const id = await insertEvent(tx, e);
  await tx.updateTable('open_alerts').set({ event_id: id }).where('alert_key', '=', key).execute();
  return id;
}

/** Close the alerts under `prefix` whose condition no longer holds, so a new episode alerts again. */
export async function resolveAlerts(tx: Kysely<Database>, prefix: string, stillOpen: Set<string>): Promise<number> {
  const open = await tx
    .selectFrom('open_alerts')
    .select('alert_key')
    .where('alert_key', 'like', `${prefix}%`)
    .execute();
  const gone = open.map((o) => o.alert_key).filter((k) => !stillOpen.has(k));
  for (let i = 0; i < gone.length; i += 500) {
    await tx
      .deleteFrom('open_alerts')
      .where('alert_key', 'in', gone.slice(i, i + 500))
      .execute();
  }
  return gone.length;
}

/** An event about one Telegram account (`data` stored as JSON). */
export async function accountEvent(
  tx: Kysely<Database>,
  now: number,
  accountId: number,
  tenantId: number | null,
  kind: EventKind,
  message: string,
  data: unknown,
): Promise<void> {
  await insertEvent(tx, {
    at: now,
    kind,
    subject_type: 'telegram_account',
    subject_id: accountId,
    tenant_id: tenantId,
    message,
    data_json: JSON.stringify(data),
  });
}
