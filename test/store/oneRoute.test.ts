import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { parseProxyUrl, type ProxySpec } from '../../src/domain/proxyUrl.js';
import type { IgAccountInput } from '../../src/domain/igAccountsFile.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { changeAccount } from '../../src/fleet/accounts.js';
import { importIg } from '../../src/fleet/checkImports.js';
import { probeAccounts } from '../../src/fleet/probe.js';
import { importProxies, parseProxyFile } from '../../src/fleet/proxies.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { silentLogger } from '../../src/log/logger.js';
import { SessionRefresher } from '../../src/fleet/refresh.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import { listIg } from '../../src/store/igAccounts.js';
import { igRoute, removeProxies } from '../../src/store/proxies.js';
import { setIgRoute, setTelegramRoute } from '../../src/store/routes.js';
import type { Store } from '../../src/store/store.js';
import { removeTenant } from '../../src/store/tenants.js';
import type { AccountSession, TelegramGateway } from '../../src/telegram/gateway.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { addTargets, boxFor, runJoin } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-20T09:00:00Z');

function spec(url: string): ProxySpec {
  const r = parseProxyUrl(url);
  if (!r.ok) throw new Error(url);
  return r.value;
}

async function tenantProxies(store: Store, box: SecretBox, clock: FakeClock, tenant: string, urls: string[]) {
  await importProxies({ store, box, clock }, parseProxyFile('p.txt', urls.join('\n'), tenant));
  const rows = await store.db.selectFrom('proxies').select(['id', 'port']).execute();
  return urls.map((u) => rows.find((r) => r.port === spec(u).port)!.id);
}

function igRows(tenant: string, names: string[], extra: Partial<IgAccountInput> = {}): IgAccountInput[] {
  return names.map((username) => ({
    tenant,
    username,
    password: 'pw-123456',
    totpSecret: null,
    sessionid: `sid-${username}`,
    proxy: null,
    priority: 0,
    ...extra,
  }));
}

async function igId(store: Store, username: string): Promise<number> {
  return (
    await store.db.selectFrom('ig_accounts').select('id').where('username', '=', username).executeTakeFirstOrThrow()
  ).id;
}

/** Where each account goes: a proxy port, 'direct', or 'blocked'. */
async function routes(store: Store, box: SecretBox, names: string[]): Promise<Record<string, string | number>> {
  const out: Record<string, string | number> = {};
  for (const n of names) {
    const r = await igRoute(store, box, await igId(store, n));
    out[n] = r.kind === 'proxy' ? r.proxy.port : r.kind;
  }
  return out;
}

const EIGHT = Array.from({ length: 8 }, (_, i) => `ig_user${i}`);

