import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { addTargets, boxFor, runJoin, ScriptedTelegram } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe.each(DIALECTS)('group binding and warm-up in every lease on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 3);

  it.skipIf(skip)(
    'a joined group is refused during its warm-up, then leased only to the account bound to it; other channels unchanged',
    async () => {
      const clock = new FakeClock(T0);
      await addTargets(f.store, ['@bound_group', 't.me/+PendingHash01']);
      // acc_00000 joins @bound_group; acc_00001's request to the invite group waits for approval.
      const tg = new ScriptedTelegram((_a, target) =>
        target === '@bound_group' ? { kind: 'joined', title: null } : { kind: 'requested' },
      );
      const j = await runJoin(f.store, clock, tg, boxFor(f.env), { batch: 2 });
      expect(j.results.map((r) => [r.target, r.account, r.outcome])).toEqual([
        ['@bound_group', 'acc_00000', 'joined'],
        ['+PendingHash01', 'acc_00001', 'pending_approval'],
      ]);
      const fleet = new AccountManager({ store: f.store, clock });
      clock.advance(MIN);
      // Any link form names the same group.
      for (const channel of ['@bound_group', 'https://t.me/bound_group', 'tg://resolve?domain=bound_group']) {
        const r = await fleet.lease({ action: 'message', channel, holder: 't', ttlMs: MIN });
        expect(r).toEqual({
          ok: false,
          nextAt: T0 + DAY,
          reason: `@bound_group is bound to acc_00000, which joined it recently: warm-up ends at ${new Date(T0 + DAY).toISOString()}`,
        });
      }
      const pending = await fleet.lease({ action: 'message', channel: 't.me/+PendingHash01', holder: 't', ttlMs: MIN });
      expect(pending).toMatchObject({ ok: false, nextAt: null });
      // An unbound channel: any free account, least recently used first.
      const other = await fleet.lease({ action: 'message', channel: '@some_other_group', holder: 't', ttlMs: MIN });
      expect(other.ok && other.lease.account).toBe('acc_00002');
      if (other.ok) await fleet.release(other.lease.token, { used: { message: 1 } });

      clock.set(T0 + DAY);
      for (let i = 0; i < 3; i++) {
        const r = await fleet.lease({ action: 'message', channel: 't.me/bound_group', holder: 't', ttlMs: MIN });
        expect(r.ok && [r.lease.account, r.lease.channel]).toEqual(['acc_00000', '@bound_group']);
        if (r.ok) await fleet.release(r.lease.token, { used: { message: 1 } });
        clock.advance(2 * MIN); // past the gap after each message
      }
      // While the bound account is held, nobody else gets the group: it waits for that account.
      const held = await fleet.lease({ action: 'message', channel: '@bound_group', holder: 'a', ttlMs: 5 * MIN });
      expect(held.ok).toBe(true);
      const again = await fleet.lease({ action: 'message', channel: '@bound_group', holder: 'b', ttlMs: MIN });
      expect(again).toMatchObject({ ok: false, nextAt: clock.now() + 5 * MIN });
    },
  );

  it.skipIf(skip)('`acctctl lease --channel` exits 75 during the warm-up and says when it ends', async () => {
    await addTargets(f.store, ['@bound_group']);
    const now = Date.now();
    const a = await f.store.db
      .selectFrom('telegram_accounts')
      .select('id')
      .where('session_name', '=', 'acc_00001')
      .executeTakeFirstOrThrow();
    await f.store.db
      .updateTable('targets')
      .set({ status: 'joined', account_id: a.id, joined_at: now, warmup_ends_at: now + DAY })
      .execute();
    const r = await runCli(['lease', '--action', 'invite', '--channel', 't.me/bound_group'], { env: f.env });
    expect(r.code).toBe(75);
    expect(r.stderr).toContain(`warm-up ends at ${new Date(now + DAY).toISOString()}`);
    await f.store.db
      .updateTable('targets')
      .set({ joined_at: now - DAY, warmup_ends_at: now - 1 })
      .execute();
    const ok = await runCli(['--json', 'lease', '--action', 'invite', '--channel', '@bound_group'], { env: f.env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, lease: { account: 'acc_00001', channel: '@bound_group' } });
  });
});
