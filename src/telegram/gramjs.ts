/**
 * The only module that touches gramjs (npm `telegram`, archived upstream; a fork such as
 * teleproto may replace it). Every use of its internals (`_sender`, `_connectedDeferred`,
 * the Connection classes) is here, including the test seam that replaces the network.
 */
import { createRequire } from 'node:module';
import type { TelegramClient as GramClient } from 'telegram';
import type { ProxyInterface } from 'telegram/network/connection/TCPMTProxy.js';
import type { TargetRef } from '../domain/links.js';
import type { ProxySpec } from '../domain/proxyUrl.js';
import {
  TelegramCallError,
  TelegramConnectError,
  type AccountSession,
  type JoinRequestState,
  type JoinResult,
  type TelegramAccountClient,
  type TelegramGateway,
} from './gateway.js';

const require = createRequire(import.meta.url);
type Gram = typeof import('telegram');
let gram: Gram | undefined;
function g(): Gram {
  gram ??= require('telegram') as Gram;
  return gram;
}
function sessions(): typeof import('telegram/sessions/index.js') {
  return require('telegram/sessions/index.js') as typeof import('telegram/sessions/index.js');
}
function loggerMod(): typeof import('telegram/extensions/Logger.js') {
  return require('telegram/extensions/Logger.js') as typeof import('telegram/extensions/Logger.js');
}

export interface GramjsOptions {
  /** Per-connect time limit: gramjs's own `timeout` option does nothing. */
  connectTimeoutMs?: number;
  /** Test seam: replaces the network below a real TelegramClient (see installFakeSender). */
  fakeNetwork?: FakeHandler;
  /** Test seam: redirect the DC address (gramjs always dials port 80/443 otherwise). */
  dcOverride?: { host: string; port: number };
}

/** gramjs's proxy option for our proxy spec. HTTP proxies cannot carry MTProto: refused. */
export function gramProxy(p: ProxySpec): ProxyInterface {
  if (p.scheme === 'socks5' || p.scheme === 'socks4') {
    return {
      ip: p.host,
      port: p.port,
      socksType: p.scheme === 'socks5' ? 5 : 4,
      timeout: 10,
      ...(p.username ? { username: p.username } : {}),
      ...(p.password ? { password: p.password } : {}),
    };
  }
  if (p.scheme === 'mtproxy') return { ip: p.host, port: p.port, secret: p.secret!, MTProxy: true };
  throw new TelegramConnectError(
    `HTTP proxies cannot carry Telegram's protocol → give this account a socks5://, socks4:// or mtproxy:// proxy`,
  );
}