describe.each(DIALECTS)('one route per Instagram account, for life, on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);

  it.skipIf(dialect.skip)('pinned at first use; new tenant proxies never move an account', async () => {
    const clock = new FakeClock(T0);
    const box = boxFor(f.env);
    await addTenant({ store: f.store, clock }, { name: 't', verifyMode: 'instagram' });
    await tenantProxies(f.store, box, clock, 't', ['http://127.0.0.1:3101']);
    await importIg({ store: f.store, box, clock }, igRows('t', EIGHT));
    const first = await routes(f.store, box, EIGHT);
    expect(new Set(Object.values(first))).toEqual(new Set([3101]));
    // Three more proxies: rendezvous hashing alone would move most of the eight.
    await tenantProxies(f.store, box, clock, 't', [
      'http://127.0.0.1:3102',
      'http://127.0.0.1:3103',
      'http://127.0.0.1:3104',
    ]);
    expect(await routes(f.store, box, EIGHT)).toEqual(first);
    // Accounts imported now are pinned among all four, and stay.
    await importIg({ store: f.store, box, clock }, igRows('t', ['late_a', 'late_b', 'late_c', 'late_d']));
    const late = await routes(f.store, box, ['late_a', 'late_b', 'late_c', 'late_d']);
    await tenantProxies(f.store, box, clock, 't', ['http://127.0.0.1:3105']);
    expect(await routes(f.store, box, ['late_a', 'late_b', 'late_c', 'late_d'])).toEqual(late);
    // ig list shows the effective route of an account on a tenant proxy (empty before).
    const list = await listIg(f.store, clock.now());
    expect(list.find((r) => r.username === 'ig_user0')!.proxy).toBe('http://127.0.0.1:3101');
  });

  it.skipIf(dialect.skip)(
    'proxies remove refuses while pinned accounts use the proxy; --force parks them, never re-pinned or direct; ig proxy moves one back',
    async () => {
      const clock = new FakeClock(T0);
      const box = boxFor(f.env);
      await addTenant({ store: f.store, clock }, { name: 't', verifyMode: 'instagram' });
      const [p1] = await tenantProxies(f.store, box, clock, 't', ['http://127.0.0.1:3201']);
      await importIg({ store: f.store, box, clock }, igRows('t', EIGHT));
      await routes(f.store, box, EIGHT); // first use: all pinned to p1
      const [p2] = await tenantProxies(f.store, box, clock, 't', ['http://127.0.0.1:3202']);

      const refused = await removeProxies(f.store, [p1!], { force: false, now: clock.now() }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ exitCode: 65 });
      const details = (refused as { details: string[] }).details.join('\n');
      for (const u of EIGHT) expect(details).toContain(`t/${u}`);
      expect(await f.store.db.selectFrom('proxies').select('id').where('id', '=', p1!).executeTakeFirst()).toBeTruthy();

      const r = await removeProxies(f.store, [p1!], { force: true, now: clock.now() });
      expect(r.igAccountsDetached).toEqual(EIGHT.map((u) => `t/${u}`));
      const rows = await f.store.db.selectFrom('ig_accounts').select(['state', 'last_error']).execute();
      for (const row of rows) {
        expect(row.state).toBe('needs_manual');
        expect(row.last_error).toContain('its proxy was removed');
      }
      // p2 is healthy and in the tenant: still nobody is moved to it, nor sent direct.
      expect(new Set(Object.values(await routes(f.store, box, EIGHT)))).toEqual(new Set(['blocked']));
      const listed = await listIg(f.store, clock.now());
      expect(listed.every((x) => x.proxy === 'none: its proxy was removed')).toBe(true);
      // refresh-session, even for all of them by name: no login is sent.
      const logins: string[] = [];
      const refresher = new SessionRefresher({
        store: f.store,
        box,
        clock,
        log: silentLogger,
        login: (o) => {
          logins.push(`${o.username} via ${o.proxy?.port ?? 'direct'}`);
          return Promise.resolve({ kind: 'error', message: 'not in this test' });
        },
        instagramUrl: 'http://127.0.0.1:9',
        chromiumPath: undefined,
      });
      const refreshed = await refresher.refresh({ all: true });
      expect(logins).toEqual([]);
      expect(refreshed.every((r) => r.status === 'skipped' && (r.detail ?? '').includes('its proxy was removed'))).toBe(
        true,
      );

      // The deliberate move: one account to p2, one explicitly direct; each recorded.
      const moved = await setIgRoute(f.store, { username: 'ig_user0', tenant: 't' }, { proxyId: p2! }, clock.now());
      expect(moved).toMatchObject({ to: 'http://127.0.0.1:3202', unparked: true });
      await setIgRoute(f.store, { username: 'ig_user1', tenant: 't' }, { direct: true }, clock.now());
      const after = await routes(f.store, box, EIGHT);
      expect(after.ig_user0).toBe(3202);
      expect(after.ig_user1).toBe('direct');
      expect(after.ig_user2).toBe('blocked');
      const ev = await f.store.db
        .selectFrom('events')
        .select(['kind', 'message'])
        .where('kind', '=', 'ig_proxy')
        .execute();
      expect(ev.map((e) => e.message).sort()).toEqual([
        't/ig_user0: route none (its proxy was removed) → http://127.0.0.1:3202 (by a person)',
        't/ig_user1: route none (its proxy was removed) → direct (by a person)',
      ]);
      const u0 = await f.store.db
        .selectFrom('ig_accounts')
        .select(['state', 'next_refresh_at'])
        .where('username', '=', 'ig_user0')
        .executeTakeFirstOrThrow();
      expect(u0).toEqual({ state: 'expired', next_refresh_at: clock.now() });
      // A proxy of another tenant is refused.
      await addTenant({ store: f.store, clock }, { name: 'other' });
      const [p3] = await tenantProxies(f.store, box, clock, 'other', ['http://127.0.0.1:3203']);
      await expect(
        setIgRoute(f.store, { username: 'ig_user2', tenant: 't' }, { proxyId: p3! }, clock.now()),
      ).rejects.toMatchObject({ exitCode: 65 });
    },
  );

  it.skipIf(dialect.skip)(
    'the tenant’s last proxy: its accounts not yet pinned count as users and are parked, never sent direct',
    async () => {
      const clock = new FakeClock(T0);
      const box = boxFor(f.env);
      await addTenant({ store: f.store, clock }, { name: 't', verifyMode: 'instagram' });
      const [p1] = await tenantProxies(f.store, box, clock, 't', ['http://127.0.0.1:3301']);
      await importIg({ store: f.store, box, clock }, igRows('t', ['never_used']));
      await expect(removeProxies(f.store, [p1!], { force: false, now: clock.now() })).rejects.toMatchObject({
        exitCode: 65,
        details: [expect.stringContaining('t/never_used')],
      });
      await removeProxies(f.store, [p1!], { force: true, now: clock.now() });
      expect(await routes(f.store, box, ['never_used'])).toEqual({ never_used: 'blocked' });
    },
  );

  it.skipIf(dialect.skip)(
    'ig import keeps an account’s own proxy its own: never a tenant proxy for others',
    async () => {
      const clock = new FakeClock(T0);
      const box = boxFor(f.env);
      await addTenant({ store: f.store, clock }, { name: 't', verifyMode: 'instagram' });
      await importIg({ store: f.store, box, clock }, [
        ...igRows('t', ['owner'], { proxy: spec('http://127.0.0.1:3401') }),
        ...igRows('t', EIGHT),
      ]);
      const r = await routes(f.store, box, ['owner', ...EIGHT]);
      expect(r.owner).toBe(3401);
      // The others: no tenant proxy exists, so direct — none of them through owner's proxy.
      for (const u of EIGHT) expect(r[u]).toBe('direct');
      // A re-import without a proxy does not move the owner (moving is `ig proxy`).
      await importIg({ store: f.store, box, clock }, igRows('t', ['owner']));
      expect((await routes(f.store, box, ['owner'])).owner).toBe(3401);
    },
  );
});

