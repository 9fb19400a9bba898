/**
 * `proxies check`'s wire: reach what a proxy carries through it, and nothing else (never direct).
 * - SOCKS5/SOCKS4 (the `socks` library): CONNECT to a Telegram DC, then an MTProto `req_pq_multi`
 *   over the intermediate transport, answered by `resPQ` with our nonce: Telegram itself answered.
 *   For a SOCKS proxy only Instagram uses, CONNECT to the Instagram host.
 * - MTProxy: the obfuscated2 handshake keyed by the proxy's secret (as gramjs's TCPMTProxy does
 *   it; `dd` secrets with the padded intermediate transport), then the same `req_pq_multi`: only a
 *   proxy that knows the secret and reaches the DC answers `resPQ`.
 * - HTTP: `CONNECT host:443` to the Instagram host; a 200 is the tunnel open.
 * Every attempt has a deadline (`after`, injectable: tests run it in simulated time).
 */
import { createCipheriv, createHash, randomBytes, type Cipher } from 'node:crypto';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import type { ProxySpec } from '../domain/proxyUrl.js';

const require = createRequire(import.meta.url);

export interface ReachTarget {
  host: string;
  port: number;
  /** A Telegram DC: the MTProto ping is sent (and MTProxy is told this DC). Absent: a TCP tunnel only. */
  dcId?: number;
}

export interface ReachOptions {
  timeoutMs: number;
  /** Resolves when the deadline is reached (default: a real, unref'd timer of timeoutMs). */
  after?: (ms: number) => Promise<void>;
  /** The wall clock, for MTProto's message id only. */
  wallNow?: () => number;
}

/** Why a proxy could not reach its target (the message is the reason recorded; no secret in it). */
export class ReachError extends Error {}