/** Normalise a gramjs error into the fields the error table reads. */
export function toCallError(e: unknown): TelegramCallError | TelegramConnectError {
  if (e instanceof TelegramCallError || e instanceof TelegramConnectError) return e;
  const { errors } = g();
  if (e instanceof errors.RPCError) {
    const seconds = e instanceof errors.FloodWaitError ? e.seconds : undefined;
    return new TelegramCallError(e.errorMessage, e.code, seconds, e.message);
  }
  const msg = e instanceof Error ? e.message : String(e);
  // getEntity turns USERNAME_NOT_OCCUPIED into a plain Error.
  if (/No user has ".*" as username/.test(msg))
    return new TelegramCallError('USERNAME_NOT_OCCUPIED', 400, undefined, msg);
  return new TelegramConnectError(msg, { cause: e });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TelegramConnectError(`${what} timed out after ${ms} ms`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

class GramAccountClient implements TelegramAccountClient {
  constructor(private readonly client: GramClient) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw toCallError(e);
    }
  }

  async join(target: TargetRef): Promise<JoinResult> {
    const { Api } = g();
    return this.call(async () => {
      if (target.kind === 'invite') {
        const info = await this.client.invoke(new Api.messages.CheckChatInvite({ hash: target.hash }));
        if (info instanceof Api.ChatInviteAlready) return { kind: 'already_member' };
        return softOutcomes(async () => {
          const upd = await this.client.invoke(new Api.messages.ImportChatInvite({ hash: target.hash }));
          return { kind: 'joined', title: titleOf(upd) };
        });
      }
      // Resolve ourselves: gramjs's getEntity would turn USERNAME_NOT_OCCUPIED into a plain Error.
      const resolved = await this.client.invoke(new Api.contacts.ResolveUsername({ username: target.username }));
      const chat = resolved.chats.find((c) => c instanceof Api.Channel);
      if (!(chat instanceof Api.Channel))
        throw new TelegramCallError('CHANNEL_INVALID', 400, undefined, 'not a group or channel');
      return softOutcomes(async () => {
        const upd = await this.client.invoke(
          new Api.channels.JoinChannel({
            channel: new Api.InputChannel({ channelId: chat.id, accessHash: chat.accessHash! }),
          }),
        );
        return { kind: 'joined', title: chat.title ?? titleOf(upd) };
      });
    });
  }

  async getMe(): Promise<{ id: string; username: string | null; phone: string | null }> {
    return this.call(async () => {
      const me = await this.client.getMe();
      return { id: String(me.id), username: me.username ?? null, phone: me.phone ?? null };
    });
  }

  async checkJoin(target: TargetRef): Promise<JoinRequestState> {
    const { Api } = g();
    return this.call(async () => {
      if (target.kind === 'invite') {
        const info = await this.client.invoke(new Api.messages.CheckChatInvite({ hash: target.hash }));
        return info instanceof Api.ChatInviteAlready ? 'member' : 'pending';
      }
      const resolved = await this.client.invoke(new Api.contacts.ResolveUsername({ username: target.username }));
      const chat = resolved.chats.find((c) => c instanceof Api.Channel);
      if (!(chat instanceof Api.Channel))
        throw new TelegramCallError('CHANNEL_INVALID', 400, undefined, 'not a group or channel');
      return chat.left ? 'pending' : 'member';
    });
  }

  async countChannels(): Promise<number> {
    const { Api } = g();
    return this.call(async () => {
      const dialogs = await this.client.getDialogs({});
      return dialogs.filter((d) => d.entity instanceof Api.Channel).length;
    });
  }

  async askSpamBot(): Promise<string> {
    const { Api } = g();
    return this.call(async () => {
      const peer = await this.client.getInputEntity('SpamBot');
      await this.client.invoke(new Api.messages.SendMessage({ peer, message: '/start', randomId: randomId() }));
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const h = await this.client.invoke(new Api.messages.GetHistory({ peer, limit: 1 }));
        const msg = 'messages' in h ? h.messages[0] : undefined;
        if (msg instanceof Api.Message && !msg.out) return msg.message;
      }
      throw new TelegramConnectError('@SpamBot did not answer within 10 s');
    });
  }
}

function randomId(): import('big-integer').BigInteger {
  const bigInt = require('big-integer') as typeof import('big-integer');
  return bigInt(Math.floor(Math.random() * 2 ** 52));
}

/** Telegram answers "request sent" and "already a member" as errors; they are outcomes. */
async function softOutcomes(join: () => Promise<JoinResult>): Promise<JoinResult> {
  try {
    return await join();
  } catch (e) {
    const err = toCallError(e);
    if (err instanceof TelegramCallError && err.errorMessage === 'INVITE_REQUEST_SENT') return { kind: 'requested' };
    if (err instanceof TelegramCallError && err.errorMessage === 'USER_ALREADY_PARTICIPANT')
      return { kind: 'already_member' };
    throw err;
  }
}

function titleOf(upd: unknown): string | null {
  const chats = (upd as { chats?: { title?: string }[] }).chats;
  return chats?.[0]?.title ?? null;
}

