import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { parseProxyUrl, type ProxySpec } from '../../src/domain/proxyUrl.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { probeAccounts } from '../../src/fleet/probe.js';
import { checkProxies, TELEGRAM_DCS, type ProxyCheckDeps } from '../../src/fleet/proxyCheck.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { igRoute, listProxies, markProxy, upsertProxy } from '../../src/store/proxies.js';
import { importIg } from '../../src/fleet/checkImports.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { sealingTx } from '../../src/store/secrets.js';
import type { Store } from '../../src/store/store.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import { DIALECTS } from '../support/dialects.js';
import { blackHole, fakeDc, forwardingSocks } from '../support/fakeDc.js';
import { useFleetStore } from '../support/fleet.js';
import { recordingHttpProxy } from '../support/httpProxy.js';
import { addTargets, boxFor, runJoin, ScriptedTelegram } from '../support/joinHarness.js';
import { closedPort, countingServer } from '../support/socks.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');

function spec(url: string): ProxySpec {
  const r = parseProxyUrl(url);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.value;
}

async function addProxy(store: Store, box: SecretBox, url: string, accounts: string[] = []): Promise<number> {
  const { id } = await sealingTx(store, box, (tx) => upsertProxy(tx, box, spec(url), null, T0, true));
  if (accounts.length)
    await store.db
      .updateTable('telegram_accounts')
      .set({ proxy_id: id })
      .where('session_name', 'in', accounts)
      .execute();
  return id;
}

async function proxyRow(store: Store, id: number) {
  return (await listProxies(store)).find((p) => p.id === id)!;
}

/** Log lines, to read the reasons a run gives. */
function recordingLog(): { log: Logger; lines: { msg: string; fields: Record<string, unknown> }[] } {
  const lines: { msg: string; fields: Record<string, unknown> }[] = [];
  const at =
    () =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      lines.push({ msg, fields });
  const log = { ...silentLogger, debug: at(), info: at(), warn: at(), error: at() } as Logger;
  return { log, lines };
}

