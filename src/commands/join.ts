import { MAX_BATCH, MAX_WAIT_SECONDS, wholeInRange } from '../domain/duration.js';
import type { Ctx } from './support/context.js';
import { tenantScope } from '../fleet/tenants.js';
import { secretBox, withStore } from './support/context.js';
import { c, fmtTime, table } from './support/output.js';
import { UsageError } from '../errors.js';
import { join, type JoinSummary } from '../fleet/join.js';
import { telegramGateway } from '../fleet/telegramGateway.js';
import { checkNicheFilter } from '../store/filters.js';

export function renderJoin(s: JoinSummary): string {
  const lines: string[] = [];
  if (s.simulated)
    lines.push(c.yellow('SIMULATED Telegram (ACCTCTL_TELEGRAM=sandbox): nothing below reached Telegram'));
  if (s.dryRun) {
    lines.push(c.bold(`join --dry-run, niche ${s.niche}: nothing was changed`));
    lines.push(
      s.plan!.length
        ? table(
            ['target', 'account that would try it'],
            s.plan!.map((p) => [p.target, p.account ?? c.yellow('none free now')]),
          )
        : 'no targets waiting in this niche',
    );
  } else {
    lines.push(c.bold(`join, niche ${s.niche}: ${s.claimed} target(s) claimed`));
    if (s.results.length) {
      lines.push(
        table(
          ['target', 'account', 'outcome', 'detail'],
          s.results.map((r) => [
            r.target,
            r.account,
            r.outcome === 'joined' || r.outcome === 'already_member'
              ? c.green(r.outcome)
              : r.outcome === 'queued'
                ? c.yellow(r.outcome)
                : c.red(r.outcome),
            r.detail,
          ]),
        ),
      );
    }
    lines.push(
      Object.entries(s.counts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') || 'nothing to do',
    );
  }
  if (s.rechecked.length) {
    const n = (o: string) => s.rechecked.filter((r) => r.outcome === o).length;
    lines.push(
      `join requests re-checked: ${n('approved')} approved (joined, warm-up started), ${n('pending')} still pending, ${n('expired')} expired` +
        (n('error') + n('banned') ? `, ${n('error') + n('banned')} failed` : '') +
        (n('not_checked') ? `, ${n('not_checked')} not checked now` : ''),
    );
  }
  lines.push(
    s.nextFreeAt === null
      ? 'no account will be free for joining without a person (see acctctl recover)'
      : `next account free for joining: ${fmtTime(s.nextFreeAt)}`,
  );
  return lines.join('\n');
}

/** `join`'s flags as commander parses them. */
export interface JoinFlags {
  niche: string;
  batch: string;
  dryRun?: boolean;
  maxWait: string;
  floodThreshold?: string;
  pendingDays?: string;
  tenant?: string;
  anyTenant?: boolean;
}

export async function joinCli(ctx: Ctx, opts: JoinFlags): Promise<void> {
  const batch = wholeInRange(opts.batch, 1, MAX_BATCH);
  if (batch === undefined) throw new UsageError(`--batch "${opts.batch}" → give a whole number 1–${MAX_BATCH}`);
  const maxWait = wholeInRange(opts.maxWait, 0, MAX_WAIT_SECONDS);
  if (maxWait === undefined) {
    throw new UsageError(
      `--max-wait "${opts.maxWait}" → give a whole number of seconds 0–${MAX_WAIT_SECONDS} (7 days)`,
    );
  }
  if (
    opts.floodThreshold !== undefined &&
    !(/^\d{1,5}$/.test(opts.floodThreshold) && Number(opts.floodThreshold) <= 86_400)
  )
    throw new UsageError('--flood-threshold must be a number of seconds 0–86400');
  if (opts.pendingDays !== undefined && !/^[1-9]\d{0,2}$/.test(opts.pendingDays))
    throw new UsageError('--pending-days must be a whole number of days 1–999');
  const floodThresholdSeconds =
    opts.floodThreshold !== undefined ? Number(opts.floodThreshold) : ctx.config.floodThresholdSeconds;
  const box = secretBox(ctx);
  await withStore(ctx, async (store) => {
    const tenant = await tenantScope(store, { ...opts, command: 'join', anyAllowed: true });
    await checkNicheFilter(store, opts.niche);
    const gateway = await telegramGateway(ctx.config, ctx.clock);
    try {
      const summary = await join(
        { store, clock: ctx.clock, gateway, box, log: ctx.log, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
        {
          niche: opts.niche,
          tenant,
          batch,
          dryRun: opts.dryRun ?? false,
          maxWaitMs: maxWait * 1000,
          timeZone: ctx.config.timeZone,
          ...(floodThresholdSeconds !== undefined ? { floodThresholdSeconds } : {}),
          pendingExpiryDays: opts.pendingDays === undefined ? undefined : Number(opts.pendingDays),
        },
      );
      const shown = { ...summary, simulated: ctx.config.telegramMode === 'sandbox' };
      ctx.emit({ ...shown, plan: shown.plan ?? null }, () => renderJoin(shown));
    } finally {
      await gateway.closeAll();
    }
  });
}