function realAfter(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Reach `target` through `proxy`; resolves when it answered, throws ReachError with the reason. */
export async function reachThrough(proxy: ProxySpec, target: ReachTarget, opts: ReachOptions): Promise<void> {
  const sockets = new Set<Socket>();
  let timedOut = false;
  const attempt = attemptReach(proxy, target, opts, sockets);
  const deadline = (opts.after ?? realAfter)(opts.timeoutMs).then(() => {
    timedOut = true;
  });
  try {
    await Promise.race([attempt, deadline]);
    if (timedOut) throw new ReachError(`no answer within ${opts.timeoutMs} ms`);
  } catch (e) {
    if (timedOut) throw new ReachError(`no answer within ${opts.timeoutMs} ms`, { cause: e });
    if (e instanceof ReachError) throw e;
    throw new ReachError(e instanceof Error ? e.message : String(e), { cause: e });
  } finally {
    for (const s of sockets) s.destroy();
    attempt.catch(() => {});
  }
}

async function attemptReach(
  proxy: ProxySpec,
  target: ReachTarget,
  opts: ReachOptions,
  sockets: Set<Socket>,
): Promise<void> {
  if (proxy.scheme === 'http') return httpConnect(proxy, target, opts, sockets);
  if (proxy.scheme === 'mtproxy') {
    const sock = connect({ host: proxy.host, port: proxy.port });
    sockets.add(sock);
    const wire = new Wire(sock);
    await wire.connected();
    const secret = Buffer.from(proxy.secret ?? '', 'hex');
    const dd = secret.length === 17 && secret[0] === 0xdd;
    const key = dd ? secret.subarray(1) : secret;
    if (key.length !== 16) throw new ReachError('its MTProxy secret is not 16 bytes → import it again');
    const ob = obfuscated2(key, dd ? 0xdddddddd : 0xeeeeeeee, target.dcId ?? 2);
    wire.encrypt = (b) => ob.encrypt.update(b);
    wire.decrypt = (b) => ob.decrypt.update(b);
    sock.write(ob.header);
    return mtprotoPing(wire, opts, dd);
  }
  const { SocksClient } = require('socks') as typeof import('socks');
  let info: { socket: Socket };
  try {
    info = await SocksClient.createConnection({
      proxy: {
        host: proxy.host,
        port: proxy.port,
        type: proxy.scheme === 'socks4' ? 4 : 5,
        ...(proxy.username ? { userId: proxy.username } : {}),
        ...(proxy.password ? { password: proxy.password } : {}),
      },
      command: 'connect',
      destination: { host: target.host, port: target.port },
      timeout: opts.timeoutMs,
    });
  } catch (e) {
    throw new ReachError(`SOCKS: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  sockets.add(info.socket);
  if (target.dcId === undefined) return;
  const wire = new Wire(info.socket);
  info.socket.write(Buffer.from([0xee, 0xee, 0xee, 0xee]));
  return mtprotoPing(wire, opts, false);
}

/** HTTP CONNECT host:port through an HTTP proxy: 200 is the tunnel open. */
function httpConnect(proxy: ProxySpec, target: ReachTarget, opts: ReachOptions, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve, reject) => {
    const auth =
      proxy.username !== undefined
        ? {
            'proxy-authorization': `Basic ${Buffer.from(`${proxy.username}:${proxy.password ?? ''}`).toString('base64')}`,
          }
        : {};
    const req = request({
      host: proxy.host,
      port: proxy.port,
      method: 'CONNECT',
      path: `${target.host}:${target.port}`,
      headers: { host: `${target.host}:${target.port}`, ...auth },
    });
    req.on('socket', (s) => sockets.add(s));
    req.on('connect', (res, sock) => {
      sockets.add(sock);
      if (res.statusCode === 200) resolve();
      else reject(new ReachError(`the proxy answered CONNECT with HTTP ${res.statusCode ?? '?'}`));
    });
    req.on('response', (res) => {
      res.resume();
      reject(new ReachError(`the proxy answered CONNECT with HTTP ${res.statusCode ?? '?'}`));
    });
    req.on('error', (e) => reject(new ReachError(e.message, { cause: e })));
    req.end();
  });
}

/** A socket read as a byte stream, optionally through the obfuscation ciphers. */
class Wire {
  private buf = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended: Error | null = null;
  encrypt: (b: Buffer) => Buffer = (b) => b;
  decrypt: (b: Buffer) => Buffer = (b) => b;
  constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, this.decrypt(d)]);
      this.wake();
    });
    sock.on('error', (e) => this.end(e));
    sock.on('close', () => this.end(new Error('the connection was closed before Telegram answered')));
  }
  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
  }
  private end(e: Error): void {
    this.ended ??= e;
    this.wake();
  }
  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
  write(b: Buffer): void {
    this.sock.write(this.encrypt(b));
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw this.ended;
      await new Promise<void>((r) => (this.waiting = r));
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
}

const REQ_PQ_MULTI = 0xbe7e8ef1;
const RES_PQ = 0x05162463;

/** An unencrypted `req_pq_multi` over the intermediate transport; the answer must be `resPQ` with our nonce. */
async function mtprotoPing(wire: Wire, opts: ReachOptions, padded: boolean): Promise<void> {
  const nonce = randomBytes(16);
  const msg = Buffer.alloc(40);
  const seconds = BigInt(Math.floor((opts.wallNow ?? Date.now)() / 1000));
  msg.writeBigUInt64LE((seconds << 32n) | (BigInt(randomBytes(4).readUInt32LE(0)) & ~3n), 8);
  msg.writeInt32LE(20, 16);
  msg.writeUInt32LE(REQ_PQ_MULTI, 20);
  nonce.copy(msg, 24);
  const padding = padded ? randomBytes(randomBytes(1)[0]! % 16) : Buffer.alloc(0);
  const len = Buffer.alloc(4);
  len.writeInt32LE(msg.length + padding.length);
  wire.write(Buffer.concat([len, msg, padding]));
  const n = (await wire.read(4)).readInt32LE(0);
  if (n === 4) throw new ReachError(`Telegram answered with transport error ${(await wire.read(4)).readInt32LE(0)}`);
  if (n < 40 || n > 1 << 20) throw new ReachError(`not an MTProto answer (a packet of ${n} bytes)`);
  const body = await wire.read(n);
  if (body.readUInt32LE(20) !== RES_PQ || !body.subarray(24, 40).equals(nonce))
    throw new ReachError('not an MTProto answer (no resPQ with our nonce)');
}

/** The obfuscated2 header and ciphers (MTProxy: keys hashed with the secret). */
function obfuscated2(secret: Buffer, tag: number, dcId: number): { header: Buffer; encrypt: Cipher; decrypt: Cipher } {
  let init: Buffer;
  const bad = [0x44414548, 0x54534f50, 0x20544547, 0x4954504f, 0xdddddddd, 0xeeeeeeee, 0x02010316];
  do init = randomBytes(64);
  while (init[0] === 0xef || bad.includes(init.readUInt32LE(0)) || init.readUInt32LE(4) === 0);
  init.writeUInt32LE(tag, 56);
  init.writeInt16LE(dcId, 60);
  const reversed = Buffer.from(init.subarray(8, 56)).reverse();
  const key = (k: Buffer) =>
    createHash('sha256')
      .update(Buffer.concat([k, secret]))
      .digest();
  const encrypt = createCipheriv('aes-256-ctr', key(init.subarray(8, 40)), init.subarray(40, 56));
  const decrypt = createCipheriv('aes-256-ctr', key(reversed.subarray(0, 32)), reversed.subarray(32, 48));
  const enc = encrypt.update(init);
  const header = Buffer.concat([init.subarray(0, 56), enc.subarray(56, 64)]);
  return { header, encrypt, decrypt };
}
