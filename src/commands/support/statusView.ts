import { renderRows, type Column } from './listing.js';
import { count } from '../../domain/plural.js';
import { c, EXTRA, fmtDuration, fmtTime, fmtWhen, KEY, table } from './output.js';
import { ACTIONS } from '../../domain/limits.js';
import { renderHealth } from '../../store/sessionHealth.js';
import {
  TENANTS_SHOWN,
  type AccountStatus,
  type AlertsSection,
  type IgSessionStatus,
  type Listed,
  type StatusReport,
  tenantLabel,
} from '../../fleet/status.js';

const pctText = (pct: number) => (pct >= 80 ? c.green : pct >= 50 ? c.yellow : c.red)(`${pct}%`);
const states = (byState: Record<string, number>) =>
  Object.entries(byState)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ');

function accountColumns(): Column<AccountStatus>[] {
  return [
    { head: 'account', value: (a) => (a.enabled ? a.name : `${a.name} (disabled)`), priority: KEY },
    { head: 'tenant', value: (a) => a.tenant },
    { head: 'state', value: (a) => a.state, style: (t, a) => (a.healthy ? c.green(t) : c.red(t)), priority: KEY },
    { head: 'until', value: (a) => fmtTime(a.until) },
    {
      head: 'lease',
      value: (a) => (a.leaseHolder ? `${a.leaseHolder} → ${fmtTime(a.leaseExpiresAt)}` : ''),
      priority: EXTRA,
    },
    ...ACTIONS.map((act): Column<AccountStatus> => ({
      head: `${act} today`,
      value: (a) => {
        const t = a.today[act];
        return `${t.used}/${t.limit}` + (t.nextAt ? ` (${t.blockedBy} → ${fmtTime(t.nextAt)})` : '');
      },
    })),
    {
      head: 'pacing (join budget, next planned)',
      value: (a) =>
        a.pacing.activeHours === null
          ? `${a.pacing.timeZone}, pacing off`
          : `${a.pacing.timeZone} ${a.pacing.activeHours}` +
            (a.pacing.joinBudget === null
              ? ''
              : `; budget ${a.pacing.joinBudget}${a.pacing.rampDay === null ? '' : ` (warm-up day ${a.pacing.rampDay + 1})`}`) +
            (a.pacing.nextJoinAt === null ? '' : `; next ${fmtTime(a.pacing.nextJoinAt)}`),
    },
    { head: 'last error', value: (a) => a.lastError },
  ];
}

function igColumns(now: number): Column<IgSessionStatus>[] {
  return [
    { head: 'tenant', value: (i) => i.tenant },
    { head: 'username', value: (i) => i.username, priority: KEY },
    { head: 'state', value: (i) => i.state, priority: KEY },
    {
      head: 'session age',
      value: (i) => (i.sessionAgeMs === null ? '' : fmtDuration(i.sessionAgeMs)),
      priority: EXTRA,
    },
    { head: 'last verified', value: (i) => fmtWhen(i.lastVerifiedAt, now), priority: EXTRA },
    { head: 'next refresh', value: (i) => fmtWhen(i.nextRefreshAt, now) },
    { head: 'failures', value: (i) => i.failures },
    {
      head: 'requests/window',
      priority: EXTRA,
      value: (i) =>
        `profile ${i.rate.profile}/${i.rate.limit}, friendships ${i.rate.friendships}/${i.rate.limit} per ${i.rate.windowSeconds}s` +
        (i.rate.backedOffUntil ? `; backing off to ${fmtTime(i.rate.backedOffUntil)}` : '') +
        i.rate.throttled.map((b) => `; ${b.kind} throttled to ${fmtTime(b.until)} (${b.strikes}×)`).join(''),
    },
    { head: 'last error', value: (i) => i.lastError },
  ];
}

const moreLine = (l: Listed, what: string, hint: string) =>
  l.more > 0
    ? `showing ${l.shown} of ${l.total} ${what}: ${l.more} more → ${hint}`
    : `${l.shown} of ${l.total} ${what}`;

