import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { AccountState } from '../domain/accountStates.js';
import type { ActionRecord } from '../domain/limits.js';
import type { DialectCaps } from './dialects.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/**
 * The account manager's repository: leases, their limit inputs (the action log), error reports,
 * recover and reset-limits. The hot path (read candidates, claim, release) is a handful of fixed
 * SQL texts, held as prepared statements; `leaseStatements` exports them so a benchmark can run
 * the very same statements on a bare driver.
 */

/** A transaction (or the database) that work done with a release or an error report runs in. */
export type StoreTx = Kysely<Database>;

/** One fixed SQL text in the dialect's parameter style, and the names of its values in order. */
export interface HeldSql {
  readonly text: string;
  readonly order: readonly string[];
}

/** Values of a statement by name, in the order its text wants them. */
export function bind(stmt: HeldSql, values: Readonly<Record<string, unknown>>): unknown[] {
  return stmt.order.map((n) => {
    const v = values[n];
    if (v === undefined) throw new Error(`bug: no value for :${n}`);
    return v;
  });
}

/** `:name` markers → `?` (one value each) or `$n` (numbered, reused). */
function compile(caps: DialectCaps, src: string): HeldSql {
  const order: string[] = [];
  const text = src.replace(/(?<![:\w]):([a-zA-Z_]\w*)/g, (_m, name: string) => {
    if (!caps.numberedParams) {
      order.push(name);
      return '?';
    }
    let i = order.indexOf(name);
    if (i < 0) i = order.push(name) - 1;
    return `$${i + 1}`;
  });
  return { text: text.replace(/\s+/g, ' ').trim(), order };
}

/** Accounts per candidate page; a claim names at most this many (id, fence) pairs. */
export const CANDIDATE_PAGE = 16;

/** What varies in a lease's statements (each variant is its own held text). */
export interface LeaseShape {
  /** One of the four actions, `parsing`, or a declared action: only `join` changes the text. */
  action: string;
  tenant: boolean;
  account: boolean;
  exclude: boolean;
  /** Joins spaced per proxy (pacing on): checked in the claim itself. */
  proxy?: boolean | undefined;
}

/** Values of the lease statements (the `:names` in their text). */
export interface EligibleValues {
  now: number;
  action: string;
  tenantId: number | null;
  accountId?: number | undefined;
  excludeIds?: readonly number[] | undefined;
  /** Per-proxy spacing of joins (pacing on): at most `perHour` an hour and `gapMs` apart per proxy. */
  proxy?: { perHour: number; gapMs: number } | undefined;
}

/** Successful joins through the account's proxy (by any account now on it) since `since`. */
const proxyJoins = (since: string) => `select 1 from action_log l join telegram_accounts b on b.id = l.account_id
      where b.proxy_id = a.proxy_id and l.action = 'join' and l.ok = 1 and l.at > ${since}`;

/**
 * Per-proxy spacing, true when a join through the account's proxy may start at :now: no other
 * account on it holds a live join lease, none joined within the gap, fewer than the hourly cap in
 * the last hour. Part of the claim statement, so accounts that share an exit IP cannot be leased
 * for joins together.
 */
function proxySql(): string {
  return `(a.proxy_id is null or (
      not exists (select 1 from telegram_accounts b where b.proxy_id = a.proxy_id and b.id <> a.id
        and b.lease_holder is not null and b.lease_action = 'join' and b.lease_expires_at > :now)
      and not exists (${proxyJoins(':proxyGapSince')})
      and (select count(*) from (${proxyJoins(':proxyHourSince')}) ph) < :proxyPerHour))`;
}

/** SQL true for an account that may be leased for the shape's action at `:now`. */
function eligibleSql(caps: DialectCaps, s: LeaseShape): string {
  return `a.enabled = 1
    and (a.state = 'active' or (a.state in ('flood_wait', 'cooldown', 'blocked') and a.state_until <= :now))
    and (a.lease_holder is null or a.lease_expires_at <= :now)
    and (a.next_action_at is null or a.next_action_at <= :now)
    and a.proxy_removed_at is null
    and (a.proxy_id is null or exists (select 1 from proxies p where p.id = a.proxy_id and p.healthy = 1))
    ${s.action === 'join' ? 'and a.channels_full = 0' : ''}
    ${s.tenant ? 'and a.tenant_id = :tenantId' : ''}
    ${s.account ? 'and a.id = :accountId' : ''}
    ${s.exclude ? `and a.id not in (${caps.listSelect(':excludeIds', 'bigint')})` : ''}`;
}

