import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeStringSession } from '../../src/domain/stringSession.js';
import { TelegramConnectError, type AccountSession } from '../../src/telegram/gateway.js';
import { GramjsGateway, type FakeHandler } from '../../src/telegram/gramjs.js';
import { countingServer } from '../support/socks.js';
import { recordTimers } from '../support/timers.js';

const session: AccountSession = {
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
  proxy: null,
};

/** A call on a fresh client from the gateway, as `join --max-wait` makes after a failed re-check. */
async function callAgain(gw: GramjsGateway): Promise<unknown> {
  const c = await gw.client(session);
  return c.getMe();
}

describe('no call without a deadline (a failed client is closed, never reused)', { timeout: 30_000 }, () => {
  it('a connect that failed is not cached: the second call connects afresh and fails within its deadline', async () => {
    // A "DC" on loopback that accepts and drops every connection: connect() answers false.
    const dc = await countingServer();
    const gw = new GramjsGateway({ dcOverride: { host: '127.0.0.1', port: dc.port }, connectTimeoutMs: 5000 });
    try {
      await expect(gw.client(session)).rejects.toBeInstanceOf(TelegramConnectError);
      const first = dc.connections();
      expect(first).toBeGreaterThan(0);
      // Before: the dead client stayed cached and this call waited forever for a connection.
      const { error, timers } = await recordTimers(() => callAgain(gw));
      expect(error).toBeInstanceOf(TelegramConnectError);
      expect(dc.connections()).toBeGreaterThan(first); // a new connection, not the dead client
      const deadline = timers.filter((t) => t.delay === 5000);
      expect(deadline.length).toBeGreaterThan(0);
      for (const t of deadline) expect(t.timer.hasRef()).toBe(false);
    } finally {
      await gw.closeAll();
      await dc.close();
    }
  });

  it('a call Telegram never answers ends at its deadline; that client is closed and the next one is new', async () => {
    const inits: unknown[] = [];
    let getUsers = 0;
    const handler: FakeHandler = (req) => {
      if (req.className === 'InvokeWithLayer') {
        inits.push(req.query);
        return { result: null };
      }
      if (req.className === 'users.GetUsers') getUsers++;
      return new Promise(() => {}); // never answered
    };
    const gw = new GramjsGateway({ fakeNetwork: handler, callTimeoutMs: 200 });
    try {
      const c = await gw.client(session);
      const { error, timers } = await recordTimers(() => c.getMe());
      expect(error).toBeInstanceOf(TelegramConnectError);
      expect((error as Error).message).toMatch(/timed out after 200 ms → check the network/);
      expect(timers.some((t) => t.delay === 200 && !t.timer.hasRef())).toBe(true);
      // The same client is never used again: its next call fails at once, without a request.
      await expect(c.getMe()).rejects.toThrow(/closed after a failed call/);
      expect(getUsers).toBe(1);
      // The gateway hands out a new client (a new connection, a new initConnection), itself bounded.
      await expect(callAgain(gw)).rejects.toThrow(/timed out after 200 ms/);
      expect(inits).toHaveLength(2);
      expect(getUsers).toBe(2);
    } finally {
      await gw.closeAll();
    }
  });

  it('a Telegram error (RPC) leaves the client usable: it is an answer, not a broken connection', async () => {
    let n = 0;
    const handler: FakeHandler = (req) => {
      if (req.className === 'InvokeWithLayer') {
        n++;
        return { result: null };
      }
      return { rpcError: [420, 'FLOOD_WAIT_5'] };
    };
    const gw = new GramjsGateway({ fakeNetwork: handler, callTimeoutMs: 5000 });
    try {
      const c = await gw.client(session);
      await expect(c.getMe()).rejects.toMatchObject({ errorMessage: 'FLOOD', seconds: 5 });
      expect(await gw.client(session)).toBe(c);
      expect(n).toBe(1);
    } finally {
      await gw.closeAll();
    }
  });
});
