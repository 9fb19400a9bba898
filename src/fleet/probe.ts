import { classifyError, PERSON_STATES, TIMED_STATES } from '../domain/accountStates.js';
import { count } from '../domain/plural.js';
import type { Clock } from '../domain/clock.js';
import { readSpamBot } from '../domain/spamBot.js';
import { ConfigError, DataError, UnavailableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import type { AccountState } from '../domain/accountStates.js';
import {
  accountExists,
  claimProbeLease,
  dueFleetProbes,
  endProbeLease,
  fleetProbeBacklog,
  probeCandidates,
  recordProbe,
  scheduleFleetProbes,
  type ProbeCandidate,
} from '../store/accounts.js';
import { DAY_MS, nextProbeDue, SLOT_MULTIPLIER } from '../domain/probePacing.js';
import { proxyDown, proxyDownReason } from '../domain/proxyHealth.js';
import { holderId } from './holder.js';
import type { Store } from '../store/store.js';
import { CHANNEL_CAPACITY, TelegramCallError, type TelegramGateway } from '../telegram/gateway.js';
import { assertKeysPresent, loadSession } from './sessions.js';

export type ProbeVerdict =
  'fine' | 'spam_restricted' | 'frozen' | 'banned' | 'unauthorized' | 'unreachable' | 'unknown';

export interface ProbeResult {
  account: string;
  verdict: ProbeVerdict;
  /** The state before the probe. */
  from: AccountState;
  state: AccountState;
  until: number | null;
  /** Channels and supergroups counted (only for an account parked by CHANNELS_TOO_MUCH). */
  channels: number | null;
  /** Still parked for joins (CHANNELS_TOO_MUCH) after the probe. */
  channelsFull: boolean;
  detail: string | null;
}

const DEFAULT_RESTRICTION_MS = 24 * 3_600_000;
/** How long a probe holds its account's lease at most (connect, getMe, @SpamBot, channels). */
const PROBE_LEASE_MS = 10 * 60_000;
/** Waits Telegram imposed for a time: a probe that finds the account fine never ends them early. */
const UNSHORTENED: readonly AccountState[] = ['flood_wait', 'cooldown'];

/**
 * recover --probe: for accounts in `blocked`, `frozen` or `disabled`, with errors, or parked by
 * CHANNELS_TOO_MUCH (or the one named), connect, getMe, ask @SpamBot, count channels when parked,
 * and set the state from what Telegram says (fine → active; restricted → blocked until the date;
 * frozen; banned; unauthorized → disabled). A flood wait or cooldown that has not ended is never
 * shortened; network trouble changes nothing.
 */
export async function probeAccounts(
  deps: ProbeDeps,
  opts: { account?: string | undefined } = {},
): Promise<ProbeResult[]> {
  const { store, clock } = deps;
  await assertKeysPresent(store, deps.box);
  const accounts = await probeCandidates(store, { account: opts.account, now: clock.now() });
  if (opts.account !== undefined && accounts.length === 0) {
    throw new DataError(
      (await accountExists(store, opts.account))
        ? `account "${opts.account}" is leased right now → probe it after its lease ends (or after \`acctctl recover\` frees an expired one)`
        : `no account named "${opts.account}" → see \`acctctl accounts list\``,
    );
  }
  const out: ProbeResult[] = [];
  const holder = holderId('probe');
  for (const a of accounts) {
    // Never through a proxy that is down, and never around it (direct): skipped, saying why.
    if (proxyDown(a)) {
      const reason = proxyDownReason(a);
      if (opts.account !== undefined) throw new UnavailableError(`account "${opts.account}" not probed: ${reason}`);
      deps.log.warn('not probed: its proxy is down', { account: a.session_name, reason });
      continue;
    }
    const r = await probeLeased(deps, a, holder);
    if (r === null) {
      if (opts.account !== undefined)
        throw new DataError(
          `account "${opts.account}" is leased right now → probe it after its lease ends (or after \`acctctl recover\` frees an expired one)`,
        );
      deps.log.info('not probed: leased meanwhile', { account: a.session_name });
      continue;
    }
    out.push(r);
  }
  return out;
}

/** An account `--all` did not probe although it was due, and why. */
export interface ProbeSkip {
  account: string;
  reason: string;
}

export interface FleetProbeResult {
  probed: ProbeResult[];
  /** Due, but on a proxy that is down (never probed around it): each with the reason. */
  skipped: ProbeSkip[];
  /** Accounts given their first slot by this run (they are probed when it comes). */
  scheduled: number;
  /** Still due after this run (past the batch bound, or leased meanwhile): the next run takes them. */
  due: number;
  /** When the next account not yet due falls due (null: none scheduled). */
  nextDueAt: number | null;
}

/** Accounts `--all` probes per run at most, unless `--batch` says otherwise. */
export const FLEET_PROBE_BATCH = 50;

/**
 * `recover --probe --all`: the whole fleet (enabled, not parked for a removed proxy; those already
 * frozen, disabled or banned are the plain `recover --probe`'s), paced — each account at its own slot of the day (domain/probePacing.ts), at most once a day, at
 * most `batch` accounts a run, the longest due first. Run from cron every few minutes. Each probe
 * leases the account, as `recover --probe` does; an account on a proxy that is down is skipped
 * with the reason (it stays due, and is probed once the proxy is back).
 */
export async function probeFleet(deps: ProbeDeps, opts: { batch?: number } = {}): Promise<FleetProbeResult> {
  const { store, clock } = deps;
  await assertKeysPresent(store, deps.box);
  const batch = opts.batch ?? FLEET_PROBE_BATCH;
  const now0 = clock.now();
  const scheduled = await scheduleFleetProbes(store, { now: now0, dayMs: DAY_MS, multiplier: SLOT_MULTIPLIER });
  const skipped: ProbeSkip[] = [];
  for (const a of await dueFleetProbes(store, {
    now: now0,
    limit: batch,
    proxyUp: false,
    personStates: PERSON_STATES,
  })) {
    const reason = proxyDownReason(a);
    deps.log.warn('not probed: its proxy is down', { account: a.session_name, reason });
    skipped.push({ account: a.session_name, reason });
  }
  const probed: ProbeResult[] = [];
  const holder = holderId('probe');
  for (const a of await dueFleetProbes(store, {
    now: now0,
    limit: batch,
    proxyUp: true,
    personStates: PERSON_STATES,
  })) {
    const r = await probeLeased(deps, a, holder);
    if (r === null) deps.log.info('not probed: leased meanwhile', { account: a.session_name });
    else probed.push(r);
  }
  const backlog = await fleetProbeBacklog(store, clock.now(), PERSON_STATES);
  return { probed, skipped, scheduled, due: backlog.due, nextDueAt: backlog.nextAt };
}

interface ProbeDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  gateway: TelegramGateway;
  log: Logger;
}