describe.each(DIALECTS)('proxies check on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 3);
  const deps = (clock: FakeClock, more: Partial<ProxyCheckDeps> = {}): ProxyCheckDeps => ({
    store: f.store,
    box: boxFor(f.env),
    clock,
    log: silentLogger,
    instagram: { host: 'www.instagram.com', port: 443 },
    ...more,
  });

  it.skipIf(skip)(
    'SOCKS5 with a password: CONNECT to the accounts’ Telegram DC and a resPQ from it → ok, latency and time recorded, shown in proxies list',
    async () => {
      const dc = await fakeDc();
      const dc2 = `${TELEGRAM_DCS[2]}:443`;
      const socks = await forwardingSocks((h, p) => (`${h}:${p}` === dc2 ? dc.port : null), {
        username: 'u',
        password: 'pw-secret',
      });
      try {
        const id = await addProxy(f.store, boxFor(f.env), `socks5://u:pw-secret@127.0.0.1:${socks.port}`, [
          'acc_00000',
        ]);
        const clock = new FakeClock(T0);
        let t = 100;
        const run = await checkProxies(deps(clock, { elapsed: () => (t += 37) }));
        expect(run.items).toEqual([
          {
            id,
            tenant: null,
            proxy: `socks5://u@127.0.0.1:${socks.port}`,
            target: `telegram DC2 ${dc2}`,
            ok: true,
            reason: null,
            latencyMs: 37,
            checkedAt: T0,
          },
        ]);
        expect(socks.destinations).toEqual([dc2]); // the accounts' DC (their sessions are on DC2)
        expect(dc.answered()).toBe(1); // Telegram (the fake) answered through it
        expect(await proxyRow(f.store, id)).toMatchObject({
          healthy: true,
          check: 'ok',
          checkReason: null,
          latencyMs: 37,
          checkTarget: `telegram DC2 ${dc2}`,
          checkedAt: T0,
        });
      } finally {
        await socks.close();
        await dc.close();
      }
    },
  );

  it.skipIf(skip)(
    'MTProxy: the obfuscated2 handshake with its secret reaches the DC; a wrong secret is dead',
    async () => {
      const secret = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
      const mt = await fakeDc({ secret });
      try {
        const good = await addProxy(
          f.store,
          boxFor(f.env),
          `mtproxy://dd${secret.toString('hex')}@127.0.0.1:${mt.port}`,
          ['acc_00000'],
        );
        const clock = new FakeClock(T0);
        const r1 = await checkProxies(deps(clock));
        expect(r1.items.map((r) => [r.id, r.ok, r.reason])).toEqual([[good, true, null]]);
        expect(mt.dcIds).toEqual([2]);
        // The same proxy given a plain (not dd) secret: the intermediate transport, same handshake.
        const plain = await addProxy(
          f.store,
          boxFor(f.env),
          `mtproxy://${secret.toString('hex')}@127.0.0.1:${mt.port}`,
        );
        expect(plain).toBe(good);
        const rPlain = await checkProxies(deps(clock));
        expect(rPlain.items.map((r) => [r.id, r.ok])).toEqual([[good, true]]);
        expect(mt.answered()).toBe(2);
        await f.store.db.updateTable('telegram_accounts').set({ proxy_id: null }).execute();
        await f.store.db.deleteFrom('proxies').execute();
        const bad = await addProxy(
          f.store,
          boxFor(f.env),
          `mtproxy://ffeeddccbbaa99887766554433221100@127.0.0.1:${mt.port}`,
        );
        const r2 = await checkProxies(deps(clock));
        expect(r2.items.map((r) => [r.id, r.ok])).toEqual([[bad, false]]);
        expect(r2.items[0]!.reason).toMatch(/closed/);
        expect(mt.answered()).toBe(2); // the wrong secret got no answer
      } finally {
        await mt.close();
      }
    },
  );

  it.skipIf(skip)('HTTP: CONNECT to the Instagram host through it', async () => {
    const ig = await countingServer();
    const proxy = await recordingHttpProxy();
    try {
      const id = await addProxy(f.store, boxFor(f.env), `http://user:pw@127.0.0.1:${proxy.port}`);
      const run = await checkProxies(deps(new FakeClock(T0), { instagram: { host: '127.0.0.1', port: ig.port } }));
      expect(run.items.map((r) => [r.id, r.ok, r.target])).toEqual([[id, true, `instagram 127.0.0.1:${ig.port}`]]);
      expect(proxy.seen).toEqual([`CONNECT 127.0.0.1:${ig.port}`]);
      // The real Instagram host is refused by this proxy (it forwards only to loopback): failed, with why.
      const refused = await checkProxies(deps(new FakeClock(T0)));
      expect(refused.items[0]).toMatchObject({ ok: false, reason: 'the proxy answered CONNECT with HTTP 403' });
    } finally {
      await proxy.close();
      await ig.close();
    }
  });

  it.skipIf(skip)(
    'a closed port is dead at once; recover’s 30-minute second chance does not revive it; the next check that gets through does',
    async () => {
      const port = await closedPort();
      const box = boxFor(f.env);
      const id = await addProxy(f.store, box, `socks5://127.0.0.1:${port}`, ['acc_00000']);
      const clock = new FakeClock(T0);
      // One failure in use already (not enough to be unhealthy).
      await markProxy(f.store, { ...spec(`socks5://127.0.0.1:${port}`), id }, false, T0 - 60_000, 'ECONNRESET');
      const r = await checkProxies(deps(clock));
      expect(r.items[0]).toMatchObject({ id, ok: false, latencyMs: null, checkedAt: T0 });
      expect(r.items[0]!.reason).toMatch(/ECONNREFUSED/);
      expect(await proxyRow(f.store, id)).toMatchObject({ healthy: false, check: 'failed', checkedAt: T0 });
      const events = await f.store.db
        .selectFrom('events')
        .select(['kind', 'message'])
        .where('kind', 'like', 'proxy_%')
        .execute();
      expect(events.map((e) => e.kind)).toEqual(['proxy_dead']);
      // Neither recover's retry of unhealthy proxies nor a success in use lifts a failed check.
      clock.advance(31 * 60_000);
      const manager = new AccountManager({ store: f.store, clock, timeZone: 'UTC', log: silentLogger });
      await manager.recover();
      await markProxy(f.store, { ...spec(`socks5://127.0.0.1:${port}`), id }, true, clock.now());
      expect((await proxyRow(f.store, id)).healthy).toBe(false);
      const lease = await manager.lease({
        action: 'join',
        holder: 't',
        ttlMs: 60_000,
        accountId: (await ids(f.store)).acc_00000,
      });
      expect(lease.ok).toBe(false);
      // The refusal names the account that waits for its proxy, and the way to check it.
      expect(lease.ok ? '' : lease.reason).toMatch(/acc_00000 waits for a proxy that is down .*proxies check/);
      // The proxy is back (now listening there): the next check clears the dead mark.
      const dc = await fakeDc();
      const socks = await forwardingSocks(() => dc.port);
      try {
        await f.store.db.updateTable('proxies').set({ port: socks.port }).where('id', '=', id).execute();
        const again = await checkProxies(deps(clock));
        expect(again.items[0]).toMatchObject({ id, ok: true });
        expect(await proxyRow(f.store, id)).toMatchObject({ healthy: true, check: 'ok', failures: 0, lastError: null });
        const kinds = await f.store.db
          .selectFrom('events')
          .select('kind')
          .where('kind', 'like', 'proxy_%')
          .orderBy('id')
          .execute();
        expect(kinds.map((e) => e.kind)).toEqual(['proxy_dead', 'proxy_alive']);
        const l2 = await manager.lease({
          action: 'join',
          holder: 't',
          ttlMs: 60_000,
          accountId: (await ids(f.store)).acc_00000,
        });
        expect(l2.ok).toBe(true);
      } finally {
        await socks.close();
        await dc.close();
      }
    },
  );

  it.skipIf(skip)('a black hole (accepts, never answers) fails at the deadline, in simulated time', async () => {
    const hole = await blackHole();
    try {
      const id = await addProxy(f.store, boxFor(f.env), `socks5://127.0.0.1:${hole.port}`, ['acc_00000']);
      const asked: number[] = [];
      const run = await checkProxies(
        deps(new FakeClock(T0), {
          timeoutMs: 7_000,
          // The deadline passes once the proxy has taken the connection (and said nothing).
          after: async (ms) => {
            asked.push(ms);
            await hole.accepted;
          },
        }),
      );
      expect(asked).toEqual([7_000]);
      expect(run.items[0]).toMatchObject({ id, ok: false, reason: 'no answer within 7000 ms' });
      expect((await proxyRow(f.store, id)).check).toBe('failed');
    } finally {
      await hole.close();
    }
  });

  it.skipIf(skip)('sandbox Telegram: proxies that carry Telegram are not contacted, and said so', async () => {
    const socks = await forwardingSocks(() => null);
    try {
      const id = await addProxy(f.store, boxFor(f.env), `socks5://127.0.0.1:${socks.port}`, ['acc_00000']);
      const run = await checkProxies(deps(new FakeClock(T0), { telegramSimulated: true }));
      expect(run.items).toEqual([]);
      expect(run.notChecked.map((n) => n.id)).toEqual([id]);
      expect(socks.destinations).toEqual([]);
    } finally {
      await socks.close();
    }
  });
});