/** The summary: its length depends on states, tenants, niches and actions, never on the fleet's size. */
export function renderStatus(r: StatusReport): string {
  const now = r.generatedAt;
  const parts: string[] = [];
  const a = r.accounts;
  parts.push(
    c.bold('Telegram accounts') +
      `: ${a.total} total, ${a.healthy} healthy (${pctText(a.healthyPct)} of ${a.enabled} enabled), ${a.leased} leased — ` +
      (states(a.byState) || 'none'),
  );
  if (a.byTenant.length > 1 || (a.byTenant.length === 1 && a.byTenant[0]!.tenant !== null)) {
    const shown = a.byTenant.slice(0, TENANTS_SHOWN);
    parts.push(
      table(
        ['tenant', 'accounts', 'healthy', 'leased', 'states'],
        shown.map((t) => [tenantLabel(t.tenant), t.total, t.healthy, t.leased, states(t.byState)]),
      ) + (a.byTenant.length > shown.length ? `\n… ${a.byTenant.length - shown.length} more tenants (--json)` : ''),
    );
  }
  parts.push(c.bold(`Today's use`) + ` (${r.timeZone}; limits summed over enabled accounts)`);
  parts.push(
    table(
      ['action', 'used', 'limit', 'share'],
      r.today.fleet.map((u) => [
        u.action,
        u.used,
        u.limit,
        u.limit ? `${Math.round((u.used / u.limit) * 1000) / 10}%` : '',
      ]),
    ),
  );
  parts.push(
    c.bold('Since the last reset') +
      (r.counters.lastResetAt === null ? ' (none yet)' : ` (${fmtTime(r.counters.lastResetAt)})`) +
      `: ${count(r.counters.leases, 'lease')}; errors: ` +
      (r.counters.errors.map((x) => `${x.kind} ${x.count}`).join(', ') || 'none'),
  );
  const p = r.problems;
  const problems: string[] = p.needPerson.map(
    (x) => `  ${x.count} ${x.state}${x.reason ? ` (${x.reason})` : ''} → acctctl status --accounts --state ${x.state}`,
  );
  if (p.needPersonGroups > p.needPerson.length)
    problems.push(`  … ${count(p.needPersonGroups - p.needPerson.length, 'more reason')} (--json)`);
  if (p.unhealthyProxies)
    problems.push(
      `  ${count(p.unhealthyProxies, 'proxy', 'proxies')} unhealthy or dead → acctctl proxies list; acctctl proxies check; acctctl recover`,
    );
  if (p.igNeedPerson)
    problems.push(
      `  ${count(p.igNeedPerson, 'Instagram session')} ${p.igNeedPerson === 1 ? 'needs' : 'need'} a person → acctctl ig list`,
    );
  if (p.disabledByOperator) problems.push(`  ${count(p.disabledByOperator, 'account')} disabled by an operator`);
  if (p.accountsWithErrors)
    problems.push(`  ${count(p.accountsWithErrors, 'account')} with errors today → acctctl recover --probe`);
  parts.push(
    c.bold('Problems') +
      (problems.length
        ? ` (${count(p.needPersonTotal, 'account')} ${p.needPersonTotal === 1 ? 'needs' : 'need'} a person)\n` +
          problems.join('\n')
        : ': none'),
  );
  parts.push(c.bold('Targets'));
  const joined = new Map(r.joinedToday.map((j) => [j.niche, j.count]));
  parts.push(
    r.targets.length
      ? table(
          ['niche', 'status', 'count'],
          r.targets.map((t) => [t.niche, t.status, t.count]),
        ) + (joined.size ? '\njoined today: ' + [...joined].map(([n, k]) => `${n} ${k}`).join(', ') : '')
      : 'none',
  );
  const ig = r.instagram;
  parts.push(
    c.bold('Instagram sessions') +
      (ig.total
        ? `: ${ig.total} total — ${states(ig.byState)}; ${ig.backingOff} backing off; ${count(ig.requestsInWindow, 'request')} in the last ${ig.windowSeconds}s (busiest session ${ig.busiestInWindow}/${ig.limit})`
        : ': none'),
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
  if (a.list && a.listed) {
    parts.push(c.bold('Accounts') + filterText(a.listed));
    if (a.list.length) parts.push(renderRows(accountColumns(), a.list));
    parts.push(moreLine(a.listed, 'accounts', '--limit N, or acctctl accounts list --all'));
  }
  if (ig.list && ig.listed && ig.listed.total > 0) {
    parts.push(c.bold('Instagram sessions') + filterText(ig.listed));
    if (ig.list.length) parts.push(renderRows(igColumns(now), ig.list));
    parts.push(moreLine(ig.listed, 'sessions', '--limit N, or acctctl ig list --all'));
  }
  if (!a.list) parts.push(`(per account: acctctl status --accounts [--state S] [--tenant T] [--limit N])`);
  parts.push(renderAlertsSection(r.alerts));
  return parts.join('\n');
}

/** Sessions shown in the status table's health section (the worst first). */
const HEALTH_SHOWN = 10;

export function renderAlertsSection(a: AlertsSection): string {
  const parts = [c.bold('Instagram session health (30 days)')];
  // Bounded whatever the fleet: the sessions doing worst first; every session is in --json and ig list.
  const worst = [...a.sessionHealth]
    .sort(
      (x, y) =>
        (x.refreshSuccessPct ?? 101) - (y.refreshSuccessPct ?? 101) ||
        (x.checkSuccessPct ?? 101) - (y.checkSuccessPct ?? 101),
    )
    .slice(0, HEALTH_SHOWN);
  parts.push(
    worst.length
      ? table(
          ['tenant', 'username', 'refreshes · checks'],
          worst.map((h) => [h.tenant, h.username, renderHealth(h)]),
        ) +
          (a.sessionHealth.length > worst.length
            ? `\n(${a.sessionHealth.length - worst.length} more sessions: acctctl ig list shows each one's figures)`
            : '')
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

function filterText(l: Listed): string {
  const f = [l.filter.state && `state ${l.filter.state}`, l.filter.tenant && `tenant ${l.filter.tenant}`].filter(
    Boolean,
  );
  return f.length ? ` (${f.join(', ')})` : '';
}

/**
 * `status --json`: the report with every key present (README "JSON output"): the per-account and
 * per-session rows are null without --accounts.
 */
export function statusJson(report: StatusReport): unknown {
  return {
    ...report,
    accounts: { ...report.accounts, list: report.accounts.list ?? null, listed: report.accounts.listed ?? null },
    instagram: { ...report.instagram, list: report.instagram.list ?? null, listed: report.instagram.listed ?? null },
  };
}