/**
 * Probe one account under a lease, so a join starting now never opens a second connection for
 * it; the probe time is recorded and its next `--all` slot set. null: leased by someone else.
 */
async function probeLeased(deps: ProbeDeps, a: Candidate, holder: string): Promise<ProbeResult | null> {
  const { store, clock } = deps;
  const leasedAt = clock.now();
  const token = await claimProbeLease(store, {
    id: a.id,
    holder,
    now: leasedAt,
    expiresAt: leasedAt + PROBE_LEASE_MS,
  });
  if (token === null) return null;
  let probed: { at: number; nextDueAt: number } | undefined;
  try {
    const r = await probeOne(deps, a);
    const at = clock.now();
    probed = { at, nextDueAt: nextProbeDue(a.id, at) };
    return r;
  } finally {
    await endProbeLease(store, { id: a.id, token, now: clock.now(), ...(probed ? { probed } : {}) });
  }
}

type Candidate = ProbeCandidate;

async function probeOne(
  deps: { store: Store; box: SecretBox; clock: Clock; gateway: TelegramGateway; log: Logger },
  a: Candidate,
): Promise<ProbeResult> {
  const { store, clock } = deps;
  let verdict: ProbeVerdict;
  let state: AccountState = a.state;
  let until: number | null = a.state_until;
  let detail: string | null = null;
  let channels: number | null = null;
  const now0 = clock.now();
  const running = UNSHORTENED.includes(a.state) && a.state_until !== null && a.state_until > now0;
  try {
    const client = await deps.gateway.client(await loadSession(store, deps.box, a.id));
    await client.getMe();
    const answer = await client.askSpamBot();
    const v = readSpamBot(answer);
    detail = answer.slice(0, 200);
    if (a.channels_full === 1) channels = await client.countChannels();
    if (v.kind === 'fine') {
      verdict = 'fine';
      // Fine by @SpamBot, but a flood wait Telegram set is still running: it ends when it ends.
      [state, until] = running ? [a.state, a.state_until] : ['active', null];
    } else if (v.kind === 'frozen') [verdict, state, until] = ['frozen', 'frozen', null];
    else if (v.kind === 'restricted') {
      const told = v.until ?? now0 + DEFAULT_RESTRICTION_MS;
      const current = TIMED_STATES.includes(a.state) && a.state_until !== null ? a.state_until : 0;
      [verdict, state, until] = ['spam_restricted', 'blocked', Math.max(told, current)];
    } else verdict = 'unknown';
  } catch (e) {
    if (e instanceof ConfigError) throw e; // a key missing here, not the account's state
    const err =
      e instanceof TelegramCallError
        ? { errorMessage: e.errorMessage, code: e.code, seconds: e.seconds, message: e.message }
        : { message: e instanceof Error ? e.message : String(e) };
    const o = classifyError(err);
    detail = o.code === 'UNKNOWN' || o.code === 'NETWORK' ? `${o.code}: ${err.message ?? ''}`.slice(0, 300) : o.code;
    if (o.state === 'banned') [verdict, state, until] = ['banned', 'banned', null];
    else if (o.state === 'disabled') [verdict, state, until] = ['unauthorized', 'disabled', null];
    else if (o.state === 'frozen') [verdict, state, until] = ['frozen', 'frozen', null];
    else verdict = 'unreachable';
  }
  const stillFull = a.channels_full === 1 && !(channels !== null && channels < CHANNEL_CAPACITY);
  const now = clock.now();
  const learned = verdict !== 'unreachable' && verdict !== 'unknown';
  if (learned || stillFull !== (a.channels_full === 1)) {
    await recordProbe(
      store,
      { id: a.id, name: a.session_name },
      learned ? { state, until, reason: `probe: ${verdict}`, fine: verdict === 'fine', lastError: detail } : null,
      stillFull,
      {
        message:
          `${a.session_name}: probe says ${verdict} → ${state}` +
          (a.channels_full === 1 && !stillFull
            ? `; ${count(channels ?? 0, 'channel')}, below ${CHANNEL_CAPACITY}: joins allowed again`
            : ''),
        data: { verdict, from: a.state, to: state, until, channels, channelsFull: stillFull },
      },
      now,
    );
  }
  deps.log.info('probed', { account: a.session_name, verdict, state });
  return {
    account: a.session_name,
    verdict,
    from: a.state,
    state,
    until,
    channels,
    channelsFull: stillFull,
    detail,
  };
}
