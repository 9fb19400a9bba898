import { holderId } from '../fleet/holder.js';
import { tenantScope } from '../fleet/tenants.js';
import { durationMs, MAX_BATCH, MAX_RETENTION_DAYS, spelledDurationMs, wholeInRange } from '../domain/duration.js';
import { MAX_LIMIT_COUNT } from '../domain/files/limits.js';
import type { Ctx } from './support/context.js';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { c, cellText, fmtTime, KEY, paint, table } from './support/output.js';
import { ACTIONS, declaredActionsOf, limitsFor, parseLimitsOverride, type Limits } from '../domain/limits.js';
import { count } from '../domain/plural.js';
import { ExitCode, UsageError } from '../errors.js';
import { AccountManager, type LeaseResult, type RecoverResult, type ResetResult } from '../fleet/accountManager.js';
import type { Store } from '../store/store.js';
import type { FleetProbeResult, ProbeResult } from '../fleet/probe.js';
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

/**
 * `--used ACTION=N` (on the lease's channel, or the one named) and `--used ACTION:CHANNEL=N` (on
 * that channel, in any target link form). The account manager checks the action is known.
 */
export function parseUsed(items: string[]): {
  used: Record<string, number>;
  usedByChannel: Record<string, Record<string, number>>;
} {
  const used: Record<string, number> = {};
  const usedByChannel: Record<string, Record<string, number>> = {};
  for (const item of items) {
    const m = /^([a-z]\w*)(?::([^=\s]+))?=(\d+)$/.exec(item);
    if (!m) throw new UsageError(`--used "${item}" → use ACTION=N or ACTION:CHANNEL=N, e.g. --used invite=3`);
    if (wholeInRange(m[3]!, 0, MAX_LIMIT_COUNT) === undefined) {
      throw new UsageError(`--used "${item}" → N is a whole number 0–${MAX_LIMIT_COUNT}`);
    }
    const into = m[2] === undefined ? used : (usedByChannel[m[2]] ??= {});
    into[m[1]!] = (into[m[1]!] ?? 0) + Number(m[3]);
  }
  return { used, usedByChannel };
}

function manager(ctx: Ctx, store: Store): AccountManager {
  return new AccountManager({
    store,
    clock: ctx.clock,
    timeZone: ctx.config.timeZone,
    pacing: ctx.config.pacing,
    log: ctx.log,
    ...(ctx.config.floodThresholdSeconds !== undefined
      ? { floodThresholdSeconds: ctx.config.floodThresholdSeconds }
      : {}),
  });
}