export interface LeaseStatements {
  /** A page of eligible accounts (least recently used first) with their limits and history rows. */
  candidates: HeldSql;
  /** Take the least recently used of the named (id, fence) pairs that is still eligible. */
  claim: HeldSql;
  /** End a lease still held; returns what it was for. */
  release: HeldSql;
  /** The action-log rows of a release (SQLite; on Postgres they are part of `release`). */
  releaseLog: HeldSql | null;
}

const statementCache = new Map<string, LeaseStatements>();

/** The statements lease and release run for a shape, in the dialect's text. */
export function leaseStatements(caps: DialectCaps, shape: LeaseShape): LeaseStatements {
  const proxy = shape.action === 'join' && shape.proxy === true;
  const key = `${caps.name}:${shape.action === 'join' ? 'join' : 'other'}:${+shape.tenant}${+shape.account}${+shape.exclude}${+proxy}`;
  const hit = statementCache.get(key);
  if (hit) return hit;
  const eligible = eligibleSql(caps, shape);
  const seen = Array.from({ length: CANDIDATE_PAGE }, (_, i) => `(a.id = :id${i} and a.fence = :fence${i})`).join(
    ' or ',
  );
  const update = `update telegram_accounts set lease_holder = null, lease_token = null, lease_expires_at = null,
      fence = fence + 1, updated_at = :now,
      last_used_at = case when :used = 1 then :now else last_used_at end
    where id = :id and lease_token = :fence and lease_expires_at > :now
    returning id, session_name, lease_action, lease_channel`;
  const logRows = (from: string) => `insert into action_log (account_id, action, channel, at, ok)
    select r.id, u.value, case when u.value = r.lease_action then r.lease_channel end, :now, 1
    from ${from} cross join (${caps.listSelect(':actions', 'text')}) u`;
  const out: LeaseStatements = {
    // The history join reads the candidates' limit inputs in the same statement (and snapshot).
    candidates: compile(
      caps,
      `select c.id, c.session_name, c.fence, c.limits_json, c.tenant_limits, c.timezone, c.new_since,
        ${proxy ? 'c.proxy_last, c.proxy_hour, c.proxy_hour_first, c.proxy_busy' : 'null as proxy_last, 0 as proxy_hour, null as proxy_hour_first, 0 as proxy_busy'},
        l.at, l.ok, l.channel
      from (
        select a.id, a.session_name, a.fence, a.lru_at, a.limits_json, t.limits_json as tenant_limits,
          coalesce(a.timezone, t.timezone) as timezone, a.new_since
          ${
            proxy
              ? `, (select max(l.at) from action_log l join telegram_accounts b on b.id = l.account_id
                  where b.proxy_id = a.proxy_id and l.action = 'join' and l.ok = 1 and l.at > :proxyHourSince) as proxy_last,
                (select count(*) from (${proxyJoins(':proxyHourSince')}) ph) as proxy_hour,
                (select min(l.at) from action_log l join telegram_accounts b on b.id = l.account_id
                  where b.proxy_id = a.proxy_id and l.action = 'join' and l.ok = 1 and l.at > :proxyHourSince) as proxy_hour_first,
                (select count(*) from telegram_accounts b where b.proxy_id = a.proxy_id and b.id <> a.id
                  and b.lease_holder is not null and b.lease_action = 'join' and b.lease_expires_at > :now) as proxy_busy`
              : ''
          }
        from telegram_accounts a left join tenants t on t.id = a.tenant_id
        where ${eligible}
        order by a.lru_at, a.id limit :limit offset :offset
      ) c left join action_log l on l.account_id = c.id and l.action = :action and l.at >= :since
      order by c.lru_at, c.id`,
    ),
    claim: compile(
      caps,
      `update telegram_accounts set
        lease_holder = :holder, lease_token = fence + 1, fence = fence + 1,
        lease_expires_at = :expiresAt, lease_action = :action, lease_channel = :channel,
        lru_at = :now, updated_at = :now, state = 'active', state_until = null,
        lease_count = lease_count + 1
      where id = (
        select a.id from telegram_accounts a
        where (${seen}) and ${eligible} ${proxy ? `and ${proxySql()}` : ''}
        order by a.lru_at, a.id limit 1 ${caps.claimLock}
      )
      returning id, session_name, lease_token, lease_expires_at`,
    ),
    // Postgres: the update and its action-log rows in one statement; SQLite: two, in one transaction.
    release: compile(caps, caps.writableCte ? `with r as (${update}), l as (${logRows('r')}) select * from r` : update),
    releaseLog: caps.writableCte
      ? null
      : compile(caps, logRows('(select :id as id, :leaseAction as lease_action, :leaseChannel as lease_channel) r')),
  };
  statementCache.set(key, out);
  return out;
}

