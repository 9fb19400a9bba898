import { describe, expect, it } from 'vitest';
import { classifyError, effectiveState, transition } from '../../src/domain/accountStates.js';

const MIN = 60_000;
const now = Date.parse('2026-11-23T10:00:00Z');

describe('the Telegram error table (README "Leases and limits")', () => {
  it.each([
    ['FLOOD_WAIT_42', 'flood_wait', 42_000, 'queued'],
    ['FLOOD_PREMIUM_WAIT_600', 'flood_wait', 600_000, 'queued'],
    ['FLOOD_WAIT_601', 'cooldown', 601_000, 'queued'],
    ['A wait of 42 seconds is required (caused by channels.JoinChannel)', 'flood_wait', 42_000, 'queued'],
    ['A wait of 86400 seconds is required (caused by messages.ImportChatInvite)', 'cooldown', 86_400_000, 'queued'],
    ['PEER_FLOOD', 'blocked', 24 * 60 * MIN, 'queued'],
    ['400: PEER_FLOOD (caused by channels.InviteToChannel)', 'blocked', 24 * 60 * MIN, 'queued'],
    ['FROZEN_METHOD_INVALID', 'frozen', null, 'queued'],
    ['420: FROZEN_METHOD_INVALID (caused by channels.JoinChannel)', 'frozen', null, 'queued'],
    ['420: FROZEN_PARTICIPANT_MISSING (caused by messages.ImportChatInvite)', 'frozen', null, 'queued'],
    ['AUTH_KEY_UNREGISTERED', 'disabled', null, 'queued'],
    ['401: SESSION_REVOKED (caused by channels.JoinChannel)', 'disabled', null, 'queued'],
    ['SESSION_EXPIRED', 'disabled', null, 'queued'],
    ['AUTH_KEY_DUPLICATED', 'disabled', null, 'queued'],
    ['USER_DEACTIVATED', 'disabled', null, 'queued'],
    ['PHONE_NUMBER_BANNED', 'banned', null, 'queued'],
    ['401: USER_DEACTIVATED_BAN (caused by help.GetConfig)', 'banned', null, 'queued'],
  ])('%s → account %s', (err, state, untilMs, target) => {
    const o = classifyError(err);
    expect(o.state).toBe(state);
    expect(o.untilMs).toBe(untilMs);
    expect(o.target).toBe(target);
    expect(o.failedAttempt).toBe(true);
  });

  it('a flood wait over the threshold is not used again this run; the threshold is configurable', () => {
    expect(classifyError('FLOOD_WAIT_601').skipForRun).toBe(true);
    expect(classifyError('FLOOD_WAIT_600').skipForRun).toBe(false);
    expect(classifyError('FLOOD_WAIT_120', { floodThresholdSeconds: 60 }).state).toBe('cooldown');
    // gramjs's FloodWaitError: errorMessage "FLOOD", code 420, seconds.
    expect(classifyError({ errorMessage: 'FLOOD', code: 420, seconds: 30 })).toMatchObject({
      state: 'flood_wait',
      untilMs: 30_000,
    });
    // Code 420 alone is never a flood wait.
    expect(classifyError({ errorMessage: 'FROZEN_METHOD_INVALID', code: 420 }).state).toBe('frozen');
  });

  it.each([
    ['USER_ALREADY_PARTICIPANT', 'joined', null, false],
    ['INVITE_REQUEST_SENT', 'pending_approval', null, false],
    ['CHANNELS_TOO_MUCH', 'queued', null, true],
    ['USERNAME_NOT_OCCUPIED', 'error', MIN, true],
    ['No user has "ghost" as username', 'error', MIN, true],
    ['USERNAME_INVALID', 'error', MIN, true],
    ['INVITE_HASH_INVALID', 'error', MIN, true],
    ['INVITE_HASH_EXPIRED', 'error', MIN, true],
    ['INVITE_HASH_EMPTY', 'error', MIN, true],
    ['CHANNEL_INVALID', 'error', MIN, true],
    ['406: CHANNEL_PRIVATE (caused by channels.JoinChannel)', 'error', MIN, true],
    ['USERS_TOO_MUCH', 'error', MIN, true],
    ['USER_BANNED_IN_CHANNEL', 'banned', MIN, true],
  ])('%s → target %s', (err, target, pause, failed) => {
    const o = classifyError(err);
    expect(o.target).toBe(target);
    expect(o.state).toBeNull();
    expect(o.pauseMs).toBe(pause);
    expect(o.failedAttempt).toBe(failed);
    expect(o.channelsFull).toBe(err === 'CHANNELS_TOO_MUCH');
  });

  it.each([
    'connect ECONNREFUSED 127.0.0.1:1080',
    'Error: TIMEOUT',
    'SocksClientError: Socket closed',
    'Request was unsuccessful 5 time(s)',
  ])('network trouble (%s): error count +1, growing backoff, target stays queued', (err) => {
    const o0 = classifyError(err, { errorCount: 0 });
    const o3 = classifyError(err, { errorCount: 3 });
    expect(o0).toMatchObject({ code: 'NETWORK', state: null, countsAsError: true, target: 'queued', pauseMs: 30_000 });
    expect(o3.pauseMs).toBe(240_000);
    expect(classifyError(err, { errorCount: 50 }).pauseMs).toBe(30 * MIN);
  });
});

describe('state transitions', () => {
  it('timed states end by themselves; person states do not', () => {
    expect(effectiveState('flood_wait', now - 1, now)).toBe('active');
    expect(effectiveState('blocked', now + 1, now)).toBe('blocked');
    expect(effectiveState('banned', now - 1, now)).toBe('banned');
  });

  it('a milder error never lifts a more severe state; the later end of a timed state wins', () => {
    const flood = classifyError('FLOOD_WAIT_60');
    expect(transition({ state: 'active', until: null }, flood, now)).toEqual({
      state: 'flood_wait',
      until: now + 60_000,
      changed: true,
    });
    expect(transition({ state: 'banned', until: null }, flood, now)).toMatchObject({ state: 'banned', changed: false });
    expect(transition({ state: 'blocked', until: now + 1000 }, flood, now)).toMatchObject({
      state: 'blocked',
      until: now + 1000,
    });
    expect(transition({ state: 'flood_wait', until: now + 120_000 }, flood, now)).toMatchObject({
      until: now + 120_000,
      changed: false,
    });
    expect(transition({ state: 'blocked', until: now - 1 }, flood, now)).toMatchObject({
      state: 'flood_wait',
      changed: true,
    });
    expect(transition({ state: 'flood_wait', until: now + 5 }, classifyError('PHONE_NUMBER_BANNED'), now)).toEqual({
      state: 'banned',
      until: null,
      changed: true,
    });
    expect(transition({ state: 'active', until: null }, classifyError('USERNAME_INVALID'), now)).toEqual({
      state: 'active',
      until: null,
      changed: false,
    });
  });
});
