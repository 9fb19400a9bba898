import { DEFAULT_IG_RATE } from '../config/config.js';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pages } from '../domain/paging.js';
import { startOfDay } from '../domain/calendar.js';
import type { Clock } from '../domain/clock.js';
import { ACTIONS, isAction, resolveLimits, type Action } from '../domain/limits.js';
import { cleanNumber } from '../domain/plural.js';
import { AccountManager, parseOverride, type PaceView } from './accountManager.js';
import { formatActiveHours, type PacingConfig } from '../domain/pacing.js';
import { CantCreateError } from '../errors.js';
import { ACCOUNT_STATES, type AccountState } from '../domain/accountStates.js';
import { effectiveState } from '../domain/accountStates.js';
import type { Store } from '../store/store.js';
import { targetCounts } from '../store/targets.js';
import { countIg, listIg } from '../store/igAccounts.js';
import { sinkHealth, type SinkHealth } from '../store/deliveries.js';
import { healthFigures, sessionHealth, type HealthFigures } from '../store/sessionHealth.js';
import { accountsPage, countAccounts, type AccountListRow } from '../store/accounts.js';
import {
  accountGroups,
  actionsToday,
  checkJobCounts,
  igRequestsSince,
  openCheckJobs,
  counters,
  enabledByOverrides,
  igSummary,
  joinedToday,
  personProblems,
  unhealthyProxies,
} from '../store/fleetStats.js';

export interface AccountStatus {
  name: string;
  tenant: string | null;
  /** The effective state (effectiveAccountState): a wait that has passed is `active`. */
  state: string;
  until: number | null;
  /** What the store holds until `recover` writes `active`. */
  storedState: string;
  storedUntil: number | null;
  enabled: boolean;
  healthy: boolean;
  leaseHolder: string | null;
  leaseExpiresAt: number | null;
  /** Today's use against the account's resolved limits, and when the next action is allowed. */
  today: Record<
    Action,
    {
      used: number;
      limit: number;
      usedLastHour: number;
      hourLimit: number;
      nextAt: number | null;
      blockedBy: string | null;
    }
  >;
  lastError: string | null;
  /**
   * Pacing (README "Leases and limits"): its time zone and active hours (null: pacing off), today's
   * drawn join budget (the ramp's on a new account's first days) and the next planned join.
   */
  pacing: {
    timeZone: string;
    activeHours: string | null;
    joinBudget: number | null;
    rampDay: number | null;
    nextJoinAt: number | null;
  };
}

/** Issue 12's section: session-health figures (30 days) and alert sinks with undelivered events. */
export interface AlertsSection {
  sessionHealth: ({ tenant: string; username: string } & HealthFigures)[];
  sinks: SinkHealth[];
}

export interface IgSessionStatus {
  username: string;
  tenant: string;
  state: string;
  sessionAgeMs: number | null;
  lastVerifiedAt: number | null;
  nextRefreshAt: number | null;
  failures: number;
  lastError: string | null;
  /** Requests in the current rate window, per endpoint kind, against the limit. */
  rate: {
    profile: number;
    friendships: number;
    limit: number;
    windowSeconds: number;
    backedOffUntil: number | null;
    /** Throttle back-offs per endpoint kind (exponential: a live session Instagram throttled). */
    throttled: { kind: string; until: number; strikes: number }[];
  };
}

export interface TenantStatus {
  tenant: string | null;
  total: number;
  healthy: number;
  leased: number;
  byState: Record<string, number>;
}

export interface ActionToday {
  action: Action;
  /** Successful actions today (configured time zone), over the whole fleet or one tenant. */
  used: number;
  /** The sum of the per-day limits of the enabled accounts. */
  limit: number;
}

/** The rows of `status --accounts`: a filtered page, and how many more match. */
export interface Listed {
  filter: { state: string | null; tenant: string | null };
  limit: number;
  shown: number;
  total: number;
  more: number;
}

/**
 * What `status` reports: fleet summaries whose size does not grow with the fleet. The per-account
 * and per-session rows (`accounts.list`, `instagram.list`) are there only with `--accounts`.
 */