export function shapeOf(v: EligibleValues): LeaseShape {
  return {
    action: v.action,
    tenant: v.tenantId !== null,
    account: v.accountId !== undefined,
    exclude: (v.excludeIds?.length ?? 0) > 0,
    proxy: v.action === 'join' && v.proxy !== undefined,
  };
}

function eligibleValues(caps: DialectCaps, v: EligibleValues): Record<string, unknown> {
  return {
    now: v.now,
    tenantId: v.tenantId,
    accountId: v.accountId,
    excludeIds: v.excludeIds?.length ? caps.listParam(v.excludeIds) : undefined,
    ...(v.proxy
      ? {
          proxyGapSince: v.now - v.proxy.gapMs,
          proxyHourSince: v.now - 3_600_000,
          proxyPerHour: v.proxy.perHour,
        }
      : {}),
  };
}

export interface Candidate {
  id: number;
  account: string;
  fence: number;
  limitsJson: string | null;
  tenantLimits: string | null;
  /** Its time zone (its own, else its tenant's; null: the fleet's). */
  timeZone: string | null;
  newSince: number | null;
  /** Joins through its proxy in the last hour (pacing on): the latest, how many, the earliest; live join leases of others on it. */
  proxy: { last: number | null; hour: number; hourFirst: number | null; busy: number };
  /** This action's log since `since`. */
  history: ActionRecord[];
}

interface CandidateRow {
  id: number;
  session_name: string;
  fence: number;
  limits_json: string | null;
  tenant_limits: string | null;
  timezone: string | null;
  new_since: number | string | null;
  proxy_last: number | string | null;
  proxy_hour: number | string | null;
  proxy_hour_first: number | string | null;
  proxy_busy: number | string | null;
  at: number | null;
  ok: number | null;
  channel: string | null;
}

/** Eligible accounts in lease order (a page), each with its limits and its history of `action` since `since`. */
export async function leaseCandidates(
  store: Store,
  v: EligibleValues & { since: number; limit: number; offset: number },
): Promise<Candidate[]> {
  const st = leaseStatements(store.caps, shapeOf(v));
  const rows = await store.held.query<CandidateRow>(
    st.candidates.text,
    bind(st.candidates, {
      ...eligibleValues(store.caps, v),
      action: v.action,
      since: v.since,
      limit: v.limit,
      offset: v.offset,
    }),
  );
  const out: Candidate[] = [];
  let last: Candidate | undefined;
  for (const r of rows) {
    if (last?.id !== r.id) {
      out.push(
        (last = {
          id: r.id,
          account: r.session_name,
          fence: r.fence,
          limitsJson: r.limits_json,
          tenantLimits: r.tenant_limits,
          timeZone: r.timezone,
          newSince: r.new_since === null ? null : Number(r.new_since),
          proxy: {
            last: r.proxy_last === null ? null : Number(r.proxy_last),
            hour: Number(r.proxy_hour ?? 0),
            hourFirst: r.proxy_hour_first === null ? null : Number(r.proxy_hour_first),
            busy: Number(r.proxy_busy ?? 0),
          },
          history: [],
        }),
      );
    }
    if (r.at !== null) last.history.push({ at: r.at, ok: r.ok === 1, channel: r.channel });
  }
  return out;
}

export interface ClaimedRow {
  id: number;
  session_name: string;
  lease_token: number;
  lease_expires_at: number;
}

