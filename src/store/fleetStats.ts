import { sql } from 'kysely';
import { effectiveState, type AccountState } from '../domain/accountStates.js';
import type { Store } from './store.js';

/**
 * Fleet-wide aggregates for `status` and `--metrics-file`: every query groups in the database and
 * returns a number of rows bounded by states × tenants × actions × niches, never one per account.
 */

const TIMED = sql`('flood_wait', 'cooldown', 'blocked')`;
/** The SQL twin of `isHealthy`: enabled, and active or in a timed state whose `until` has passed. */
const healthySql = (now: number) =>
  sql`(a.enabled = 1 and (a.state = 'active' or (a.state in ${TIMED} and a.state_until <= ${now})))`;

export interface AccountGroup {
  tenant: string | null;
  state: string;
  total: number;
  enabled: number;
  healthy: number;
  leased: number;
  withErrors: number;
}

/** Accounts per tenant and state: how many are enabled, healthy, leased now, with errors today. */
/**
 * Accounts per tenant and effective state at `now` (effectiveState: a timed state whose `until` has
 * passed counts as `active`), as status and the acctctl_accounts{state} series show them.
 */
export async function accountGroups(store: Store, now: number): Promise<AccountGroup[]> {
  const rows = (
    await sql<{
      tenant: string | null;
      state: AccountState;
      passed: number;
      n: number;
      en: number;
      h: number;
      l: number;
      e: number;
    }>`
      select t.name as tenant, a.state,
        case when a.state_until is not null and a.state_until <= ${now} then 1 else 0 end as passed,
        count(*) as n,
        sum(case when a.enabled = 1 then 1 else 0 end) as en,
        sum(case when ${healthySql(now)} then 1 else 0 end) as h,
        sum(case when a.lease_holder is not null and a.lease_expires_at > ${now} then 1 else 0 end) as l,
        sum(case when a.error_count > 0 then 1 else 0 end) as e
      from telegram_accounts a left join tenants t on t.id = a.tenant_id
      group by t.name, a.state, passed`.execute(store.db)
  ).rows;
  // The rule is the domain's: SQL only says whether `until` has passed.
  return rows.map((r) => ({
    tenant: r.tenant,
    state: effectiveState(r.state, Number(r.passed) === 1 ? now : null, now),
    total: Number(r.n),
    enabled: Number(r.en),
    healthy: Number(r.h),
    leased: Number(r.l),
    withErrors: Number(r.e),
  }));
}

/** Successful actions since `dayStart` (what `lease` checks per_day against), per tenant and action. */
export async function actionsToday(
  store: Store,
  dayStart: number,
): Promise<{ tenant: string | null; action: string; count: number }[]> {
  const rows = (
    await sql<{ tenant: string | null; action: string; n: number }>`
      select t.name as tenant, u.action, sum(u.n) as n
      from (select account_id, action, count(*) as n from action_log
            where at >= ${dayStart} and ok = 1 group by account_id, action) u
      join telegram_accounts a on a.id = u.account_id
      left join tenants t on t.id = a.tenant_id
      group by t.name, u.action`.execute(store.db)
  ).rows;
  return rows.map((r) => ({ tenant: r.tenant, action: r.action, count: Number(r.n) }));
}

/** Enabled accounts per tenant and pair of limit overrides (accounts sharing overrides share limits). */
export async function enabledByOverrides(
  store: Store,
): Promise<{ tenant: string | null; tenantLimits: string | null; accountLimits: string | null; count: number }[]> {
  const rows = (
    await sql<{ tenant: string | null; tl: string | null; al: string | null; n: number }>`
      select t.name as tenant, t.limits_json as tl, a.limits_json as al, count(*) as n
      from telegram_accounts a left join tenants t on t.id = a.tenant_id
      where a.enabled = 1
      group by t.name, t.limits_json, a.limits_json`.execute(store.db)
  ).rows;
  return rows.map((r) => ({ tenant: r.tenant, tenantLimits: r.tl, accountLimits: r.al, count: Number(r.n) }));
}

export interface Problem {
  state: string;
  reason: string | null;
  count: number;
}

/** Accounts that need a person (frozen, disabled, banned), grouped by state and reason, largest first. */
export async function personProblems(store: Store, limit: number): Promise<{ top: Problem[]; groups: number }> {
  const rows = (
    await sql<{ state: string; reason: string | null; n: number }>`
      select state, coalesce(state_reason, last_error) as reason, count(*) as n
      from telegram_accounts where state in ('frozen', 'disabled', 'banned')
      group by state, coalesce(state_reason, last_error)`.execute(store.db)
  ).rows;
  const all = rows
    .map((r) => ({ state: r.state, reason: r.reason, count: Number(r.n) }))
    .sort((a, b) => b.count - a.count || a.state.localeCompare(b.state));
  return { top: all.slice(0, limit), groups: all.length };
}