export interface StatusReport {
  generatedAt: number;
  timeZone: string;
  accounts: {
    total: number;
    enabled: number;
    healthy: number;
    healthyPct: number;
    byState: Record<string, number>;
    leased: number;
    byTenant: TenantStatus[];
    list?: AccountStatus[];
    listed?: Listed;
  };
  today: { fleet: ActionToday[]; byTenant: (ActionToday & { tenant: string | null })[] };
  /** The original lease service's counters since the last daily reset (reset-limits), from the store. */
  counters: { leases: number; errors: { kind: string; count: number }[]; lastResetAt: number | null };
  problems: {
    /** Accounts that need a person, by state and reason, largest groups first (at most 10). */
    needPerson: { state: string; reason: string | null; count: number }[];
    needPersonTotal: number;
    needPersonGroups: number;
    disabledByOperator: number;
    accountsWithErrors: number;
    unhealthyProxies: number;
    igNeedPerson: number;
  };
  targets: { niche: string; status: string; count: number }[];
  joinedToday: { niche: string; count: number }[];
  instagram: {
    total: number;
    byState: Record<string, number>;
    backingOff: number;
    requestsInWindow: number;
    busiestInWindow: number;
    limit: number;
    windowSeconds: number;
    list?: IgSessionStatus[];
    listed?: Listed;
  };
  checkJobs: {
    byStatus: Record<string, number>;
    open: {
      id: number;
      watch: string;
      kind: string;
      status: string;
      fetched: number;
      expected: number | null;
      updatedAt: number;
    }[];
  };
  alerts: AlertsSection;
}

/** Open check jobs listed by status (the rest are counted). */
export const OPEN_JOBS_SHOWN = 20;
/** Tenants shown in the status table (all of them are in --json and the metrics). */
export const TENANTS_SHOWN = 20;
const PERSON_STATES = ['frozen', 'disabled', 'banned'];

/**
 * An account is healthy when it is enabled and usable now: `active`, or a timed state whose
 * `until` has passed (recover will return it). Frozen, disabled and banned need a person.
 */
export function isHealthy(
  a: { enabled: number; state: AccountState; state_until: number | null },
  now: number,
): boolean {
  return a.enabled === 1 && effectiveState(a.state, a.state_until, now) === 'active';
}

export interface StatusOptions {
  /** Per-account (and per-session) rows: the filter and how many. */
  accounts?: { state?: string | undefined; tenant?: string | undefined; limit: number } | undefined;
}