export function newGramClient(session: AccountSession, opts: GramjsOptions = {}): GramClient {
  const { TelegramClient } = g();
  const { StringSession } = sessions();
  const { Logger, LogLevel } = loggerMod();
  const params: ConstructorParameters<typeof TelegramClient>[3] = {
    // Every flood wait reaches acctctl; nothing sleeps inside gramjs.
    floodSleepThreshold: 0,
    connectionRetries: 1,
    retryDelay: 0,
    requestRetries: 1,
    autoReconnect: false,
    baseLogger: new Logger(LogLevel.NONE),
    ...(session.proxy ? { proxy: gramProxy(session.proxy) } : {}),
  };
  if (opts.dcOverride) {
    const { ConnectionTCPFull } = require('telegram/network/index.js') as typeof import('telegram/network/index.js');
    const { ConnectionTCPMTProxyAbridged } =
      require('telegram/network/connection/TCPMTProxy.js') as typeof import('telegram/network/connection/TCPMTProxy.js');
    const over = opts.dcOverride;
    const Base = (session.proxy?.scheme === 'mtproxy'
      ? ConnectionTCPMTProxyAbridged
      : ConnectionTCPFull) as unknown as new (o: Record<string, unknown>) => object;
    params.connection = class extends Base {
      constructor(o: Record<string, unknown>) {
        super({ ...o, ip: over.host, port: over.port });
      }
    } as unknown as typeof ConnectionTCPFull;
  }
  const client = new TelegramClient(new StringSession(session.stringSession), session.apiId, session.apiHash, params);
  if (opts.fakeNetwork) installFakeSender(client, opts.fakeNetwork);
  return client;
}

/** The real gateway: one client per account per run, connected once, destroyed at the end. */
export class GramjsGateway implements TelegramGateway {
  private readonly clients = new Map<number, { raw: GramClient; api: TelegramAccountClient }>();
  constructor(private readonly opts: GramjsOptions = {}) {}

  async client(session: AccountSession): Promise<TelegramAccountClient> {
    const have = this.clients.get(session.accountId);
    if (have) return have.api;
    const raw = newGramClient(session, this.opts);
    const api = new GramAccountClient(raw);
    this.clients.set(session.accountId, { raw, api });
    if (this.opts.fakeNetwork) return api;
    let lastError: unknown;
    raw.onError = async (e: Error) => {
      lastError = e;
    };
    let ok: boolean;
    try {
      ok = await withTimeout(raw.connect(), this.opts.connectTimeoutMs ?? 20_000, 'connecting to Telegram');
    } catch (e) {
      throw toCallError(e);
    }
    if (!ok) {
      const why = lastError instanceof Error ? lastError.message : 'no answer';
      throw new TelegramConnectError(
        `cannot reach Telegram${session.proxy ? ` through the account's ${session.proxy.scheme} proxy` : ''} (${why})`,
        { cause: lastError },
      );
    }
    return api;
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      all.map(async ({ raw }) => {
        try {
          await withTimeout(raw.destroy(), 5000, 'closing a Telegram client');
        } catch {
          // The process watchdog ends whatever gramjs leaves behind.
        }
      }),
    );
  }
}

export interface LoginCallbacks {
  phone: string;
  code(viaApp: boolean): Promise<string>;
  password(hint: string | undefined): Promise<string>;
  onError(e: Error): void;
}

/**
 * Interactive login (`accounts login`): phone, the code Telegram sends, the 2FA password.
 * Returns the new string session and who logged in. The caller destroys nothing: done here.
 */
