import type { TargetRef } from '../domain/links.js';
import type { ProxySpec } from '../domain/proxyUrl.js';

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

/** Telegram answered with an error (RPC error): `errorMessage` is Telegram's string. */
export class TelegramCallError extends Error {
  constructor(
    readonly errorMessage: string,
    readonly code: number | undefined,
    readonly seconds: number | undefined,
    message?: string,
  ) {
    super(message ?? errorMessage);
    this.name = 'TelegramCallError';
  }
}

/** Could not reach Telegram (socket, proxy, timeout). Never a reason to try without the proxy. */
export class TelegramConnectError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TelegramConnectError';
  }
}