export async function status(
  deps: {
    store: Store;
    clock: Clock;
    timeZone: string;
    igRate?: { requests: number; windowMs: number };
    /** Pacing as lease applies it (null/undefined: off). */
    pacing?: PacingConfig | null | undefined;
  },
  opts: StatusOptions = {},
): Promise<StatusReport> {
  const igRate = deps.igRate ?? DEFAULT_IG_RATE;
  const { store } = deps;
  const now = deps.clock.now();
  const dayStart = startOfDay(now, deps.timeZone);

  // Independent aggregates: Postgres runs them side by side on the pool's connections.
  const [groups, overrides, used, problems, ig, cnt, proxiesDown, targets, joined] = await Promise.all([
    accountGroups(store, now),
    enabledByOverrides(store),
    actionsToday(store, dayStart),
    personProblems(store, 10),
    igSummary(store, now, igRate.windowMs),
    counters(store),
    unhealthyProxies(store),
    targetCounts(store),
    joinedToday(store, dayStart),
  ]);
  const byState: Record<string, number> = Object.fromEntries(ACCOUNT_STATES.map((s) => [s, 0]));
  const tenants = new Map<string, TenantStatus>();
  let total = 0;
  let enabled = 0;
  let healthy = 0;
  let leased = 0;
  let withErrors = 0;
  for (const g of groups) {
    withErrors += g.withErrors;
    byState[g.state] = (byState[g.state] ?? 0) + g.total;
    total += g.total;
    enabled += g.enabled;
    healthy += g.healthy;
    leased += g.leased;
    const k = g.tenant ?? '';
    let t = tenants.get(k);
    if (!t) tenants.set(k, (t = { tenant: g.tenant, total: 0, healthy: 0, leased: 0, byState: {} }));
    t.total += g.total;
    t.healthy += g.healthy;
    t.leased += g.leased;
    t.byState[g.state] = (t.byState[g.state] ?? 0) + g.total;
  }

  // Today's use against the day's capacity: limits resolved as `lease` resolves them, once per
  // distinct pair of overrides.
  const use = new Map<string, ActionToday & { tenant: string | null }>();
  const useAt = (tenant: string | null, action: Action) => {
    const k = `${tenant ?? ''}\u0000${action}`;
    let u = use.get(k);
    if (!u) use.set(k, (u = { tenant, action, used: 0, limit: 0 }));
    return u;
  };
  for (const c of overrides) {
    const limits = resolveLimits(
      parseOverride(c.tenantLimits, `tenant ${c.tenant ?? ''}`),
      parseOverride(c.accountLimits, 'an account'),
    );
    for (const action of ACTIONS) useAt(c.tenant, action).limit += limits[action].perDay * c.count;
  }
  for (const u of used) if (isAction(u.action)) useAt(u.tenant, u.action).used += u.count;
  const byTenantUse = [...use.values()].sort(
    (x, y) => (x.tenant ?? '').localeCompare(y.tenant ?? '') || ACTIONS.indexOf(x.action) - ACTIONS.indexOf(y.action),
  );
  const fleetUse = ACTIONS.map((action) => {
    const rows = byTenantUse.filter((u) => u.action === action);
    return { action, used: rows.reduce((a, u) => a + u.used, 0), limit: rows.reduce((a, u) => a + u.limit, 0) };
  });

  const jobCounts = await checkJobCounts(store);
  const openJobs = await openCheckJobs(store, OPEN_JOBS_SHOWN);

  const report: StatusReport = {
    generatedAt: now,
    timeZone: deps.timeZone,
    accounts: {
      total,
      enabled,
      healthy,
      healthyPct: enabled === 0 ? 100 : Math.round((healthy / enabled) * 1000) / 10,
      byState,
      leased,
      byTenant: [...tenants.values()].sort(
        (a, b) => b.total - a.total || (a.tenant ?? '').localeCompare(b.tenant ?? ''),
      ),
    },
    today: { fleet: fleetUse, byTenant: byTenantUse },
    counters: cnt,
    problems: {
      needPerson: problems.top,
      needPersonTotal: PERSON_STATES.reduce((a, s) => a + (byState[s] ?? 0), 0),
      needPersonGroups: problems.groups,
      disabledByOperator: total - enabled,
      accountsWithErrors: withErrors,
      unhealthyProxies: proxiesDown,
      igNeedPerson: (ig.byState.needs_manual ?? 0) + (ig.byState.failed ?? 0),
    },
    targets,
    joinedToday: joined,
    instagram: {
      total: ig.total,
      byState: ig.byState,
      backingOff: ig.backingOff,
      requestsInWindow: ig.requestsInWindow,
      busiestInWindow: ig.busiestInWindow,
      limit: igRate.requests,
      windowSeconds: igRate.windowMs / 1000,
    },
    checkJobs: {
      byStatus: Object.fromEntries(jobCounts.map((j) => [j.status, Number(j.n)])),
      open: openJobs.map((j) => ({
        id: j.id,
        watch: j.username,
        kind: j.kind,
        status: j.status,
        fetched: j.fetched,
        expected: j.expected_total,
        updatedAt: j.updated_at,
      })),
    },
    alerts: {
      sessionHealth: (await sessionHealth(deps.store, now)).map((h) => ({
        tenant: h.tenant,
        username: h.username,
        ...healthFigures(h),
      })),
      sinks: await sinkHealth(deps.store),
    },
  };
  if (opts.accounts) await addDetail(deps, report, opts.accounts, igRate);
  return report;
}

function pacingOf(p: PaceView | undefined, fleetZone: string): AccountStatus['pacing'] {
  return {
    timeZone: p?.timeZone ?? fleetZone,
    activeHours: p?.activeHours ? formatActiveHours(p.activeHours) : null,
    joinBudget: p?.plan?.budget ?? null,
    rampDay: p?.plan?.rampDay ?? null,
    nextJoinAt: p?.plan?.nextAt ?? null,
  };
}

