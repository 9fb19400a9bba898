import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A loopback lookup API (the `api` method's provider): keys, quota, found/not found. */
export async function fakeLookupApi(opts: {
  existing: string[];
  quotaKeys?: string[];
}): Promise<{ url: string; calls: { key: string; username: string }[]; close(): Promise<void> }> {
  const calls: { key: string; username: string }[] = [];
  const server = createServer((req, res) => {
    const m = /^\/v1\/ig\/([^/?]+)/.exec(req.url ?? '');
    const key = String(req.headers['x-api-key'] ?? '');
    const username = decodeURIComponent(m?.[1] ?? '');
    calls.push({ key, username });
    res.setHeader('content-type', 'application/json');
    if (!key) return res.writeHead(401).end('{}');
    if (opts.quotaKeys?.includes(key)) return res.writeHead(429).end(JSON.stringify({ error: 'quota exceeded' }));
    if (opts.existing.includes(username)) return res.writeHead(200).end(JSON.stringify({ data: { exists: true } }));
    res.writeHead(404).end(JSON.stringify({ error: 'not found' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
