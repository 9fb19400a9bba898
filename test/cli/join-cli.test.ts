import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { SandboxTelegram } from '../../src/sandbox/telegram.js';
import type { Store } from '../../src/store/store.js';
import { BIN, ROOT, spawnCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { addTargets, boxFor, runJoin } from '../support/joinHarness.js';

const GROUPS = Array.from({ length: 12 }, (_, i) => `@cli_group_${String(i).padStart(2, '0')}`);

describe.each(DIALECTS)('join as a built CLI on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let store: Store;
  let env: Record<string, string>;
  let sandboxPath: string;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    ({ store, env } = await fleetStore(t, 6, { sandbox: true }));
    await addTargets(store, GROUPS);
    sandboxPath = join(t.dir, 'sandbox.db');
    env = {
      ...env,
      ACCTCTL_TELEGRAM: 'sandbox',
      ACCTCTL_SANDBOX_STATE: sandboxPath,
      ACCTCTL_SANDBOX_LATENCY_MS: '150',
    };
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  async function membership(): Promise<Map<string, string[]>> {
    const sb = new SandboxTelegram({ clock: new FakeClock(), statePath: sandboxPath });
    const m = new Map(GROUPS.map((g) => [g, sb.membersOf(g)]));
    await sb.closeAll();
    return m;
  }

  it.skipIf(skip)(
    'two overlapping runs never join one target twice or use one account twice, and exit promptly',
    async () => {
      const [a, b] = await Promise.all([
        spawnCli(['--json', 'join', '--niche', 'n', '--batch', '6'], { env, cwd: t.dir }),
        spawnCli(['--json', 'join', '--niche', 'n', '--batch', '6'], { env, cwd: t.dir }),
      ]);
      // Both exited by themselves (spawnCli SIGKILLs a process that outlives its timeout).
      expect([a.signal, b.signal]).toEqual([null, null]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      type R = { results: { target: string; account: string | null; outcome: string }[] };
      const ra = (JSON.parse(a.stdout) as R).results.filter((r) => r.outcome === 'joined');
      const rb = (JSON.parse(b.stdout) as R).results.filter((r) => r.outcome === 'joined');
      const all = [...ra, ...rb];
      expect(all.length).toBe(6); // six accounts, one join each (the gap after a join)
      expect(new Set(all.map((r) => r.target)).size).toBe(all.length);
      expect(new Set(all.map((r) => r.account)).size).toBe(all.length);
      for (const [, members] of await membership()) expect(members.length).toBeLessThanOrEqual(1);
      const joined = await store.db.selectFrom('targets').select(['ref']).where('status', '=', 'joined').execute();
      expect(joined).toHaveLength(6);
      expect(await store.db.selectFrom('targets').select('id').where('lease_holder', 'is not', null).execute()).toEqual(
        [],
      );
    },
  );

  it.skipIf(skip)(
    'SIGKILL in the middle of a batch, then a rerun: no target lost, none joined twice, leases freed',
    async () => {
      const child = spawn(process.execPath, [BIN, '--log-level', 'info', 'join', '--niche', 'n', '--batch', '6'], {
        cwd: ROOT,
        env,
      });
      let err = '';
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if ((err.match(/INFO\s+joined /g) ?? []).length >= 2 && !child.killed) child.kill('SIGKILL');
        });
        child.on('close', () => resolve());
      });
      expect(child.signalCode).toBe('SIGKILL');
      // The killed run still holds the targets it claimed and did not finish (and maybe an account).
      const leasedNow = await store.db
        .selectFrom('telegram_accounts')
        .select('id')
        .where('lease_holder', 'is not', null)
        .execute();
      const claimedNow = await store.db
        .selectFrom('targets')
        .select('id')
        .where('lease_holder', 'is not', null)
        .execute();
      expect(claimedNow.length).toBeGreaterThan(0);

      // Later (simulated: past every lease's TTL): recover, then a rerun with the same Telegram world.
      const clock = new FakeClock(Date.now() + 30 * 60_000);
      const rec = await new AccountManager({ store, clock }).recover();
      expect(rec.leasesFreed.length).toBe(leasedNow.length);
      expect(rec.targetsRequeued).toBe(claimedNow.length);
      const sandbox = new SandboxTelegram({ clock, statePath: sandboxPath });
      for (let tick = 0; tick < 6; tick++) {
        await runJoin(store, clock, sandbox, boxFor(env), { batch: 6 });
        clock.advance(15 * 60_000);
      }
      await sandbox.closeAll();

      const rows = await store.db
        .selectFrom('targets as t')
        .leftJoin('telegram_accounts as a', 'a.id', 't.account_id')
        .select(['t.ref', 't.status', 'a.session_name as account', 't.lease_holder'])
        .execute();
      expect(rows).toHaveLength(GROUPS.length);
      const members = await membership();
      for (const r of rows) {
        expect(r.status).toBe('joined'); // none lost
        expect(members.get(r.ref)).toEqual([r.account]); // none joined twice, and bound to the one that is in
        expect(r.lease_holder).toBeNull();
      }
      expect(
        await store.db.selectFrom('telegram_accounts').select('id').where('lease_holder', 'is not', null).execute(),
      ).toEqual([]);
    },
  );
});
