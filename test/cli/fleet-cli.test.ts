import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';

describe.each(DIALECTS)(
  'lease, release, report-error, recover, reset-limits from the shell on $name',
  ({ skip, create }) => {
    let t: TestDb;
    let env: Record<string, string>;
    beforeEach(async () => {
      if (skip) return;
      t = await create();
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
      expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, nextAt: expect.any(Number) as number });
      const st = await runCli(['--json', 'status'], { env });
      const acc = (JSON.parse(st.stdout) as { accounts: { list: { leaseHolder: string }[] } }).accounts.list[0]!;
      expect(acc.leaseHolder).toBe('script');

      expect((await runCli(['release', token, '--used', 'invite=zero'], { env })).code).toBe(64);
      const rel = await runCli(['release', token, '--used', 'invite=1'], { env });
      expect(rel.code, rel.stderr).toBe(0);
      expect(rel.stdout).toContain('recorded invite=1');
      const st2 = JSON.parse((await runCli(['--json', 'status'], { env })).stdout) as {
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
  },
);
