import { hostname } from 'node:os';
import type { Ctx } from '../cli/context.js';
import { withStore } from '../cli/context.js';
import { c, fmtTime, table } from '../cli/output.js';
import { isAction, type Action } from '../domain/limits.js';
import { ExitCode, UsageError } from '../errors.js';
import { AccountManager, type LeaseResult, type RecoverResult, type ResetResult } from '../fleet/accountManager.js';
import type { Store } from '../store/store.js';
import type { ProbeResult } from '../fleet/probe.js';
import type { RetentionResult } from '../store/retention.js';

/** `30s`, `10m`, `2h`, or plain seconds. */
export function parseDuration(s: string, flag: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new UsageError(`${flag} "${s}" is not a duration → e.g. 90s, 10m, 1h`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
}

export function parseUsed(items: string[]): Partial<Record<Action, number>> {
  const out: Partial<Record<Action, number>> = {};
  for (const item of items) {
    const m = /^(\w+)=(\d+)$/.exec(item);
    if (!m || !isAction(m[1]!)) throw new UsageError(`--used "${item}" → use ACTION=N, e.g. --used invite=3`);
    out[m[1] as Action] = (out[m[1] as Action] ?? 0) + Number(m[2]);
  }
  return out;
}

function manager(ctx: Ctx, store: Store): AccountManager {
  return new AccountManager({ store, clock: ctx.clock, timeZone: ctx.config.timeZone, log: ctx.log });
}

export async function leaseCli(
  ctx: Ctx,
  opts: { action: string; tenant?: string; channel?: string; ttl: string; holder?: string },
): Promise<void> {
  if (!isAction(opts.action)) throw new UsageError(`--action "${opts.action}" → use join, invite, message or contact`);
  const ttlMs = parseDuration(opts.ttl, '--ttl');
  await withStore(ctx, async (store) => {
    const r: LeaseResult = await manager(ctx, store).lease({
      action: opts.action as Action,
      tenant: opts.tenant,
      channel: opts.channel,
      holder: opts.holder ?? `cli@${hostname()}`,
      ttlMs,
    });
    ctx.emit(r, (x) =>
      x.ok
        ? x.lease.token
        : `no account available: ${x.reason}${x.nextAt ? `; the next frees up at ${fmtTime(x.nextAt)}` : ''}`,
    );
    if (!r.ok) ctx.setExitCode(ExitCode.TEMPFAIL);
  });
}

export async function releaseCli(ctx: Ctx, token: string, opts: { used?: string[] }): Promise<void> {
  const used = parseUsed(opts.used ?? []);
  await withStore(ctx, async (store) =>
    ctx.emit(await manager(ctx, store).release(token, { used }), (r) => {
      const rec = Object.entries(r.recorded).map(([a, n]) => `${a}=${n}`);
      return `released ${r.account}${rec.length ? `; recorded ${rec.join(', ')}` : ''}`;
    }),
  );
}

export async function renewCli(ctx: Ctx, token: string, opts: { ttl: string }): Promise<void> {
  const ttlMs = parseDuration(opts.ttl, '--ttl');
  await withStore(ctx, async (store) =>
    ctx.emit(await manager(ctx, store).renew(token, ttlMs), (r) => `${r.account} held until ${fmtTime(r.expiresAt)}`),
  );
}

export async function reportErrorCli(ctx: Ctx, token: string, error: string): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(
      await manager(ctx, store).reportError(token, error),
      (r) =>
        `${r.account}: ${r.code} → ${r.state}${r.until ? ` until ${fmtTime(r.until)}` : ''}` +
        `${r.pauseUntil ? `, paused until ${fmtTime(r.pauseUntil)}` : ''}; target: ${r.target}; lease ended`,
    ),
  );
}

