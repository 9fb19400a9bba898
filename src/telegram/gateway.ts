import type { TargetRef } from '../domain/links.js';
import { AcctctlError, ExitCode, UnavailableError, type ExitCodeValue } from '../errors.js';
import type { ProxySpec } from '../domain/proxyUrl.js';
import type { TelegramDevice } from '../domain/device.js';

/**
 * What acctctl needs from Telegram, with no gramjs types: the real adapter (gramjs.ts) and the
 * sandbox (sandbox.ts) both implement it. Errors are thrown as TelegramCallError (carrying
 * Telegram's own error string) or TelegramConnectError (network, proxy, timeout).
 */
export interface AccountSession {
  accountId: number;
  sessionName: string;
  apiId: number;
  apiHash: string;
  stringSession: string;
  proxy: ProxySpec | null;
  /** The device it connects as (initConnection); without one gramjs sends its own defaults. */
  device?: TelegramDevice | null;
}

export type JoinResult = { kind: 'joined'; title: string | null } | { kind: 'already_member' } | { kind: 'requested' };

/** Where a join request stands, asked without joining (`messages.CheckChatInvite`, or the channel's `left` flag). */
export type JoinRequestState = 'member' | 'pending';

/** Telegram's channel capacity for an ordinary account (CHANNELS_TOO_MUCH above it). */
export const CHANNEL_CAPACITY = 500;

export interface TelegramAccountClient {
  join(target: TargetRef): Promise<JoinResult>;
  getMe(): Promise<{ id: string; username: string | null; phone: string | null }>;
  /** Send /start to @SpamBot and return its answer. */
  askSpamBot(): Promise<string>;
  /** Is the account in the group now, or is its join request still pending? (Throws Telegram's error if gone.) */
  checkJoin(target: TargetRef): Promise<JoinRequestState>;
  /** How many channels and supergroups the account is in (its dialogs), for CHANNELS_TOO_MUCH. */
  countChannels(): Promise<number>;
}

export interface TelegramGateway {
  /** One connected client per account per run; the gateway owns them. */
  client(session: AccountSession): Promise<TelegramAccountClient>;
  /** Destroy every client (called in `finally`). */
  closeAll(): Promise<void>;
}

/**
 * Telegram answered with an error (RPC error): `errorMessage` is Telegram's string, and the message
 * stays Telegram's own text (the error table and `last_error` read it). The batch commands apply it
 * to the account; one that reaches the command line exits 75 for a flood wait (a wait Telegram set:
 * run again after it) and 69 otherwise (Telegram refused what was asked), with the way out below it.
 */
export class TelegramCallError extends AcctctlError {
  readonly exitCode: ExitCodeValue;
  constructor(
    readonly errorMessage: string,
    readonly code: number | undefined,
    readonly seconds: number | undefined,
    message?: string,
    options?: { cause?: unknown },
  ) {
    const flood = errorMessage === 'FLOOD' || /^FLOOD(_PREMIUM)?_WAIT/.test(errorMessage);
    super(message ?? errorMessage, {
      ...options,
      details: [
        flood
          ? `Telegram asks to wait${seconds === undefined ? '' : ` ${seconds} s`} → run the command again after that`
          : `Telegram refused the request (${errorMessage}) → see the error table in the README; \`acctctl recover --probe\` rechecks an account`,
      ],
    });
    this.exitCode = flood ? ExitCode.TEMPFAIL : ExitCode.UNAVAILABLE;
  }
}

/**
 * Could not reach Telegram (socket, proxy, timeout): a needed service is unavailable (69). The
 * message says what failed and how to fix it. Never a reason to try without the proxy.
 */
export class TelegramConnectError extends UnavailableError {}
