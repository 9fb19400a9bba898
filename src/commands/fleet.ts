import { holderId } from '../fleet/holder.js';
import { tenantScope } from '../fleet/tenants.js';
import { durationMs, MAX_RETENTION_DAYS, spelledDurationMs, wholeInRange } from '../domain/duration.js';
import { MAX_LIMIT_COUNT } from '../domain/files/limits.js';
import type { Ctx } from './support/context.js';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { c, fmtTime, paint, table } from './support/output.js';
import { ACTIONS, isAction, type Action, type Limits } from '../domain/limits.js';
import { count } from '../domain/plural.js';
import { ExitCode, UsageError } from '../errors.js';
import { AccountManager, type LeaseResult, type RecoverResult, type ResetResult } from '../fleet/accountManager.js';
import type { Store } from '../store/store.js';
import type { ProbeResult } from '../fleet/probe.js';
import type { RetentionResult } from '../store/retention.js';

/** `30s`, `10m`, `2h`, or plain seconds; 0 is allowed here (callers bound it). */
function durationOf(s: string, flag: string): number {
  const ms = durationMs(s);
  if (ms === undefined) throw new UsageError(`${flag} "${s}" is not a duration → e.g. 90s, 10m, 1h`);
  return ms;
}

/** `30s`, `10m`, `2h`, or plain seconds: longer than 0. */
export function parseDuration(s: string, flag: string): number {
  const ms = durationOf(s, flag);
  if (ms <= 0) throw new UsageError(`${flag} "${s}" must be longer than 0 → e.g. 90s, 10m, 1h`);
  return ms;
}

/** Lease times: at least a second (a 0 s lease or renewal is dead on arrival), at most a day. */
export const MIN_TTL_MS = 1_000;
export const MAX_TTL_MS = 24 * 3_600_000;

export function parseTtl(s: string, flag = '--ttl'): number {
  // A duration longer than any flag takes is still out of this range, not "not a duration".
  const ms = spelledDurationMs(s) ?? durationOf(s, flag);
  if (ms < MIN_TTL_MS || ms > MAX_TTL_MS) {
    throw new UsageError(
      `${flag} ${s} is out of range → between 1s and 24h (renew a long job's lease as it goes: acctctl renew TOKEN)`,
    );
  }
  return ms;
}

export function parseUsed(items: string[]): Partial<Record<Action, number>> {
  const out: Partial<Record<Action, number>> = {};
  for (const item of items) {
    const m = /^(\w+)=(\d+)$/.exec(item);
    if (!m || !isAction(m[1]!)) throw new UsageError(`--used "${item}" → use ACTION=N, e.g. --used invite=3`);
    if (wholeInRange(m[2]!, 0, MAX_LIMIT_COUNT) === undefined) {
      throw new UsageError(`--used "${item}" → N is a whole number 0–${MAX_LIMIT_COUNT}`);
    }
    out[m[1] as Action] = (out[m[1] as Action] ?? 0) + Number(m[2]);
  }
  return out;
}

function manager(ctx: Ctx, store: Store): AccountManager {
  return new AccountManager({
    store,
    clock: ctx.clock,
    timeZone: ctx.config.timeZone,
    log: ctx.log,
    ...(ctx.config.floodThresholdSeconds !== undefined
      ? { floodThresholdSeconds: ctx.config.floodThresholdSeconds }
      : {}),
  });
}

