import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { METRIC_NAMES, perAccountPrometheus, status, toPrometheus } from '../../src/fleet/status.js';
import { renderStatus } from '../../src/commands/support/statusView.js';
import { FakeClock } from '../../src/domain/clock.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { openStore, type Store } from '../../src/store/store.js';
import { baseEnv, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { makeAccounts, makeKey } from '../support/fixtures.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
/** Per-account rows, as `status --accounts` asks for them. */
const ALL = { accounts: { limit: 50 } };

describe.each(DIALECTS)('status on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let store: Store;
  let env: Record<string, string>;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    env = baseEnv({ DATABASE_URL: t.url, ACCTCTL_KEY_FILE: makeKey(t.dir) });
    store = await openStore(t.target);
    const box = new SecretBox(loadKeyRing({ keyFile: env.ACCTCTL_KEY_FILE!, secretKeyEnv: undefined }));
    await importAccounts(
      { store, box, clock: new FakeClock(NOW) },
      parseAccountsFile('x', JSON.stringify(makeAccounts(4, { tenant: 'acme' }))),
    );
    const ids = (await store.db.selectFrom('telegram_accounts').select('id').orderBy('session_name').execute()).map(
      (r) => r.id,
    );
    // acc 0 active; acc 1 flood_wait still running; acc 2 cooldown already over; acc 3 banned.
    await store.db
      .updateTable('telegram_accounts')
      .set({ state: 'flood_wait', state_until: NOW + 60_000 })
      .where('id', '=', ids[1]!)
      .execute();
    await store.db
      .updateTable('telegram_accounts')
      .set({ state: 'cooldown', state_until: NOW - 1 })
      .where('id', '=', ids[2]!)
      .execute();
    await store.db
      .updateTable('telegram_accounts')
      .set({ state: 'banned', last_error: 'PHONE_NUMBER_BANNED' })
      .where('id', '=', ids[3]!)
      .execute();
    await store.db
      .updateTable('telegram_accounts')
      .set({ lease_holder: 'host-a:42', lease_token: 1, lease_expires_at: NOW + 1000 })
      .where('id', '=', ids[0]!)
      .execute();
    const day = Date.parse('2026-11-23T00:00:00Z');
    await store.db
      .insertInto('action_log')
      .values([
        { account_id: ids[0]!, action: 'join', channel: null, at: day + 1000, ok: 1 },
        { account_id: ids[0]!, action: 'join', channel: null, at: NOW - 5000, ok: 1 },
        { account_id: ids[0]!, action: 'join', channel: null, at: NOW - 4000, ok: 0 },
        { account_id: ids[0]!, action: 'join', channel: null, at: day - 1, ok: 1 }, // yesterday
        { account_id: ids[0]!, action: 'invite', channel: 'c1', at: NOW - 3000, ok: 1 },
      ])
      .execute();
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  it.skipIf(skip)('counts states, health, leases and today’s use from the action log', async () => {
    const r = await status({ store, clock: new FakeClock(NOW), timeZone: 'UTC' }, ALL);
    expect(r.accounts.total).toBe(4);
    // States as they are now (issue 25, point 11): the cooldown that is over counts as active.
    expect(r.accounts.byState).toMatchObject({ active: 2, flood_wait: 1, cooldown: 0, banned: 1 });
    expect(r.accounts.healthy).toBe(2);
    expect(r.accounts.healthyPct).toBe(50);
    expect(r.accounts.leased).toBe(1);
    const a0 = r.accounts.list![0]!;
    expect(a0.leaseHolder).toBe('host-a:42');
    // The failed join 4 s ago holds the account for join's 60 s failure gap.
    expect(a0.today.join).toEqual({
      used: 2,
      limit: 20,
      usedLastHour: 1,
      hourLimit: 6,
      nextAt: NOW + 56_000,
      blockedBy: 'gap',
    });
    expect(a0.today.invite).toMatchObject({ used: 1, limit: 30, blockedBy: 'gap', nextAt: NOW - 3000 + 120_000 });
    // In Moscow (UTC+3) the day began at 21:00 UTC yesterday, so the "yesterday" join counts.
    const msk = await status({ store, clock: new FakeClock(NOW), timeZone: 'Europe/Moscow' }, ALL);
    expect(msk.accounts.list![0]!.today.join.used).toBe(3);
    expect(msk.today.fleet.find((u) => u.action === 'join')!.used).toBe(3);
    // After the lease expires it is no longer shown as held.
    const later = await status({ store, clock: new FakeClock(NOW + 2000), timeZone: 'UTC' });
    expect(later.accounts.leased).toBe(0);
  });

  it.skipIf(skip)('shows the limits the lease policy applies, overrides included, and agrees with it', async () => {
    const clock = new FakeClock(NOW + 10 * 60_000);
    const fleet = new AccountManager({ store, clock });
    await fleet.setLimits({ tenant: 'acme' }, { join: { per_day: 2, gap_seconds: 0 } });
    const r = await status({ store, clock, timeZone: 'UTC' }, ALL);
    expect(r.accounts.list![0]!.today.join).toMatchObject({
      used: 2,
      limit: 2,
      blockedBy: 'per_day',
      nextAt: Date.parse('2026-11-24T00:00:00Z'),
    });
    expect(r.accounts.list![2]!.today.join).toMatchObject({ used: 0, limit: 2, blockedBy: null });
    // The policy agrees: acc_00000 is passed over; acc_00001 (its flood wait over) is leased.
    const lease = await fleet.lease({ action: 'join', holder: 't', ttlMs: 60_000 });
    expect(lease.ok && lease.lease.account).toBe('acc_00001');
  });

  it.skipIf(skip)(
    'summaries: by tenant, today against the summed limits, problems, bounded whatever the fleet',
    async () => {
      const r = await status({ store, clock: new FakeClock(NOW), timeZone: 'UTC' });
      expect(r.accounts.list).toBeUndefined();
      expect(r.accounts.byTenant).toEqual([
        {
          tenant: 'acme',
          total: 4,
          healthy: 2,
          leased: 1,
          byState: { active: 2, flood_wait: 1, banned: 1 },
        },
      ]);
      // Four enabled accounts × the default per-day limits; today's successes only (the failure and
      // yesterday's join do not count).
      expect(r.today.fleet).toEqual([
        { action: 'join', used: 2, limit: 80 },
        { action: 'invite', used: 1, limit: 120 },
        { action: 'message', used: 0, limit: 120 },
        { action: 'contact', used: 0, limit: 60 },
      ]);
      expect(r.problems.needPerson).toEqual([{ state: 'banned', reason: 'PHONE_NUMBER_BANNED', count: 1 }]);
      expect(r.problems.needPersonTotal).toBe(1);
      // A tenant override changes the capacity the way `lease` sees it; a disabled account adds none.
      await new AccountManager({ store, clock: new FakeClock(NOW) }).setLimits(
        { tenant: 'acme' },
        { join: { per_day: 2 } },
      );
      await store.db
        .updateTable('telegram_accounts')
        .set({ enabled: 0 })
        .where('session_name', '=', 'acc_00003')
        .execute();
      const r2 = await status({ store, clock: new FakeClock(NOW), timeZone: 'UTC' });
      expect(r2.today.fleet[0]).toEqual({ action: 'join', used: 2, limit: 6 });
      expect(r2.problems.disabledByOperator).toBe(1);
      // 200 more accounts (another tenant): the summary and the metrics keep their size.
      const before = renderStatus(r2).split('\n').length;
      const beforeMetrics = toPrometheus(r2).split('\n').length;
      await store.db.insertInto('tenants').values({ name: 'beta', created_at: NOW }).execute();
      const beta = (
        await store.db.selectFrom('tenants').select('id').where('name', '=', 'beta').executeTakeFirstOrThrow()
      ).id;
      await store.db
        .insertInto('telegram_accounts')
        .values(
          Array.from({ length: 200 }, (_, i) => ({
            session_name: `beta_${i}`,
            tenant_id: beta,
            api_id: 1,
            api_hash_enc: 'x',
            string_session_enc: 'x',
            created_at: NOW,
            updated_at: NOW,
          })),
        )
        .execute();
      const r3 = await status({ store, clock: new FakeClock(NOW), timeZone: 'UTC' });
      expect(r3.accounts.total).toBe(204);
      const text = renderStatus(r3);
      expect(text).not.toContain('beta_1');
      expect(text).toContain('(per account: acctctl status --accounts');
      expect(text.split('\n').length).toBeLessThanOrEqual(before + 2); // one more tenant row
      const metrics = toPrometheus(r3);
      expect(metrics).not.toContain('account=');
      expect(metrics.split('\n').length).toBeLessThanOrEqual(beforeMetrics + 12); // the new tenant's series
      expect(metrics).toContain('acctctl_tenant_accounts{tenant="beta",state="active"} 200');
    },
  );

  it.skipIf(skip)('--accounts: filtered, limited, and says how many more', async () => {
    const clock = new FakeClock(NOW);
    const page = await status({ store, clock, timeZone: 'UTC' }, { accounts: { limit: 2 } });
    expect(page.accounts.list!.map((a) => a.name)).toEqual(['acc_00000', 'acc_00001']);
    expect(page.accounts.listed).toMatchObject({ shown: 2, total: 4, more: 2 });
    expect(renderStatus(page)).toContain('showing 2 of 4 accounts: 2 more');
    const banned = await status({ store, clock, timeZone: 'UTC' }, { accounts: { state: 'banned', limit: 50 } });
    expect(banned.accounts.list!.map((a) => [a.name, a.lastError])).toEqual([['acc_00003', 'PHONE_NUMBER_BANNED']]);
    expect(banned.accounts.listed).toMatchObject({ shown: 1, total: 1, more: 0, filter: { state: 'banned' } });
    const none = await status({ store, clock, timeZone: 'UTC' }, { accounts: { tenant: 'nobody', limit: 50 } });
    expect(none.accounts.list).toEqual([]);
  });

  it.skipIf(skip)('Prometheus text format: aggregates only; per account only on request', async () => {
    const clock = new FakeClock(NOW);
    const r = await status({ store, clock, timeZone: 'UTC' });
    const text = toPrometheus(r);
    expect(text).toContain('# TYPE acctctl_accounts gauge');
    expect(text).toContain('acctctl_accounts{state="banned"} 1');
    expect(text).toContain('acctctl_accounts_healthy_ratio 0.5');
    expect(text).toContain('acctctl_tenant_accounts{tenant="acme",state="flood_wait"} 1');
    expect(text).toContain('acctctl_actions_today{action="join"} 2');
    expect(text).toContain('acctctl_actions_limit_today{action="join"} 80');
    expect(text).toContain('acctctl_tenant_actions_today{tenant="acme",action="invite"} 1');
    expect(text).toContain('# TYPE acctctl_leases_total counter');
    expect(text).not.toContain('acctctl_account_actions_today');
    const names = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.split(' ')[2]),
    );
    expect([...names].sort()).toEqual([...METRIC_NAMES].sort());
    const per = await perAccountPrometheus({ store, clock, timeZone: 'UTC' });
    expect(per).toContain('acctctl_account_actions_today{account="acc_00000",action="join"} 2');
    expect(per.split('\n').filter((l) => l.startsWith('acctctl_account_actions_today')).length).toBe(4 * 4);
    for (const line of (text + per).trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+)$/);
    }
  });

  it.skipIf(skip)('leases and errors by kind since the last reset, from the store', async () => {
    let clock = new FakeClock(NOW + 120_000);
    let fleet = new AccountManager({ store, clock });
    const c0 = (await status({ store, clock, timeZone: 'UTC' })).counters;
    expect(c0).toEqual({ leases: 0, errors: [], lastResetAt: null });
    const l1 = await fleet.lease({ action: 'message', holder: 't', ttlMs: 60_000 });
    const l2 = await fleet.lease({ action: 'message', holder: 't', ttlMs: 60_000 });
    if (!l1.ok || !l2.ok) throw new Error('expected two leases');
    await fleet.reportError(l1.lease.token, 'FLOOD_WAIT_42');
    await fleet.reportError(l2.lease.token, 'PEER_FLOOD');
    const l3 = await fleet.lease({ action: 'invite', holder: 't', ttlMs: 60_000 });
    if (!l3.ok) throw new Error('expected a lease');
    await fleet.reportError(l3.lease.token, 'FLOOD_WAIT_7');
    const r = await status({ store, clock, timeZone: 'UTC' });
    expect(r.counters.leases).toBe(3);
    expect(r.counters.errors).toEqual([
      { kind: 'FLOOD_WAIT', count: 2 },
      { kind: 'PEER_FLOOD', count: 1 },
    ]);
    const text = toPrometheus(r);
    expect(text).toContain('acctctl_leases_total 3');
    expect(text).toContain('acctctl_errors_total{kind="FLOOD_WAIT"} 2');
    expect(renderStatus(r)).toMatch(/3 leases; errors: FLOOD_WAIT 2, PEER_FLOOD 1/);
    // The next day's reset starts both counters again.
    clock = new FakeClock(Date.parse('2026-11-24T00:05:00Z'));
    fleet = new AccountManager({ store, clock });
    await fleet.resetLimits();
    const after = await status({ store, clock, timeZone: 'UTC' });
    expect(after.counters).toEqual({ leases: 0, errors: [], lastResetAt: clock.now() });
    const l4 = await fleet.lease({ action: 'message', holder: 't', ttlMs: 60_000 });
    expect(l4.ok).toBe(true);
    expect((await status({ store, clock, timeZone: 'UTC' })).counters.leases).toBe(1);
  });

  it.skipIf(skip)('the CLI writes metrics atomically, prints JSON, and --fail-under sets the exit code', async () => {
    await store.close();
    const metrics = join(t.dir, 'acctctl.prom');
    const r = await runCli(['--json', 'status', '--metrics-file', metrics, '--fail-under', '40'], { env });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { accounts: { total: number; healthyPct: number } };
    expect(json.accounts.total).toBe(4);
    expect(readFileSync(metrics, 'utf8')).toContain('acctctl_accounts_healthy ');
    expect(readFileSync(metrics, 'utf8')).not.toContain('acctctl_account_actions_today');
    // The crontab's line: one line on stdout, no table.
    const cron = await runCli(['status', '--metrics-file', metrics], { env });
    expect(cron.code, cron.stderr).toBe(0);
    expect(cron.stdout.trim().split('\n')).toEqual([
      // Real clock: the flood wait (until NOW + 60 s) is over by now.
      `metrics written to ${metrics}: 4 accounts, 3 healthy (75%)`,
    ]);
    const per = await runCli(['status', '--metrics-file', metrics, '--metrics-per-account'], { env });
    expect(per.code, per.stderr).toBe(0);
    expect(readFileSync(metrics, 'utf8')).toContain(
      'acctctl_account_actions_today{account="acc_00003",action="join"} 0',
    );
    expect((await runCli(['status', '--metrics-per-account'], { env })).code).toBe(64);
    // The summary names no account; --accounts lists them, filtered, and says how many more.
    const sum = await runCli(['status'], { env });
    expect(sum.stdout).not.toContain('acc_00000');
    expect(sum.stdout).toMatch(/1 banned \(PHONE_NUMBER_BANNED\) → acctctl status --accounts --state banned/);
    const acc = await runCli(['status', '--accounts', '--limit', '3'], { env });
    expect(acc.stdout).toContain('acc_00002');
    expect(acc.stdout).not.toContain('acc_00003');
    expect(acc.stdout).toContain('showing 3 of 4 accounts: 1 more');
    const jb = await runCli(['--json', 'status', '--accounts', '--state', 'banned'], { env });
    expect(JSON.parse(jb.stdout)).toMatchObject({
      accounts: { list: [{ name: 'acc_00003' }], listed: { shown: 1, total: 1, more: 0 } },
    });
    expect((await runCli(['status', '--accounts', '--state', 'sleepy'], { env })).code).toBe(64);
    expect((await runCli(['status', '--state', 'banned'], { env })).code).toBe(64);
    expect((await runCli(['status', '--accounts', '--limit', '0'], { env })).code).toBe(64);
    expect(readdirSync(t.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const low = await runCli(['status', '--fail-under', '99'], { env });
    expect(low.code).toBe(69);
    expect(low.stderr).toMatch(/below --fail-under 99%/);
    expect(low.stdout).toContain('Telegram accounts');
    const bad = await runCli(['status', '--fail-under', 'lots'], { env });
    expect(bad.code).toBe(64);
    store = await openStore(t.target);
  });
});
