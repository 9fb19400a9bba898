import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A loopback SOCKS5 server that records every CONNECT destination and refuses it (reply 0x05). */
export async function recordingSocks(): Promise<{ port: number; destinations: string[]; close(): Promise<void> }> {
  const destinations: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let stage = 0;
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (stage === 0 && buf.length >= 2 && buf.length >= 2 + buf[1]!) {
        const methods = [...buf.subarray(2, 2 + buf[1]!)];
        buf = buf.subarray(2 + buf[1]!);
        stage = methods.includes(0) ? 2 : 1;
        sock.write(Buffer.from([5, methods.includes(0) ? 0 : 2]));
      }
      if (stage === 1 && buf.length >= 2) {
        const ulen = buf[1]!;
        if (buf.length < 3 + ulen) return;
        const plen = buf[2 + ulen]!;
        if (buf.length < 3 + ulen + plen) return;
        buf = buf.subarray(3 + ulen + plen);
        stage = 2;
        sock.write(Buffer.from([1, 0]));
      }
      if (stage === 2 && buf.length >= 5) {
        const atyp = buf[3]!;
        let host = '';
        let off = 4;
        if (atyp === 1) {
          if (buf.length < 10) return;
          host = [...buf.subarray(4, 8)].join('.');
          off = 8;
        } else if (atyp === 3) {
          const n = buf[4]!;
          if (buf.length < 5 + n + 2) return;
          host = buf.subarray(5, 5 + n).toString();
          off = 5 + n;
        } else if (atyp === 4) {
          if (buf.length < 22) return;
          host = buf.subarray(4, 20).toString('hex');
          off = 20;
        }
        const port = buf.readUInt16BE(off);
        destinations.push(`${host}:${port}`);
        stage = 3;
        sock.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    destinations,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A TCP listener that only counts connections (stands in for a Telegram DC). */
export async function countingServer(): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    n++;
    sockets.add(s);
    s.on('error', () => {});
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => n,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A port on loopback that nothing listens on. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
