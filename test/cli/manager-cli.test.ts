import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { snapshot } from '../support/snapshot.js';

/** The Account Manager's calls from the shell (issue 26 item 1): the built CLI on both dialects. */
describe.each(DIALECTS)('the account manager’s calls from the shell on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let env: Record<string, string>;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 2);
    env = f.env;
    await f.store.close();
  });
  afterEach(async () => {
    if (!skip) await t.cleanup();
  });
  const dbSnapshot = async (): Promise<string> => {
    const s = await openStore(t.target, { schema: 'none' });
    try {
      return await snapshot(s);
    } finally {
      await s.close();
    }
  };

  it.skipIf(skip)('lease --account [--only], parsing, declared and unknown actions', async () => {
    const limits = join(t.dir, 'limits.json');
    writeFileSync(limits, JSON.stringify({ actions: { scrape: { per_day: 5 } } }));
    expect((await runCli(['tenants', 'limits', 'acme', limits], { env })).code).toBe(0);
    // The limits in effect list the declared action with its own limits (– where none applies).
    const shown = await runCli(['accounts', 'limits', 'acc_00000'], { env });
    expect(shown.stdout).toMatch(/scrape \(declared\)\s+5\s+–/);
    const a = await runCli(['--json', 'lease', '--action', 'parsing', '--account', 'acc_00001'], { env });
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toMatchObject({ ok: true, lease: { account: 'acc_00001', action: 'parsing' } });
    const only = await runCli(['lease', '--action', 'scrape', '--account', 'acc_00001', '--only'], { env });
    expect(only.code).toBe(75);
    expect(only.stderr).toMatch(/acc_00001 is leased by cli@\S+ until \d{4}-/);
    const other = await runCli(['--json', 'lease', '--action', 'scrape', '--account', 'acc_00001'], { env });
    expect(JSON.parse(other.stdout)).toMatchObject({ ok: true, lease: { account: 'acc_00000', action: 'scrape' } });
    const unknown = await runCli(['lease', '--action', 'scrap'], { env });
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('join, invite, message, contact, parsing, scrape');
    expect((await runCli(['lease', '--action', 'message', '--only'], { env })).code).toBe(64);
  });

  it.skipIf(skip)(
    'limits check takes nothing; record counts against the limits; release names channels and outcome',
    async () => {
      const limits = join(t.dir, 'limits.json');
      writeFileSync(limits, JSON.stringify({ invite: { per_day: 1, gap_seconds: 0, burst: null } }));
      expect((await runCli(['tenants', 'limits', 'acme', limits], { env })).code).toBe(0);
      const before = await dbSnapshot();
      const yes = await runCli(['--json', 'limits', 'check', '--action', 'invite', '--channel', '@chan_a'], { env });
      expect(yes.code, yes.stderr).toBe(0);
      expect(JSON.parse(yes.stdout)).toMatchObject({ ok: true, account: 'acc_00000', allowance: 1, nextAt: null });
      expect(await dbSnapshot()).toBe(before);

      const rec = await runCli(['--json', 'record', 'acc_00000', 'invite', '--channel', 't.me/chan_a'], { env });
      expect(rec.code, rec.stderr).toBe(0);
      expect(JSON.parse(rec.stdout)).toMatchObject({
        account: 'acc_00000',
        action: 'invite',
        channel: '@chan_a',
        ok: true,
      });
      // Its one invite of the day is used: a lease of it over the limit is refused, and says so.
      const over = await runCli(['lease', '--action', 'invite', '--account', 'acc_00000', '--only'], { env });
      expect(over.code).toBe(75);
      expect(over.stderr).toContain('acc_00000 is at its per_day limit for invite');
      const check = await runCli(['limits', 'check', '--action', 'invite'], { env });
      expect(check.code).toBe(0);
      expect(check.stdout).toContain('would get acc_00001');

      const l = await runCli(['lease', '--action', 'invite'], { env });
      const token = l.stdout.trim();
      const ambiguous = await runCli(
        ['release', token, '--used', 'invite=1', '--channel', '@chan_a', '--channel', '@chan_b'],
        { env },
      );
      expect(ambiguous.code).toBe(64);
      expect((await runCli(['release', token, '--success', '--failed'], { env })).code).toBe(64);
      const rel = await runCli(
        ['--json', 'release', token, '--used', 'invite:@chan_b=1', '--channel', '@chan_a', '--failed'],
        { env },
      );
      expect(rel.code, rel.stderr).toBe(0);
      expect(JSON.parse(rel.stdout)).toMatchObject({
        account: 'acc_00001',
        recorded: { invite: 1 },
        channels: ['@chan_a', '@chan_b'],
        success: false,
      });
      const ev = await runCli(['--json', 'events', '--kind', 'lease_released'], { env });
      expect(JSON.parse(ev.stdout)).toMatchObject({
        items: [{ kind: 'lease_released', data: { channels: ['@chan_a', '@chan_b'], success: false } }],
      });
      // Every account did its invite of the day: not now, and when.
      const none = await runCli(['--json', 'limits', 'check', '--action', 'invite'], { env });
      expect(none.code).toBe(75);
      expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, account: null, nextAt: expect.any(String) as string });
    },
  );
});
