import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';

describe.each(DIALECTS)(
  'lease, release, report-error, recover, reset-limits from the shell on $name',
  ({ skip, createMigrated }) => {
    let t: TestDb;
    let env: Record<string, string>;
    beforeEach(async () => {
      if (skip) return;
      t = await createMigrated();
      const f = await fleetStore(t, 1);
      env = f.env;
      await f.store.close();
    });
    afterEach(async () => {
      if (!skip) await t.cleanup();
    });

    it.skipIf(skip)('a shell script can use the fleet', async () => {
      const l = await runCli(['lease', '--action', 'invite', '--channel', 'c1', '--ttl', '2m', '--holder', 'script'], {
        env,
      });
      expect(l.code, l.stderr).toBe(0);
      const token = l.stdout.trim();
      expect(token).toMatch(/^\d+\.\d+$/);
      const none = await runCli(['--json', 'lease', '--action', 'invite'], { env });
      expect(none.code).toBe(75);
      expect(JSON.parse(none.stdout)).toMatchObject({
        ok: false,
        lease: null,
        nextAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
      });
      const st = await runCli(['--json', 'status', '--accounts'], { env });
      const acc = (JSON.parse(st.stdout) as { accounts: { list: { leaseHolder: string }[] } }).accounts.list[0]!;
      expect(acc.leaseHolder).toBe('script');

      expect((await runCli(['release', token, '--used', 'invite=zero'], { env })).code).toBe(64);
      const rel = await runCli(['release', token, '--used', 'invite=1'], { env });
      expect(rel.code, rel.stderr).toBe(0);
      expect(rel.stdout).toContain('recorded invite=1');
      const st2 = JSON.parse((await runCli(['--json', 'status', '--accounts'], { env })).stdout) as {
        accounts: { list: { today: { invite: { used: number; limit: number; blockedBy: string | null } } }[] };
      };
      expect(st2.accounts.list[0]!.today.invite).toMatchObject({ used: 1, limit: 30, blockedBy: 'gap' });

      // The invite gap (2 min) blocks an invite, not a message.
      const m = await runCli(['lease', '--action', 'message'], { env });
      expect(m.code).toBe(0);
      const e = await runCli(['report-error', m.stdout.trim(), 'PEER_FLOOD'], { env });
      expect(e.code, e.stderr).toBe(0);
      expect(e.stdout).toMatch(/PEER_FLOOD → blocked until/);
      const rec = await runCli(['--json', 'recover'], { env });
      expect(JSON.parse(rec.stdout)).toMatchObject({ reactivated: [], leasesFreed: [] });
      const r1 = await runCli(['--json', 'reset-limits'], { env });
      const r2 = await runCli(['--json', 'reset-limits'], { env });
      expect(JSON.parse(r1.stdout)).toMatchObject({ accountsReset: 1 });
      expect(JSON.parse(r2.stdout)).toMatchObject({ accountsReset: 0, alreadyReset: 1 });
      expect((await runCli(['lease', '--action', 'dance'], { env })).code).toBe(64);
      expect((await runCli(['release', 'not-a-token'], { env })).code).toBe(64);
    });

    it.skipIf(skip)('limit overrides from a file: bad documents are rejected whole with every problem', async () => {
      const { writeFileSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { openStore } = await import('../../src/store/store.js');
      const { snapshot } = await import('../support/snapshot.js');
      const bad = join(t.dir, 'bad-limits.json');
      writeFileSync(bad, JSON.stringify({ invite: { per_day: -3, burst: { count: 0 } }, dance: {} }));
      const s1 = await openStore(t.target);
      const before = await snapshot(s1);
      await s1.close();
      const r = await runCli(['tenants', 'limits', 'acme', bad], { env });
      expect(r.code).toBe(65);
      expect(r.stderr).toContain('invite.per_day: a whole number 0–10000');
      expect(r.stderr).toContain('invite.burst.count: a whole number 1–10000');
      expect(r.stderr).toContain('invite.burst.pause_seconds: required');
      expect(r.stderr).toContain('dance: unknown action');
      const s2 = await openStore(t.target);
      expect(await snapshot(s2)).toBe(before);
      await s2.close();

      const good = join(t.dir, 'limits.json');
      writeFileSync(good, JSON.stringify({ invite: { per_day: 1 } }));
      expect((await runCli(['accounts', 'limits', 'acc_00000', good], { env })).code).toBe(0);
      const l1 = await runCli(['lease', '--action', 'invite'], { env });
      expect((await runCli(['release', l1.stdout.trim(), '--used', 'invite=1'], { env })).code).toBe(0);
      const st = JSON.parse((await runCli(['--json', 'status', '--accounts'], { env })).stdout) as {
        accounts: { list: { today: { invite: { limit: number; blockedBy: string } } }[] };
      };
      expect(st.accounts.list[0]!.today.invite).toMatchObject({ limit: 1, blockedBy: 'per_day' });
      expect((await runCli(['accounts', 'limits', 'acc_00000', '--clear'], { env })).code).toBe(0);
      expect((await runCli(['accounts', 'limits', 'nobody', good], { env })).code).toBe(65);
    });
  },
);