/** Records every Telegram connection with the proxy it was given. */
class RecordingTelegram implements TelegramGateway {
  connects: { account: string; proxy: number | null }[] = [];
  async client(s: AccountSession) {
    this.connects.push({ account: s.sessionName, proxy: s.proxy?.port ?? null });
    return {
      join: async () => ({ kind: 'joined' as const, title: null }),
      getMe: async () => ({ id: '1', username: s.sessionName, phone: null }),
      askSpamBot: async () => 'Good news, no limits are currently applied to your account.',
      checkJoin: async () => 'pending' as const,
      countChannels: async () => 0,
    };
  }
  async closeAll() {}
}

describe.each(DIALECTS)('Telegram accounts never go direct by accident, on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);

  it.skipIf(dialect.skip)(
    'after every removal path: parked, not enabled, leased, joined or probed until given a proxy or --direct',
    async () => {
      const clock = new FakeClock(T0);
      const box = boxFor(f.env);
      await addTenant({ store: f.store, clock }, { name: 'acme' });
      await addTenant({ store: f.store, clock }, { name: 'gone' });
      const { importAccounts, parseAccountsFile } = await import('../../src/fleet/accounts.js');
      const { makeAccounts } = await import('../support/fixtures.js');
      const accs = makeAccounts(3, { tenant: 'acme' });
      const [pa] = await tenantProxies(f.store, box, clock, 'acme', ['socks5://127.0.0.1:3501']);
      const [pg] = await tenantProxies(f.store, box, clock, 'gone', ['socks5://127.0.0.1:3502']);
      await importAccounts(
        { store: f.store, box, clock },
        parseAccountsFile(
          'a',
          JSON.stringify(accs.map((a, i) => ({ ...a, proxy: i === 2 ? undefined : 'socks5://127.0.0.1:3999' }))),
        ),
      );
      // acc_00000 on acme's proxy, acc_00001 on gone's proxy (tenants remove path), acc_00002 direct by design.
      const put = (name: string, proxy: number) =>
        f.store.db.updateTable('telegram_accounts').set({ proxy_id: proxy }).where('session_name', '=', name).execute();
      await put('acc_00000', pa!);
      await put('acc_00001', pg!);
      await expect(removeProxies(f.store, [pa!], { force: false, now: clock.now() })).rejects.toMatchObject({
        exitCode: 65,
        details: [expect.stringContaining('acc_00000')],
      });
      await removeProxies(f.store, [pa!], { force: true, now: clock.now() });
      await removeTenant(f.store, 'gone', { force: true, now: clock.now() });
      const parked = await f.store.db
        .selectFrom('telegram_accounts')
        .select(['session_name', 'enabled', 'state_reason', 'proxy_id'])
        .where('proxy_removed_at', 'is not', null)
        .orderBy('session_name')
        .execute();
      expect(parked).toEqual([
        { session_name: 'acc_00000', enabled: 0, state_reason: 'its proxy was removed', proxy_id: null },
        { session_name: 'acc_00001', enabled: 0, state_reason: 'its proxy was removed', proxy_id: null },
      ]);

      // Every command that sends traffic, with a person trying to enable them first.
      for (const n of ['acc_00000', 'acc_00001'])
        await expect(changeAccount({ store: f.store, clock }, 'enable', n)).rejects.toMatchObject({ exitCode: 65 });
      // Even enabled behind our back (an old binary, a manual UPDATE), they are never leased.
      await f.store.db.updateTable('telegram_accounts').set({ enabled: 1 }).execute();
      const fleet = new AccountManager({ store: f.store, clock });
      const leased: string[] = [];
      for (let i = 0; i < 3; i++) {
        const l = await fleet.lease({ holder: 'w', action: 'join', ttlMs: 60_000 });
        if (l.ok) leased.push(l.lease.account);
      }
      expect(leased).toEqual(['acc_00002']);
      const rec = await fleet.recover();
      expect(rec.needsPerson.filter((p) => p.fix.startsWith('its proxy was removed')).map((p) => p.account)).toEqual([
        'acc_00000',
        'acc_00001',
      ]);
      expect(rec.needsPerson.find((p) => p.account === 'acc_00000')!.fix).toContain(
        'accounts proxy acc_00000 PROXY_ID',
      );
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ lease_holder: null, lease_token: null, lease_expires_at: null })
        .execute();
      const tg = new RecordingTelegram();
      await addTargets(f.store, ['@group_one', '@group_two', '@group_three', '@group_four'], 'n', clock);
      await runJoin(f.store, clock, tg, box);
      await f.store.db.updateTable('telegram_accounts').set({ error_count: 1 }).execute();
      await probeAccounts({ store: f.store, box, clock, gateway: tg, log: silentLogger });
      await probeAccounts({ store: f.store, box, clock, gateway: tg, log: silentLogger }, { account: 'acc_00000' });
      expect(tg.connects.filter((c) => c.account !== 'acc_00002')).toEqual([]);

      // The way back: a proxy (or --direct), recorded; then enable; then it works through it.
      const [pn] = await tenantProxies(f.store, box, clock, 'acme', ['socks5://127.0.0.1:3503']);
      expect(await setTelegramRoute(f.store, 'acc_00000', { proxyId: pn! }, clock.now())).toMatchObject({
        unparked: true,
        to: 'socks5://127.0.0.1:3503',
      });
      await setTelegramRoute(f.store, 'acc_00001', { direct: true }, clock.now());
      for (const n of ['acc_00000', 'acc_00001']) await changeAccount({ store: f.store, clock }, 'enable', n);
      await probeAccounts({ store: f.store, box, clock, gateway: tg, log: silentLogger }, { account: 'acc_00000' });
      await probeAccounts({ store: f.store, box, clock, gateway: tg, log: silentLogger }, { account: 'acc_00001' });
      expect(tg.connects.filter((c) => c.account !== 'acc_00002')).toEqual([
        { account: 'acc_00000', proxy: 3503 },
        { account: 'acc_00001', proxy: null },
      ]);
      const ev = await f.store.db.selectFrom('events').select('message').where('kind', '=', 'account_proxy').execute();
      expect(ev.map((e) => e.message).sort()).toEqual([
        'acc_00000: route none (its proxy was removed) → socks5://127.0.0.1:3503 (by a person)',
        'acc_00001: route none (its proxy was removed) → direct (by a person)',
      ]);
    },
  );
});