export async function leaseCli(
  ctx: Ctx,
  opts: { action: string; tenant?: string; anyTenant?: boolean; channel?: string; ttl: string; holder?: string },
): Promise<void> {
  if (!isAction(opts.action)) throw new UsageError(`--action "${opts.action}" → use join, invite, message or contact`);
  const ttlMs = parseTtl(opts.ttl);
  await withStore(ctx, async (store) => {
    const tenant = await tenantScope(store, { ...opts, command: 'lease', anyAllowed: true });
    const r: LeaseResult = await manager(ctx, store).lease({
      action: opts.action as Action,
      tenant,
      channel: opts.channel,
      holder: opts.holder ?? holderId('cli'),
      ttlMs,
    });
    // Every key in both cases (README "JSON output"): lease, or why not and when to try again.
    const shown = r.ok
      ? { ok: true, lease: r.lease, nextAt: null, reason: null }
      : { ok: false, lease: null, nextAt: r.nextAt, reason: r.reason };
    // The token is the result (stdout); a refusal is a message (stderr), so `token=$(acctctl lease …)`
    // never captures a sentence. With --json the document is the result either way.
    if (r.ok || ctx.config.json) ctx.emit(shown, () => (r.ok ? r.lease.token : ''));
    else ctx.note(`no account available: ${r.reason}${r.nextAt ? `; the next frees up at ${fmtTime(r.nextAt)}` : ''}`);
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
  const ttlMs = parseTtl(opts.ttl);
  await withStore(ctx, async (store) =>
    ctx.emit(await manager(ctx, store).renew(token, ttlMs), (r) => `${r.account} held until ${fmtTime(r.expiresAt)}`),
  );
}

export async function reportErrorCli(ctx: Ctx, token: string, error: string): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(
      await manager(ctx, store).reportError(token, error),
      (r) =>
        `${r.account}: ${r.lastError} → ${r.state}${r.until ? ` until ${fmtTime(r.until)}` : ''}` +
        `${r.pauseUntil ? `, paused until ${fmtTime(r.pauseUntil)}` : ''}` +
        // Only a join lease has a target whose fate the error decides.
        `${r.action === 'join' ? `; target: ${r.target}` : ''}` +
        (r.late
          ? '; recorded on the account; its lease had already ended (nobody’s lease was touched)'
          : '; lease ended'),
    ),
  );
}

export function renderRecover(r: RecoverResult): string {
  const lines = [
    `returned to active: ${r.reactivated.length}${r.reactivated.length ? ` (${r.reactivated.map((x) => `${x.account} from ${x.from}`).join(', ')})` : ''}`,
    `expired leases freed: ${r.leasesFreed.length}; targets requeued: ${r.targetsRequeued}; check jobs freed: ${r.jobsFreed}; proxies given another chance: ${r.proxiesRetried}`,
  ];
  if (r.needsPerson.length) {
    lines.push(
      c.bold(`${count(r.needsPerson.length, 'account')} ${r.needsPerson.length === 1 ? 'needs' : 'need'} a person:`),
    );
    lines.push(
      table(
        ['account', 'state', 'reason', 'last error', 'way back'],
        r.needsPerson.map((p) => [
          p.account,
          p.channelsFull && p.state === 'active' ? paint(c.yellow, 'channels full') : paint(c.red, p.state),
          p.reason,
          p.lastError,
          p.fix,
        ]),
      ),
    );
  }
  return lines.join('\n');
}

export async function recoverCli(ctx: Ctx, opts: { probe?: boolean; account?: string } = {}): Promise<void> {
  if (opts.account !== undefined && !opts.probe)
    throw new UsageError('--account goes with --probe → acctctl recover --probe --account NAME');
  await withStore(ctx, async (store) => {
    // --probe decrypts sessions: a missing key stops the run before recover changes anything.
    const box = opts.probe ? secretBox(ctx) : null;
    if (box) await (await import('../fleet/sessions.js')).assertKeysPresent(store, box);
    const result: RecoverResult & { probed?: ProbeResult[]; simulated?: boolean } = await manager(ctx, store).recover();
    if (box) {
      const [{ probeAccounts }, { telegramGateway }] = await Promise.all([
        import('../fleet/probe.js'),
        import('../fleet/telegramGateway.js'),
      ]);
      const gateway = await telegramGateway(ctx.config, ctx.clock);
      try {
        result.probed = await probeAccounts(
          { store, box, clock: ctx.clock, gateway, log: ctx.log },
          { account: opts.account },
        );
      } finally {
        await gateway.closeAll();
      }
      result.simulated = ctx.config.telegramMode === 'sandbox';
      if (result.probed.length) {
        // What the probe changed is what `recover` should now list.
        const after = await manager(ctx, store).recover();
        result.needsPerson = after.needsPerson;
      }
    }
    ctx.emit(result, (r) =>
      [
        renderRecover(r),
        ...(r.probed
          ? [
              (r.simulated ? 'probe (SIMULATED Telegram, ACCTCTL_TELEGRAM=sandbox):\n' : '') +
                (r.probed.length
                  ? table(
                      ['account', 'was', 'probe says', 'state now', 'until', 'channels', 'detail'],
                      r.probed.map((p) => [
                        p.account,
                        p.from,
                        p.verdict,
                        p.state,
                        fmtTime(p.until),
                        p.channels === null ? '' : `${p.channels}${p.channelsFull ? ' (still full)' : ''}`,
                        p.detail,
                      ]),
                    )
                  : 'probe: no account blocked, frozen, disabled, parked by CHANNELS_TOO_MUCH or with errors'),
            ]
          : []),
      ].join('\n'),
    );
  });
}

