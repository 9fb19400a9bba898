import { classifyError, TIMED_STATES } from '../domain/accountStates.js';
import { count } from '../domain/plural.js';
import type { Clock } from '../domain/clock.js';
import { readSpamBot } from '../domain/spamBot.js';
import { ConfigError, DataError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import type { AccountState } from '../domain/accountStates.js';
import { accountExists, claimProbeLease, endProbeLease, probeCandidates, recordProbe } from '../store/accounts.js';
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
  deps: {
    store: Store;
    box: SecretBox;
    clock: Clock;
    gateway: TelegramGateway;
    log: Logger;
  },
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
    // The probe leases the account, so a join starting now never opens a second connection for it.
    const leasedAt = clock.now();
    const token = await claimProbeLease(store, {
      id: a.id,
      holder,
      now: leasedAt,
      expiresAt: leasedAt + PROBE_LEASE_MS,
    });
    if (token === null) {
      if (opts.account !== undefined)
        throw new DataError(
          `account "${opts.account}" is leased right now → probe it after its lease ends (or after \`acctctl recover\` frees an expired one)`,
        );
      deps.log.info('not probed: leased meanwhile', { account: a.session_name });
      continue;
    }
    try {
      out.push(await probeOne(deps, a));
    } finally {
      await endProbeLease(store, { id: a.id, token, now: clock.now() });
    }
  }
  return out;
}

type Candidate = Awaited<ReturnType<typeof probeCandidates>>[number];

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