/** One statement: lease the least recently used of `seen` (id and fence as read) that is still eligible. */
export async function claimLease(
  store: Store,
  v: EligibleValues & {
    seen: readonly { id: number; fence: number }[];
    holder: string;
    expiresAt: number;
    channel: string | null;
  },
): Promise<ClaimedRow | null> {
  if (v.seen.length > CANDIDATE_PAGE) throw new Error(`bug: a claim names at most ${CANDIDATE_PAGE} accounts`);
  const st = leaseStatements(store.caps, shapeOf(v));
  const values: Record<string, unknown> = {
    ...eligibleValues(store.caps, v),
    holder: v.holder,
    expiresAt: v.expiresAt,
    action: v.action,
    channel: v.channel,
  };
  for (let i = 0; i < CANDIDATE_PAGE; i++) {
    values[`id${i}`] = v.seen[i]?.id ?? null;
    values[`fence${i}`] = v.seen[i]?.fence ?? null;
  }
  const rows = await store.held.query<ClaimedRow>(st.claim.text, bind(st.claim, values));
  return rows[0] ?? null;
}

export interface ReleasedRow {
  id: number;
  session_name: string;
  lease_action: string | null;
  lease_channel: string | null;
}

/** The actions recorded by a release, one entry per action done (`{ invite: 2 }` → invite, invite). */
export function usedList(used: Partial<Record<string, number>>): string[] {
  return (Object.entries(used) as [string, number][]).flatMap(([a, n]) => Array.from({ length: n }, () => a));
}

type Run = <R>(text: string, params: readonly unknown[]) => Promise<R[]>;

async function releaseWith(
  run: Run,
  caps: DialectCaps,
  v: { id: number; fence: number; now: number; used: Partial<Record<string, number>> },
): Promise<ReleasedRow | null> {
  const st = leaseStatements(caps, { action: 'message', tenant: false, account: false, exclude: false, proxy: false });
  const actions = usedList(v.used);
  const values = {
    id: v.id,
    fence: v.fence,
    now: v.now,
    used: Object.keys(v.used).length ? 1 : 0,
    actions: caps.listParam(actions),
  };
  const row = (await run<ReleasedRow>(st.release.text, bind(st.release, values)))[0];
  if (!row || !st.releaseLog || actions.length === 0) return row ?? null;
  await run(
    st.releaseLog.text,
    bind(st.releaseLog, { ...values, leaseAction: row.lease_action, leaseChannel: row.lease_channel }),
  );
  return row;
}

/**
 * End a lease still held (id and fence) and log what was done with it, atomically: one
 * statement on Postgres, one write transaction on SQLite. null: the lease is no longer held.
 */
export function releaseLease(
  store: Store,
  v: { id: number; fence: number; now: () => number; used: Partial<Record<string, number>> },
): Promise<ReleasedRow | null> {
  if (store.caps.writableCte) return releaseWith((t, p) => store.held.query(t, p), store.caps, { ...v, now: v.now() });
  // "now" is read once the write lock is ours, as in every write transaction.
  return store.held.writeTx((run) => releaseWith(run, store.caps, { ...v, now: v.now() }));
}

/** The same release inside a transaction the caller holds (work of its own follows in it). */
export function releaseLeaseInTx(
  tx: StoreTx,
  caps: DialectCaps,
  v: { id: number; fence: number; now: number; used: Partial<Record<string, number>> },
): Promise<ReleasedRow | null> {
  const run: Run = async <R>(text: string, params: readonly unknown[]) =>
    (await tx.executeQuery<R>(CompiledQuery.raw(text, [...params]))).rows as R[];
  return releaseWith(run, caps, v);
}

// ---- the rest: cold paths, through Kysely.

/** The account a group is bound to (joined, or join request pending), by the group's target key. */
export async function boundAccount(
  db: StoreTx,
  ref: string,
): Promise<{ accountId: number; account: string; status: string; warmupEndsAt: number | null } | null> {
  const t = await db
    .selectFrom('targets as t')
    .innerJoin('telegram_accounts as a', 'a.id', 't.account_id')
    .select(['t.account_id', 'a.session_name', 't.status', 't.warmup_ends_at'])
    .where('t.ref', '=', ref)
    .where('t.status', 'in', ['joined', 'pending_approval'])
    .executeTakeFirst();
  return t
    ? { accountId: t.account_id!, account: t.session_name, status: t.status, warmupEndsAt: t.warmup_ends_at }
    : null;
}

