import { spawn } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { BIN, ROOT, runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';

const GROUPS = 2_000;
const LOG_ROWS = 200_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DIALECTS)('accounts remove --force killed with SIGKILL on $name', (dialect) => {
  const f = useFleetStore(dialect, 2);

  /** What the removal changes, summed up: the old state or the new one, never a mix. */
  const state = async () => {
    const n = async (q: ReturnType<typeof sql<{ n: number }>>) => Number((await q.execute(f.store.db)).rows[0]!.n);
    return {
      account: await n(sql`select count(*) as n from telegram_accounts where session_name = 'acc_00000'`),
      actionLog: await n(sql`select count(*) as n from action_log`),
      bound: await n(sql`select count(*) as n from targets where account_id is not null and status = 'joined'`),
      queued: await n(sql`select count(*) as n from targets where account_id is null and status = 'new'`),
      remembered: await n(sql`select count(*) as n from removed_subjects`),
    };
  };
  const OLD = { account: 1, actionLog: LOG_ROWS, bound: GROUPS, queued: 0, remembered: 0 };
  const NEW = { account: 0, actionLog: 0, bound: 0, queued: GROUPS, remembered: 1 };

  it.skipIf(dialect.skip)(
    'killed inside its transaction it leaves the old state; run again it leaves the new one',
    async () => {
      const fleet = new AccountManager({ store: f.store, clock: new FakeClock(Date.now()) });
      const l = await fleet.lease({ action: 'invite', holder: 'h', ttlMs: 3_600_000 });
      if (!l.ok) throw new Error(l.reason);
      expect(l.lease.account).toBe('acc_00000');
      const id = l.lease.accountId;
      // Much to change, so the transaction takes a while: bound groups and a long action log.
      const series = f.store.caps.name === 'postgres' ? 'generate_series(1, $n) as s(i)' : 'r';
      const rec =
        f.store.caps.name === 'postgres'
          ? ''
          : 'with recursive r(i) as (select 1 union all select i + 1 from r where i < $n) ';
      await sql
        .raw(
          `${rec}insert into targets (ref, kind, value, status, account_id, attempts, created_at, updated_at)
           select '@g' || i, 'username', 'g' || i, 'joined', ${id}, 0, 0, 0 from ${series}`.replaceAll(
            '$n',
            String(GROUPS),
          ),
        )
        .execute(f.store.db);
      await sql
        .raw(
          `${rec}insert into action_log (account_id, action, at, ok) select ${id}, 'invite', i, 1 from ${series}`.replaceAll(
            '$n',
            String(LOG_ROWS),
          ),
        )
        .execute(f.store.db);
      expect(await state()).toEqual(OLD);

      const child = spawn(process.execPath, [BIN, 'accounts', 'remove', 'acc_00000', '--force'], {
        cwd: ROOT,
        env: f.env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let childErr = '';
      child.stderr!.on('data', (d: Buffer) => (childErr += d.toString()));
      const failed = () => `the removal ended before it was killed: ${childErr}`;
      const exited = new Promise((r) => child.on('close', r));
      if (f.store.caps.name === 'postgres') {
        // Hold the table the removal writes last: the child blocks inside its transaction, after
        // it changed the targets; kill it there.
        const admin = new pg.Client({ connectionString: f.t.url });
        await admin.connect();
        await admin.query('begin');
        await admin.query('lock table removed_subjects in access exclusive mode');
        let waiting = 0;
        for (let i = 0; i < 400 && waiting === 0; i++) {
          await sleep(50);
          // Inside a transaction pg_stat_activity is a snapshot: take a fresh one each time.
          await admin.query('select pg_stat_clear_snapshot()');
          const r = await admin.query(
            `select count(*)::int as n from pg_stat_activity
             where datname = current_database() and application_name = 'acctctl' and wait_event_type = 'Lock'`,
          );
          waiting = (r.rows[0] as { n: number }).n;
        }
        expect(waiting, failed()).toBe(1);
        child.kill('SIGKILL');
        await exited;
        await admin.query('rollback');
        await admin.end();
      } else {
        // SQLite: the child holds the write lock from the start of its transaction to the commit.
        // Kill it once it has held the lock a while (the migration check at start is brief).
        const probe = new BetterSqlite3(f.t.target.kind === 'sqlite' ? f.t.target.path : '', { timeout: 0 });
        const busy = () => {
          try {
            probe.exec('BEGIN IMMEDIATE');
            probe.exec('ROLLBACK');
            return false;
          } catch {
            return true;
          }
        };
        let held = 0;
        for (let i = 0; i < 20_000 && held < 3; i++) {
          held = busy() ? held + 1 : 0;
          await sleep(1);
        }
        child.kill('SIGKILL');
        await exited;
        probe.close();
        expect(held, failed()).toBe(3);
      }
      expect(await state()).toEqual(OLD);

      const again = await runCli(['accounts', 'remove', 'acc_00000', '--force'], { env: f.env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/ended the lease of h: its token no longer works/);
      expect(await state()).toEqual(NEW);
    },
    120_000,
  );

  it.skipIf(dialect.skip)('without --force it refuses, names what uses the account, and changes nothing', async () => {
    const fleet = new AccountManager({ store: f.store, clock: new FakeClock(Date.now()) });
    const l = await fleet.lease({ action: 'join', holder: 'joiner', ttlMs: 3_600_000 });
    if (!l.ok) throw new Error(l.reason);
    const r = await runCli(['accounts', 'remove', l.lease.account], { env: f.env });
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/in use: leased by joiner for join until .*nothing was removed → .*--force/);
    const j = await runCli(['--json', 'accounts', 'remove', 'acc_00001'], { env: f.env });
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({
      name: 'acc_00001',
      change: 'remove',
      leaseEnded: null,
      targetsRequeued: [],
    });
  });
});
