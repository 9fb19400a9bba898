import { randomInt } from 'node:crypto';
import { tenantIdByName } from '../store/tenants.js';
import { classifyError, PERSON_STATES } from '../domain/accountStates.js';
import type { Clock } from '../domain/clock.js';
import { ConfigError, UsageError } from '../errors.js';
import { AccountManager } from './accountManager.js';
import { holderId } from './holder.js';
import { recheckPending, type RecheckResult } from './pending.js';
import { assertKeysPresent, loadSession } from './sessions.js';
import {
  claimTargets,
  finishTarget,
  countWaitingTargets,
  peekTargets,
  pinTarget,
  releaseTargets,
  renewClaims,
  bindClaimed,
  unpinClaimed,
  type ClaimedTarget,
} from '../store/targetClaims.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import { proxyDownReason } from '../domain/proxyHealth.js';
import { accountsOnDownProxies, accountStanding, accountsPage } from '../store/accounts.js';
import { formatActiveHours } from '../domain/pacing.js';
import type { Store } from '../store/store.js';
import { TelegramCallError, TelegramConnectError, type TelegramGateway } from '../telegram/gateway.js';
import { markProxy } from '../store/proxies.js';
import type { ProxySpec } from '../domain/proxyUrl.js';
import type { PacingConfig } from '../domain/pacing.js';

export interface JoinOptions {
  niche: string;
  /** Only this tenant's targets, joined only with this tenant's accounts (undefined: any). */
  tenant?: string | undefined;
  batch: number;
  dryRun: boolean;
  /** Wait at most this long in total for an account to free up (0: do what is possible now). */
  maxWaitMs: number;
  holder?: string;
  /** How long a claimed target or leased account stays ours without progress. */
  ttlMs?: number;
  floodThresholdSeconds?: number;
  timeZone: string;
  /** Pacing (active hours, the day's budget spread, per-proxy spacing); null/undefined: limits only. */
  pacing?: PacingConfig | null | undefined;
  /** A join request still pending this many days after it was sent expires (default 7). */
  pendingExpiryDays?: number | undefined;
}

export interface JoinDeps {
  store: Store;
  clock: Clock;
  gateway: TelegramGateway;
  box: SecretBox;
  log: Logger;
  /** Waiting goes through here so tests and benchmarks run in simulated time. */
  sleep: (ms: number) => Promise<void>;
}

export type JoinOutcome = 'joined' | 'already_member' | 'pending_approval' | 'error' | 'banned' | 'queued';

export interface JoinTargetResult {
  target: string;
  account: string | null;
  outcome: JoinOutcome;
  detail: string | null;
}

export interface JoinAccountPlan {
  account: string;
  timeZone: string;
  activeHours: string | null;
  budget: number | null;
  usedToday: number;
  /** When its next join may happen (≤ now: now). */
  nextAt: number;
  why: string | null;
}

/** Accounts shown by `join --dry-run`. */
const DRY_RUN_ACCOUNTS = 50;

export interface JoinSummary {
  niche: string;
  dryRun: boolean;
  claimed: number;
  results: JoinTargetResult[];
  counts: Record<JoinOutcome, number>;
  /** When an account is next free for a join (null: none will be without a person). */
  nextFreeAt: number | null;
  /** Targets of the niche still waiting to be claimed when the run ended (why "nothing joined"). */
  waiting: number;
  plan?: { target: string; account: string | null }[];
  /**
   * --dry-run: each account's day (up to 50, name order): its time zone, today's drawn join
   * budget and use, and when its next join is planned (pacing off: only when its limits allow one).
   */
  accounts?: JoinAccountPlan[];
  /** Pending join requests asked about again in this run (approved → joined, or expired). */
  rechecked: RecheckResult[];
  /** ACCTCTL_TELEGRAM=sandbox: nothing reached Telegram. */
  simulated?: boolean;
  /** Accounts in this run's scope left out because their proxy is down (never sent direct), with the reason. */
  skipped: { account: string; reason: string }[];
}

/** Accounts on a down proxy named in a join's output at most (the rest are counted in the log). */
const SKIPPED_SHOWN = 50;

const MAX_ACCOUNTS_PER_TARGET = 3;

function emptyCounts(): Record<JoinOutcome, number> {
  return { joined: 0, already_member: 0, pending_approval: 0, error: 0, banned: 0, queued: 0 };
}

/**
 * One join batch (README "Joining groups"): claim up to N targets, lease an account per target, join,
 * apply the error table, bind joined groups to their account for good, and exit saying when the
 * next account frees up. Pacing lives in the store (the action log), not in sleeps.
 */