/** The earliest end of a timed state, a lease or a pause among accounts that could serve `action`. */
export async function nextStateChangeAt(
  db: StoreTx,
  v: { now: number; action: string; tenantId: number | null; accountId?: number | undefined },
): Promise<number | null> {
  const { now } = v;
  const r = await sql<{ t: number | null }>`
      select min(t) as t from (
        select case
          when a.state in ('flood_wait', 'cooldown', 'blocked') and a.state_until > ${now} then a.state_until
          when a.lease_holder is not null and a.lease_expires_at > ${now} then a.lease_expires_at
          when a.next_action_at > ${now} then a.next_action_at
          else null end as t
        from telegram_accounts a
        where a.enabled = 1 and a.state not in ('frozen', 'disabled', 'banned')
          ${v.action === 'join' ? sql`and a.channels_full = 0` : sql``}
          ${v.tenantId === null ? sql`` : sql`and a.tenant_id = ${v.tenantId}`}
          ${v.accountId === undefined ? sql`` : sql`and a.id = ${v.accountId}`}
      ) x`.execute(db);
  return r.rows[0]?.t ?? null;
}

export interface RenewedRow {
  session_name: string;
  lease_expires_at: number | null;
}

export async function renewLease(
  db: StoreTx,
  v: { id: number; fence: number; now: number; expiresAt: number },
): Promise<RenewedRow | null> {
  const r = await db
    .updateTable('telegram_accounts')
    .set({ lease_expires_at: v.expiresAt, updated_at: v.now })
    .where('id', '=', v.id)
    .where('lease_token', '=', v.fence)
    .where('lease_expires_at', '>', v.now)
    .returning(['session_name', 'lease_expires_at'])
    .executeTakeFirst();
  return r ?? null;
}

export interface HeldRow {
  id: number;
  session_name: string;
  state: AccountState;
  state_until: number | null;
  lease_action: string | null;
  lease_channel: string | null;
  error_count: number;
  limits_json: string | null;
  tenant_limits: string | null;
}

/** Lock the leased row (still ours, not expired) inside a write transaction, with its limits. */
export async function lockHeldLease(
  tx: StoreTx,
  caps: DialectCaps,
  v: { id: number; fence: number; now: number },
): Promise<HeldRow | null> {
  const r = await sql<HeldRow>`select a.id, a.session_name, a.state, a.state_until, a.lease_action, a.lease_channel,
        a.error_count, a.limits_json, t.limits_json as tenant_limits
      from telegram_accounts a left join tenants t on t.id = a.tenant_id
      where a.id = ${v.id} and a.lease_token = ${v.fence} and a.lease_expires_at > ${v.now}
      ${sql.raw(caps.forUpdate === '' ? '' : `${caps.forUpdate} OF a`)}`.execute(tx);
  return r.rows[0] ?? null;
}

/**
 * The account a token was issued by, whatever became of its lease: the token's fence is one the
 * account has reached (fences only grow, ids are never reused). Locked like a held lease; the
 * lease's action and channel are not known any more (null).
 */
export async function lockTokenAccount(
  tx: StoreTx,
  caps: DialectCaps,
  v: { id: number; fence: number },
): Promise<HeldRow | null> {
  const r = await sql<HeldRow>`select a.id, a.session_name, a.state, a.state_until, null as lease_action,
        null as lease_channel, a.error_count, a.limits_json, t.limits_json as tenant_limits
      from telegram_accounts a left join tenants t on t.id = a.tenant_id
      where a.id = ${v.id} and a.fence >= ${v.fence} and ${v.fence} > 0
      ${sql.raw(caps.forUpdate === '' ? '' : `${caps.forUpdate} OF a`)}`.execute(tx);
  return r.rows[0] ?? null;
}

