import { MAX_BATCH, MAX_WAIT_SECONDS, spelledDurationMs, wholeInRange } from '../domain/duration.js';
import type { Ctx } from './support/context.js';
import { tenantScope } from '../fleet/tenants.js';
import { secretBox, withStore } from './support/context.js';
import { c, fmtTime, paint, table } from './support/output.js';
import { UsageError } from '../errors.js';
import { join, type JoinSummary } from '../fleet/join.js';
import { telegramGateway } from '../fleet/telegramGateway.js';
import { checkNicheFilter } from '../store/filters.js';
import { count } from '../domain/plural.js';
import { durationMs } from '../domain/duration.js';

const DAY_MS = 86_400_000;

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
            s.plan!.map((p) => [p.target, p.account ?? paint(c.yellow, 'none free now')]),
          )
        : 'no targets waiting in this niche',
    );
    if (s.accounts?.length) {
      lines.push(
        table(
          ['account', 'time zone', 'active hours', 'joins today / budget', 'next join'],
          s.accounts.map((a) => [
            a.account,
            a.timeZone,
            a.activeHours ?? 'any (pacing off)',
            `${a.usedToday}/${a.budget ?? '-'}`,
            a.why === null ? 'now' : `${fmtTime(a.nextAt)} (${a.why})`,
          ]),
        ),
      );
    }
  } else {
    lines.push(c.bold(`join, niche ${s.niche}: ${count(s.claimed, 'target')} claimed`));
    if (s.results.length) {
      lines.push(
        table(
          ['target', 'account', 'outcome', 'detail'],
          s.results.map((r) => [
            r.target,
            r.account,
            paint(
              r.outcome === 'joined' || r.outcome === 'already_member'
                ? c.green
                : r.outcome === 'queued'
                  ? c.yellow
                  : c.red,
              r.outcome,
            ),
            r.detail,
          ]),
        ),
      );
    }
    lines.push(
      Object.entries(s.counts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ') ||
        // Say why nothing happened: no work, or work but every account resting.
        (s.waiting > 0
          ? `nothing joined: ${count(s.waiting, 'target')} waiting in niche ${s.niche}, but no account is free for joining now`
          : `nothing to do: no targets waiting in niche ${s.niche}`),
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
  for (const k of s.skipped) lines.push(paint(c.yellow, `skipped ${k.account}: ${k.reason}`).text);
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
  // One duration syntax for every duration flag (domain/duration.ts): 90s, 10m, 2h, 1d, 1w, or a
  // plain number in the flag's own unit (seconds; days for --pending-days).
  const maxWaitMs = spelledDurationMs(opts.maxWait);
  if (maxWaitMs === undefined)
    throw new UsageError(`--max-wait "${opts.maxWait}" is not a duration → e.g. 90s, 10m, 1h`);
  if (maxWaitMs > MAX_WAIT_SECONDS * 1000)
    throw new UsageError(`--max-wait "${opts.maxWait}" → give a duration from 0 to 7d, e.g. 90s, 10m, 1h`);
  let floodThresholdSeconds = ctx.config.floodThresholdSeconds;
  if (opts.floodThreshold !== undefined) {
    const ms = durationMs(opts.floodThreshold);
    if (ms === undefined || ms % 1000 !== 0 || ms > 86_400_000)
      throw new UsageError(
        `--flood-threshold "${opts.floodThreshold}" → give a duration from 0 to 1d, e.g. 600, 10m, 1h`,
      );
    floodThresholdSeconds = ms / 1000;
  }
  let pendingDays: number | undefined;
  if (opts.pendingDays !== undefined) {
    const ms = /^\d+$/.test(opts.pendingDays.trim()) ? Number(opts.pendingDays) * DAY_MS : durationMs(opts.pendingDays);
    if (ms === undefined || ms < DAY_MS || ms > 999 * DAY_MS || ms % DAY_MS !== 0)
      throw new UsageError(`--pending-days "${opts.pendingDays}" → give whole days from 1 to 999, e.g. 7, 7d, 2w`);
    pendingDays = ms / DAY_MS;
  }
  const maxWait = maxWaitMs / 1000;
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
          pacing: ctx.config.pacing,
          ...(floodThresholdSeconds !== undefined ? { floodThresholdSeconds } : {}),
          pendingExpiryDays: pendingDays,
        },
      );
      const shown = { ...summary, simulated: ctx.config.telegramMode === 'sandbox' };
      ctx.emit({ ...shown, plan: shown.plan ?? null, accounts: shown.accounts ?? null }, () => renderJoin(shown));
    } finally {
      await gateway.closeAll();
    }
  });
}