export async function gramLogin(
  session: AccountSession,
  cb: LoginCallbacks,
  opts: GramjsOptions = {},
): Promise<{ stringSession: string; userId: string; username: string | null }> {
  const client = newGramClient(session, opts);
  try {
    if (opts.fakeNetwork) {
      await client.session.load(); // what connect() would do first
    } else {
      const ok = await withTimeout(client.connect(), opts.connectTimeoutMs ?? 20_000, 'connecting to Telegram');
      if (!ok) throw new TelegramConnectError(`cannot reach Telegram${session.proxy ? ' through the proxy' : ''}`);
    }
    const user = await client.signInUser(
      { apiId: session.apiId, apiHash: session.apiHash },
      {
        phoneNumber: cb.phone,
        phoneCode: async (viaApp) => cb.code(Boolean(viaApp)),
        password: async (hint) => cb.password(hint),
        onError: async (e: Error) => {
          cb.onError(toCallError(e));
          // Stop on anything but a wrong code/password, which gramjs asks again for.
          return !/PHONE_CODE_INVALID|PASSWORD_HASH_INVALID/.test((e as { errorMessage?: string }).errorMessage ?? '');
        },
      },
    );
    const saved = (client.session as unknown as { save(): string }).save();
    const u = user as { id?: { toString(): string }; username?: string };
    return { stringSession: saved, userId: String(u.id ?? ''), username: u.username ?? null };
  } catch (e) {
    throw toCallError(e);
  } finally {
    await withTimeout(client.destroy(), 5000, 'closing the login client').catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// Test seam (reference/gramjs.md, "Fake _sender"): a real TelegramClient whose network is
// replaced. gramjs's own invoke loop, request.resolve, TL serialisation and RPCMessageToError
// all still run; only the wire is gone. Never call connect() on such a client.

/** What the fake network answers: a TL object, an RPC error, or a thrown Error (socket drop). */
export type FakeReply = { result: unknown } | { rpcError: [number, string] } | { fail: Error };
export type FakeHandler = (request: { className: string; [k: string]: unknown }) => FakeReply | Promise<FakeReply>;

interface PendingState {
  request: { className: string; readResult(reader: unknown): unknown };
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export function installFakeSender(client: GramClient, handler: FakeHandler): void {
  const { Api } = g();
  const { RPCMessageToError } = require('telegram/errors/index.js') as typeof import('telegram/errors/index.js');
  const { BinaryReader } = require('telegram/extensions/index.js') as typeof import('telegram/extensions/index.js');
  const toBytes = (x: unknown): Buffer => {
    if (Array.isArray(x)) {
      const len = Buffer.alloc(4);
      len.writeInt32LE(x.length);
      return Buffer.concat([
        Buffer.from([0x15, 0xc4, 0xb5, 0x1c]),
        len,
        ...x.map((o: { getBytes(): Buffer }) => o.getBytes()),
      ]);
    }
    return (x as { getBytes(): Buffer }).getBytes();
  };
  const internals = client as unknown as {
    _sender: unknown;
    _connectedDeferred: { resolve(): void };
  };
  internals._sender = {
    userDisconnected: false,
    isConnected: () => true,
    disconnect: async () => {},
    addStateToQueue(state: PendingState) {
      setImmediate(async () => {
        try {
          const r = await handler(state.request as unknown as { className: string });
          if ('fail' in r) return state.reject(r.fail);
          if ('rpcError' in r) {
            return state.reject(
              RPCMessageToError(
                new Api.RpcError({ errorCode: r.rpcError[0], errorMessage: r.rpcError[1] }),
                state.request as unknown as import('telegram').Api.AnyRequest,
              ),
            );
          }
          // A real round trip through TL bytes: a malformed fixture fails as a real answer would.
          state.resolve(state.request.readResult(new BinaryReader(toBytes(r.result))));
        } catch (e) {
          state.reject(e);
        }
      });
    },
  };
  internals._connectedDeferred.resolve();
}

/** Build the exact error gramjs raises for a Telegram error string (for tests and the sandbox). */
export function gramError(code: number, message: string, request?: unknown): Error {
  const { Api } = g();
  const { RPCMessageToError } = require('telegram/errors/index.js') as typeof import('telegram/errors/index.js');
  return RPCMessageToError(
    new Api.RpcError({ errorCode: code, errorMessage: message }),
    (request ?? new Api.help.GetConfig()) as import('telegram').Api.AnyRequest,
  ) as Error;
}

export function gramApi(): Gram['Api'] {
  return g().Api;
}
