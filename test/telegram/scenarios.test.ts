import bigInt from 'big-integer';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/domain/accountStates.js';
import { TelegramCallError, type AccountSession } from '../../src/telegram/gateway.js';
import { GramjsGateway, gramApi, type FakeHandler } from '../../src/telegram/gramjs.js';
import { makeSession } from '../support/fixtures.js';
import { recordTimers } from '../support/timers.js';
import { channel, chatInvite, chatInviteAlready, resolved, script, updatesWith } from '../support/gramFixtures.js';

const session: AccountSession = {
  accountId: 1,
  sessionName: 'acc',
  apiId: 1,
  apiHash: '0123456789abcdef0123456789abcdef',
  stringSession: makeSession(),
  proxy: null,
};

async function join(handler: FakeHandler, target: Parameters<Awaited<ReturnType<GramjsGateway['client']>>['join']>[0]) {
  const gw = new GramjsGateway({ fakeNetwork: handler });
  try {
    const c = await gw.client(session);
    return await c.join(target);
  } finally {
    await gw.closeAll();
  }
}

async function joinError(handler: FakeHandler, target: Parameters<typeof join>[1]): Promise<TelegramCallError> {
  try {
    await join(handler, target);
  } catch (e) {
    if (e instanceof TelegramCallError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('join through a real TelegramClient over a fake network', () => {
  const grp = channel(1001, 'public_group', 'Public group');

  it('public username: ResolveUsername then JoinChannel', async () => {
    const s = script({
      'contacts.ResolveUsername': { result: resolved(grp) },
      'channels.JoinChannel': { result: updatesWith(grp) },
    });
    expect(await join(s.handler, { kind: 'username', username: 'public_group' })).toEqual({
      kind: 'joined',
      title: 'Public group',
    });
    expect(s.calls).toEqual(['contacts.ResolveUsername', 'channels.JoinChannel']);
  });

  it('invite link: CheckChatInvite then ImportChatInvite', async () => {
    const s = script({
      'messages.CheckChatInvite': { result: chatInvite() },
      'messages.ImportChatInvite': { result: updatesWith(grp) },
    });
    expect(await join(s.handler, { kind: 'invite', hash: 'AbCdEfGhIj' })).toEqual({
      kind: 'joined',
      title: 'Public group',
    });
    expect(s.calls).toEqual(['messages.CheckChatInvite', 'messages.ImportChatInvite']);
  });

  it('already a member: ChatInviteAlready, or USER_ALREADY_PARTICIPANT', async () => {
    const s = script({ 'messages.CheckChatInvite': { result: chatInviteAlready(grp) } });
    expect(await join(s.handler, { kind: 'invite', hash: 'AbCdEfGhIj' })).toEqual({ kind: 'already_member' });
    expect(s.calls).toEqual(['messages.CheckChatInvite']);
    const s2 = script({
      'messages.CheckChatInvite': { result: chatInvite() },
      'messages.ImportChatInvite': { rpcError: [400, 'USER_ALREADY_PARTICIPANT'] },
    });
    expect(await join(s2.handler, { kind: 'invite', hash: 'AbCdEfGhIj' })).toEqual({ kind: 'already_member' });
  });

  it('approval required: INVITE_REQUEST_SENT is a pending request, not a failure', async () => {
    const s = script({
      'messages.CheckChatInvite': { result: chatInvite({ requestNeeded: true }) },
      'messages.ImportChatInvite': { rpcError: [400, 'INVITE_REQUEST_SENT'] },
    });
    expect(await join(s.handler, { kind: 'invite', hash: 'AbCdEfGhIj' })).toEqual({ kind: 'requested' });
  });

  it('flood wait below and above the threshold reaches acctctl at once (gramjs does not sleep)', async () => {
    for (const [secs, state] of [
      [30, 'flood_wait'],
      [3600, 'cooldown'],
    ] as const) {
      const s = script({
        'contacts.ResolveUsername': { result: resolved(grp) },
        'channels.JoinChannel': { rpcError: [420, `FLOOD_WAIT_${secs}`] },
      });
      // gramjs sleeps a flood wait with a ref'd setTimeout(seconds * 1000): no such timer may be
      // scheduled (acctctl's own call deadlines are unref'd and cleared).
      const { result: e, timers } = await recordTimers(() =>
        joinError(s.handler, { kind: 'username', username: 'public_group' }),
      );
      expect(timers.filter((t) => t.delay >= secs * 1000 && t.timer.hasRef())).toEqual([]);
      if (!e) throw new Error('expected an error');
      expect(e).toMatchObject({ errorMessage: 'FLOOD', code: 420, seconds: secs });
      expect(e.message).toBe(`A wait of ${secs} seconds is required (caused by channels.JoinChannel)`);
      expect(classifyError(e)).toMatchObject({ state, untilMs: secs * 1000 });
      expect(s.calls).toEqual(['contacts.ResolveUsername', 'channels.JoinChannel']);
    }
  });

  it.each([
    [401, 'SESSION_REVOKED', 'disabled'],
    [401, 'AUTH_KEY_UNREGISTERED', 'disabled'],
    [400, 'PHONE_NUMBER_BANNED', 'banned'],
    [401, 'USER_DEACTIVATED_BAN', 'banned'],
    [420, 'FROZEN_METHOD_INVALID', 'frozen'],
  ])('%i %s → account %s', async (code, message, state) => {
    const s = script({ 'contacts.ResolveUsername': { rpcError: [code, message] } });
    const e = await joinError(s.handler, { kind: 'username', username: 'public_group' });
    expect(e).toMatchObject({ errorMessage: message, code });
    expect(classifyError(e).state).toBe(state);
  });

  it('a missing username keeps Telegram’s own error string', async () => {
    const s = script({ 'contacts.ResolveUsername': { rpcError: [400, 'USERNAME_NOT_OCCUPIED'] } });
    const e = await joinError(s.handler, { kind: 'username', username: 'ghost_group' });
    expect(e.errorMessage).toBe('USERNAME_NOT_OCCUPIED');
    expect(classifyError(e)).toMatchObject({ target: 'error', pauseMs: 60_000 });
  });
});

describe('re-checking a join request through a real TelegramClient over a fake network', () => {
  async function check(handler: FakeHandler, target: Parameters<typeof join>[1]) {
    const gw = new GramjsGateway({ fakeNetwork: handler });
    try {
      return await (await gw.client(session)).checkJoin(target);
    } finally {
      await gw.closeAll();
    }
  }
  const grp = channel(1002, 'approval_group', 'Approval group');

  it('invite: ChatInviteAlready means approved; ChatInvite means still pending; an expired hash is an error', async () => {
    expect(
      await check(script({ 'messages.CheckChatInvite': { result: chatInviteAlready(grp) } }).handler, {
        kind: 'invite',
        hash: 'AbCdEfGhIj',
      }),
    ).toBe('member');
    expect(
      await check(script({ 'messages.CheckChatInvite': { result: chatInvite({ requestNeeded: true }) } }).handler, {
        kind: 'invite',
        hash: 'AbCdEfGhIj',
      }),
    ).toBe('pending');
    await expect(
      check(script({ 'messages.CheckChatInvite': { rpcError: [400, 'INVITE_HASH_EXPIRED'] } }).handler, {
        kind: 'invite',
        hash: 'AbCdEfGhIj',
      }),
    ).rejects.toMatchObject({ errorMessage: 'INVITE_HASH_EXPIRED' });
  });

  it('public group: the channel no longer marked "left" means approved', async () => {
    const left = channel(1003, 'approval_group');
    left.left = true;
    expect(
      await check(script({ 'contacts.ResolveUsername': { result: resolved(left) } }).handler, {
        kind: 'username',
        username: 'approval_group',
      }),
    ).toBe('pending');
    expect(
      await check(script({ 'contacts.ResolveUsername': { result: resolved(grp) } }).handler, {
        kind: 'username',
        username: 'approval_group',
      }),
    ).toBe('member');
  });
});

describe('counting channels (CHANNELS_TOO_MUCH) through a real TelegramClient over a fake network', () => {
  it('counts the channels and supergroups among the dialogs (archive too), not basic groups', async () => {
    const Api = gramApi();
    const chans = [channel(2001, 'first_group'), channel(2002, 'second_group')];
    const basic = new Api.Chat({
      id: bigInt(3001),
      title: 'basic',
      photo: new Api.ChatPhotoEmpty(),
      participantsCount: 3,
      date: 1_700_000_000,
      version: 1,
    });
    const dialog = (peer: unknown) =>
      new Api.Dialog({
        peer: peer as InstanceType<typeof Api.PeerChannel>,
        topMessage: 0,
        readInboxMaxId: 0,
        readOutboxMaxId: 0,
        unreadCount: 0,
        unreadMentionsCount: 0,
        unreadReactionsCount: 0,
        notifySettings: new Api.PeerNotifySettings({}),
      });
    const archived = channel(2003, 'archived_group');
    const s = script({
      'messages.GetDialogs': (req) =>
        req.folderId === 1
          ? {
              result: new Api.messages.Dialogs({
                dialogs: [dialog(new Api.PeerChannel({ channelId: archived.id }))],
                messages: [],
                chats: [archived],
                users: [],
              }),
            }
          : {
              result: new Api.messages.Dialogs({
                dialogs: [
                  ...chans.map((c) => dialog(new Api.PeerChannel({ channelId: c.id }))),
                  dialog(new Api.PeerChat({ chatId: basic.id })),
                ],
                messages: [],
                chats: [...chans, basic],
                users: [],
              }),
            },
    });
    const gw = new GramjsGateway({ fakeNetwork: s.handler });
    try {
      expect(await (await gw.client(session)).countChannels()).toBe(3);
    } finally {
      await gw.closeAll();
    }
  });
});