/** Everything an error report writes: the failed attempt, the error, the account's new state, its event. */
export async function writeErrorReport(
  tx: StoreTx,
  v: {
    now: number;
    row: HeldRow;
    /** Reported after the lease ended: the account's lease (anyone's now) is left as it is. */
    late?: boolean;
    failedAttempt: boolean;
    code: string;
    next: { state: AccountState; until: number | null; changed: boolean };
    channelsFull: boolean;
    pauseUntil: number | null;
    countsAsError: boolean;
    lastError: string;
    event: { message: string; data: unknown } | null;
  },
): Promise<void> {
  const { now, row } = v;
  if (v.failedAttempt && row.lease_action) {
    await tx
      .insertInto('action_log')
      .values({ account_id: row.id, action: row.lease_action, channel: row.lease_channel, at: now, ok: 0 })
      .execute();
  }
  await tx.insertInto('error_log').values({ account_id: row.id, kind: v.code, at: now }).execute();
  await tx
    .updateTable('telegram_accounts')
    .set((eb) => ({
      state: v.next.state,
      state_until: v.next.until,
      state_reason: v.next.changed ? v.code : undefined,
      channels_full: v.channelsFull ? 1 : undefined,
      next_action_at: v.pauseUntil ?? undefined,
      error_count: v.countsAsError ? eb('error_count', '+', 1) : undefined,
      last_error: v.lastError,
      last_error_at: now,
      ...(v.late
        ? {}
        : {
            lease_holder: null,
            lease_token: null,
            lease_expires_at: null,
            lease_action: null,
            lease_channel: null,
            fence: eb('fence', '+', 1),
          }),
      updated_at: now,
    }))
    .where('id', '=', row.id)
    .execute();
  if (v.event) {
    await tx
      .insertInto('events')
      .values({
        at: now,
        kind: 'account_state',
        subject_type: 'telegram_account',
        subject_id: row.id,
        tenant_id: null,
        message: v.event.message,
        data_json: JSON.stringify(v.event.data),
      })
      .execute();
  }
}

export interface RecoveredRows {
  reactivated: { account: string; from: string }[];
  leasesFreed: string[];
  targetsRequeued: number;
  jobsFreed: number;
  proxiesRetried: number;
  needsPerson: {
    session_name: string;
    state: AccountState;
    state_reason: string | null;
    last_error: string | null;
    phone: string | null;
    channels_full: number;
    proxy_removed_at: number | null;
  }[];
}

/**
 * Recover's writes: timed states due → active (with an event each), expired leases of accounts,
 * targets and check jobs freed, unhealthy proxies checked before `proxyRetryBefore` healthy
 * again; and the accounts that need a person (or are parked for joins).
 */
export async function recoverRows(
  tx: StoreTx,
  v: {
    now: number;
    timedStates: readonly AccountState[];
    personStates: readonly AccountState[];
    proxyRetryBefore: number;
  },
): Promise<RecoveredRows> {
  const { now } = v;
  const timed = sql.join(v.timedStates.map((s) => sql`${s}`));
  await sql`insert into events (at, kind, subject_type, subject_id, tenant_id, message, data_json)
        select ${now}, 'account_state', 'telegram_account', id, tenant_id,
          session_name || ': ' || state || ' → active (recover)', null
        from telegram_accounts where state in (${timed}) and state_until <= ${now}`.execute(tx);
  const reactivated = await sql<{ session_name: string; from: string }>`
        update telegram_accounts set state = 'active', state_until = null, state_reason = state, updated_at = ${now}
        where state in (${timed}) and state_until <= ${now}
        returning session_name, state_reason as "from"`.execute(tx);
  const freed = await sql<{ session_name: string }>`
        update telegram_accounts set lease_holder = null, lease_token = null, lease_expires_at = null,
          lease_action = null, lease_channel = null, fence = fence + 1, updated_at = ${now}
        where lease_holder is not null and lease_expires_at <= ${now}
        returning session_name`.execute(tx);
  const targets = await sql`update targets set
          status = case when status = 'joining' then 'new' else status end,
          lease_holder = null, lease_token = null, lease_expires_at = null, updated_at = ${now}
        where lease_holder is not null and lease_expires_at <= ${now}`.execute(tx);
  const jobs = await tx
    .updateTable('check_jobs')
    .set({ lease_holder: null, lease_token: null, lease_expires_at: null, updated_at: now })
    .where('lease_holder', 'is not', null)
    .where('lease_expires_at', '<=', now)
    .executeTakeFirst();
  const proxies = await tx
    .updateTable('proxies')
    .set({ healthy: 1, fail_count: 0 })
    .where('healthy', '=', 0)
    .where('last_checked_at', '<=', v.proxyRetryBefore)
    // Dead by a failed `proxies check`: only a check that gets through brings it back.
    .where((eb) => eb.or([eb('check_ok', 'is', null), eb('check_ok', '=', 1)]))
    .executeTakeFirst();
  const needsPerson = await tx
    .selectFrom('telegram_accounts')
    .select(['session_name', 'state', 'state_reason', 'last_error', 'phone', 'channels_full', 'proxy_removed_at'])
    .where((eb) =>
      eb.or([
        eb('state', 'in', [...v.personStates]),
        eb('channels_full', '=', 1),
        eb('proxy_removed_at', 'is not', null),
      ]),
    )
    .orderBy('session_name')
    .execute();
  return {
    reactivated: reactivated.rows.map((r) => ({ account: r.session_name, from: r.from })),
    leasesFreed: freed.rows.map((r) => r.session_name),
    targetsRequeued: Number(targets.numAffectedRows ?? 0n),
    jobsFreed: Number(jobs.numUpdatedRows),
    proxiesRetried: Number(proxies.numUpdatedRows),
    needsPerson,
  };
}