async function ids(store: Store): Promise<Record<string, number>> {
  return Object.fromEntries(
    (await store.db.selectFrom('telegram_accounts').select(['id', 'session_name']).execute()).map((r) => [
      r.session_name,
      r.id,
    ]),
  );
}

describe.each(DIALECTS)('a proxy recorded dead, on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 2);

  it.skipIf(skip)(
    'join skips its accounts with the reason and never connects them (neither through it nor direct); probe skips them too',
    async () => {
      const box = boxFor(f.env);
      const port = await closedPort();
      const dead = await addProxy(f.store, box, `socks5://127.0.0.1:${port}`, ['acc_00000']);
      const clock = new FakeClock(T0);
      await checkProxies({
        store: f.store,
        box,
        clock,
        log: silentLogger,
        instagram: { host: 'www.instagram.com', port: 443 },
      });
      expect((await proxyRow(f.store, dead)).check).toBe('failed');
      await addTargets(f.store, ['@group_one', '@group_two']);
      const tg = new ScriptedTelegram(() => ({ kind: 'joined', title: 'g' }));
      const { log, lines } = recordingLog();
      const r = await (async () => {
        const { join } = await import('../../src/fleet/join.js');
        return join(
          { store: f.store, clock, gateway: tg, box, log, sleep: async (ms) => clock.advance(ms) },
          { niche: 'n', batch: 10, dryRun: false, maxWaitMs: 0, timeZone: 'UTC' },
        );
      })();
      expect(tg.connects).not.toContain('acc_00000'); // never through it, never around it
      expect(new Set(tg.connects)).toEqual(new Set(['acc_00001']));
      expect(r.skipped).toHaveLength(1);
      expect(r.skipped[0]!.account).toBe('acc_00000');
      expect(r.skipped[0]!.reason).toMatch(
        new RegExp(
          `its proxy ${dead} \\(socks5://127\\.0\\.0\\.1:${port}\\) is dead: the check at 2026-11-23T09:00:00\\.000Z failed \\(.*ECONNREFUSED.*\\) → .*acctctl proxies check`,
        ),
      );
      expect(lines.some((l) => l.msg === 'skipped: its proxy is down' && l.fields.account === 'acc_00000')).toBe(true);
      // The dry run says so too.
      const dry = await runJoin(f.store, clock, tg, box, { dryRun: true });
      expect(dry.skipped.map((s) => s.account)).toEqual(['acc_00000']);
      // A probe (errors on both) connects only the one whose proxy is up; the other is skipped with the reason.
      await f.store.db.updateTable('telegram_accounts').set({ error_count: 1 }).execute();
      const probeLog = recordingLog();
      const connectsBefore = tg.connects.length;
      const probed = await probeAccounts({ store: f.store, box, clock, gateway: tg, log: probeLog.log });
      expect(probed.map((p) => p.account)).toEqual(['acc_00001']);
      expect(tg.connects.slice(connectsBefore)).toEqual(['acc_00001']);
      expect(
        probeLog.lines.find((l) => l.msg === 'not probed: its proxy is down' && l.fields.account === 'acc_00000')
          ?.fields.reason,
      ).toMatch(/is dead/);
      await expect(
        probeAccounts({ store: f.store, box, clock, gateway: tg, log: silentLogger }, { account: 'acc_00000' }),
      ).rejects.toThrow(/not probed: its proxy .* is dead/);
    },
  );
});

