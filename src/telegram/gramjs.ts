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
  /** Per-call time limit: every request sent through gramjs (invoke) ends by then. */
  callTimeoutMs?: number;
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
  return new TelegramConnectError(`Telegram connection failed (${msg}) → ${RETRY_FIX}`, { cause: e });
}

/** The way out of a connect error: what to check; batches retry on their next run. */
const RETRY_FIX = "check the network and the account's proxy; the next run tries again";

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new TelegramConnectError(`${what} timed out after ${ms} ms → ${RETRY_FIX}`)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Default deadlines: connecting (with the key exchange) and each request sent. */
const CONNECT_TIMEOUT_MS = 20_000;
const CALL_TIMEOUT_MS = 30_000;

class GramAccountClient implements TelegramAccountClient {
  /** Set once a call failed below Telegram (timeout, socket): the client is closed, never used again. */
  broken = false;
  constructor(
    private readonly client: GramClient,
    private readonly onBroken: () => void = () => {},
  ) {}

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.broken)
      throw new TelegramConnectError(
        `this account's Telegram connection was closed after a failed call → ${RETRY_FIX}`,
      );
    try {
      return await fn();
    } catch (e) {
      const err = toCallError(e);
      // Telegram's own answers (RPC errors) leave the connection usable; anything else does not.
      if (err instanceof TelegramConnectError && !this.broken) {
        this.broken = true;
        this.onBroken();
      }
      throw err;
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

  /**
   * Channels and supergroups among the dialogs, main list and archive. messages.GetDialogs is paged
   * here (not client.getDialogs, whose Dialog wrapper fails on a dialog without a top message).
   */
  async countChannels(): Promise<number> {
    const { Api } = g();
    const bigInt = require('big-integer') as typeof import('big-integer');
    return this.call(async () => {
      const seen = new Set<string>();
      for (const folderId of [0, 1]) {
        let offsetDate = 0;
        let offsetId = 0;
        let offsetPeer: import('telegram').Api.TypeInputPeer = new Api.InputPeerEmpty();
        for (let page = 0; page < 50; page++) {
          const r = await this.client.invoke(
            new Api.messages.GetDialogs({ folderId, offsetDate, offsetId, offsetPeer, limit: 100, hash: bigInt(0) }),
          );
          if (r instanceof Api.messages.DialogsNotModified) break;
          for (const d of r.dialogs) if (d.peer instanceof Api.PeerChannel) seen.add(d.peer.channelId.toString());
          const last = r.dialogs.at(-1);
          if (r instanceof Api.messages.Dialogs || !last || r.dialogs.length < 100) break;
          const top = r.messages.find((m) => 'id' in m && m.id === last.topMessage);
          offsetId = last.topMessage;
          offsetDate = top && 'date' in top ? (top.date ?? 0) : 0;
          offsetPeer = await this.client.getInputEntity(last.peer);
        }
      }
      return seen.size;
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
      throw new TelegramConnectError('@SpamBot did not answer within 10 s → run `acctctl recover --probe` again later');
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
    // gramjs follows PHONE_/USER_/NETWORK_MIGRATE_X (switch data centre, send again) inside this
    // retry loop: with 1 no attempt is left after the switch. Flood waits are never slept (above).
    requestRetries: 5,
    autoReconnect: false,
    baseLogger: new Logger(LogLevel.NONE),
    ...(session.proxy ? { proxy: gramProxy(session.proxy) } : {}),
    // The account's own device, sent in initConnection on every connect.
    ...(session.device
      ? {
          deviceModel: session.device.model,
          systemVersion: session.device.systemVersion,
          appVersion: session.device.appVersion,
          langCode: session.device.langCode,
          systemLangCode: session.device.systemLangCode,
        }
      : {}),
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
  // Every request gramjs sends (ours, and those inside getMe, getInputEntity, signInUser…) has a
  // deadline: a request whose answer never comes would otherwise wait forever.
  const invoke = client.invoke.bind(client);
  const callMs = opts.callTimeoutMs ?? CALL_TIMEOUT_MS;
  client.invoke = ((request: { className?: string }, ...rest: unknown[]) =>
    withTimeout(
      (invoke as (...a: unknown[]) => Promise<unknown>)(request, ...rest),
      callMs,
      `Telegram request ${request.className ?? ''}`.trim(),
    )) as typeof client.invoke;
  if (opts.fakeNetwork) installFakeSender(client, opts.fakeNetwork);
  return client;
}

/** Destroy a client, bounded: what gramjs leaves behind is the process watchdog's. */
async function destroyQuietly(raw: GramClient, what = 'closing a Telegram client'): Promise<void> {
  try {
    await withTimeout(raw.destroy(), 5000, what);
  } catch {
    // The process watchdog ends whatever gramjs leaves behind.
  }
}

/**
 * The real gateway: one client per account per run, connected once, destroyed at the end. A client
 * whose connect or call failed (timeout, socket, proxy) is destroyed at once and never handed out
 * again: the next `client()` for that account connects afresh, under the same deadlines.
 */
export class GramjsGateway implements TelegramGateway {
  private readonly clients = new Map<number, { raw: GramClient; api: GramAccountClient }>();
  private readonly connecting = new Map<number, Promise<GramAccountClient>>();
  private readonly closing = new Set<Promise<void>>();
  constructor(private readonly opts: GramjsOptions = {}) {}

  async client(session: AccountSession): Promise<TelegramAccountClient> {
    const have = this.clients.get(session.accountId);
    if (have && !have.api.broken) return have.api;
    const pending = this.connecting.get(session.accountId);
    if (pending) return pending;
    const p = this.connect(session).finally(() => this.connecting.delete(session.accountId));
    this.connecting.set(session.accountId, p);
    return p;
  }

  private async connect(session: AccountSession): Promise<GramAccountClient> {
    const raw = newGramClient(session, this.opts);
    const entry = {
      raw,
      api: new GramAccountClient(raw, () => {
        if (this.clients.get(session.accountId) === entry) this.clients.delete(session.accountId);
        this.close(raw);
      }),
    };
    let lastError: unknown;
    raw.onError = async (e: Error) => {
      lastError = e;
    };
    let ok: boolean;
    try {
      ok = await withTimeout(raw.connect(), this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, 'connecting to Telegram');
    } catch (e) {
      this.close(raw);
      throw toCallError(e);
    }
    if (!ok) {
      this.close(raw);
      const why = lastError instanceof Error ? lastError.message : 'no answer';
      throw new TelegramConnectError(
        `cannot reach Telegram${session.proxy ? ` through the account's ${session.proxy.scheme} proxy` : ''} (${why}) → ${RETRY_FIX}`,
        { cause: lastError },
      );
    }
    this.clients.set(session.accountId, entry);
    return entry.api;
  }

  /** Destroy a failed client now (in the background; closeAll waits for it). */
  private close(raw: GramClient): void {
    const p: Promise<void> = destroyQuietly(raw).finally(() => this.closing.delete(p));
    this.closing.add(p);
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.all([...all.map(({ raw }) => destroyQuietly(raw)), ...this.closing]);
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
  // The last error Telegram gave, so "the code expired" is not reported as gramjs's AUTH_USER_CANCEL.
  let lastError: TelegramCallError | TelegramConnectError | undefined;
  const wrong = { code: 0, password: 0 };
  try {
    if (opts.fakeNetwork) {
      await client._initSession(); // what connect() would do first
    } else {
      await connectForLogin(client, session, opts);
    }
    const user = await client.signInUser(
      { apiId: session.apiId, apiHash: session.apiHash },
      {
        phoneNumber: cb.phone,
        phoneCode: async (viaApp) => cb.code(Boolean(viaApp)),
        password: async (hint) => cb.password(hint),
        onError: async (e: Error) => {
          lastError = toCallError(e);
          cb.onError(lastError);
          // A wrong code or password is asked again (3 tries each); anything else stops.
          const m = (e as { errorMessage?: string }).errorMessage ?? '';
          if (m === 'PHONE_CODE_INVALID') return ++wrong.code >= MAX_WRONG;
          if (m === 'PASSWORD_HASH_INVALID') return ++wrong.password >= MAX_WRONG;
          return true;
        },
      },
    );
    const saved = (client.session as unknown as { save(): string }).save();
    const u = user as { id?: { toString(): string }; username?: string };
    return { stringSession: saved, userId: String(u.id ?? ''), username: u.username ?? null };
  } catch (e) {
    if (e instanceof Error && e.message === 'AUTH_USER_CANCEL' && lastError) throw lastError;
    throw toCallError(e);
  } finally {
    await destroyQuietly(client, 'closing the login client');
  }
}

/** Connect the login client; failing, say how to get through (the network, or the --proxy-id proxy). */
async function connectForLogin(client: GramClient, session: AccountSession, opts: GramjsOptions): Promise<void> {
  const fail = (why: string | undefined, cause?: unknown) =>
    new TelegramConnectError(
      `cannot reach Telegram${session.proxy ? ` through the ${session.proxy.scheme} proxy` : ''}${why ? ` (${why})` : ''} → ` +
        `check the network${session.proxy ? ' and the --proxy-id proxy' : ''}, then run \`acctctl accounts login\` again`,
      cause === undefined ? undefined : { cause },
    );
  let lastError: unknown;
  client.onError = async (e: Error) => {
    lastError = e;
  };
  let ok: boolean;
  try {
    ok = await withTimeout(client.connect(), opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS, 'connecting to Telegram');
  } catch (e) {
    const err = toCallError(e);
    if (!(err instanceof TelegramConnectError)) throw err;
    throw fail(whatOf(e), e);
  }
  if (!ok) throw fail(lastError === undefined ? undefined : whatOf(lastError), lastError);
}

/** The "what is wrong" part of an error's message (without the fix after the arrow). */
function whatOf(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split(' → ')[0]!;
}

/** Wrong codes (or passwords) typed before a login gives up. */
const MAX_WRONG = 3;

// ---------------------------------------------------------------------------------------------
// Test seam (reference/gramjs.md, "Fake _sender"): a real TelegramClient whose network is
// replaced. gramjs's own invoke loop, request.resolve, TL serialisation and RPCMessageToError
// all still run; only the wire is gone. Never call connect() on such a client.

/** What the fake network answers: a TL object, an RPC error, or a thrown Error (socket drop). */
export type FakeReply = { result: unknown } | { rpcError: [number, string] } | { fail: Error };
export type FakeHandler = (
  request: { className: string; [k: string]: unknown },
  /** The data centre the client is talking to (it changes after a *_MIGRATE_X). */
  at: { dcId: number },
) => FakeReply | Promise<FakeReply>;

/** Telegram's production data centres (what getDC answers from help.GetConfig). */
const DC_IPS: Record<number, string> = {
  1: '149.154.175.53',
  2: '149.154.167.51',
  3: '149.154.175.100',
  4: '149.154.167.91',
  5: '91.108.56.130',
};

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
    _initRequest: import('telegram').Api.InitConnection;
    _errorHandler?: (e: Error) => Promise<void>;
    _connectedDeferred: { resolve(): void };
    _initSession(): Promise<void>;
    getDC(id: number): Promise<{ id: number; ipAddress: string; port: number }>;
    connect(): Promise<boolean>;
  };
  const { AuthKey } = require('telegram/crypto/AuthKey.js') as typeof import('telegram/crypto/AuthKey.js');
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  // A *_MIGRATE_X makes gramjs look the DC up, drop the auth key and connect() again: on the fake
  // network the new DC hands out a fresh auth key at once, as a real key exchange would.
  internals.getDC = async (id) => {
    const ip = DC_IPS[id];
    if (!ip) throw new Error(`Cannot find the DC with the ID of ${id}`);
    return { id, ipAddress: ip, port: 443 };
  };
  internals.connect = async () => {
    await internals._initSession();
    const key = new AuthKey();
    await key.setKey(randomBytes(256));
    client.session.setAuthKey(key);
    internals._sender = sender();
    // As gramjs's connect(): invokeWithLayer(initConnection(help.getConfig)) goes first, carrying
    // the device (deviceModel, systemVersion, appVersion, langCode, systemLangCode). A `fail`
    // reply is a connection that broke: gramjs swallows it, reports it to onError, answers false.
    const { LAYER } = require('telegram/tl/AllTLObjects.js') as { LAYER: number };
    internals._initRequest.query = new Api.help.GetConfig();
    const init = new Api.InvokeWithLayer({ layer: LAYER, query: internals._initRequest });
    const r = await handler(init as unknown as { className: string }, { dcId: client.session.dcId });
    if ('fail' in r) {
      await internals._errorHandler?.(r.fail);
      return false;
    }
    return true;
  };
  const sender = () => ({
    userDisconnected: false,
    isConnected: () => true,
    disconnect: async () => {},
    authKey: { setKey: async () => {} },
    addStateToQueue(state: PendingState) {
      setImmediate(async () => {
        try {
          const r = await handler(state.request as unknown as { className: string }, { dcId: client.session.dcId });
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
  });
  internals._sender = sender();
  internals._connectedDeferred.resolve();
}

/**
 * Test seam: the 2FA challenge (`account.GetPassword`) a real server sends, with Telegram's own
 * 2048-bit prime (gramjs checks it) so gramjs computes the SRP answer as it would for real.
 */
export function fakePasswordChallenge(hint: string | null): unknown {
  const { Api } = g();
  const bigInt = require('big-integer') as typeof import('big-integer');
  const p = Buffer.from(TELEGRAM_SRP_PRIME, 'hex');
  const { randomBytes } = require('node:crypto') as typeof import('node:crypto');
  const B = randomBytes(256);
  B[0] = 0x10; // 0 < B < p
  return new Api.account.Password({
    hasPassword: true,
    hint: hint ?? undefined,
    currentAlgo: new Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow({
      salt1: randomBytes(8),
      salt2: randomBytes(16),
      g: 3,
      p,
    }),
    srp_B: B,
    srpId: bigInt(77),
    newAlgo: new Api.PasswordKdfAlgoUnknown(),
    newSecureAlgo: new Api.SecurePasswordKdfAlgoUnknown(),
    secureRandom: randomBytes(32),
  });
}

/** Telegram's public 2048-bit SRP prime (not a secret), 64 hex digits a line. */
const TELEGRAM_SRP_PRIME = [
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f',
  '48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c37',
  '20fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f64',
  '2477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4',
  'a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754',
  'fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4',
  'e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f',
  '0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b',
].join('');

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