/**
 * Reset-limits' writes: a row per account and its local `day` (at most one reset per account and
 * day), the day's error and lease counts zeroed for the accounts reset now, and the action log,
 * resets and error log pruned before `pruneBefore`. `dayIn(zone)` names the local date now in a
 * time zone; each account counts in its own (its own, its tenant's, else `defaultZone`).
 */
export async function resetDayRows(
  tx: StoreTx,
  v: { dayIn: (zone: string) => string; defaultZone: string; now: number; pruneBefore: number },
): Promise<{ total: number; accountsReset: number; actionLogPruned: number; days: string[] }> {
  const { now } = v;
  const zones = await sql<{ zone: string; n: number | string }>`
        select z.zone, count(*) as n from (
          select coalesce(a.timezone, t.timezone, ${v.defaultZone}) as zone
          from telegram_accounts a left join tenants t on t.id = a.tenant_id
        ) z group by z.zone`.execute(tx);
  let total = 0;
  let accountsReset = 0;
  const days = new Set<string>();
  for (const { zone, n } of zones.rows) {
    total += Number(n);
    const day = v.dayIn(zone);
    days.add(day);
    const ins = await sql`insert into limit_resets (account_id, day, at)
          select a.id, ${day}, ${now} from telegram_accounts a left join tenants t on t.id = a.tenant_id
          where coalesce(a.timezone, t.timezone, ${v.defaultZone}) = ${zone}
          on conflict (account_id, day) do nothing`.execute(tx);
    accountsReset += Number(ins.numAffectedRows ?? 0n);
  }
  if (accountsReset > 0) {
    await sql`update telegram_accounts set error_count = 0, lease_count = 0
          where id in (select account_id from limit_resets where at = ${now})`.execute(tx);
  }
  const pruned = await tx.deleteFrom('action_log').where('at', '<', v.pruneBefore).executeTakeFirst();
  await tx.deleteFrom('limit_resets').where('at', '<', v.pruneBefore).execute();
  await tx.deleteFrom('error_log').where('at', '<', v.pruneBefore).execute();
  return { total, accountsReset, actionLogPruned: Number(pruned.numDeletedRows), days: [...days].sort() };
}

/** Limits documents and the action log since `since` of all accounts, or of `ids` (status' usage). */
export async function usageInputs(
  db: StoreTx,
  v: { ids?: readonly number[] | undefined; since: number },
): Promise<{
  accounts: {
    id: number;
    limits_json: string | null;
    tenant_limits: string | null;
    timezone: string | null;
    new_since: number | null;
  }[];
  log: { account_id: number; action: string; at: number; ok: number; channel: string | null }[];
}> {
  let aq = db
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .select((eb) => [
      'a.id',
      'a.limits_json',
      't.limits_json as tenant_limits',
      eb.fn.coalesce('a.timezone', 't.timezone').as('timezone'),
      'a.new_since',
    ]);
  if (v.ids) aq = aq.where('a.id', 'in', v.ids);
  const accounts = await aq.execute();
  let lq = db
    .selectFrom('action_log')
    .select(['account_id', 'action', 'at', 'ok', 'channel'])
    .where('at', '>=', v.since);
  if (v.ids) lq = lq.where('account_id', 'in', v.ids);
  return { accounts, log: await lq.execute() };
}

/** Store an account's or a tenant's limits document (null clears it); false: no such account or tenant. */
/**
 * The stored overrides behind an account's or a tenant's effective limits: the tenant's and (for an
 * account) its own. undefined when the account or tenant does not exist.
 */