export async function leaseCli(
  ctx: Ctx,
  opts: {
    action: string;
    tenant?: string;
    anyTenant?: boolean;
    channel?: string;
    ttl: string;
    holder?: string;
    account?: string;
    only?: boolean;
  },
): Promise<void> {
  if (opts.only && opts.account === undefined)
    throw new UsageError('--only goes with --account → acctctl lease --action A --account NAME --only');
  const ttlMs = parseTtl(opts.ttl);
  await withStore(ctx, async (store) => {
    // A preferred account and no tenant named: its own tenant's accounts (the manager scopes it).
    const tenant =
      opts.account !== undefined && opts.tenant === undefined && !opts.anyTenant
        ? undefined
        : await tenantScope(store, { ...opts, command: 'lease', anyAllowed: true });
    const r: LeaseResult = await manager(ctx, store).lease({
      action: opts.action,
      tenant,
      channel: opts.channel,
      holder: opts.holder ?? holderId('cli'),
      ttlMs,
      account: opts.account,
      only: opts.only,
      anyTenant: opts.anyTenant,
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

/** `limits check`: would a lease succeed now, with which account, or when? Takes nothing (exit 75: not now). */
export async function limitsCheckCli(
  ctx: Ctx,
  opts: { action: string; tenant?: string; anyTenant?: boolean; channel?: string; account?: string; only?: boolean },
): Promise<void> {
  if (opts.only && opts.account === undefined)
    throw new UsageError('--only goes with --account → acctctl limits check --action A --account NAME --only');
  await withExistingStore(ctx, async (store) => {
    const tenant =
      opts.account !== undefined && opts.tenant === undefined && !opts.anyTenant
        ? undefined
        : await tenantScope(store, { ...opts, command: 'limits check', anyAllowed: true });
    const r = await manager(ctx, store).check({
      action: opts.action,
      tenant,
      channel: opts.channel,
      account: opts.account,
      only: opts.only,
      anyTenant: opts.anyTenant,
    });
    ctx.emit(r, () =>
      r.ok
        ? `a lease for ${opts.action} would get ${r.account} now (${count(r.allowance ?? 1, 'action')} before a gap or limit)`
        : `no lease for ${opts.action} now: ${r.reason}${r.nextAt ? `; the next frees up at ${fmtTime(r.nextAt)}` : ''}`,
    );
    if (!r.ok) ctx.setExitCode(ExitCode.TEMPFAIL);
  });
}

/** `record NAME ACTION`: an action done outside a lease, counted by the account's limits from now on. */
export async function recordCli(
  ctx: Ctx,
  name: string,
  action: string,
  opts: { channel?: string; failed?: boolean },
): Promise<void> {
  await withExistingStore(ctx, async (store) =>
    ctx.emit(
      await manager(ctx, store).record({ account: name, action, channel: opts.channel, ok: !opts.failed }),
      (r) =>
        `recorded ${r.ok ? '' : 'a failed '}${r.action} by ${r.account}${r.channel ? ` in ${r.channel}` : ''} at ${fmtTime(r.at)}`,
    ),
  );
}

export async function releaseCli(
  ctx: Ctx,
  token: string,
  opts: { used?: string[]; channel?: string[]; success?: boolean; failed?: boolean },
): Promise<void> {
  if (opts.success && opts.failed) throw new UsageError('--success and --failed exclude each other → give one of them');
  const { used, usedByChannel } = parseUsed(opts.used ?? []);
  const success = opts.failed ? false : opts.success ? true : undefined;
  await withStore(ctx, async (store) =>
    ctx.emit(
      await manager(ctx, store).release(token, { used, usedByChannel, channels: opts.channel ?? [], success }),
      (r) => {
        const rec = Object.entries(r.recorded).map(([a, n]) => `${a}=${n}`);
        return (
          `released ${r.account}${rec.length ? `; recorded ${rec.join(', ')}` : ''}` +
          `${r.channels.length ? `; channels ${r.channels.join(', ')}` : ''}` +
          `${r.success === null ? '' : r.success ? '; the work succeeded' : '; the work failed'}`
        );
      },
    ),
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
        [
          { head: 'account', priority: KEY },
          { head: 'state', priority: KEY },
          'reason',
          'last error',
          { head: 'way back', priority: KEY },
        ],
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

export async function recoverCli(
  ctx: Ctx,
  opts: { probe?: boolean; account?: string; all?: boolean; batch?: string } = {},
): Promise<void> {
  if (opts.account !== undefined && !opts.probe)
    throw new UsageError('--account goes with --probe → acctctl recover --probe --account NAME');
  if (opts.all && !opts.probe) throw new UsageError('--all goes with --probe → acctctl recover --probe --all');
  if (opts.all && opts.account !== undefined)
    throw new UsageError('--all or --account NAME, not both → acctctl recover --probe --all (the whole fleet, paced)');
  if (opts.batch !== undefined && !opts.all)
    throw new UsageError('--batch goes with --probe --all → acctctl recover --probe --all --batch 50');
  let batch: number | undefined;
  if (opts.batch !== undefined) {
    batch = wholeInRange(opts.batch, 1, MAX_BATCH);
    if (batch === undefined)
      throw new UsageError(`--batch "${opts.batch}" → give a whole number of accounts 1–${MAX_BATCH}`);
  }
  await withStore(ctx, async (store) => {
    // --probe decrypts sessions: a missing key stops the run before recover changes anything.
    const box = opts.probe ? secretBox(ctx) : null;
    if (box) await (await import('../fleet/sessions.js')).assertKeysPresent(store, box);
    const result: RecoverResult & {
      probed?: ProbeResult[];
      fleet?: Omit<FleetProbeResult, 'probed'>;
      simulated?: boolean;
    } = await manager(ctx, store).recover();
    if (box) {
      const [{ probeAccounts, probeFleet }, { telegramGateway }] = await Promise.all([
        import('../fleet/probe.js'),
        import('../fleet/telegramGateway.js'),
      ]);
      const gateway = await telegramGateway(ctx.config, ctx.clock);
      const deps = { store, box, clock: ctx.clock, gateway, log: ctx.log };
      try {
        if (opts.all) {
          const { probed, ...fleet } = await probeFleet(deps, batch === undefined ? {} : { batch });
          result.probed = probed;
          result.fleet = fleet;
        } else {
          result.probed = await probeAccounts(deps, { account: opts.account });
        }
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
                      [
                        { head: 'account', priority: KEY },
                        'was',
                        'probe says',
                        { head: 'state now', priority: KEY },
                        'until',
                        'channels',
                        'detail',
                      ],
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
                  : r.fleet
                    ? 'probe --all: no account due now'
                    : 'probe: no account blocked, frozen, disabled, parked by CHANNELS_TOO_MUCH or with errors'),
            ]
          : []),
        ...(r.fleet ? [renderFleetProbe(r.fleet)] : []),
      ].join('\n'),
    );
  });
}

function renderFleetProbe(f: Omit<FleetProbeResult, 'probed'>): string {
  const lines: string[] = [];
  if (f.scheduled) lines.push(`scheduled ${count(f.scheduled, 'account')} at their slot of the day`);
  for (const s of f.skipped) lines.push(cellText(`not probed: ${s.account}: ${s.reason}`));
  lines.push(
    `${f.due ? `${count(f.due, 'account')} still due (the next run takes them)` : 'none left due'}; ` +
      `next due at ${f.nextDueAt === null ? '—' : fmtTime(f.nextDueAt)}`,
  );
  return lines.join('\n');
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
  r: {
    limits: Limits;
    overrides: { tenant: unknown; account: unknown };
    timeZone?: string;
    activeHours?: string | null;
    newSince?: number | null;
  },
): string {
  const overrides = [r.overrides.tenant, r.overrides.account].map((o) => {
    const p = o === null ? null : parseLimitsOverride(o);
    return p?.ok ? p.value : null;
  });
  const set = [r.overrides.tenant !== null ? 'the tenant’s' : null, r.overrides.account !== null ? 'its own' : null]
    .filter(Boolean)
    .join(' and ');
  return (
    `${who}: limits in effect (${set ? `defaults with ${set} overrides` : 'the defaults'})\n` + // whose overrides: not a count
    table(
      ['action', 'per day', 'per hour', 'per channel a day', 'gap', 'gap after a failure', 'burst'],
      [
        ...ACTIONS.map((a) => [a, r.limits[a]] as const),
        // Actions the tenant's or the account's file declares (README "Purposes beyond the four actions").
        ...declaredActionsOf(...overrides).map((a) => [`${a} (declared)`, limitsFor(a, ...overrides)!] as const),
      ].map(([a, l]) => {
        const count = (x: number) => (Number.isFinite(x) ? x : '–');
        return [
          a,
          count(l.perDay),
          count(l.perHour),
          l.perChannelPerDay ?? '',
          l.gapMs[0] === l.gapMs[1] ? sec(l.gapMs[0]) : `${sec(l.gapMs[0])}–${sec(l.gapMs[1])}`,
          l.gapAfterFailureMs === null ? 'same' : sec(l.gapAfterFailureMs),
          l.burst ? `${l.burst.count}, then ${sec(l.burst.pauseMs)}` : '',
        ];
      }),
    ) +
    (r.timeZone === undefined
      ? ''
      : `\ntime zone ${r.timeZone}; active hours ${r.activeHours ?? 'any (pacing off: ACCTCTL_PACING=off)'}` +
        (r.newSince ? `; new since ${fmtTime(r.newSince)} (warm-up ramp)` : ''))
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
    ctx.emit({ ...target, limits: doc, overrides: null, timeZone: null, activeHours: null, newSince: null }, () =>
      doc === null ? `${who}: limits back to the defaults` : `${who}: limits set`,
    );
  });
}