export function renderRecover(r: RecoverResult): string {
  const lines = [
    `returned to active: ${r.reactivated.length}${r.reactivated.length ? ` (${r.reactivated.map((x) => `${x.account} from ${x.from}`).join(', ')})` : ''}`,
    `expired leases freed: ${r.leasesFreed.length}; targets requeued: ${r.targetsRequeued}; check jobs freed: ${r.jobsFreed}; proxies given another chance: ${r.proxiesRetried}`,
  ];
  if (r.needsPerson.length) {
    lines.push(c.bold(`${r.needsPerson.length} account(s) need a person:`));
    lines.push(
      table(
        ['account', 'state', 'reason', 'last error', 'what to do'],
        r.needsPerson.map((p) => [
          p.account,
          c.red(p.state),
          p.reason,
          p.lastError,
          p.state === 'disabled'
            ? 'log in again (accounts login), then accounts enable'
            : p.state === 'frozen'
              ? 'appeal through @SpamBot in the Telegram app'
              : 'banned: remove it (accounts remove)',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

export async function recoverCli(ctx: Ctx, opts: { probe?: boolean } = {}): Promise<void> {
  await withStore(ctx, async (store) => {
    const result: RecoverResult & { probed?: ProbeResult[] } = await manager(ctx, store).recover();
    if (opts.probe) {
      const [{ probeAccounts }, { telegramGateway }, { secretBox }] = await Promise.all([
        import('../fleet/probe.js'),
        import('./join.js'),
        import('../cli/context.js'),
      ]);
      const gateway = await telegramGateway(ctx.config, ctx.clock);
      try {
        result.probed = await probeAccounts({ store, box: secretBox(ctx), clock: ctx.clock, gateway, log: ctx.log });
      } finally {
        await gateway.closeAll();
      }
    }
    ctx.emit(result, (r) =>
      [
        renderRecover(r),
        ...(r.probed
          ? [
              r.probed.length
                ? table(
                    ['account', 'probe says', 'state now', 'until', 'detail'],
                    r.probed.map((p) => [p.account, p.verdict, p.state, fmtTime(p.until), p.detail]),
                  )
                : 'probe: no account with errors or in blocked',
            ]
          : []),
      ].join('\n'),
    );
  });
}

export async function resetLimitsCli(ctx: Ctx, opts: { retentionDays: string }): Promise<void> {
  const days = Number(opts.retentionDays);
  if (!Number.isInteger(days) || days < 1) throw new UsageError('--retention-days must be a whole number ≥ 1');
  await withStore(ctx, async (store) => {
    const reset = await manager(ctx, store).resetLimits({ retentionDays: days });
    const { pruneRetention } = await import('../store/retention.js');
    const retention = await pruneRetention(store, ctx.clock.now(), ctx.config.retention);
    ctx.emit(
      { ...reset, retention },
      (r: ResetResult & { retention: RetentionResult }) =>
        `day ${r.day}: ${r.accountsReset} account(s) reset, ${r.alreadyReset} already reset today; ` +
        `${r.actionLogPruned} action log row(s) older than ${days} days pruned; ` +
        `pruned ${r.retention.eventsPruned} event(s), ${r.retention.deliveriesPruned} delivery record(s), ` +
        `${r.retention.igRequestsPruned} Instagram request log row(s), ${r.retention.snapshotsPruned} old follower snapshot(s)`,
    );
  });
}

/** `accounts limits NAME FILE` / `tenants limits NAME FILE`: set overrides from a JSON file, or clear them. */
export async function setLimitsCli(
  ctx: Ctx,
  target: { account: string } | { tenant: string },
  file: string | undefined,
  opts: { clear?: boolean },
): Promise<void> {
  const { readInputFile, parseJsonFile } = await import('./importing.js');
  if (!file && !opts.clear) throw new UsageError('give a limits JSON file, or --clear to go back to the defaults');
  const doc = opts.clear ? null : parseJsonFile(file!, readInputFile(file!));
  await withStore(ctx, async (store) => {
    await manager(ctx, store).setLimits(target, doc);
    const who = 'account' in target ? `account ${target.account}` : `tenant ${target.tenant}`;
    ctx.emit({ ...target, limits: doc }, () =>
      doc === null ? `${who}: limits back to the defaults` : `${who}: limits set`,
    );
  });
}