export async function join(deps: JoinDeps, opts: JoinOptions): Promise<JoinSummary> {
  if (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch > 1000)
    throw new UsageError('--batch must be 1–1000');
  const { store, clock, log } = deps;
  const fleet = new AccountManager({
    store,
    clock,
    timeZone: opts.timeZone,
    pacing: opts.pacing,
    log,
    ...(opts.floodThresholdSeconds !== undefined ? { floodThresholdSeconds: opts.floodThresholdSeconds } : {}),
  });
  // Tenants are walls: a tenant's run takes only its targets and leases only its accounts.
  const tenantId = opts.tenant === undefined ? undefined : await tenantIdByName(store, opts.tenant);
  const tenantOpt = opts.tenant === undefined ? {} : { tenant: opts.tenant };
  const counts = emptyCounts();
  const results: JoinTargetResult[] = [];
  // Accounts whose proxy is down are never leased (and never sent direct): say which, and why.
  const skipped = (
    await accountsOnDownProxies(store, {
      now: clock.now(),
      tenantId,
      limit: SKIPPED_SHOWN,
      personStates: PERSON_STATES,
    })
  ).map((a) => ({ account: a.session_name, reason: proxyDownReason(a) }));
  for (const s of skipped) log.warn('skipped: its proxy is down', s);

  if (opts.dryRun) {
    const targets = await peekTargets(store, { niche: opts.niche, batch: opts.batch, now: clock.now(), tenantId });
    const free = await fleet.eligibleNow('join', { limit: opts.batch, ...tenantOpt });
    const plan = targets.map((t, i) => ({ target: t.ref, account: free[i]?.account ?? null }));
    const now = clock.now();
    const listed = await accountsPage(store, { tenant: opts.tenant }, null, DRY_RUN_ACCOUNTS, now);
    const usage = await fleet.usage(listed.map((a) => a.id));
    const accounts: JoinAccountPlan[] = listed.flatMap((a) => {
      const u = usage.get(a.id)?.join;
      if (!u || !a.enabled) return [];
      const v = u.verdict;
      return [
        {
          account: a.name,
          timeZone: u.pace.timeZone,
          activeHours: u.pace.activeHours ? formatActiveHours(u.pace.activeHours) : null,
          budget: u.pace.plan?.budget ?? null,
          usedToday: v.usedToday,
          nextAt: v.allowed ? now : v.until,
          why: v.allowed ? null : v.reason,
        },
      ];
    });
    return {
      niche: opts.niche,
      dryRun: true,
      claimed: 0,
      results,
      counts,
      nextFreeAt: await fleet.nextFree('join', opts.tenant),
      waiting: await countWaitingTargets(store, opts.niche, clock.now(), tenantId),
      plan,
      accounts,
      rechecked: [],
      skipped,
    };
  }

  // A key this host lacks is a configuration error: stop before any account or target is touched.
  await assertKeysPresent(store, deps.box);
  const holder = opts.holder ?? holderId('join');
  const ttlMs = opts.ttlMs ?? 10 * 60_000;
  const rechecked = await recheckPending(
    { store, clock, gateway: deps.gateway, box: deps.box, log, fleet },
    { niche: opts.niche, limit: opts.batch, holder, ttlMs, expiryDays: opts.pendingExpiryDays },
  );
  const token = randomInt(1, 2 ** 47);
  const deadline = clock.now() + opts.maxWaitMs;
  // Without waiting, a run can only use the accounts free now: claim no more than that, so
  // overlapping runs and later ticks find the rest unclaimed.
  const free = opts.maxWaitMs > 0 ? [] : await fleet.eligibleNow('join', { limit: opts.batch, ...tenantOpt });
  const batch =
    opts.maxWaitMs > 0
      ? opts.batch
      : Math.min(
          opts.batch,
          free.reduce((n, a) => n + Math.min(a.allowance, opts.batch), 0),
        );
  const claimed =
    batch > 0
      ? await claimTargets(store, { niche: opts.niche, batch, holder, token, ttlMs, now: clock.now(), tenantId })
      : [];
  log.info('join batch', { niche: opts.niche, claimed: claimed.length });
  const pending = new Set(claimed.map((t) => t.id));
  const skip = new Set<number>();
  const names = new Map<number, string>();
  try {
    for (const t of claimed) {
      const r = await joinOne(deps, fleet, t, {
        token,
        holder,
        ttlMs,
        deadline,
        skip,
        names,
        pending,
        tenant: opts.tenant,
      });
      if ('noAccountLeft' in r) {
        // Say why: each account that tried this target, and how it failed.
        if (r.noAccountLeft.length) {
          results.push({
            target: t.ref,
            account: null,
            outcome: 'queued',
            detail: `no account left to try: ${r.noAccountLeft.join('; ')}`,
          });
          counts.queued++;
        }
        break;
      }
      results.push(r);
      counts[r.outcome]++;
      // A target that stays queued goes back with the rest below.
      if (r.outcome !== 'queued') pending.delete(t.id);
    }
  } finally {
    // Whatever this run claimed and did not finish goes back to the queue.
    await releaseTargets(store, [...pending], token, clock.now()).catch((e: unknown) =>
      log.error('could not return targets', { error: String(e) }),
    );
  }
  for (const t of claimed) {
    if (!pending.has(t.id) || results.some((r) => r.target === t.ref)) continue;
    results.push({ target: t.ref, account: null, outcome: 'queued', detail: 'no account free now' });
    counts.queued++;
  }
  return {
    niche: opts.niche,
    dryRun: false,
    claimed: claimed.length,
    results,
    counts,
    nextFreeAt: await fleet.nextFree('join', opts.tenant),
    waiting: await countWaitingTargets(store, opts.niche, clock.now(), tenantId),
    rechecked,
    skipped,
  };
}

