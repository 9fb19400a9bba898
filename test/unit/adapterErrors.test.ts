import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AcctctlError, ExitCode, exitCodeOf, UnavailableError } from '../../src/errors.js';
import { HttpError, httpGet } from '../../src/instagram/http.js';
import { TelegramCallError, TelegramConnectError } from '../../src/telegram/gateway.js';
import { closedPort } from '../support/socks.js';

/** What the command line makes of an adapter error: its exit code, and a message with the way out. */
function asCli(e: unknown): { code: number; message: string; cause: unknown } {
  expect(e).toBeInstanceOf(AcctctlError);
  return { code: exitCodeOf(e), message: (e as Error).message, cause: (e as Error).cause };
}

describe('HttpError maps to a typed error (69, "what → fix", cause kept)', () => {
  it('nobody listening, no proxy: network, 69, check the network', async () => {
    const port = await closedPort();
    const e = await httpGet(`http://127.0.0.1:${port}/x`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HttpError);
    expect(e).toBeInstanceOf(UnavailableError);
    expect((e as HttpError).kind).toBe('network');
    const c = asCli(e);
    expect(c.code).toBe(ExitCode.UNAVAILABLE);
    expect(c.message).toMatch(/^cannot reach 127\.0\.0\.1:\d+ \(.*ECONNREFUSED.*\) → check the network/);
    expect((c.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('a dead proxy: proxy, 69, names the proxy and what to do about it', async () => {
    const dead = await closedPort();
    const e = await httpGet('http://127.0.0.1:9/x', {
      proxy: { scheme: 'socks5', host: '127.0.0.1', port: dead },
    }).catch((x: unknown) => x);
    expect((e as HttpError).kind).toBe('proxy');
    const c = asCli(e);
    expect(c.code).toBe(ExitCode.UNAVAILABLE);
    expect(c.message).toMatch(new RegExp(`^the proxy 127\\.0\\.0\\.1:${dead} failed \\(.*\\) → check the proxy`));
    expect(c.cause).toBeInstanceOf(Error);
  });

  it('a host that never answers: timeout, 69', async () => {
    // Accepts the connection and never answers.
    const held = new Set<Socket>();
    const server = createServer((sock) => void held.add(sock));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const silent = { port: (server.address() as AddressInfo).port };
    try {
      const e = await httpGet(`http://127.0.0.1:${silent.port}/x`, { timeoutMs: 200 }).catch((x: unknown) => x);
      expect((e as HttpError).kind).toBe('timeout');
      const c = asCli(e);
      expect(c.code).toBe(ExitCode.UNAVAILABLE);
      expect(c.message).toMatch(/^no answer from 127\.0\.0\.1:\d+ in time → check the network/);
    } finally {
      for (const sock of held) sock.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('an MTProxy cannot carry HTTP: proxy, 69, with the fix', async () => {
    const e = await Promise.resolve()
      .then(() =>
        httpGet('http://127.0.0.1:9/x', {
          proxy: { scheme: 'mtproxy', host: '127.0.0.1', port: 1, secret: '00112233445566778899aabbccddeeff' },
        }),
      )
      .catch((x: unknown) => x);
    expect((e as HttpError).kind).toBe('proxy');
    expect(asCli(e).message).toMatch(/→ give this tenant an http:\/\/ or socks5:\/\/ proxy/);
  });
});

describe('Telegram adapter errors are typed errors', () => {
  it('a connect error is "unavailable" (69)', () => {
    const e = new TelegramConnectError('cannot reach Telegram → check the network', { cause: new Error('x') });
    expect(e).toBeInstanceOf(UnavailableError);
    expect(exitCodeOf(e)).toBe(ExitCode.UNAVAILABLE);
    expect(e.name).toBe('TelegramConnectError');
  });

  it("Telegram's refusal keeps Telegram's text for the error table; 69, or 75 for a wait it set", () => {
    const refused = new TelegramCallError('CHAT_WRITE_FORBIDDEN', 403, undefined);
    expect(refused.message).toBe('CHAT_WRITE_FORBIDDEN');
    expect(exitCodeOf(refused)).toBe(ExitCode.UNAVAILABLE);
    expect(refused.details.join(' ')).toMatch(/Telegram refused the request \(CHAT_WRITE_FORBIDDEN\) → /);
    for (const [msg, secs] of [
      ['FLOOD_WAIT_42', 42],
      ['FLOOD', 30],
      ['FLOOD_PREMIUM_WAIT_5', 5],
    ] as const) {
      const wait = new TelegramCallError(msg, 420, secs, `A wait of ${secs} seconds is required`);
      expect(wait.message).toBe(`A wait of ${secs} seconds is required`);
      expect(exitCodeOf(wait)).toBe(ExitCode.TEMPFAIL);
      expect(wait.details.join(' ')).toMatch(new RegExp(`wait ${secs} s → run the command again after that`));
    }
  });
});