/** `status --accounts`: the filtered page of accounts (and Instagram sessions) with their detail. */
async function addDetail(
  deps: { store: Store; clock: Clock; timeZone: string; pacing?: PacingConfig | null | undefined },
  report: StatusReport,
  f: { state?: string | undefined; tenant?: string | undefined; limit: number },
  igRate: { requests: number; windowMs: number },
): Promise<void> {
  const { store } = deps;
  const now = report.generatedAt;
  const filter = { state: f.state, tenant: f.tenant };
  const fleet = new AccountManager({ store, clock: deps.clock, timeZone: deps.timeZone, pacing: deps.pacing });
  const list: AccountStatus[] = [];
  for await (const page of pages<AccountListRow>(
    (last, n) => accountsPage(store, filter, last?.name ?? null, n, now),
    f.limit,
  )) {
    // The same functions `lease` uses: status shows exactly what the policy will decide.
    const usage = await fleet.usage(page.map((a) => a.id));
    for (const a of page) {
      const u = usage.get(a.id);
      const today = Object.fromEntries(
        ACTIONS.map((act) => {
          const x = u?.[act];
          const v = x?.verdict;
          return [
            act,
            {
              used: v?.usedToday ?? 0,
              limit: x?.limits.perDay ?? 0,
              usedLastHour: v?.usedLastHour ?? 0,
              hourLimit: x?.limits.perHour ?? 0,
              nextAt: v && !v.allowed ? v.until : null,
              blockedBy: v && !v.allowed ? v.reason : null,
            },
          ];
        }),
      ) as AccountStatus['today'];
      const leaseLive = a.leaseHolder !== null && (a.leaseExpiresAt ?? 0) > now;
      list.push({
        name: a.name,
        tenant: a.tenant,
        state: a.state,
        until: a.until,
        storedState: a.storedState,
        storedUntil: a.storedUntil,
        enabled: a.enabled,
        healthy: isHealthy({ enabled: a.enabled ? 1 : 0, state: a.storedState, state_until: a.storedUntil }, now),
        leaseHolder: leaseLive ? a.leaseHolder : null,
        leaseExpiresAt: leaseLive ? a.leaseExpiresAt : null,
        today,
        lastError: a.lastError,
        pacing: pacingOf(u?.join.pace, deps.timeZone),
      });
    }
  }
  const total = await countAccounts(store, filter, now);
  const listedFilter = { state: f.state ?? null, tenant: f.tenant ?? null };
  report.accounts.list = list;
  report.accounts.listed = {
    filter: listedFilter,
    limit: f.limit,
    shown: list.length,
    total,
    more: total - list.length,
  };

  // Instagram sessions of the tenant (account states do not apply to them).
  const igFilter = { tenant: f.tenant };
  const ig = await listIg(store, now, { ...igFilter, limit: f.limit });
  const igTotal = await countIg(store, igFilter);
  const windowRows = await igRequestsSince(
    store,
    ig.map((i) => i.id),
    now - igRate.windowMs,
  );
  const inWindow = new Map(windowRows.map((w) => [`${w.ig_account_id}:${w.kind}`, Number(w.n)]));
  report.instagram.list = ig.map((i) => ({
    username: i.username,
    tenant: i.tenant,
    state: i.state,
    sessionAgeMs: i.sessionAgeMs,
    lastVerifiedAt: i.lastVerifiedAt,
    nextRefreshAt: i.nextRefreshAt,
    failures: i.failures,
    lastError: i.lastError,
    rate: {
      profile: inWindow.get(`${i.id}:profile`) ?? 0,
      friendships: inWindow.get(`${i.id}:friendships`) ?? 0,
      limit: igRate.requests,
      windowSeconds: igRate.windowMs / 1000,
      backedOffUntil: i.rateLimitedUntil !== null && i.rateLimitedUntil > now ? i.rateLimitedUntil : null,
      throttled: i.throttled,
    },
  }));
  report.instagram.listed = {
    filter: { state: null, tenant: f.tenant ?? null },
    limit: f.limit,
    shown: ig.length,
    total: igTotal,
    more: igTotal - ig.length,
  };
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

type Sample = [Record<string, string>, number];

/** Builds Prometheus text exposition format: HELP and TYPE once per series, then its samples. */
class Exposition {
  private readonly out: string[] = [];
  metric(name: string, help: string, samples: Sample[], type: 'gauge' | 'counter' = 'gauge'): void {
    this.out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels)
        .map(([k, val]) => `${k}="${label(val)}"`)
        .join(',');
      this.out.push(`${name}${l ? `{${l}}` : ''} ${cleanNumber(v)}`);
    }
  }
  text(): string {
    return this.out.join('\n') + '\n';
  }
}

/** Accounts without a tenant carry this tenant label (an empty label is the same as none). */
export const NO_TENANT = '(none)';
export const tenantLabel = (t: string | null) => t ?? NO_TENANT;

/**
 * Every series `--metrics-file` writes without `--metrics-per-account` (contrib/grafana-dashboard.json
 * may use only these; a test checks it).
 */