export async function unhealthyProxies(store: Store): Promise<number> {
  return Number(
    (await sql<{ n: number }>`select count(*) as n from proxies where healthy = 0`.execute(store.db)).rows[0]?.n ?? 0,
  );
}

/** Targets joined since `dayStart`, per niche. */
export async function joinedToday(store: Store, dayStart: number): Promise<{ niche: string; count: number }[]> {
  const rows = await store.db
    .selectFrom('targets')
    .select(['niche', sql<number>`count(*)`.as('n')])
    .where('joined_at', '>=', dayStart)
    .groupBy('niche')
    .orderBy('niche')
    .execute();
  return rows.map((r) => ({ niche: r.niche, count: Number(r.n) }));
}

export interface IgSummary {
  total: number;
  byState: Record<string, number>;
  /** Sessions resting after a 429 now. */
  backingOff: number;
  /** Requests in the current rate window over all sessions, and the most any one session used. */
  requestsInWindow: number;
  busiestInWindow: number;
}

export async function igSummary(store: Store, now: number, windowMs: number): Promise<IgSummary> {
  const states = await store.db
    .selectFrom('ig_accounts')
    .select([
      'state',
      sql<number>`count(*)`.as('n'),
      sql<number>`sum(case when rate_limited_until > ${now} then 1 else 0 end)`.as('b'),
    ])
    .groupBy('state')
    .orderBy('state')
    .execute();
  const win = (
    await sql<{ total: number | null; top: number | null }>`
      select sum(n) as total, max(n) as top from (
        select ig_account_id, count(*) as n from ig_requests where at > ${now - windowMs}
        group by ig_account_id) w`.execute(store.db)
  ).rows[0];
  return {
    total: states.reduce((s, r) => s + Number(r.n), 0),
    byState: Object.fromEntries(states.map((r) => [r.state, Number(r.n)])),
    backingOff: states.reduce((s, r) => s + Number(r.b ?? 0), 0),
    requestsInWindow: Number(win?.total ?? 0),
    busiestInWindow: Number(win?.top ?? 0),
  };
}

/**
 * The original lease service's counters, computed from the store: leases handed out since each account's last
 * reset (`lease_count`, zeroed by reset-limits) and the errors applied since the last reset, by kind.
 */
export async function counters(
  store: Store,
): Promise<{ leases: number; errors: { kind: string; count: number }[]; lastResetAt: number | null }> {
  const leases = Number(
    (await sql<{ n: number | null }>`select sum(lease_count) as n from telegram_accounts`.execute(store.db)).rows[0]
      ?.n ?? 0,
  );
  const reset = (await sql<{ at: number | null }>`select max(at) as at from limit_resets`.execute(store.db)).rows[0];
  const lastResetAt = reset?.at === null || reset?.at === undefined ? null : Number(reset.at);
  const rows = await store.db
    .selectFrom('error_log')
    .select(['kind', sql<number>`count(*)`.as('n')])
    .where('at', '>=', lastResetAt ?? 0)
    .groupBy('kind')
    .orderBy('kind')
    .execute();
  return { leases, errors: rows.map((r) => ({ kind: r.kind, count: Number(r.n) })), lastResetAt };
}

/** Follower-check jobs per status. */
export async function checkJobCounts(store: Store): Promise<{ status: string; n: number }[]> {
  const rows = await store.db
    .selectFrom('check_jobs')
    .select(['status', sql<number>`count(*)`.as('n')])
    .groupBy('status')
    .execute();
  return rows.map((r) => ({ status: r.status, n: r.n }));
}

/** The first `limit` follower-check jobs still open (in progress or paused), oldest first. */
export async function openCheckJobs(store: Store, limit: number) {
  return store.db
    .selectFrom('check_jobs as j')
    .innerJoin('watches as w', 'w.id', 'j.watch_id')
    .select(['j.id', 'w.username', 'j.kind', 'j.status', 'j.fetched', 'j.expected_total', 'j.updated_at'])
    .where('j.status', 'in', ['in_progress', 'paused'])
    .orderBy('j.id')
    .limit(limit)
    .execute();
}

/** Instagram requests per account and kind since `since`, for the accounts `ids`. */
export async function igRequestsSince(
  store: Store,
  ids: number[],
  since: number,
): Promise<{ ig_account_id: number; kind: string; n: number }[]> {
  if (ids.length === 0) return [];
  const rows = await store.db
    .selectFrom('ig_requests')
    .select(['ig_account_id', 'kind', sql<number>`count(*)`.as('n')])
    .where('at', '>', since)
    .where('ig_account_id', 'in', ids)
    .groupBy(['ig_account_id', 'kind'])
    .execute();
  return rows.map((r) => ({ ig_account_id: r.ig_account_id, kind: r.kind, n: r.n }));
}
