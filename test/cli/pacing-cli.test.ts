import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { makeAccounts, writeJson } from '../support/fixtures.js';

interface StatusJson {
  accounts: {
    list: {
      name: string;
      pacing: { timeZone: string; activeHours: string | null; joinBudget: number | null; rampDay: number | null };
    }[];
  };
}

describe.each(DIALECTS)('pacing from the shell on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let env: Record<string, string>;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 0);
    env = { ...f.env, ACCTCTL_PACING: 'on' };
    await f.store.close();
  });
  afterEach(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('lease outside active hours exits 75 and says when the account’s day starts', async () => {
    const file = writeJson(t.dir, 'accounts.json', makeAccounts(1, { tenant: 'acme' }));
    expect((await runCli(['accounts', 'import', file, '--create-tenant'], { env })).code).toBe(0);
    // A one-hour window starting two hours from now (UTC): the wall clock is outside it.
    const h = (new Date().getUTCHours() + 2) % 24;
    const hh = (x: number) => `${String(x).padStart(2, '0')}:00`;
    const window = `${hh(h)}-${hh((h + 1) % 24 || 24)}`;
    const r = await runCli(['lease', '--action', 'message'], { env: { ...env, ACCTCTL_ACTIVE_HOURS: window } });
    expect(r.code).toBe(75);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`outside active hours: acc_00000's day starts at ${hh(h)} UTC`);
    // The same lease with the window off (00:00-24:00) is granted.
    const ok = await runCli(['lease', '--action', 'message'], { env: { ...env, ACCTCTL_ACTIVE_HOURS: '00:00-24:00' } });
    expect(ok.code, ok.stderr).toBe(0);
    // A malformed window is a configuration error naming the setting.
    const bad = await runCli(['lease', '--action', 'message'], { env: { ...env, ACCTCTL_ACTIVE_HOURS: '9-23' } });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('ACCTCTL_ACTIVE_HOURS');
  });

  it.skipIf(skip)('time zones, the new flag, and what list, status, limits and join --dry-run show', async () => {
    const on = { ...env, ACCTCTL_ACTIVE_HOURS: '00:00-24:00' };
    const rows = makeAccounts(3, { tenant: 'acme' });
    const file = writeJson(t.dir, 'accounts.json', [{ ...rows[0], timezone: 'America/New_York', new: true }, rows[1]]);
    const imp = await runCli(['accounts', 'import', file, '--create-tenant'], { env: on });
    expect(imp.code, imp.stderr).toBe(0);
    const badTz = writeJson(t.dir, 'bad.json', [{ ...rows[2], timezone: 'Mars/Olympus' }]);
    const rej = await runCli(['accounts', 'import', badTz], { env: on });
    expect(rej.code).toBe(65);
    expect(rej.stderr).toContain('timezone');
    const again = writeJson(t.dir, 'more.json', [rows[2]]);
    expect((await runCli(['accounts', 'import', again, '--new'], { env: on })).code).toBe(0);
    const set = await runCli(['tenants', 'set', 'acme', '--timezone', 'Asia/Tokyo'], { env: on });
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('time zone Asia/Tokyo');
    expect((await runCli(['tenants', 'set', 'acme', '--timezone', 'Nowhere/Land'], { env: on })).code).toBe(64);

    const list = JSON.parse((await runCli(['--json', 'accounts', 'list'], { env: on })).stdout) as {
      items: { name: string; timeZone: string }[];
    };
    expect(list.items.map((r) => [r.name, r.timeZone])).toEqual([
      ['acc_00000', 'America/New_York'],
      ['acc_00001', 'Asia/Tokyo'],
      ['acc_00002', 'Asia/Tokyo'],
    ]);
    expect((await runCli(['accounts', 'list'], { env: on })).stdout).toContain('America/New_York');

    const st = JSON.parse((await runCli(['--json', 'status', '--accounts'], { env: on })).stdout) as StatusJson;
    const byName = new Map(st.accounts.list.map((a) => [a.name, a.pacing]));
    expect(byName.get('acc_00000')).toMatchObject({ timeZone: 'America/New_York', joinBudget: 3, rampDay: 0 });
    expect(byName.get('acc_00002')).toMatchObject({ timeZone: 'Asia/Tokyo', joinBudget: 3, rampDay: 0 });
    expect(byName.get('acc_00001')!.rampDay).toBeNull();
    expect(byName.get('acc_00001')!.joinBudget).toBeGreaterThanOrEqual(14);
    const text = (await runCli(['status', '--accounts'], { env: on })).stdout;
    expect(text).toContain('budget 3 (warm-up day 1)');

    const lim = await runCli(['accounts', 'limits', 'acc_00000'], {
      env: { ...env, ACCTCTL_ACTIVE_HOURS: '08:30-22:00' },
    });
    expect(lim.code, lim.stderr).toBe(0);
    expect(lim.stdout).toContain('time zone America/New_York; active hours 08:30-22:00');
    const limitsFile = writeJson(t.dir, 'limits.json', { active_hours: '18:00-02:00' });
    expect((await runCli(['accounts', 'limits', 'acc_00000', limitsFile], { env: on })).code).toBe(0);
    expect((await runCli(['accounts', 'limits', 'acc_00000'], { env: on })).stdout).toContain(
      'active hours 18:00-02:00',
    );
    const badLimits = writeJson(t.dir, 'bad-limits.json', { active_hours: '25:00-02:00' });
    expect((await runCli(['accounts', 'limits', 'acc_00000', badLimits], { env: on })).code).toBe(65);

    const dry = await runCli(['--json', 'join', '--niche', 'x', '--dry-run'], { env: on });
    expect(dry.code, dry.stderr).toBe(0);
    const d = JSON.parse(dry.stdout) as { accounts: { account: string; budget: number | null; timeZone: string }[] };
    expect(d.accounts.map((a) => [a.account, a.timeZone])).toEqual([
      ['acc_00000', 'America/New_York'],
      ['acc_00001', 'Asia/Tokyo'],
      ['acc_00002', 'Asia/Tokyo'],
    ]);
    expect(d.accounts[2]!.budget).toBe(3);
    expect((await runCli(['join', '--niche', 'x', '--dry-run'], { env: on })).stdout).toContain('joins today / budget');
  });
});
