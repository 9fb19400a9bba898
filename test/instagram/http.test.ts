import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError, httpGet } from '../../src/instagram/http.js';
import { recordingHttpProxy } from '../support/httpProxy.js';
import { closedPort, recordingSocks } from '../support/socks.js';

describe('check HTTP goes through the tenant’s proxy and fails closed', () => {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.setHeader('content-type', 'application/json');
    res.end('{"status":"ok"}');
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/users/web_profile_info/?username=x`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('direct, and through an HTTP proxy that records the request', async () => {
    expect((await httpGet(url)).json).toEqual({ status: 'ok' });
    const p = await recordingHttpProxy();
    try {
      const r = await httpGet(url, { proxy: { scheme: 'http', host: '127.0.0.1', port: p.port } });
      expect(r.status).toBe(200);
      expect(p.seen).toEqual([`GET ${url}`]);
    } finally {
      await p.close();
    }
  });

  it('through SOCKS5: the CONNECT goes to the target via the proxy; a refusing or dead proxy is an error, never a direct request', async () => {
    const socks = await recordingSocks();
    const before = hits;
    try {
      await expect(
        httpGet(url, { proxy: { scheme: 'socks5', host: '127.0.0.1', port: socks.port } }),
      ).rejects.toBeInstanceOf(HttpError);
      expect(socks.destinations).toEqual([`127.0.0.1:${new URL(url).port}`]);
    } finally {
      await socks.close();
    }
    const dead = await closedPort();
    for (const scheme of ['socks5', 'socks4', 'http'] as const) {
      const e = await httpGet(url, { proxy: { scheme, host: '127.0.0.1', port: dead } }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(HttpError);
      expect((e as HttpError).kind).toBe('proxy');
    }
    expect(hits).toBe(before); // the target never saw a request
  });
});
