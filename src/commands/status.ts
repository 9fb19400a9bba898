import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { sql } from 'kysely';
import type { Ctx } from '../cli/context.js';
import { withStore } from '../cli/context.js';
import { c, fmtAge, fmtTime, table } from '../cli/output.js';
import type { Clock } from '../domain/clock.js';
import { ACTIONS, type Action } from '../domain/limits.js';
import { cleanNumber } from '../domain/plural.js';
import { AccountManager } from '../fleet/accountManager.js';
import { CantCreateError, ExitCode, UsageError } from '../errors.js';
import { ACCOUNT_STATES, type AccountState } from '../store/schema.js';
import { effectiveState } from '../domain/accountStates.js';
import type { Store } from '../store/store.js';
import { targetCounts } from './targets.js';
import { listIg } from '../store/igAccounts.js';
import { sinkHealth, type SinkHealth } from '../store/deliveries.js';
import { healthFigures, renderHealth, sessionHealth, type HealthFigures } from '../store/sessionHealth.js';

export interface AccountStatus {
  name: string;
  tenant: string | null;
  state: string;
  until: number | null;
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
}

/** Issue 12's section: session-health figures (30 days) and alert sinks with undelivered events. */
export interface AlertsSection {
  sessionHealth: ({ tenant: string; username: string } & HealthFigures)[];
  sinks: SinkHealth[];
}

export interface StatusReport {
  generatedAt: number;
  timeZone: string;
  accounts: {
    total: number;
    healthy: number;
    healthyPct: number;
    byState: Record<string, number>;
    leased: number;
    list: AccountStatus[];
  };
  targets: { niche: string; status: string; count: number }[];
  instagram: {
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
      /** Throttle back-offs per endpoint kind (exponential; issue 9). */
      throttled: { kind: string; until: number; strikes: number }[];
    };
  }[];
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