export const METRIC_NAMES = [
  'acctctl_accounts',
  'acctctl_accounts_enabled',
  'acctctl_accounts_healthy',
  'acctctl_accounts_healthy_ratio',
  'acctctl_accounts_leased',
  'acctctl_tenant_accounts',
  'acctctl_tenant_accounts_healthy',
  'acctctl_actions_today',
  'acctctl_actions_limit_today',
  'acctctl_tenant_actions_today',
  'acctctl_tenant_actions_limit_today',
  'acctctl_leases_total',
  'acctctl_errors_total',
  'acctctl_proxies_unhealthy',
  'acctctl_targets',
  'acctctl_targets_joined_today',
  'acctctl_instagram_sessions',
  'acctctl_instagram_sessions_backing_off',
  'acctctl_instagram_requests_in_window',
  'acctctl_check_jobs',
  'acctctl_alert_deliveries_undelivered',
  'acctctl_status_generated_timestamp_seconds',
] as const;
/** Written only with `--metrics-per-account`. */
export const PER_ACCOUNT_METRIC = 'acctctl_account_actions_today';
/** One series per Instagram session (tenant, username): also only with `--metrics-per-account`. */
export const PER_SESSION_METRICS = [
  'acctctl_instagram_refreshes_30d',
  'acctctl_instagram_refresh_success_ratio',
  'acctctl_instagram_check_success_ratio',
] as const;

/**
 * Prometheus text exposition format, for node_exporter's textfile collector: aggregate series
 * only (by state, tenant, action, niche), so the file's size does not grow with the fleet.
 */
export function toPrometheus(r: StatusReport): string {
  const e = new Exposition();
  e.metric(
    'acctctl_accounts',
    'Telegram accounts by state.',
    Object.entries(r.accounts.byState).map(([s, n]) => [{ state: s }, n]),
  );
  e.metric('acctctl_accounts_enabled', 'Accounts enabled for leasing.', [[{}, r.accounts.enabled]]);
  e.metric('acctctl_accounts_healthy', 'Enabled accounts usable now.', [[{}, r.accounts.healthy]]);
  e.metric('acctctl_accounts_healthy_ratio', 'Share of enabled accounts that are healthy (0-1).', [
    [{}, r.accounts.healthyPct / 100],
  ]);
  e.metric('acctctl_accounts_leased', 'Accounts under a live lease.', [[{}, r.accounts.leased]]);
  e.metric(
    'acctctl_tenant_accounts',
    'Telegram accounts by tenant and state.',
    r.accounts.byTenant.flatMap((t) =>
      Object.entries(t.byState).map(([s, n]): Sample => [{ tenant: tenantLabel(t.tenant), state: s }, n]),
    ),
  );
  e.metric(
    'acctctl_tenant_accounts_healthy',
    'Healthy accounts by tenant.',
    r.accounts.byTenant.map((t): Sample => [{ tenant: tenantLabel(t.tenant) }, t.healthy]),
  );
  e.metric(
    'acctctl_actions_today',
    'Successful actions today (configured time zone), whole fleet.',
    r.today.fleet.map((u): Sample => [{ action: u.action }, u.used]),
  );
  e.metric(
    'acctctl_actions_limit_today',
    'Sum of the per-day limits of the enabled accounts, by action.',
    r.today.fleet.map((u): Sample => [{ action: u.action }, u.limit]),
  );
  e.metric(
    'acctctl_tenant_actions_today',
    'Successful actions today by tenant and action.',
    r.today.byTenant.map((u): Sample => [{ tenant: tenantLabel(u.tenant), action: u.action }, u.used]),
  );
  e.metric(
    'acctctl_tenant_actions_limit_today',
    'Sum of the per-day limits of the enabled accounts by tenant and action.',
    r.today.byTenant.map((u): Sample => [{ tenant: tenantLabel(u.tenant), action: u.action }, u.limit]),
  );
  e.metric(
    'acctctl_leases_total',
    'Leases handed out since the last daily reset (reset-limits).',
    [[{}, r.counters.leases]],
    'counter',
  );
  e.metric(
    'acctctl_errors_total',
    'Errors applied to accounts since the last daily reset, by kind.',
    r.counters.errors.map((x): Sample => [{ kind: x.kind }, x.count]),
    'counter',
  );
  e.metric('acctctl_proxies_unhealthy', 'Proxies marked unhealthy.', [[{}, r.problems.unhealthyProxies]]);
  e.metric(
    'acctctl_targets',
    'Join targets by niche and status.',
    r.targets.map((t): Sample => [{ niche: t.niche, status: t.status }, t.count]),
  );
  e.metric(
    'acctctl_targets_joined_today',
    'Targets joined today, by niche.',
    r.joinedToday.map((t): Sample => [{ niche: t.niche }, t.count]),
  );
  e.metric(
    'acctctl_instagram_sessions',
    'Instagram login accounts by state.',
    Object.entries(r.instagram.byState).map(([s, n]): Sample => [{ state: s }, n]),
  );
  e.metric('acctctl_instagram_sessions_backing_off', 'Instagram sessions resting after a 429.', [
    [{}, r.instagram.backingOff],
  ]);
  e.metric('acctctl_instagram_requests_in_window', 'Instagram requests in the current rate window, all sessions.', [
    [{}, r.instagram.requestsInWindow],
  ]);
  e.metric(
    'acctctl_check_jobs',
    'Follower/following check jobs by status.',
    Object.entries(r.checkJobs.byStatus).map(([s, n]): Sample => [{ status: s }, n]),
  );
  e.metric(
    'acctctl_alert_deliveries_undelivered',
    'Alert deliveries not delivered yet, per sink (pending, of which failing, and given up).',
    r.alerts.sinks.flatMap((s) => [
      [{ sink: s.sink, status: 'pending' }, s.pending] as Sample,
      [{ sink: s.sink, status: 'failing' }, s.failing] as Sample,
      [{ sink: s.sink, status: 'dead' }, s.dead] as Sample,
    ]),
  );
  e.metric('acctctl_status_generated_timestamp_seconds', 'When this file was written.', [
    [{}, Math.floor(r.generatedAt / 1000)],
  ]);
  return e.text();
}

