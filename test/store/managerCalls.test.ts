import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { DataError, UsageError } from '../../src/errors.js';
import { AccountManager, type Lease, type LeaseRequest } from '../../src/fleet/accountManager.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { snapshot } from '../support/snapshot.js';

/**
 * The original Account Manager's calls (issue 26 item 1): a preferred account, purposes beyond
 * the four actions (parsing, declared ones), a read-only limits check, actions recorded outside a
 * lease, and a release that names its channels and whether the work succeeded.
 */
const MIN = 60_000;
const T0 = Date.parse('2026-11-23T09:00:00Z');

describe.each(DIALECTS)('the account manager’s calls on $name', (dialect) => {
  const f = useFleetStore(dialect, 3);
  const skip = dialect.skip;
  /** A second tenant, made as `tenants add globex` makes it; its id. */
  const addGlobex = async () => {
    await addTenant({ store: f.store, clock: new FakeClock(0) }, { name: 'globex' });
    return f.store.db.selectFrom('tenants').select('id').where('name', '=', 'globex').executeTakeFirstOrThrow();
  };
  const setup = () => {
    const clock = new FakeClock(T0);
    return { clock, fleet: new AccountManager({ store: f.store, clock }) };
  };
  const take = async (fleet: AccountManager, req: Partial<LeaseRequest>): Promise<Lease> => {
    const r = await fleet.lease({ action: 'message', holder: 'test', ttlMs: 5 * MIN, ...req });
    if (!r.ok) throw new Error(`no lease: ${r.reason}`);
    return r.lease;
  };
  const actionLog = async () =>
    (
      await f.store.db
        .selectFrom('action_log as l')
        .innerJoin('telegram_accounts as a', 'a.id', 'l.account_id')
        .select(['a.session_name', 'l.action', 'l.channel', 'l.ok', 'l.at'])
        .orderBy('l.id')
        .execute()
    ).map((r) => ({ ...r, at: Number(r.at) }));

  it.skipIf(skip)(
    'lease --account prefers that account, falls back to another, and with only says why not',
    async () => {
      const { fleet } = setup();
      // Least recently used would be acc_00000: the preference wins.
      const a = await take(fleet, { account: 'acc_00002' });
      expect(a.account).toBe('acc_00002');
      // Held: another account instead…
      const b = await take(fleet, { account: 'acc_00002' });
      expect(b.account).toBe('acc_00000');
      // …or, with only, none, and why (its lease, until when).
      const only = await fleet.lease({ action: 'message', holder: 't', ttlMs: MIN, account: 'acc_00002', only: true });
      expect(only).toEqual({
        ok: false,
        nextAt: a.expiresAt,
        reason: `acc_00002 is leased by test until ${new Date(a.expiresAt).toISOString()}`,
      });
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ state: 'banned' })
        .where('session_name', '=', 'acc_00001')
        .execute();
      const banned = await fleet.lease({
        action: 'message',
        holder: 't',
        ttlMs: MIN,
        account: 'acc_00001',
        only: true,
      });
      expect(banned).toMatchObject({ ok: false, reason: 'acc_00001 is banned: it needs a person' });
      await expect(fleet.lease({ action: 'message', holder: 't', ttlMs: MIN, account: 'nobody' })).rejects.toThrow(
        DataError,
      );
    },
  );

  it.skipIf(skip)(
    'a preferred account never opens another tenant’s accounts: the fallback stays in its tenant',
    async () => {
      const { fleet } = setup();
      const other = await addGlobex();
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ tenant_id: other.id })
        .where('session_name', '=', 'acc_00002')
        .execute();
      // globex's only account is held: no tenant named, so none of acme's is taken instead.
      const g = await take(fleet, { account: 'acc_00002' });
      expect(g.account).toBe('acc_00002');
      const none = await fleet.lease({ action: 'message', holder: 't', ttlMs: MIN, account: 'acc_00002' });
      expect(none).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/^acc_00002 is leased by test until .*; and no other: /) as string,
      });
      // Naming acme while preferring globex's account: acme's accounts only.
      const a = await fleet.lease({ action: 'message', holder: 't', ttlMs: MIN, tenant: 'acme', account: 'acc_00002' });
      expect(a).toMatchObject({ ok: true, lease: { account: 'acc_00000' } });
      expect(await fleet.check({ action: 'message', tenant: 'acme', account: 'acc_00002', only: true })).toMatchObject({
        ok: false,
        reason: 'acc_00002 belongs to another tenant',
      });
    },
  );

  it.skipIf(skip)(
    'a preferred account of no tenant, among several tenants: no fallback unless any tenant is allowed',
    async () => {
      const { fleet } = setup();
      await addGlobex();
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ tenant_id: null })
        .where('session_name', '=', 'acc_00002')
        .execute();
      await take(fleet, { account: 'acc_00002' });
      const none = await fleet.lease({ action: 'message', holder: 't', ttlMs: MIN, account: 'acc_00002' });
      expect(none).toMatchObject({
        ok: false,
        reason: expect.stringMatching(
          /^acc_00002 is leased by test until .*; no other: acc_00002 belongs to no tenant/,
        ),
      });
      expect(await fleet.check({ action: 'message', account: 'acc_00002' })).toMatchObject({ ok: false });
      // Allowed explicitly: any tenant's account stands in.
      const any = await fleet.lease({
        action: 'message',
        holder: 't',
        ttlMs: MIN,
        account: 'acc_00002',
        anyTenant: true,
      });
      expect(any).toMatchObject({ ok: true, lease: { account: 'acc_00000' } });
    },
  );

  it.skipIf(skip)('parsing: no quota, but one holder at a time', async () => {
    const { fleet, clock } = setup();
    const leases = [];
    for (let i = 0; i < 3; i++) leases.push(await take(fleet, { action: 'parsing' }));
    expect(leases.map((l) => l.action)).toEqual(['parsing', 'parsing', 'parsing']);
    expect(new Set(leases.map((l) => l.account)).size).toBe(3);
    // Every account is held: neither parsing nor anything else gets one.
    expect((await fleet.lease({ action: 'parsing', holder: 't', ttlMs: MIN })).ok).toBe(false);
    expect((await fleet.lease({ action: 'message', holder: 't', ttlMs: MIN })).ok).toBe(false);
    // No quota: a thousand parsed and the account is leasable for parsing again at once.
    await fleet.release(leases[0]!.token, { used: { parsing: 1000 } });
    const again = await take(fleet, { action: 'parsing', account: leases[0]!.account, only: true });
    expect(again.allowance).toBe(10_000);
    expect((await actionLog()).filter((r) => r.action === 'parsing')).toHaveLength(1000);
    clock.advance(MIN);
  });

  it.skipIf(skip)(
    'an action declared in a limits file is leased under its own limits; an undeclared one is a usage error',
    async () => {
      const { fleet, clock } = setup();
      await expect(fleet.lease({ action: 'scrape', holder: 't', ttlMs: MIN })).rejects.toThrow(UsageError);
      await fleet.setLimits({ tenant: 'acme' }, { actions: { scrape: { per_day: 1, gap_seconds: 0 } } });
      // An account's own file may declare one for itself alone.
      await fleet.setLimits({ account: 'acc_00001' }, { actions: { export_members: { per_hour: 2 } } });
      const err = await fleet.lease({ action: 'nosuch', holder: 't', ttlMs: MIN }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).exitCode).toBe(64);
      expect((err as Error).message).toContain('join, invite, message, contact, parsing, export_members, scrape');
      for (let i = 0; i < 3; i++) {
        const l = await take(fleet, { action: 'scrape' });
        await fleet.release(l.token, { used: { scrape: 1 } });
      }
      // Each account did its one scrape of the day: the next is tomorrow (local midnight, UTC here).
      const none = await fleet.lease({ action: 'scrape', holder: 't', ttlMs: MIN });
      expect(none).toMatchObject({ ok: false, nextAt: Date.parse('2026-11-24T00:00:00Z') });
      // Only acc_00001 declares export_members.
      const e = await take(fleet, { action: 'export_members' });
      expect(e.account).toBe('acc_00001');
      expect(
        await fleet.lease({ action: 'export_members', holder: 't', ttlMs: MIN, account: 'acc_00000', only: true }),
      ).toMatchObject({ ok: false, reason: `acc_00000's limits do not declare the action "export_members"` });
      clock.advance(24 * 60 * MIN);
      expect((await take(fleet, { action: 'scrape' })).action).toBe('scrape');
    },
  );

  it.skipIf(skip)('limits check says who a lease would take, or why not and when, and takes nothing', async () => {
    const { fleet, clock } = setup();
    await fleet.setLimits({ tenant: 'acme' }, { invite: { per_day: 1, gap_seconds: 0, burst: null } });
    const before = await snapshot(f.store);
    const yes = await fleet.check({ action: 'invite', tenant: 'acme', channel: 't.me/somegroup' });
    expect(yes).toEqual({
      ok: true,
      account: 'acc_00000',
      accountId: expect.any(Number) as number,
      allowance: 1,
      nextAt: null,
      reason: null,
    });
    expect(await snapshot(f.store)).toBe(before);
    // It is the account the lease then takes.
    const l = await take(fleet, { action: 'invite' });
    expect(l.account).toBe('acc_00000');
    await fleet.release(l.token, { used: { invite: 1 } });
    for (const name of ['acc_00001', 'acc_00002']) await fleet.record({ account: name, action: 'invite' });
    const after = await snapshot(f.store);
    const no = await fleet.check({ action: 'invite' });
    expect(no).toMatchObject({ ok: false, account: null, nextAt: Date.parse('2026-11-24T00:00:00Z') });
    expect(no.reason).toContain('limits');
    expect(await fleet.check({ action: 'invite', account: 'acc_00001', only: true })).toMatchObject({
      ok: false,
      reason: 'acc_00001 is at its per_day limit for invite until 2026-11-24T00:00:00.000Z',
    });
    expect(await snapshot(f.store)).toBe(after);
    // The next day: the least recently leased account first (acc_00000 was leased above).
    clock.advance(15 * 60 * MIN);
    expect(await fleet.check({ action: 'invite' })).toMatchObject({ ok: true, account: 'acc_00001' });
    await expect(fleet.check({ action: 'nosuch' })).rejects.toThrow(UsageError);
  });

  it.skipIf(skip)('record: an action done outside a lease counts against the limits', async () => {
    const { fleet } = setup();
    await fleet.setLimits(
      { tenant: 'acme' },
      { invite: { per_day: 2, per_channel_per_day: 1, gap_seconds: 0, burst: null } },
    );
    const only = { action: 'invite', account: 'acc_00000', only: true, holder: 't', ttlMs: MIN } as const;
    // Before: the account may invite into @a.
    expect(await fleet.check({ ...only, channel: '@chan_a' })).toMatchObject({ ok: true, account: 'acc_00000' });
    const r = await fleet.record({ account: 'acc_00000', action: 'invite', channel: 'https://t.me/chan_a' });
    expect(r).toEqual({ account: 'acc_00000', action: 'invite', channel: '@chan_a', ok: true, at: T0 });
    // The channel's one invite of the day is used: @chan_a is refused, @chan_b still allowed…
    expect(await fleet.lease({ ...only, channel: '@chan_a' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('per_channel') as string,
    });
    await fleet.record({ account: 'acc_00000', action: 'invite' });
    // …until the day's two are used.
    expect(await fleet.lease({ ...only, channel: '@chan_b' })).toMatchObject({
      ok: false,
      reason: 'acc_00000 is at its per_day limit for invite until 2026-11-24T00:00:00.000Z',
    });
    expect((await fleet.lease({ ...only, account: undefined, only: undefined })).ok).toBe(true);
    await expect(fleet.record({ account: 'nobody', action: 'invite' })).rejects.toThrow(DataError);
    await expect(fleet.record({ account: 'acc_00000', action: 'nosuch' })).rejects.toThrow(UsageError);
  });

  it.skipIf(skip)(
    'release names the channels used and whether the work succeeded, in the action log and an event',
    async () => {
      const { fleet, clock } = setup();
      const l = await take(fleet, { action: 'invite', channel: '@chan_a' });
      // Three invites over two channels without saying which went where: refused, nothing changed.
      await expect(fleet.release(l.token, { used: { invite: 3 }, channels: ['@chan_b'] })).rejects.toThrow(UsageError);
      expect(await actionLog()).toEqual([]);
      const r = await fleet.release(l.token, {
        usedByChannel: { '@chan_a': { invite: 2 }, 't.me/chan_b': { invite: 1 } },
        used: { message: 1 },
        success: false,
      });
      expect(r).toEqual({
        account: l.account,
        recorded: { message: 1, invite: 3 },
        channels: ['@chan_a', '@chan_b'],
        success: false,
      });
      expect(await actionLog()).toEqual([
        { session_name: l.account, action: 'message', channel: null, ok: 1, at: T0 },
        { session_name: l.account, action: 'invite', channel: '@chan_a', ok: 1, at: T0 },
        { session_name: l.account, action: 'invite', channel: '@chan_a', ok: 1, at: T0 },
        { session_name: l.account, action: 'invite', channel: '@chan_b', ok: 1, at: T0 },
        // The failed work is a failed attempt of the lease's action.
        { session_name: l.account, action: 'invite', channel: '@chan_a', ok: 0, at: T0 },
      ]);
      const ev = await f.store.db
        .selectFrom('events')
        .select(['kind', 'message', 'data_json'])
        .where('kind', '=', 'lease_released')
        .execute();
      expect(ev).toHaveLength(1);
      expect(ev[0]!.message).toBe(`${l.account}: invite work failed in @chan_a, @chan_b; used message=1, invite=3`);
      expect(JSON.parse(ev[0]!.data_json!)).toEqual({
        action: 'invite',
        channels: ['@chan_a', '@chan_b'],
        success: false,
        used: { message: 1, invite: 3 },
      });
      // One channel named: the lease's action is counted there; success is recorded.
      clock.advance(10 * MIN);
      const m = await take(fleet, { action: 'message' });
      const ok = await fleet.release(m.token, { used: { message: 2 }, channels: ['@chan_c'], success: true });
      expect(ok).toMatchObject({ channels: ['@chan_c'], success: true, recorded: { message: 2 } });
      expect((await actionLog()).slice(-2).map((x) => x.channel)).toEqual(['@chan_c', '@chan_c']);
    },
  );
});