export async function reactivateCli(ctx: Ctx, name: string, opts: { reason?: string }): Promise<void> {
  const { reactivateAccount } = await import('../fleet/waysBack.js');
  await withStore(ctx, async (store) =>
    ctx.emit(
      await reactivateAccount({ store, clock: ctx.clock }, name, opts.reason ?? ''),
      (r) =>
        `account ${r.account}: ${r.from} → active${r.channelsFullCleared ? ', joins allowed again' : ''}; error count cleared (reason recorded: ${r.reason})`,
    ),
  );
}

export async function resetLimitsCli(ctx: Ctx, opts: { retentionDays: string }): Promise<void> {
  const days = wholeInRange(opts.retentionDays, 1, MAX_RETENTION_DAYS);
  if (days === undefined) {
    throw new UsageError(
      `--retention-days "${opts.retentionDays}" → give a whole number of days 1–${MAX_RETENTION_DAYS}`,
    );
  }
  await withStore(ctx, async (store) => {
    const reset = await manager(ctx, store).resetLimits({ retentionDays: days });
    const { pruneRetention } = await import('../store/retention.js');
    const retention = await pruneRetention(store, ctx.clock.now(), ctx.config.retention);
    ctx.emit(
      { ...reset, retention },
      (r: ResetResult & { retention: RetentionResult }) =>
        `day ${r.day}: ${count(r.accountsReset, 'account')} reset, ${r.alreadyReset} already reset today; ` +
        `${count(r.actionLogPruned, 'action log row')} older than ${count(days, 'day')} pruned; ` +
        `pruned ${count(r.retention.eventsPruned, 'event')}, ${count(r.retention.deliveriesPruned, 'delivery record')}, ` +
        `${count(r.retention.igRequestsPruned, 'Instagram request log row')}, ${count(r.retention.snapshotsPruned, 'old follower snapshot')}`,
    );
  });
}

/** `accounts limits NAME FILE` / `tenants limits NAME FILE`: set overrides from a JSON file, or clear them. */
const sec = (ms: number): string => (ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000} min` : `${ms / 1000} s`);

export function renderLimits(
  who: string,
  r: { limits: Limits; overrides: { tenant: unknown; account: unknown } },
): string {
  const set = [r.overrides.tenant !== null ? 'the tenant’s' : null, r.overrides.account !== null ? 'its own' : null]
    .filter(Boolean)
    .join(' and ');
  return (
    `${who}: limits in effect (${set ? `defaults with ${set} overrides` : 'the defaults'})\n` + // whose overrides: not a count
    table(
      ['action', 'per day', 'per hour', 'per channel a day', 'gap', 'gap after a failure', 'burst'],
      ACTIONS.map((a) => {
        const l = r.limits[a];
        return [
          a,
          l.perDay,
          l.perHour,
          l.perChannelPerDay ?? '',
          l.gapMs[0] === l.gapMs[1] ? sec(l.gapMs[0]) : `${sec(l.gapMs[0])}–${sec(l.gapMs[1])}`,
          l.gapAfterFailureMs === null ? 'same' : sec(l.gapAfterFailureMs),
          l.burst ? `${l.burst.count}, then ${sec(l.burst.pauseMs)}` : '',
        ];
      }),
    )
  );
}

export async function setLimitsCli(
  ctx: Ctx,
  target: { account: string } | { tenant: string },
  file: string | undefined,
  opts: { clear?: boolean },
): Promise<void> {
  const { readInputFile, parseJsonFile } = await import('../config/inputFiles.js');
  if (file && opts.clear) throw new UsageError('a limits file and --clear both given → choose one');
  if (!file && !opts.clear) {
    // No file: show the limits that apply now, and which overrides are set.
    await withExistingStore(ctx, async (store) => {
      const who = 'account' in target ? `account ${target.account}` : `tenant ${target.tenant}`;
      const r = await manager(ctx, store).effectiveLimits(target);
      ctx.emit({ ...target, ...r }, () => renderLimits(who, r));
    });
    return;
  }
  const doc = opts.clear ? null : parseJsonFile(file!, readInputFile(file!));
  await withStore(ctx, async (store) => {
    await manager(ctx, store).setLimits(target, doc);
    const who = 'account' in target ? `account ${target.account}` : `tenant ${target.tenant}`;
    ctx.emit({ ...target, limits: doc, overrides: null }, () =>
      doc === null ? `${who}: limits back to the defaults` : `${who}: limits set`,
    );
  });
}