/**
 * `--metrics-per-account`: the per-session Instagram series (30-day session health), which grow
 * with the number of sessions and so are not in the aggregate file.
 */
export function perSessionPrometheus(r: StatusReport): string {
  const e = new Exposition();
  const sh = r.alerts.sessionHealth;
  const who = (h: (typeof sh)[number]) => ({ tenant: h.tenant, username: h.username });
  e.metric(
    'acctctl_instagram_refreshes_30d',
    'Instagram logins per session in the last 30 days, by trigger.',
    sh.flatMap((h) => [
      [{ ...who(h), trigger: 'proactive' }, h.proactiveRefreshes30d] as Sample,
      [{ ...who(h), trigger: 'reactive' }, h.reactiveRefreshes30d] as Sample,
    ]),
  );
  e.metric(
    'acctctl_instagram_refresh_success_ratio',
    'Share of logins that gave a verified session (30 days, 0-1).',
    sh.filter((h) => h.refreshSuccessPct !== null).map((h): Sample => [who(h), h.refreshSuccessPct! / 100]),
  );
  e.metric(
    'acctctl_instagram_check_success_ratio',
    'Share of authenticated check requests answered 200 (30 days, 0-1).',
    sh.filter((h) => h.checkSuccessPct !== null).map((h): Sample => [who(h), h.checkSuccessPct! / 100]),
  );
  return e.text();
}

/** `--metrics-per-account`: today's use per account and action, a page of accounts at a time. */
export async function perAccountPrometheus(deps: { store: Store; clock: Clock; timeZone: string }): Promise<string> {
  const fleet = new AccountManager(deps);
  const samples: Sample[] = [];
  for await (const page of pages<AccountListRow>(
    (last, n) => accountsPage(deps.store, {}, last?.name ?? null, n, deps.clock.now()),
    null,
  )) {
    const usage = await fleet.usage(page.map((a) => a.id));
    for (const a of page) {
      for (const act of ACTIONS)
        samples.push([{ account: a.name, action: act }, usage.get(a.id)?.[act].verdict.usedToday ?? 0]);
    }
  }
  const e = new Exposition();
  e.metric(PER_ACCOUNT_METRIC, 'Successful actions per account today (configured time zone).', samples);
  return e.text();
}

/**
 * Temp file in the same directory (random name, created with O_EXCL and never through a symlink),
 * fsync, rename: the collector never reads half a file, and nobody can point the write elsewhere.
 */
export function writeFileAtomic(path: string, text: string, mode = 0o644): void {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${basename(abs)}.${randomBytes(8).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new CantCreateError(
      code === 'ENOENT'
        ? `cannot write ${abs}: the directory ${dirname(abs)} does not exist → create it (\`mkdir -p ${dirname(abs)}\`) or pass another --metrics-file`
        : `cannot write ${abs} (${code}) → make ${dirname(abs)} writable by the user running acctctl, or pass another --metrics-file`,
      { cause },
    );
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, abs);
}
