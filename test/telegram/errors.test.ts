import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/domain/accountStates.js';
import { TelegramCallError } from '../../src/telegram/gateway.js';
import { gramApi, gramError, toCallError } from '../../src/telegram/gramjs.js';
import bigInt from 'big-integer';

/** Every string of the Telegram error table, built by gramjs's own RPCMessageToError. */
const TABLE: [number, string, Record<string, unknown>][] = [
  [420, 'FLOOD_WAIT_42', { state: 'flood_wait', untilMs: 42_000 }],
  [420, 'FLOOD_PREMIUM_WAIT_77', { state: 'flood_wait', untilMs: 77_000 }],
  [420, 'FLOOD_WAIT_601', { state: 'cooldown', untilMs: 601_000, skipForRun: true }],
  [400, 'PEER_FLOOD', { state: 'blocked', untilMs: 86_400_000 }],
  [420, 'FROZEN_METHOD_INVALID', { state: 'frozen', untilMs: null }],
  [420, 'FROZEN_PARTICIPANT_MISSING', { state: 'frozen', untilMs: null }],
  [401, 'AUTH_KEY_UNREGISTERED', { state: 'disabled' }],
  [401, 'SESSION_REVOKED', { state: 'disabled' }],
  [401, 'SESSION_EXPIRED', { state: 'disabled' }],
  [406, 'AUTH_KEY_DUPLICATED', { state: 'disabled' }],
  [401, 'USER_DEACTIVATED', { state: 'disabled' }],
  [400, 'PHONE_NUMBER_BANNED', { state: 'banned' }],
  [401, 'USER_DEACTIVATED_BAN', { state: 'banned' }],
  [400, 'CHANNELS_TOO_MUCH', { state: null, channelsFull: true, target: 'queued' }],
  [400, 'USER_ALREADY_PARTICIPANT', { state: null, target: 'joined' }],
  [400, 'INVITE_REQUEST_SENT', { state: null, target: 'pending_approval' }],
  [400, 'USERNAME_NOT_OCCUPIED', { target: 'error', pauseMs: 60_000 }],
  [400, 'USERNAME_INVALID', { target: 'error', pauseMs: 60_000 }],
  [400, 'INVITE_HASH_INVALID', { target: 'error', pauseMs: 60_000 }],
  [400, 'INVITE_HASH_EXPIRED', { target: 'error', pauseMs: 60_000 }],
  [400, 'INVITE_HASH_EMPTY', { target: 'error', pauseMs: 60_000 }],
  [400, 'CHANNEL_INVALID', { target: 'error', pauseMs: 60_000 }],
  [406, 'CHANNEL_PRIVATE', { target: 'error', pauseMs: 60_000 }],
  [400, 'USERS_TOO_MUCH', { target: 'error', pauseMs: 60_000 }],
  [400, 'USER_BANNED_IN_CHANNEL', { target: 'banned', pauseMs: 60_000 }],
];

describe('the error table, fed by gramjs’s own RPCMessageToError', () => {
  const Api = gramApi();
  const join = new Api.channels.JoinChannel({
    channel: new Api.InputChannel({ channelId: bigInt(1001), accessHash: bigInt(7) }),
  });

  it.each(TABLE)('%i %s', (code, message, expected) => {
    const raw = gramError(code, message, join);
    const e = toCallError(raw);
    expect(e).toBeInstanceOf(TelegramCallError);
    expect(classifyError(e as TelegramCallError)).toMatchObject(expected);
    // Also straight from gramjs's error object (the shape the library itself raises).
    expect(classifyError(raw as unknown as { errorMessage: string; message: string })).toMatchObject(expected);
  });

  it('FLOOD_WAIT arrives as FloodWaitError with errorMessage "FLOOD" and the seconds', () => {
    const e = toCallError(gramError(420, 'FLOOD_WAIT_42', join)) as TelegramCallError;
    expect(e).toMatchObject({ errorMessage: 'FLOOD', code: 420, seconds: 42 });
  });

  it('FROZEN_METHOD_INVALID with code 420 is never read as a flood wait', () => {
    const raw = gramError(420, 'FROZEN_METHOD_INVALID', join) as unknown as { code: number; errorMessage: string };
    expect(raw.code).toBe(420);
    const o = classifyError(toCallError(raw) as TelegramCallError);
    expect(o.state).toBe('frozen');
    expect(o.untilMs).toBeNull();
  });

  it('network failures are not RPC errors', () => {
    const e = toCallError(new Error('connect ECONNREFUSED 127.0.0.1:9'));
    expect(e).not.toBeInstanceOf(TelegramCallError);
    expect(classifyError({ message: e.message })).toMatchObject({ code: 'NETWORK', target: 'queued' });
  });
});