export async function readLimitOverrides(
  db: StoreTx,
  target: { account: string } | { tenant: string },
): Promise<
  { tenant: string | null; account: string | null; timezone: string | null; newSince: number | null } | undefined
> {
  if ('account' in target) {
    const r = await db
      .selectFrom('telegram_accounts as a')
      .leftJoin('tenants as t', 't.id', 'a.tenant_id')
      .select((eb) => [
        'a.limits_json as account',
        't.limits_json as tenant',
        eb.fn.coalesce('a.timezone', 't.timezone').as('timezone'),
        'a.new_since',
      ])
      .where('a.session_name', '=', target.account)
      .executeTakeFirst();
    return r
      ? {
          tenant: r.tenant ?? null,
          account: r.account ?? null,
          timezone: r.timezone ?? null,
          newSince: r.new_since === null ? null : Number(r.new_since),
        }
      : undefined;
  }
  const r = await db
    .selectFrom('tenants')
    .select(['limits_json', 'timezone'])
    .where('name', '=', target.tenant)
    .executeTakeFirst();
  return r ? { tenant: r.limits_json ?? null, account: null, timezone: r.timezone ?? null, newSince: null } : undefined;
}

export async function storeLimits(
  db: StoreTx,
  target: { account: string } | { tenant: string },
  json: string | null,
  now: number,
): Promise<boolean> {
  const n =
    'account' in target
      ? await db
          .updateTable('telegram_accounts')
          .set({ limits_json: json, updated_at: now })
          .where('session_name', '=', target.account)
          .executeTakeFirst()
      : await db.updateTable('tenants').set({ limits_json: json }).where('name', '=', target.tenant).executeTakeFirst();
  return Number(n.numUpdatedRows) > 0;
}

// ---- the account manager's other calls (issue 26): declared actions, a preferred account's
// standing, actions recorded outside a lease.

/** Every limits document set on a tenant or an account (to find the actions operators declared). */
export async function limitDocuments(db: StoreTx): Promise<string[]> {
  const r = await sql<{ doc: string }>`
      select distinct limits_json as doc from tenants where limits_json is not null
      union select distinct limits_json as doc from telegram_accounts where limits_json is not null`.execute(db);
  return r.rows.map((x) => x.doc);
}

export interface AccountStandingRow {
  id: number;
  session_name: string;
  tenant_id: number | null;
  enabled: number;
  state: AccountState;
  state_until: number | null;
  lease_holder: string | null;
  lease_expires_at: number | null;
  next_action_at: number | null;
  channels_full: number;
  proxy_removed_at: number | null;
  proxy_healthy: number | null;
  limits_json: string | null;
  tenant_limits: string | null;
}

/** An account by name with what decides whether it may be leased (a preferred account, `record`). */
export async function accountForLease(db: StoreTx, name: string): Promise<AccountStandingRow | undefined> {
  return db
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .leftJoin('proxies as p', 'p.id', 'a.proxy_id')
    .select([
      'a.id',
      'a.session_name',
      'a.tenant_id',
      'a.enabled',
      'a.state',
      'a.state_until',
      'a.lease_holder',
      'a.lease_expires_at',
      'a.next_action_at',
      'a.channels_full',
      'a.proxy_removed_at',
      'p.healthy as proxy_healthy',
      'a.limits_json',
      't.limits_json as tenant_limits',
    ])
    .where('a.session_name', '=', name)
    .executeTakeFirst() as Promise<AccountStandingRow | undefined>;
}

/**
 * Append action-log rows of one account (an action done outside a lease, or a release's rows
 * with their channels) and mark it used now when any succeeded.
 */
export async function recordActions(
  tx: StoreTx,
  v: { accountId: number; now: number; rows: readonly { action: string; channel: string | null; ok: boolean }[] },
): Promise<void> {
  if (v.rows.length === 0) return;
  await tx
    .insertInto('action_log')
    .values(
      v.rows.map((r) => ({
        account_id: v.accountId,
        action: r.action,
        channel: r.channel,
        at: v.now,
        ok: r.ok ? 1 : 0,
      })),
    )
    .execute();
  if (v.rows.some((r) => r.ok)) {
    await tx.updateTable('telegram_accounts').set({ last_used_at: v.now }).where('id', '=', v.accountId).execute();
  }
}
