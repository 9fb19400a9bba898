import type { Ctx } from './support/context.js';
import { count } from '../domain/plural.js';
import { withExistingStore } from './support/context.js';
import { DEFAULT_LIMIT, listSpec } from './support/listing.js';
import { ExitCode, UsageError } from '../errors.js';
import { checkAccountFilter } from '../store/accounts.js';
import { renderStatus, statusJson } from './support/statusView.js';
import { perAccountPrometheus, perSessionPrometheus, status, toPrometheus, writeFileAtomic } from '../fleet/status.js';

export interface StatusFlags {
  metricsFile?: string;
  metricsPerAccount?: boolean;
  failUnder?: string;
  accounts?: boolean;
  state?: string;
  tenant?: string;
  limit?: string;
}

export async function statusCli(ctx: Ctx, opts: StatusFlags): Promise<void> {
  let failUnder: number | undefined;
  if (opts.failUnder !== undefined) {
    failUnder = Number(opts.failUnder);
    if (!Number.isFinite(failUnder) || failUnder < 0 || failUnder > 100) {
      throw new UsageError(`--fail-under "${opts.failUnder}" → give a percentage between 0 and 100`);
    }
  }
  if (!opts.accounts && (opts.state !== undefined || opts.tenant !== undefined || opts.limit !== undefined)) {
    throw new UsageError('--state, --tenant and --limit choose the rows of --accounts → add --accounts');
  }
  if (opts.metricsPerAccount && !opts.metricsFile) {
    throw new UsageError('--metrics-per-account adds to --metrics-file → give --metrics-file FILE too');
  }
  const detail = opts.accounts
    ? { state: opts.state, tenant: opts.tenant, limit: listSpec({ limit: opts.limit }, false).limit ?? DEFAULT_LIMIT }
    : undefined;
  if (detail) checkAccountFilter(detail);
  await withExistingStore(ctx, async (store) => {
    const deps = {
      store,
      clock: ctx.clock,
      timeZone: ctx.config.timeZone,
      igRate: ctx.config.igRate,
      pacing: ctx.config.pacing,
    };
    const report = await status(deps, { accounts: detail });
    if (opts.metricsFile) {
      let text = toPrometheus(report);
      if (opts.metricsPerAccount) text += (await perAccountPrometheus(deps)) + perSessionPrometheus(report);
      writeFileAtomic(opts.metricsFile, text);
      // The crontab's line: no tables, one line (stdout usually goes to /dev/null).
      ctx.emit(
        statusJson(report),
        () =>
          `metrics written to ${opts.metricsFile}: ${count(report.accounts.total, 'account')}, ${report.accounts.healthy} healthy (${report.accounts.healthyPct}%)`,
      );
    } else {
      ctx.emit(statusJson(report), () => renderStatus(report));
    }
    // A fleet with no enabled account is not healthy: --fail-under fails on it (a monitoring line
    // pointed at the wrong store, or every account disabled, must not stay green).
    const healthyPct = report.accounts.enabled === 0 ? 0 : report.accounts.healthyPct;
    if (failUnder !== undefined) {
      const { alertFleetHealth } = await import('../fleet/alerts.js');
      await alertFleetHealth(store, ctx.clock.now(), healthyPct, failUnder);
    }
    if (failUnder !== undefined && report.accounts.enabled === 0) {
      ctx.note(`no enabled accounts: --fail-under ${failUnder}% fails → import or enable accounts`);
      ctx.setExitCode(ExitCode.UNAVAILABLE);
    } else if (failUnder !== undefined && healthyPct < failUnder) {
      ctx.note(`healthy accounts ${healthyPct}% are below --fail-under ${failUnder}%`);
      ctx.setExitCode(ExitCode.UNAVAILABLE);
    }
  });
}
