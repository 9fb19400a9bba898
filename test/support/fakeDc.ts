import { createCipheriv, createDecipheriv, createHash, randomBytes, type Cipher, type Decipher } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * Loopback stand-ins for what `proxies check` reaches, speaking the real protocols:
 * - fakeDc(): a Telegram DC's MTProto transport — the intermediate transport (0xeeeeeeee first)
 *   or, with `secret`, an MTProxy: the obfuscated2 header keyed by the secret (as MTProxy reads
 *   it: keys sha256(key ‖ secret), the protocol tag and DC id in the decrypted header). It answers
 *   an unencrypted req_pq_multi with resPQ (our nonce, a server nonce, pq, one fingerprint), and
 *   closes the connection on anything else (a wrong secret decrypts to a wrong tag: closed).
 * - forwardingSocks(): a SOCKS5 server (username/password when given) that connects each CONNECT
 *   to the loopback port `route(host, port)` names (null: refused, reply 0x05), recording them.
 * - blackHole(): accepts connections and never answers.
 */

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
}

function track(sockets: Set<Socket>, s: Socket): void {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
  s.on('error', () => {});
}

const REQ_PQ_MULTI = 0xbe7e8ef1;
const RES_PQ = 0x05162463;

function resPq(nonce: Buffer): Buffer {
  const body = Buffer.alloc(84);
  body.writeBigUInt64LE((BigInt(Math.floor(Date.now() / 1000)) << 32n) | 1n, 8);
  body.writeInt32LE(64, 16);
  body.writeUInt32LE(RES_PQ, 20);
  nonce.copy(body, 24);
  randomBytes(16).copy(body, 40);
  body[56] = 8; // pq: TL bytes of length 8, padded to 12
  Buffer.from('17ED48941A08F981', 'hex').copy(body, 57);
  body.writeUInt32LE(0x1cb5c415, 68); // vector<long>
  body.writeInt32LE(1, 72);
  randomBytes(8).copy(body, 76);
  return body;
}

export async function fakeDc(opts: { secret?: Buffer } = {}): Promise<{
  port: number;
  /** req_pq_multi answered, and the DC id each obfuscated header named. */
  answered: () => number;
  dcIds: number[];
  close(): Promise<void>;
}> {
  let answered = 0;
  const dcIds: number[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    track(sockets, sock);
    let buf = Buffer.alloc(0);
    let stage: 'start' | 'frames' = 'start';
    let dec: Decipher | null = null;
    let enc: Cipher | null = null;
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, dec ? dec.update(d) : d]);
      if (stage === 'start') {
        if (opts.secret) {
          if (buf.length < 64) return;
          const init = buf.subarray(0, 64);
          const reversed = Buffer.from(init.subarray(8, 56)).reverse();
          const key = (k: Buffer) =>
            createHash('sha256')
              .update(Buffer.concat([k, opts.secret!]))
              .digest();
          dec = createDecipheriv('aes-256-ctr', key(init.subarray(8, 40)), init.subarray(40, 56));
          enc = createCipheriv('aes-256-ctr', key(reversed.subarray(0, 32)), reversed.subarray(32, 48));
          const plain = dec.update(init);
          const tag = plain.readUInt32LE(56);
          if (tag !== 0xeeeeeeee && tag !== 0xdddddddd && tag !== 0xefefefef) return void sock.destroy();
          dcIds.push(plain.readInt16LE(60));
          buf = dec.update(buf.subarray(64));
        } else {
          if (buf.length < 4) return;
          if (buf.readUInt32LE(0) !== 0xeeeeeeee) return void sock.destroy();
          buf = buf.subarray(4);
        }
        stage = 'frames';
      }
      while (buf.length >= 4) {
        const n = buf.readInt32LE(0);
        if (buf.length < 4 + n) return;
        const msg = buf.subarray(4, 4 + n);
        buf = buf.subarray(4 + n);
        if (n < 40 || msg.readUInt32LE(20) !== REQ_PQ_MULTI) return void sock.destroy();
        answered++;
        const body = resPq(msg.subarray(24, 40));
        const len = Buffer.alloc(4);
        len.writeInt32LE(body.length);
        const out = Buffer.concat([len, body]);
        sock.write(enc ? enc.update(out) : out);
      }
    });
  });
  return { port: await listen(server), answered: () => answered, dcIds, close: closer(server, sockets) };
}

export async function forwardingSocks(
  route: (host: string, port: number) => number | null,
  auth?: { username: string; password: string },
): Promise<{ port: number; destinations: string[]; close(): Promise<void> }> {
  const destinations: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    track(sockets, sock);
    let stage = 0;
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0) {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
        const methods = [...buf.subarray(2, 2 + buf[1]!)];
        buf = buf.subarray(2 + buf[1]!);
        const want = auth ? 2 : 0;
        if (!methods.includes(want)) return void sock.end(Buffer.from([5, 0xff]));
        sock.write(Buffer.from([5, want]));
        stage = auth ? 1 : 2;
      }
      if (stage === 1) {
        if (buf.length < 2) return;
        const ulen = buf[1]!;
        if (buf.length < 3 + ulen) return;
        const plen = buf[2 + ulen]!;
        if (buf.length < 3 + ulen + plen) return;
        const user = buf.subarray(2, 2 + ulen).toString();
        const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
        buf = buf.subarray(3 + ulen + plen);
        if (user !== auth!.username || pass !== auth!.password) return void sock.end(Buffer.from([1, 1]));
        sock.write(Buffer.from([1, 0]));
        stage = 2;
      }
      if (stage === 2) {
        if (buf.length < 5) return;
        const atyp = buf[3]!;
        let host: string;
        let off: number;
        if (atyp === 1) {
          if (buf.length < 10) return;
          host = [...buf.subarray(4, 8)].join('.');
          off = 8;
        } else if (atyp === 3) {
          const n = buf[4]!;
          if (buf.length < 7 + n) return;
          host = buf.subarray(5, 5 + n).toString();
          off = 5 + n;
        } else return void sock.destroy();
        const port = buf.readUInt16BE(off);
        const rest = buf.subarray(off + 2);
        destinations.push(`${host}:${port}`);
        stage = 3;
        sock.off('data', onData);
        const to = route(host, port);
        if (to === null) return void sock.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
        const up = connect({ host: '127.0.0.1', port: to }, () => {
          sock.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          if (rest.length) up.write(rest);
          up.pipe(sock);
          sock.pipe(up);
        });
        track(sockets, up);
        up.on('error', () => sock.destroy());
        up.on('close', () => sock.destroy());
      }
    };
    sock.on('data', onData);
  });
  return { port: await listen(server), destinations, close: closer(server, sockets) };
}

export async function blackHole(): Promise<{ port: number; accepted: Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accept!: () => void;
  const accepted = new Promise<void>((r) => (accept = r));
  const server = createServer((s) => {
    track(sockets, s);
    accept();
  });
  return { port: await listen(server), accepted, close: closer(server, sockets) };
}
