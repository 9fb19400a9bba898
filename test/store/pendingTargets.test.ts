import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { retryTargets } from '../../src/fleet/targets.js';
import { TelegramCallError } from '../../src/telegram/gateway.js';
import { SandboxTelegram } from '../../src/sandbox/telegram.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { addTargets, boxFor, runJoin, ScriptedTelegram, tmpSandboxPath } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe.each(DIALECTS)('targets that move on, on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 2);
  const targets = async () =>
    Object.fromEntries(
      (
        await f.store.db
          .selectFrom('targets as t')
          .leftJoin('telegram_accounts as a', 'a.id', 't.account_id')
          .select([
            't.ref',
            't.status',
            'a.session_name as account',
            't.joined_at',
            't.warmup_ends_at',
            't.error_message',
            't.next_attempt_at',
            't.attempts',
          ])
          .execute()
      ).map((r) => [r.ref, r]),
    );

  it.skipIf(skip)(
    'a pending join request approved later becomes joined, bound, with its warm-up (sandbox)',
    async () => {
      const clock = new FakeClock(T0);
      const sandbox = new SandboxTelegram({ clock, statePath: tmpSandboxPath(f.t.dir) });
      await addTargets(f.store, ['@approval_group', 't.me/+ApprovalNever1']);
      const first = await runJoin(f.store, clock, sandbox, boxFor(f.env), { batch: 2 });
      expect(first.results.map((r) => r.outcome)).toEqual(['pending_approval', 'pending_approval']);
      const t1 = await targets();
      expect(t1['@approval_group']).toMatchObject({
        status: 'pending_approval',
        account: 'acc_00000',
        next_attempt_at: T0 + 6 * HOUR,
      });
      // Before the re-check is due nothing is asked.
      clock.advance(HOUR);
      expect((await runJoin(f.store, clock, sandbox, boxFor(f.env))).rechecked).toEqual([]);
      // 6 h: asked, still pending (the sandbox's admins take 12 h).
      clock.set(T0 + 6 * HOUR);
      const r6 = await runJoin(f.store, clock, sandbox, boxFor(f.env));
      expect(r6.rechecked.map((r) => [r.target, r.outcome])).toEqual([
        ['@approval_group', 'pending'],
        ['+ApprovalNever1', 'pending'],
      ]);
      clock.set(T0 + 12 * HOUR);
      const r12 = await runJoin(f.store, clock, sandbox, boxFor(f.env));
      expect(r12.rechecked.map((r) => [r.target, r.account, r.outcome])).toEqual([
        ['@approval_group', 'acc_00000', 'approved'],
        ['+ApprovalNever1', 'acc_00001', 'pending'],
      ]);
      expect((await targets())['@approval_group']).toMatchObject({
        status: 'joined',
        account: 'acc_00000',
        joined_at: T0 + 12 * HOUR,
        warmup_ends_at: T0 + 36 * HOUR,
      });
      expect(sandbox.membersOf('@approval_group')).toEqual(['acc_00000']);
      // The one never approved expires after 7 days, with the reason.
      for (let t = T0 + 18 * HOUR; t <= T0 + 7 * DAY + 6 * HOUR; t += 6 * HOUR) {
        clock.set(t);
        await runJoin(f.store, clock, sandbox, boxFor(f.env));
      }
      expect((await targets())['+ApprovalNever1']).toMatchObject({
        status: 'expired',
        error_message: `join request not approved within 7 days (sent ${new Date(T0).toISOString()})`,
      });
      await sandbox.closeAll();
    },
  );

  it.skipIf(skip)(
    'a re-check that finds the invite gone marks the target error; account errors touch the account only',
    async () => {
      const clock = new FakeClock(T0);
      await addTargets(f.store, ['t.me/+GoneInvite01', '@pending_two']);
      const tg = new ScriptedTelegram(
        () => ({ kind: 'requested' }),
        () => null,
        (_a, target) =>
          target === '+GoneInvite01'
            ? new TelegramCallError('INVITE_HASH_EXPIRED', 400, undefined)
            : new TelegramCallError('FLOOD', 420, 30, 'A wait of 30 seconds is required'),
      );
      await runJoin(f.store, clock, tg, boxFor(f.env), { batch: 2 });
      clock.advance(6 * HOUR);
      const r = await runJoin(f.store, clock, tg, boxFor(f.env));
      expect(r.rechecked.map((x) => [x.target, x.outcome, x.detail])).toEqual([
        ['+GoneInvite01', 'error', 'INVITE_HASH_EXPIRED'],
        ['@pending_two', 'not_checked', 'FLOOD_WAIT'],
      ]);
      const t = await targets();
      expect(t['+GoneInvite01']).toMatchObject({ status: 'error', error_message: 'INVITE_HASH_EXPIRED' });
      expect(t['@pending_two']).toMatchObject({ status: 'pending_approval', next_attempt_at: clock.now() + 6 * HOUR });
    },
  );

  it.skipIf(skip)(
    'targets retry requeues error and expired targets (by niche, status or link); joined ones stay bound',
    async () => {
      const clock = new FakeClock(T0);
      await addTargets(f.store, ['@err_group', '@exp_group', '@ban_group', '@ok_group', '@pend_group'], 'n');
      await addTargets(f.store, ['@other_niche'], 'm');
      const a0 = (
        await f.store.db
          .selectFrom('telegram_accounts')
          .select('id')
          .where('session_name', '=', 'acc_00000')
          .executeTakeFirstOrThrow()
      ).id;
      const set = (ref: string, patch: Record<string, unknown>) =>
        f.store.db.updateTable('targets').set(patch).where('ref', '=', ref).execute();
      await set('@err_group', {
        status: 'error',
        error_message: 'CHANNEL_PRIVATE',
        attempts: 2,
        next_attempt_at: T0 + DAY,
      });
      await set('@exp_group', { status: 'expired', error_message: 'join request not approved', account_id: a0 });
      await set('@ban_group', { status: 'banned', error_message: 'USER_BANNED_IN_CHANNEL' });
      await set('@ok_group', { status: 'joined', account_id: a0 });
      await set('@pend_group', { status: 'pending_approval', account_id: a0, next_attempt_at: T0 + DAY });
      await set('@other_niche', { status: 'error' });
      const r = await retryTargets(f.store, { niche: 'n', now: T0 });
      expect(r).toEqual({ requeued: ['@err_group', '@exp_group'], recheck: [], skipped: [] });
      let t = await targets();
      expect(t['@err_group']).toMatchObject({
        status: 'new',
        error_message: null,
        attempts: 0,
        next_attempt_at: null,
        account: null,
      });
      // An expired request stays with the account that sent it: if Telegram approves it late, that account is in.
      expect(t['@exp_group']).toMatchObject({ status: 'new', account: 'acc_00000' });
      expect(t['@ban_group']?.status).toBe('banned');
      expect(t['@other_niche']?.status).toBe('error');
      const named = await retryTargets(f.store, {
        refs: ['@ban_group', '@ok_group', '@pend_group', '@nope_group'],
        now: T0,
      });
      expect(named).toEqual({
        requeued: ['@ban_group'],
        recheck: ['@pend_group'],
        skipped: [
          { target: '@ok_group', status: 'joined', why: 'joined: bound to its account for good' },
          { target: '@nope_group', status: 'unknown', why: 'not a known target' },
        ],
      });
      t = await targets();
      expect(t['@ok_group']).toMatchObject({ status: 'joined', account: 'acc_00000' });
      expect(t['@pend_group']).toMatchObject({ status: 'pending_approval', next_attempt_at: T0 });
      // The CLI: links in any form, --status, and the result.
      const cli = await runCli(['--json', 'targets', 'retry', '--status', 'error', 'https://t.me/other_niche'], {
        env: f.env,
      });
      expect(cli.code, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ requeued: ['@other_niche'] });
      const bad = await runCli(['targets', 'retry', '--status', 'joined'], { env: f.env });
      expect(bad.code).toBe(64);
      void clock;
    },
  );
});
