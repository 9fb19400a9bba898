import { describe, expect, it } from 'vitest';
import { ExitCode, exitCodeOf } from '../../src/errors.js';
import { TelegramConnectError, type AccountSession } from '../../src/telegram/gateway.js';
import { GramjsGateway } from '../../src/telegram/gramjs.js';
import { encodeStringSession } from '../../src/domain/stringSession.js';
import { closedPort, countingServer, recordingSocks } from '../support/socks.js';
import { randomBytes } from 'node:crypto';
import { recordTimers } from '../support/timers.js';

const session = (proxy: AccountSession['proxy']): AccountSession => ({
  accountId: 1,
  sessionName: 'acc',
  apiId: 1,
  apiHash: '0123456789abcdef0123456789abcdef',
  stringSession: encodeStringSession({
    dcId: 2,
    serverAddress: '149.154.167.51',
    port: 443,
    authKey: randomBytes(256),
  }),
  proxy,
});

/**
 * Connect must fail with a connect error rather than retry forever (the test timeout bounds it), and
 * every timer acctctl arms for it must be unref'd, so a leftover one can never hold the process.
 */
async function connectError(gw: GramjsGateway, s: AccountSession, timeoutMs?: number): Promise<TelegramConnectError> {
  const { error, timers } = await recordTimers(async () => {
    try {
      await gw.client(s);
    } finally {
      await gw.closeAll();
    }
  });
  if (error === undefined) throw new Error('connect unexpectedly succeeded');
  expect(error).toBeInstanceOf(TelegramConnectError);
  // A typed error: the command line exits 69 (unavailable) with the way out, not 70 (a bug).
  expect(exitCodeOf(error)).toBe(ExitCode.UNAVAILABLE);
  expect((error as Error).message).toMatch(/ → check the network|→ give this account/);
  if (timeoutMs !== undefined) {
    const armed = timers.filter((t) => t.delay === timeoutMs);
    expect(armed.length).toBeGreaterThan(0);
    for (const t of armed) expect(t.timer.hasRef()).toBe(false);
  }
  return error as TelegramConnectError;
}

describe('real connect() against loopback failure points', () => {
  it('a closed port fails promptly with a connect error (no endless retry loop)', async () => {
    const port = await closedPort();
    const e = await connectError(
      new GramjsGateway({ dcOverride: { host: '127.0.0.1', port }, connectTimeoutMs: 10_000 }),
      session(null),
      10_000,
    );
    expect(e.message).toMatch(/cannot reach Telegram/);
  });

  it('without a proxy a direct connection is made (the control for the next test)', async () => {
    const dc = await countingServer();
    try {
      await connectError(
        new GramjsGateway({ dcOverride: { host: '127.0.0.1', port: dc.port }, connectTimeoutMs: 3000 }),
        session(null),
      );
      expect(dc.connections()).toBeGreaterThan(0);
    } finally {
      await dc.close();
    }
  });

  it('through a SOCKS5 proxy: the CONNECT goes to the session’s DC, through the proxy', async () => {
    const socks = await recordingSocks();
    try {
      const e = await connectError(
        new GramjsGateway({ connectTimeoutMs: 10_000 }),
        session({ scheme: 'socks5', host: '127.0.0.1', port: socks.port, username: 'u', password: 'p' }),
      );
      expect(e.message).toMatch(/through the account's socks5 proxy/);
      expect(socks.destinations.length).toBeGreaterThan(0);
      expect(socks.destinations[0]).toMatch(/^149\.154\.167\.51:(80|443)$/);
    } finally {
      await socks.close();
    }
  });

  it('a proxy that is down fails closed: no direct connection is ever tried', async () => {
    const dc = await countingServer();
    const deadProxy = await closedPort();
    try {
      for (const scheme of ['socks5', 'socks4'] as const) {
        await connectError(
          new GramjsGateway({ dcOverride: { host: '127.0.0.1', port: dc.port }, connectTimeoutMs: 10_000 }),
          session({ scheme, host: '127.0.0.1', port: deadProxy }),
        );
      }
      await connectError(
        new GramjsGateway({ dcOverride: { host: '127.0.0.1', port: dc.port }, connectTimeoutMs: 10_000 }),
        session({ scheme: 'mtproxy', host: '127.0.0.1', port: deadProxy, secret: '00112233445566778899aabbccddeeff' }),
      );
      expect(dc.connections()).toBe(0);
    } finally {
      await dc.close();
    }
  });

  it('an HTTP proxy is refused for Telegram instead of being bypassed', async () => {
    const e = await connectError(new GramjsGateway(), session({ scheme: 'http', host: '127.0.0.1', port: 3128 }));
    expect(e.message).toMatch(/HTTP proxies cannot carry/);
  });
});
