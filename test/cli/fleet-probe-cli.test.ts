import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { recordingHttpProxy } from '../support/httpProxy.js';
import { closedPort, countingServer } from '../support/socks.js';

describe.each(DIALECTS)(
  'recover --probe --all and proxies check from the shell on $name',
  ({ skip, createMigrated }) => {
    let t: TestDb;
    let env: Record<string, string>;
    beforeEach(async () => {
      if (skip) return;
      t = await createMigrated();
      const f = await fleetStore(t, 3, { sandbox: true });
      env = f.env;
      await f.store.close();
    });
    afterEach(async () => {
      if (!skip) await t.cleanup();
    });

    it.skipIf(skip)('recover --probe --all: flags checked, first run schedules, due accounts are probed', async () => {
      for (const [args, said] of [
        [['recover', '--all'], /--all goes with --probe/],
        [['recover', '--probe', '--all', '--account', 'acc_00000'], /--all or --account NAME, not both/],
        [['recover', '--probe', '--all', '--batch', '0'], /--batch "0" → give a whole number of accounts 1–10000/],
        [['recover', '--probe', '--batch', '5'], /--batch goes with --probe --all/],
      ] as const) {
        const r = await runCli([...args], { env });
        expect(r.code, r.stderr).toBe(64);
        expect(r.stderr).toMatch(said);
      }
      const first = await runCli(['recover', '--probe', '--all'], { env });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/scheduled 3 accounts at their slot of the day/);
      expect(first.stdout).toMatch(/next due at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/);
      // Their slots have come (set back by an hour): the next run probes them.
      const store = await openStore(t.target);
      await store.db
        .updateTable('telegram_accounts')
        .set({ probe_due_at: Date.now() - 3_600_000 })
        .execute();
      await store.close();
      const r = await runCli(['--json', 'recover', '--probe', '--all', '--batch', '2'], { env });
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as {
        probed: { account: string; verdict: string }[];
        fleet: { scheduled: number; due: number; skipped: unknown[]; nextDueAt: string | null };
        simulated: boolean;
      };
      expect(j.probed.map((p) => p.account)).toHaveLength(2);
      expect(j.fleet).toMatchObject({ scheduled: 0, due: 1, skipped: [] });
      expect(j.simulated).toBe(true);
      const again = await runCli(['--json', 'recover', '--probe', '--all'], { env });
      const j2 = JSON.parse(again.stdout) as { probed: { account: string }[]; fleet: { due: number } };
      expect(j2.probed).toHaveLength(1);
      expect(j2.fleet.due).toBe(0);
      // Probed today: not again until tomorrow's slot.
      const third = JSON.parse((await runCli(['--json', 'recover', '--probe', '--all'], { env })).stdout) as {
        probed: unknown[];
      };
      expect(third.probed).toEqual([]);
    });

    it.skipIf(skip)('proxies check records ok/failed with reason and latency; proxies list shows them', async () => {
      const ig = await countingServer();
      const proxy = await recordingHttpProxy();
      const dead = await closedPort();
      try {
        const file = join(t.dir, 'proxies.txt');
        writeFileSync(file, `http://127.0.0.1:${proxy.port}\nhttp://127.0.0.1:${dead}\n`);
        expect((await runCli(['proxies', 'import', file], { env })).code).toBe(0);
        const before = JSON.parse((await runCli(['--json', 'proxies', 'list'], { env })).stdout) as {
          items: { check: string | null }[];
        };
        expect(before.items.map((p) => p.check)).toEqual([null, null]);
        const withIg = { ...env, ACCTCTL_INSTAGRAM_URL: `http://127.0.0.1:${ig.port}` };
        const r = await runCli(['proxies', 'check'], { env: withIg });
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/1 proxy ok, 1 failed \(dead: their accounts are skipped, never sent direct/);
        expect(r.stdout).toContain(`instagram 127.0.0.1:${ig.port}`);
        expect(proxy.seen).toEqual([`CONNECT 127.0.0.1:${ig.port}`]);
        const list = await runCli(['--json', 'proxies', 'list'], { env });
        const items = (
          JSON.parse(list.stdout) as {
            items: {
              proxy: string;
              healthy: boolean;
              check: string;
              checkReason: string | null;
              latencyMs: number | null;
              checkTarget: string;
              checkedAt: string;
            }[];
          }
        ).items;
        expect(items[0]).toMatchObject({ healthy: true, check: 'ok', checkReason: null });
        expect(items[0]!.latencyMs).toEqual(expect.any(Number));
        expect(items[0]!.checkedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(items[1]).toMatchObject({ healthy: false, check: 'failed', latencyMs: null });
        expect(items[1]!.checkReason).toMatch(/ECONNREFUSED/);
        const table = await runCli(['proxies', 'list'], { env });
        expect(table.stdout).toMatch(/failed \d{4}-\d\d-\d\d [\d:]+Z: .*ECONNREFUSED/);
        expect((await runCli(['proxies', 'check', '--tenant', 'nobody'], { env })).code).toBe(65);
      } finally {
        await proxy.close();
        await ig.close();
      }
    });
  },
);