async function joinOne(
  deps: JoinDeps,
  fleet: AccountManager,
  t: ClaimedTarget,
  run: {
    token: number;
    holder: string;
    ttlMs: number;
    deadline: number;
    skip: Set<number>;
    names: Map<number, string>;
    /** Targets this run still holds: their claims are renewed while it waits. */
    pending: Set<number>;
    tenant?: string | undefined;
  },
): Promise<JoinTargetResult | { noAccountLeft: string[] }> {
  const { store, clock, log } = deps;
  const claim = { id: t.id, token: run.token };
  /** "account: error" for each account that failed on this target in this run. */
  const failures: string[] = [];
  let pinned = t.pinnedAccountId;
  if (pinned !== null) {
    const acc = await accountStanding(store, pinned);
    // A crash left this target mid-join with that account; only it may retry, unless it is gone for good.
    if (!acc || acc.enabled !== 1 || PERSON_STATES.includes(acc.state)) pinned = null;
  }
  for (let tries = 0; tries < MAX_ACCOUNTS_PER_TARGET; tries++) {
    const lease = await fleet.lease({
      action: 'join',
      tenant: run.tenant,
      holder: run.holder,
      ttlMs: run.ttlMs,
      accountId: pinned ?? undefined,
      excludeIds: [...run.skip],
    });
    if (!lease.ok) {
      const now = clock.now();
      if (lease.nextAt !== null && lease.nextAt <= run.deadline && lease.nextAt > now) {
        log.info('waiting for an account', { until: new Date(lease.nextAt).toISOString() });
        if (!(await waitHoldingClaims(deps, run, lease.nextAt, t.id))) return claimLost(deps, run, t, null);
        tries--;
        continue;
      }
      if (pinned !== null) {
        return {
          target: t.ref,
          account: run.names.get(pinned) ?? null,
          outcome: 'queued',
          detail: 'waiting for the account it is bound to',
        };
      }
      return { noAccountLeft: failures };
    }
    const { token, accountId, account } = lease.lease;
    run.names.set(accountId, account);
    if (!(await pinTarget(store, claim, accountId, clock.now(), run.ttlMs))) {
      // Another run holds this target now: never call Telegram for it.
      await fleet.release(token).catch((e: unknown) => log.warn('could not release', { account, error: String(e) }));
      return claimLost(deps, run, t, account);
    }
    let result;
    let proxy: ProxySpec | null = null;
    try {
      const session = await loadSession(store, deps.box, accountId);
      proxy = session.proxy;
      const client = await deps.gateway.client(session);
      result = await client.join(t.target);
      await markProxy(store, proxy, true, clock.now());
    } catch (e) {
      if (e instanceof ConfigError) {
        // Not the account's fault (a key missing here): give the account back untouched and stop.
        await fleet.release(token).catch(() => {});
        throw e;
      }
      if (e instanceof TelegramConnectError) await markProxy(store, proxy, false, clock.now(), e.message);
      const err =
        e instanceof TelegramCallError
          ? { errorMessage: e.errorMessage, code: e.code, seconds: e.seconds, message: e.message }
          : { message: e instanceof Error ? e.message : String(e) };
      const outcome = classifyError(err);
      const done = outcome.target !== 'queued';
      const rep = await fleet.reportError(token, err, async (tx, now) => {
        if (outcome.target === 'queued') {
          // Stays claimed by this run, unpinned: another account may take it now.
          await unpinClaimed(tx, claim, now);
          return;
        }
        await finishTarget(
          tx,
          claim,
          outcome.target === 'joined'
            ? { status: 'joined', accountId, joined: true, countAttempt: true, errorMessage: null }
            : outcome.target === 'pending_approval'
              ? { status: 'pending_approval', accountId, countAttempt: true, errorMessage: null }
              : { status: outcome.target, accountId: null, errorMessage: outcome.code, countAttempt: true },
          now,
        );
      });
      log.info('join failed', { target: t.ref, account, error: rep.lastError, state: rep.state });
      if (done) {
        const map = {
          joined: 'already_member',
          pending_approval: 'pending_approval',
          error: 'error',
          banned: 'banned',
        } as const;
        return { target: t.ref, account, outcome: map[outcome.target as keyof typeof map], detail: outcome.code };
      }
      // A flood wait this run can sit out (within --max-wait) keeps the account in the rotation.
      const servable = rep.state === 'flood_wait' && !rep.skipForRun && rep.until !== null && rep.until <= run.deadline;
      if (!servable) run.skip.add(accountId);
      failures.push(`${account}: ${rep.lastError}${rep.state !== 'active' ? ` (${rep.state})` : ''}`);
      if (accountId === t.pinnedAccountId) {
        // An earlier run crashed mid-join with this account: Telegram may already have let it
        // in, so no other account may try. The target waits, still pinned to it.
        await bindClaimed(store, claim, accountId);
        return {
          target: t.ref,
          account,
          outcome: 'queued',
          detail: `${outcome.code}; waiting for the account it is bound to`,
        };
      }
      // Account-level trouble: Telegram said no, so the join did not happen; this account
      // rests and another may take the target now.
      pinned = null;
      continue;
    }
    const status = result.kind === 'requested' ? 'pending_approval' : 'joined';
    await fleet.release(token, {
      used: { join: 1 },
      inTx: async (tx, now) => {
        const held = await finishTarget(
          tx,
          claim,
          { status, accountId, joined: status === 'joined', countAttempt: true, errorMessage: null },
          now,
        );
        if (!held) log.warn('joined, but the claim on the target was lost meanwhile', { target: t.ref, account });
      },
    });
    log.info('joined', { target: t.ref, account, result: result.kind });
    return {
      target: t.ref,
      account,
      outcome:
        result.kind === 'requested'
          ? 'pending_approval'
          : result.kind === 'already_member'
            ? 'already_member'
            : 'joined',
      detail: result.kind === 'joined' ? result.title : null,
    };
  }
  return {
    target: t.ref,
    account: null,
    outcome: 'queued',
    detail: `tried ${MAX_ACCOUNTS_PER_TARGET} accounts: ${failures.join('; ')}`,
  };
}