export async function status(deps: {
  store: Store;
  clock: Clock;
  timeZone: string;
  igRate?: { requests: number; windowMs: number };
}): Promise<StatusReport> {
  const igRate = deps.igRate ?? { requests: 200, windowMs: 660_000 };
  const { db } = deps.store;
  const now = deps.clock.now();
  const accounts = await db
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .select([
      'a.id',
      'a.session_name',
      't.name as tenant',
      'a.state',
      'a.state_until',
      'a.enabled',
      'a.lease_holder',
      'a.lease_expires_at',
      'a.last_error',
    ])
    .orderBy('a.session_name')
    .execute();
  // The same functions `lease` uses: status shows exactly what the policy will decide.
  const usage = await new AccountManager({ store: deps.store, clock: deps.clock, timeZone: deps.timeZone }).usage();

  const byState: Record<string, number> = Object.fromEntries(ACCOUNT_STATES.map((s) => [s, 0]));
  let healthy = 0;
  let leased = 0;
  let enabledTotal = 0;
  const list: AccountStatus[] = accounts.map((a) => {
    byState[a.state] = (byState[a.state] ?? 0) + 1;
    const h = isHealthy(a, now);
    if (a.enabled === 1) enabledTotal++;
    if (h) healthy++;
    const leaseLive = a.lease_holder !== null && (a.lease_expires_at ?? 0) > now;
    if (leaseLive) leased++;
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
    return {
      name: a.session_name,
      tenant: a.tenant,
      state: a.state,
      until: a.state_until,
      enabled: a.enabled === 1,
      healthy: h,
      leaseHolder: leaseLive ? a.lease_holder : null,
      leaseExpiresAt: leaseLive ? a.lease_expires_at : null,
      today,
      lastError: a.last_error,
    };
  });

  const ig = await listIg(deps.store, now);

  const windowRows = await db
    .selectFrom('ig_requests')
    .select(['ig_account_id', 'kind', sql<number>`count(*)`.as('n')])
    .where('at', '>', now - igRate.windowMs)
    .groupBy(['ig_account_id', 'kind'])
    .execute();
  const inWindow = new Map(windowRows.map((w) => [`${w.ig_account_id}:${w.kind}`, Number(w.n)]));
  const jobCounts = await db
    .selectFrom('check_jobs')
    .select(['status', sql<number>`count(*)`.as('n')])
    .groupBy('status')
    .execute();
  const openJobs = await db
    .selectFrom('check_jobs as j')
    .innerJoin('watches as w', 'w.id', 'j.watch_id')
    .select(['j.id', 'w.username', 'j.kind', 'j.status', 'j.fetched', 'j.expected_total', 'j.updated_at'])
    .where('j.status', 'in', ['in_progress', 'paused'])
    .orderBy('j.id')
    .limit(100)
    .execute();

  return {
    generatedAt: now,
    timeZone: deps.timeZone,
    accounts: {
      total: accounts.length,
      healthy,
      healthyPct: enabledTotal === 0 ? 100 : Math.round((healthy / enabledTotal) * 1000) / 10,
      byState,
      leased,
      list,
    },
    targets: await targetCounts(deps.store),
    instagram: ig.map((i) => ({
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
    })),
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
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition format, for node_exporter's textfile collector. */
export function toPrometheus(r: StatusReport): string {
  const out: string[] = [];
  const metric = (name: string, help: string, samples: [Record<string, string>, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels)
        .map(([k, val]) => `${k}="${label(val)}"`)
        .join(',');
      out.push(`${name}${l ? `{${l}}` : ''} ${cleanNumber(v)}`);
    }
  };
  metric(
    'acctctl_accounts',
    'Telegram accounts by state.',
    Object.entries(r.accounts.byState).map(([s, n]) => [{ state: s }, n]),
  );
  metric('acctctl_accounts_healthy', 'Enabled accounts usable now.', [[{}, r.accounts.healthy]]);
  metric('acctctl_accounts_healthy_ratio', 'Share of enabled accounts that are healthy (0-1).', [
    [{}, r.accounts.healthyPct / 100],
  ]);
  metric('acctctl_accounts_leased', 'Accounts under a live lease.', [[{}, r.accounts.leased]]);
  metric(
    'acctctl_account_actions_today',
    'Successful actions per account today (configured time zone).',
    r.accounts.list.flatMap((a) =>
      ACTIONS.map((act) => [{ account: a.name, action: act }, a.today[act].used] as [Record<string, string>, number]),
    ),
  );
  metric(
    'acctctl_targets',
    'Join targets by niche and status.',
    r.targets.map((t) => [{ niche: t.niche, status: t.status }, t.count]),
  );
  const igStates: Record<string, number> = {};
  for (const i of r.instagram) igStates[i.state] = (igStates[i.state] ?? 0) + 1;
  metric(
    'acctctl_instagram_sessions',
    'Instagram login accounts by state.',
    Object.entries(igStates).map(([s, n]) => [{ state: s }, n]),
  );
  metric(
    'acctctl_check_jobs',
    'Follower/following check jobs by status.',
    Object.entries(r.checkJobs.byStatus).map(([s, n]) => [{ status: s }, n]),
  );
  const sh = r.alerts.sessionHealth;
  const who = (h: (typeof sh)[number]) => ({ tenant: h.tenant, username: h.username });
  metric(
    'acctctl_instagram_refreshes_30d',
    'Instagram logins per session in the last 30 days, by trigger.',
    sh.flatMap((h) => [
      [{ ...who(h), trigger: 'proactive' }, h.proactiveRefreshes30d] as [Record<string, string>, number],
      [{ ...who(h), trigger: 'reactive' }, h.reactiveRefreshes30d] as [Record<string, string>, number],
    ]),
  );
  metric(
    'acctctl_instagram_refresh_success_ratio',
    'Share of logins that gave a verified session (30 days, 0-1).',
    sh.filter((h) => h.refreshSuccessPct !== null).map((h) => [who(h), h.refreshSuccessPct! / 100]),
  );
  metric(
    'acctctl_instagram_check_success_ratio',
    'Share of authenticated check requests answered 200 (30 days, 0-1).',
    sh.filter((h) => h.checkSuccessPct !== null).map((h) => [who(h), h.checkSuccessPct! / 100]),
  );
  metric(
    'acctctl_alert_deliveries_undelivered',
    'Alert deliveries not delivered yet, per sink (pending, of which failing, and given up).',
    r.alerts.sinks.flatMap((s) => [
      [{ sink: s.sink, status: 'pending' }, s.pending] as [Record<string, string>, number],
      [{ sink: s.sink, status: 'failing' }, s.failing] as [Record<string, string>, number],
      [{ sink: s.sink, status: 'dead' }, s.dead] as [Record<string, string>, number],
    ]),
  );
  metric('acctctl_status_generated_timestamp_seconds', 'When this file was written.', [
    [{}, Math.floor(r.generatedAt / 1000)],
  ]);
  return out.join('\n') + '\n';
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

export function renderStatus(r: StatusReport): string {
  const now = r.generatedAt;
  const parts: string[] = [];
  const pct = r.accounts.healthyPct;
  parts.push(
    c.bold('Telegram accounts') +
      `: ${r.accounts.total} total, ${r.accounts.healthy} healthy (${(pct >= 80 ? c.green : pct >= 50 ? c.yellow : c.red)(`${pct}%`)}), ${r.accounts.leased} leased — ` +
      Object.entries(r.accounts.byState)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${s} ${n}`)
        .join(', '),
  );
  if (r.accounts.list.length) {
    parts.push(
      table(
        ['account', 'tenant', 'state', 'until', 'lease', ...ACTIONS.map((a) => `${a} today`), 'last error'],
        r.accounts.list.map((a) => [
          a.enabled ? a.name : `${a.name} (disabled)`,
          a.tenant,
          a.healthy ? c.green(a.state) : c.red(a.state),
          fmtTime(a.until),
          a.leaseHolder ? `${a.leaseHolder} → ${fmtTime(a.leaseExpiresAt)}` : '',
          ...ACTIONS.map((act) => {
            const t = a.today[act];
            return `${t.used}/${t.limit}` + (t.nextAt ? ` (${t.blockedBy} → ${fmtTime(t.nextAt).slice(11)})` : '');
          }),
          a.lastError,
        ]),
      ),
    );
  }
  parts.push(c.bold('Targets'));
  parts.push(
    r.targets.length
      ? table(
          ['niche', 'status', 'count'],
          r.targets.map((t) => [t.niche, t.status, t.count]),
        )
      : 'none',
  );
  parts.push(c.bold('Instagram sessions'));
  parts.push(
    r.instagram.length
      ? table(
          [
            'tenant',
            'username',
            'state',
            'session age',
            'last verified',
            'next refresh',
            'failures',
            'requests/window',
            'last error',
          ],
          r.instagram.map((i) => [
            i.tenant,
            i.username,
            i.state,
            i.sessionAgeMs === null ? '' : fmtAge(now - i.sessionAgeMs, now).replace(' ago', ''),
            fmtAge(i.lastVerifiedAt, now),
            fmtAge(i.nextRefreshAt, now),
            i.failures,
            `profile ${i.rate.profile}/${i.rate.limit}, friendships ${i.rate.friendships}/${i.rate.limit} per ${i.rate.windowSeconds}s` +
              (i.rate.backedOffUntil ? `; backing off to ${fmtTime(i.rate.backedOffUntil)}` : '') +
              i.rate.throttled.map((b) => `; ${b.kind} throttled to ${fmtTime(b.until)} (${b.strikes}×)`).join(''),
            i.lastError,
          ]),
        )
      : 'none',
  );
  parts.push(
    c.bold('Check jobs') +
      ': ' +
      (Object.entries(r.checkJobs.byStatus)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ') || 'none'),
  );
  if (r.checkJobs.open.length) {
    parts.push(
      table(
        ['job', 'watch', 'kind', 'status', 'fetched', 'expected', 'updated'],
        r.checkJobs.open.map((j) => [j.id, j.watch, j.kind, j.status, j.fetched, j.expected, fmtTime(j.updatedAt)]),
      ),
    );
  }
  parts.push(renderAlertsSection(r.alerts));
  return parts.join('\n');
}

export function renderAlertsSection(a: AlertsSection): string {
  const parts = [c.bold('Instagram session health (30 days)')];
  parts.push(
    a.sessionHealth.length
      ? table(
          ['tenant', 'username', 'refreshes · checks'],
          a.sessionHealth.map((h) => [h.tenant, h.username, renderHealth(h)]),
        )
      : 'none',
  );
  const bad = a.sinks.filter((s) => s.failing > 0 || s.dead > 0);
  parts.push(
    c.bold('Alert delivery') +
      ': ' +
      (a.sinks.length === 0
        ? 'nothing undelivered'
        : a.sinks.map((s) => `${s.sink} ${s.pending} pending${s.dead ? `, ${s.dead} given up` : ''}`).join('; ')),
  );
  for (const s of bad) {
    parts.push(
      c.red(`  ${s.sink}: failing (${s.lastError ?? 'error'})`) +
        (s.nextAttemptAt ? `, next try ${fmtTime(s.nextAttemptAt)}` : '') +
        ' → check the sink is up and its settings (acctctl doctor)',
    );
  }
  return parts.join('\n');
}

export async function statusCli(ctx: Ctx, opts: { metricsFile?: string; failUnder?: string }): Promise<void> {
  let failUnder: number | undefined;
  if (opts.failUnder !== undefined) {
    failUnder = Number(opts.failUnder);
    if (!Number.isFinite(failUnder) || failUnder < 0 || failUnder > 100) {
      throw new UsageError(`--fail-under "${opts.failUnder}" → give a percentage between 0 and 100`);
    }
  }
  await withStore(ctx, async (store) => {
    const report = await status({ store, clock: ctx.clock, timeZone: ctx.config.timeZone, igRate: ctx.config.igRate });
    if (opts.metricsFile) writeFileAtomic(opts.metricsFile, toPrometheus(report));
    ctx.emit(report, renderStatus);
    if (failUnder !== undefined) {
      const { alertFleetHealth } = await import('../fleet/alerts.js');
      await alertFleetHealth(store, ctx.clock.now(), report.accounts.healthyPct, failUnder);
    }
    if (failUnder !== undefined && report.accounts.healthyPct < failUnder) {
      ctx.log.error(`healthy accounts ${report.accounts.healthyPct}% are below --fail-under ${failUnder}%`);
      ctx.setExitCode(ExitCode.UNAVAILABLE);
    }
  });
}
