import type { Clock } from '../domain/clock.js';
import { DataError, UsageError } from '../errors.js';
import type { AccountState } from '../domain/accountStates.js';
import { accountStateByName, reactivateAccountRow } from '../store/accounts.js';
import { accountEvent } from '../store/events.js';
import type { Store } from '../store/store.js';

export interface ReactivateResult {
  account: string;
  from: AccountState;
  until: number | null;
  channelsFullCleared: boolean;
  reason: string;
}

/** Control characters out, length bounded: a reason is stored and shown to people. */
function cleanReason(reason: string): string {
  return [...reason]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch))
    .join('')
    .trim()
    .slice(0, 500);
}

/**
 * `accounts reactivate NAME --reason TEXT`: a person says the account is fine again (appeal
 * accepted, number unbanned, channels left). It becomes `active` whatever its state; error
 * count, last error and the CHANNELS_TOO_MUCH parking are cleared; an event keeps the reason
 * and the previous state.
 */
export async function reactivateAccount(
  deps: { store: Store; clock: Clock },
  name: string,
  reason: string,
): Promise<ReactivateResult> {
  const why = cleanReason(reason);
  if (!why)
    throw new UsageError('--reason is required → say why the account is fine again, e.g. --reason "appeal accepted"');
  return deps.store.writeTx(async (tx) => {
    const now = deps.clock.now();
    const a = await accountStateByName(tx, name);
    if (!a) throw new DataError(`no account named "${name}" → see \`acctctl accounts list\``);
    await reactivateAccountRow(tx, a.id, `reactivated: ${why}`.slice(0, 500), now);
    await accountEvent(
      tx,
      now,
      a.id,
      a.tenant_id,
      'account_reactivated',
      `${name}: ${a.state} → active (reactivated by a person: ${why})`,
      {
        from: a.state,
        until: a.state_until,
        channelsFull: a.channels_full === 1,
        reason: why,
      },
    );
    return {
      account: name,
      from: a.state,
      until: a.state_until,
      channelsFullCleared: a.channels_full === 1,
      reason: why,
    };
  });
}

/**
 * What actually brings an account back from a state that needs a person (or from the
 * CHANNELS_TOO_MUCH parking): the command an operator runs, after doing what the text says.
 */
export function wayBack(p: {
  account: string;
  state: string;
  phone?: string | null;
  channelsFull?: boolean;
  proxyRemoved?: boolean;
}): string {
  const n = p.account;
  const q = /^[\w.-]+$/.test(n) ? n : JSON.stringify(n);
  // First: nothing else may connect it until it has a route again.
  if (p.proxyRemoved)
    return `its proxy was removed: give it one with \`acctctl accounts proxy ${q} PROXY_ID\` (or --direct to send from this host), then \`acctctl accounts enable ${q}\``;
  switch (p.state) {
    case 'disabled':
      return `session no longer valid: log in again with \`acctctl accounts login --phone ${p.phone ?? 'PHONE'} --name ${q}\` (stores the new session and makes it active)`;
    case 'frozen':
      return `appeal through @SpamBot in the Telegram app; once lifted: \`acctctl recover --probe --account ${q}\` (or \`acctctl accounts reactivate ${q} --reason "appeal accepted"\`)`;
    case 'banned':
      return `the number is banned: if Telegram lifts it, \`acctctl accounts reactivate ${q} --reason "..."\`; otherwise \`acctctl accounts remove ${q}\``;
    default:
      return p.channelsFull
        ? `in too many channels for more joins: leave some in the app, then \`acctctl recover --probe --account ${q}\` (or \`acctctl accounts reactivate ${q} --reason "left channels"\`)`
        : '';
  }
}