/**
 * Sleep until `until` (simulated in tests) in slices of a third of the claim time, renewing this
 * run's claims after each slice, so a long --max-wait never lets them expire under it. False when
 * the claim on the current target was lost anyway (the process stalled past the claim time and
 * another run took it over).
 */
async function waitHoldingClaims(
  deps: JoinDeps,
  run: { token: number; ttlMs: number; pending: Set<number> },
  until: number,
  current: number,
): Promise<boolean> {
  const slice = Math.max(1_000, Math.floor(run.ttlMs / 3));
  for (let now = deps.clock.now(); now < until; now = deps.clock.now()) {
    await deps.sleep(Math.min(slice, until - now));
    const ids = [...run.pending];
    const held = await renewClaims(deps.store, ids, run.token, run.ttlMs, deps.clock.now());
    for (const id of ids) if (!held.has(id)) run.pending.delete(id);
    if (held.size < ids.length) deps.log.warn('claims lost while waiting', { lost: ids.length - held.size });
  }
  return run.pending.has(current);
}

function claimLost(
  deps: JoinDeps,
  run: { pending: Set<number> },
  t: ClaimedTarget,
  account: string | null,
): JoinTargetResult {
  run.pending.delete(t.id);
  deps.log.warn('claim on the target lost to another run: not joining it', { target: t.ref });
  return { target: t.ref, account, outcome: 'queued', detail: 'claim lost to another run; not tried here' };
}