describe.each(DIALECTS)('an Instagram account on a proxy recorded dead, on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 0);

  it.skipIf(skip)('check (and refresh-session) are blocked with the reason, never sent direct', async () => {
    const box = boxFor(f.env);
    const clock = new FakeClock(T0);
    const port = await closedPort();
    await addTenant({ store: f.store, clock }, { name: 't', verifyMode: 'instagram' });
    await importIg({ store: f.store, box, clock }, [
      {
        tenant: 't',
        username: 'ig_user',
        password: 'pw-123456',
        totpSecret: null,
        sessionid: 'sid-ig_user',
        proxy: spec(`http://127.0.0.1:${port}`),
        priority: 0,
      },
    ]);
    const id = (await f.store.db.selectFrom('ig_accounts').select('id').executeTakeFirstOrThrow()).id;
    expect((await igRoute(f.store, box, id)).kind).toBe('proxy');
    const run = await checkProxies({
      store: f.store,
      box,
      clock,
      log: silentLogger,
      instagram: { host: 'www.instagram.com', port: 443 },
    });
    expect(run.items.map((r) => [r.ok, r.target])).toEqual([[false, 'instagram www.instagram.com:443']]);
    const route = await igRoute(f.store, box, id);
    expect(route.kind).toBe('blocked');
    expect(route.kind === 'blocked' && route.why).toMatch(
      new RegExp(
        `its proxy 127\\.0\\.0\\.1:${port} is dead: the check at 2026-11-23T09:00:00\\.000Z failed \\(.*ECONNREFUSED.*\\) → fix it, then acctctl proxies check`,
      ),
    );
  });
});
