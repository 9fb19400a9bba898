import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import type { Store } from '../../src/store/store.js';
import { TelegramCallError } from '../../src/telegram/gateway.js';
import { SandboxTelegram } from '../../src/sandbox/telegram.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { addTargets, boxFor, runJoin, ScriptedTelegram, tmpSandboxPath } from '../support/joinHarness.js';
import { snapshot } from '../support/snapshot.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;

describe.each(DIALECTS)('join on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let store: Store;
  let box: SecretBox;
  let clock: FakeClock;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 3);
    store = f.store;
    box = boxFor(f.env);
    clock = new FakeClock(T0);
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const targets = () =>
    store.db
      .selectFrom('targets as t')
      .leftJoin('telegram_accounts as a', 'a.id', 't.account_id')
      .select([
        't.ref',
        't.status',
        'a.session_name as account',
        't.joined_at',
        't.warmup_ends_at',
        't.error_message',
        't.lease_holder',
      ])
      .orderBy('t.id')
      .execute();

  it.skipIf(skip)(
    'joins what it can now, binds each group to its account, and exits saying when the next account frees up',
    async () => {
      await addTargets(store, ['@g_one', '@g_two', '@g_three', '@g_four', 't.me/+InviteHash1']);
      const sandbox = new SandboxTelegram({ clock, statePath: tmpSandboxPath(t.dir) });
      const s1 = await runJoin(store, clock, sandbox, box);
      expect(s1.claimed).toBe(3);
      expect(s1.counts.joined).toBe(3);
      expect(s1.nextFreeAt).toBeGreaterThanOrEqual(T0 + 5 * MIN);
      expect(s1.nextFreeAt).toBeLessThanOrEqual(T0 + 10 * MIN);
      const rows = await targets();
      expect(rows.slice(0, 3).map((r) => [r.status, r.account])).toEqual([
        ['joined', 'acc_00000'],
        ['joined', 'acc_00001'],
        ['joined', 'acc_00002'],
      ]);
      expect(rows[0]).toMatchObject({ joined_at: T0, warmup_ends_at: T0 + 24 * 60 * MIN, lease_holder: null });
      expect(rows.slice(3).map((r) => r.status)).toEqual(['new', 'new']);
      // Immediately again: every account is resting, nothing is claimed.
      const s2 = await runJoin(store, clock, sandbox, box);
      expect(s2.claimed).toBe(0);
      expect(s2.nextFreeAt).toBe(s1.nextFreeAt);
      clock.set(s1.nextFreeAt!);
      const s3 = await runJoin(store, clock, sandbox, box);
      expect(s3.counts.joined).toBeGreaterThanOrEqual(1);
      expect(sandbox.floodWaits).toBe(0);
      for (const r of await targets()) if (r.status === 'joined') expect(sandbox.membersOf(r.ref)).toEqual([r.account]);
      await sandbox.closeAll();
    },
  );

  it.skipIf(skip)('--dry-run shows the plan and changes nothing', async () => {
    await addTargets(store, ['@g_one', '@g_two']);
    const before = await snapshot(store);
    const s = await runJoin(store, clock, new ScriptedTelegram(() => new Error('must not be called')), box, {
      dryRun: true,
    });
    expect(s.plan).toEqual([
      { target: '@g_one', account: 'acc_00000' },
      { target: '@g_two', account: 'acc_00001' },
    ]);
    expect(await snapshot(store)).toBe(before);
  });

  it.skipIf(skip)('every row of the error table reaches the target and the account', async () => {
    await addTargets(store, ['@g_flood', '@g_missing', '@g_banned', '@g_approval', '@g_member', '@g_peer']);
    const tg = new ScriptedTelegram((account, target) => {
      if (target === '@g_flood' && account === 'acc_00000')
        return new TelegramCallError('FLOOD', 420, 30, 'A wait of 30 seconds is required');
      if (target === '@g_missing') return new TelegramCallError('USERNAME_NOT_OCCUPIED', 400, undefined);
      if (target === '@g_banned') return new TelegramCallError('USER_BANNED_IN_CHANNEL', 400, undefined);
      if (target === '@g_approval') return { kind: 'requested' };
      if (target === '@g_member') return new TelegramCallError('USER_ALREADY_PARTICIPANT', 400, undefined);
      if (target === '@g_peer') return new TelegramCallError('PEER_FLOOD', 400, undefined);
      return { kind: 'joined', title: target };
    });
    // Limits out of the way so one account can try several targets in simulated time.
    await store.db
      .updateTable('tenants')
      .set({ limits_json: JSON.stringify({ join: { gap_seconds: 0, gap_after_failure_seconds: 0, per_hour: 100 } }) })
      .execute();
    // Target-level errors pause an account 60 s: let the run wait for that (simulated time).
    const s = await runJoin(store, clock, tg, box, { batch: 6, maxWaitMs: 10 * MIN });
    const rows = Object.fromEntries((await targets()).map((r) => [r.ref, r]));
    // The flood-waited account rests; another account joined that group in the same run.
    expect(rows['@g_flood']).toMatchObject({ status: 'joined', account: 'acc_00001' });
    expect(tg.calls.filter((c) => c.target === '@g_flood').map((c) => c.account)).toEqual(['acc_00000', 'acc_00001']);
    expect(rows['@g_missing']).toMatchObject({
      status: 'error',
      error_message: 'USERNAME_NOT_OCCUPIED',
      account: null,
    });
    expect(rows['@g_banned']).toMatchObject({ status: 'banned' });
    expect(rows['@g_approval']?.status).toBe('pending_approval');
    expect(rows['@g_approval']?.account).not.toBeNull();
    expect(rows['@g_member']?.status).toBe('joined');
    const acc = Object.fromEntries(
      (await store.db.selectFrom('telegram_accounts').select(['session_name', 'state', 'state_until']).execute()).map(
        (a) => [a.session_name, a],
      ),
    );
    const flood = await store.db
      .selectFrom('events')
      .select('message')
      .where('message', 'like', 'acc_00000%')
      .execute();
    expect(flood.map((e) => e.message)).toContain('acc_00000: active → flood_wait (FLOOD_WAIT)');
    const peer = tg.calls.find((c) => c.target === '@g_peer')!.account;
    expect(acc[peer]).toMatchObject({ state: 'blocked' });
    expect(rows['@g_peer']?.status).not.toBe('joined');
    expect(s.results).toHaveLength(6);
  });

  it.skipIf(skip)('a revoked session disables the account and another account takes the group', async () => {
    await addTargets(store, ['@g_one']);
    const tg = new ScriptedTelegram(
      () => ({ kind: 'joined', title: null }),
      (account) => (account === 'acc_00000' ? new TelegramCallError('SESSION_REVOKED', 401, undefined) : null),
    );
    const s = await runJoin(store, clock, tg, box);
    expect(s.results).toEqual([{ target: '@g_one', account: 'acc_00001', outcome: 'joined', detail: null }]);
    const a0 = await store.db
      .selectFrom('telegram_accounts')
      .select(['state', 'last_error'])
      .where('session_name', '=', 'acc_00000')
      .executeTakeFirstOrThrow();
    expect(a0).toEqual({ state: 'disabled', last_error: 'SESSION_REVOKED' });
  });

  it.skipIf(skip)(
    'an account whose proxy is down fails closed; after 3 failures the proxy is unhealthy and the account rests',
    async () => {
      const { importProxies } = await import('../../src/fleet/proxies.js');
      const { TelegramConnectError } = await import('../../src/telegram/gateway.js');
      await importProxies({ store, box, clock }, [
        { spec: { scheme: 'socks5', host: '127.0.0.1', port: 1 }, tenant: null },
      ]);
      const px = await store.db.selectFrom('proxies').select('id').executeTakeFirstOrThrow();
      await store.db
        .updateTable('telegram_accounts')
        .set({ proxy_id: px.id })
        .where('session_name', '=', 'acc_00000')
        .execute();
      await store.db
        .updateTable('telegram_accounts')
        .set({ enabled: 0 })
        .where('session_name', '!=', 'acc_00000')
        .execute();
      await addTargets(store, ['@g_one']);
      const tg = new ScriptedTelegram(
        () => ({ kind: 'joined', title: null }),
        (account) =>
          account === 'acc_00000'
            ? new TelegramConnectError("cannot reach Telegram through the account's socks5 proxy")
            : null,
      );
      for (let i = 0; i < 3; i++) {
        const s = await runJoin(store, clock, tg, box);
        expect(s.counts.joined).toBe(0);
        clock.advance(31 * 60_000); // past the network back-off
      }
      expect(await store.db.selectFrom('proxies').select(['healthy', 'fail_count']).executeTakeFirstOrThrow()).toEqual({
        healthy: 0,
        fail_count: 3,
      });
      expect(tg.connects).toEqual([]); // never connected, never directly
      const s = await runJoin(store, clock, tg, box);
      expect(s.claimed).toBe(0); // an account behind an unhealthy proxy is not leased
      expect((await targets())[0]?.status).toBe('new');
    },
  );

  it.skipIf(skip)('--max-wait lets one run wait (in simulated time) for resting accounts', async () => {
    await store.db
      .updateTable('telegram_accounts')
      .set({ enabled: 0 })
      .where('session_name', '!=', 'acc_00000')
      .execute();
    await addTargets(store, ['@g_one', '@g_two', '@g_three']);
    const sandbox = new SandboxTelegram({ clock, statePath: tmpSandboxPath(t.dir) });
    const s = await runJoin(store, clock, sandbox, box, { maxWaitMs: 30 * MIN });
    expect(s.counts.joined).toBe(3);
    expect(clock.now() - T0).toBeGreaterThanOrEqual(10 * MIN);
    expect(clock.now() - T0).toBeLessThanOrEqual(20 * MIN);
    const none = await runJoin(store, clock, sandbox, box, { maxWaitMs: 0 });
    expect(none.claimed).toBe(0);
    await sandbox.closeAll();
  });

  it.skipIf(skip)('a target left mid-join by a crash is retried only with the account it was pinned to', async () => {
    await addTargets(store, ['@g_one']);
    const sandbox = new SandboxTelegram({ clock, statePath: tmpSandboxPath(t.dir) });
    // The crashed run had pinned the target to acc_00002 and Telegram had already let it in.
    const a2 = await store.db
      .selectFrom('telegram_accounts')
      .select('id')
      .where('session_name', '=', 'acc_00002')
      .executeTakeFirstOrThrow();
    await store.db
      .updateTable('targets')
      .set({ status: 'joining', account_id: a2.id, lease_holder: 'dead', lease_token: 1, lease_expires_at: T0 - 1 })
      .execute();
    await (
      await sandbox.client({
        accountId: a2.id,
        sessionName: 'acc_00002',
        apiId: 1,
        apiHash: 'x',
        stringSession: 'x',
        proxy: null,
      })
    ).join({ kind: 'username', username: 'g_one' });
    // Right after its join the pinned account is flood-waited: the group waits for it, no other account tries.
    const early = await runJoin(store, clock, sandbox, box);
    expect(early.results).toEqual([
      {
        target: '@g_one',
        account: 'acc_00002',
        outcome: 'queued',
        detail: 'FLOOD_WAIT; waiting for the account it is bound to',
      },
    ]);
    expect(sandbox.membersOf('@g_one')).toEqual(['acc_00002']);
    expect((await targets())[0]).toMatchObject({ status: 'new', account: 'acc_00002' });
    clock.advance(20 * MIN);
    const s = await runJoin(store, clock, sandbox, box);
    expect(s.results).toEqual([
      { target: '@g_one', account: 'acc_00002', outcome: 'already_member', detail: 'USER_ALREADY_PARTICIPANT' },
    ]);
    expect(sandbox.membersOf('@g_one')).toEqual(['acc_00002']);
    expect((await targets())[0]).toMatchObject({ status: 'joined', account: 'acc_00002' });
    await sandbox.closeAll();
  });
});
