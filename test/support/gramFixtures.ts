import bigInt from 'big-integer';
import { gramApi, type FakeHandler, type FakeReply } from '../../src/telegram/gramjs.js';

/** TL objects a fake Telegram answers with; built from gramjs's own classes. */
export function channel(id: number, username: string, title = username) {
  const Api = gramApi();
  return new Api.Channel({
    id: bigInt(id),
    accessHash: bigInt(id * 7),
    title,
    username,
    photo: new Api.ChatPhotoEmpty(),
    date: 1_700_000_000,
    megagroup: true,
  });
}

export function updatesWith(chat: unknown) {
  const Api = gramApi();
  return new Api.Updates({
    updates: [],
    users: [],
    chats: [chat as InstanceType<typeof Api.Channel>],
    date: 1_700_000_000,
    seq: 0,
  });
}

export function resolved(chat: unknown) {
  const Api = gramApi();
  return new Api.contacts.ResolvedPeer({
    peer: new Api.PeerChannel({ channelId: (chat as { id: ReturnType<typeof bigInt> }).id }),
    chats: [chat as InstanceType<typeof Api.Channel>],
    users: [],
  });
}

export function chatInvite(opts: { requestNeeded?: boolean; title?: string } = {}) {
  const Api = gramApi();
  return new Api.ChatInvite({
    title: opts.title ?? 'Invite group',
    photo: new Api.PhotoEmpty({ id: bigInt(0) }),
    participantsCount: 10,
    color: 0,
    requestNeeded: opts.requestNeeded ?? false,
    megagroup: true,
  });
}

export function chatInviteAlready(chat: unknown) {
  const Api = gramApi();
  return new Api.ChatInviteAlready({ chat: chat as InstanceType<typeof Api.Channel> });
}

/**
 * A scripted Telegram: per request class, a reply; every request is recorded. The connection's
 * first request (InvokeWithLayer(InitConnection)) is accepted and kept in `inits` unless scripted.
 */
export function script(replies: Record<string, FakeReply | ((req: Record<string, unknown>) => FakeReply)>): {
  handler: FakeHandler;
  calls: string[];
  inits: Record<string, unknown>[];
} {
  const calls: string[] = [];
  const inits: Record<string, unknown>[] = [];
  return {
    calls,
    inits,
    handler: (req) => {
      if (req.className === 'InvokeWithLayer' && !replies[req.className]) {
        inits.push(req.query as Record<string, unknown>);
        return { result: null };
      }
      calls.push(req.className);
      const r = replies[req.className];
      if (!r) return { rpcError: [400, `UNEXPECTED_${req.className.replace(/\W/g, '_').toUpperCase()}`] };
      return typeof r === 'function' ? r(req) : r;
    },
  };
}
