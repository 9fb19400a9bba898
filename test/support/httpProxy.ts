import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * A loopback HTTP proxy that records every request (absolute URL or CONNECT). It forwards only
 * to loopback addresses: anything else is refused without even a DNS lookup, so a test can
 * never send traffic off this machine. With `localAddress` (e.g. 127.0.0.12) its outgoing
 * connections come from that loopback address: the far end can tell which proxy a request used.
 */
export async function recordingHttpProxy(
  opts: { localAddress?: string } = {},
): Promise<{ port: number; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    const u = new URL(req.url ?? '');
    if (!LOOPBACK.has(u.hostname)) {
      res.writeHead(403);
      return res.end();
    }
    const up = request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: req.method,
        headers: req.headers,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.on('connect', (req, sock, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    if (!LOOPBACK.has(host ?? '')) {
      sock.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const up = connect(
      { port: Number(port), host: host!, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) },
      () => {
        sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(sock);
        sock.pipe(up);
      },
    );
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * An HTTP proxy that alone knows where a made-up hostname lives (`instagram.test` → a loopback
 * port): whatever reaches that host went through this proxy, since nothing else can resolve it.
 * Records every request; anything for another host is refused.
 */
export async function hostMappingProxy(
  hosts: Record<string, number>,
): Promise<{ port: number; seen: string[]; forwarded: () => number; tunnels: () => number; close(): Promise<void> }> {
  const seen: string[] = [];
  let forwarded = 0;
  let tunnels = 0;
  const target = (hostname: string) => hosts[hostname];
  const server: Server = createServer((req: IncomingMessage, res) => {
    seen.push(`${req.method} ${req.url}`);
    let u: URL;
    try {
      u = new URL(req.url ?? '');
    } catch {
      res.writeHead(400);
      return res.end();
    }
    const port = target(u.hostname);
    if (port === undefined) {
      res.writeHead(403);
      return res.end();
    }
    forwarded++;
    const up = request(
      { host: '127.0.0.1', port, path: u.pathname + u.search, method: req.method, headers: req.headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  server.on('connect', (req, sock, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    if (target(host ?? '') === undefined || Number(port) !== target(host ?? '')) {
      sock.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const up = connect(Number(port), '127.0.0.1', () => {
      tunnels++;
      sock.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(sock);
      sock.pipe(up);
    });
    up.on('error', () => sock.destroy());
    sock.on('error', () => up.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    forwarded: () => forwarded,
    tunnels: () => tunnels,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
