import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importAccounts, parseAccountsFile } from '../../src/commands/accounts.js';
import { status, toPrometheus } from '../../src/commands/status.js';
import { FakeClock } from '../../src/domain/clock.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { loadKeyRing } from '../../src/security/keyring.js';
import { SecretBox } from '../../src/security/secretBox.js';
import { openStore, type Store } from '../../src/store/store.js';
import { baseEnv, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { makeAccounts, makeKey } from '../support/fixtures.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');

describe.each(DIALECTS)('status on $name', ({ name, skip, create }) => {
  let t: TestDb;
  let store: Store;
  let env: Record<string, string>;
  beforeEach(async () => {
    if (skip) return;
    t = await create();
    env = baseEnv({ DATABASE_URL: t.url, ACCTCTL_KEY_FILE: makeKey(t.dir) });
    if (name === 'postgres') expect((await runCli(['migrate'], { env })).code).toBe(0);
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
    const r = await status({ store, clock: new FakeClock(NOW), timeZone: 'UTC' });
    expect(r.accounts.total).toBe(4);
    expect(r.accounts.byState).toMatchObject({ active: 1, flood_wait: 1, cooldown: 1, banned: 1 });
    expect(r.accounts.healthy).toBe(2);
    expect(r.accounts.healthyPct).toBe(50);
    expect(r.accounts.leased).toBe(1);
    const a0 = r.accounts.list[0]!;
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
    const msk = await status({ store, clock: new FakeClock(NOW), timeZone: 'Europe/Moscow' });
    expect(msk.accounts.list[0]!.today.join.used).toBe(3);
    // After the lease expires it is no longer shown as held.
    const later = await status({ store, clock: new FakeClock(NOW + 2000), timeZone: 'UTC' });
    expect(later.accounts.leased).toBe(0);
  });

  it.skipIf(skip)('shows the limits the lease policy applies, overrides included, and agrees with it', async () => {
    const clock = new FakeClock(NOW + 10 * 60_000);
    const fleet = new AccountManager({ store, clock });
    await fleet.setLimits({ tenant: 'acme' }, { join: { per_day: 2, gap_seconds: 0 } });
    const r = await status({ store, clock, timeZone: 'UTC' });
    expect(r.accounts.list[0]!.today.join).toMatchObject({
      used: 2,
      limit: 2,
      blockedBy: 'per_day',
      nextAt: Date.parse('2026-11-24T00:00:00Z'),
    });
    expect(r.accounts.list[2]!.today.join).toMatchObject({ used: 0, limit: 2, blockedBy: null });
    // The policy agrees: acc_00000 is passed over; acc_00001 (its flood wait over) is leased.
    const lease = await fleet.lease({ action: 'join', holder: 't', ttlMs: 60_000 });
    expect(lease.ok && lease.lease.account).toBe('acc_00001');
  });

  it.skipIf(skip)('Prometheus text format', async () => {
    const text = toPrometheus(await status({ store, clock: new FakeClock(NOW), timeZone: 'UTC' }));
    expect(text).toContain('# TYPE acctctl_accounts gauge');
    expect(text).toContain('acctctl_accounts{state="banned"} 1');
    expect(text).toContain('acctctl_accounts_healthy_ratio 0.5');
    expect(text).toContain('acctctl_account_actions_today{account="acc_00000",action="join"} 2');
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+)$/);
    }
  });

  it.skipIf(skip)('the CLI writes metrics atomically, prints JSON, and --fail-under sets the exit code', async () => {
    await store.close();
    const metrics = join(t.dir, 'acctctl.prom');
    const r = await runCli(['--json', 'status', '--metrics-file', metrics, '--fail-under', '40'], { env });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { accounts: { total: number; healthyPct: number } };
    expect(json.accounts.total).toBe(4);
    expect(readFileSync(metrics, 'utf8')).toContain('acctctl_accounts_healthy ');
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
