import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importWatches } from '../../src/fleet/checkImports.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { FakeClock } from '../../src/domain/clock.js';
import { Checker } from '../../src/fleet/checkRun.js';
import { fakeFriends, startFakeInstagram, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { silentLogger } from '../../src/log/logger.js';
import type { Store } from '../../src/store/store.js';
import { BIN, ROOT, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';
import { addIgSession } from '../support/igSession.js';
import { soakCount } from '../support/soak.js';

/**
 * The kill round's size: 5,000 followers, killed after 120 pages, under `npm run test:soak`; in
 * `npm test` 1,200 followers killed after 30 pages (of 100: still well inside the fetch).
 */
const FOLLOWERS = soakCount(1200, 5000);
const KILL_AFTER_PAGES = soakCount(30, 120);
const BIG = { big_account: { id: '777', followers: FOLLOWERS } };

describe.each(DIALECTS)(
  `a ${FOLLOWERS.toLocaleString('en')}-follower fetch killed with SIGKILL on $name`,
  ({ skip, createMigrated }) => {
    let ig: FakeInstagram;
    let t: TestDb;
    let store: Store;
    let env: Record<string, string>;
    beforeAll(async () => {
      ig = await startFakeInstagram({
        users: { s1: { password: 'x', pk: '1' }, s2: { password: 'x', pk: '2' } },
        profiles: BIG,
        latencyMs: 2,
      });
    });
    afterAll(async () => ig.close());
    beforeEach(async () => {
      if (skip) return;
      t = await createMigrated();
      ({ store, env } = await fleetStore(t, 0));
    });
    afterEach(async () => {
      if (skip) return;
      await store.close();
      await t.cleanup();
    });

    it.skipIf(skip)(
      'a rerun (with a different session) ends with exactly the server’s set: nothing lost, no duplicates',
      async () => {
        const clock = new FakeClock(Date.now());
        const box = boxFor(env);
        await addTenant({ store, clock }, { name: 'big', verifyMode: 'instagram' });
        await importWatches({ store, clock }, [{ tenant: 'big', username: 'big_account', kind: 'followers' }]);
        const ids: number[] = [];
        for (const u of ['s1', 's2'])
          ids.push(
            (
              await addIgSession(store, box, ig, {
                tenant: 'big',
                username: u,
                state: u === 's1' ? 'valid' : 'expired',
              })
            ).id,
          );
        const childEnv = { ...env, ACCTCTL_INSTAGRAM_URL: ig.url, ACCTCTL_CHROMIUM_PATH: '/nonexistent' };
        const child = spawn(process.execPath, [BIN, '--log-level', 'debug', 'check'], { cwd: ROOT, env: childEnv });
        let err = '';
        await new Promise<void>((resolve) => {
          child.stderr.on('data', (d: Buffer) => {
            err += d.toString();
            if ((err.match(/page saved/g) ?? []).length >= KILL_AFTER_PAGES && !child.killed) child.kill('SIGKILL');
          });
          child.on('close', () => resolve());
        });
        expect(child.signalCode).toBe('SIGKILL');
        const mid = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirstOrThrow();
        expect(mid.status).toBe('in_progress');
        expect(mid.fetched).toBeGreaterThanOrEqual(KILL_AFTER_PAGES * 12 - 12);
        expect(mid.fetched).toBeLessThan(FOLLOWERS);

        // The first session is gone; the rerun (after the dead run's job lease) uses the other one.
        await store.db.updateTable('ig_accounts').set({ state: 'expired' }).where('id', '=', ids[0]!).execute();
        await store.db.updateTable('ig_accounts').set({ state: 'valid' }).where('id', '=', ids[1]!).execute();
        const later = new FakeClock(Date.now() + 3 * 60_000);
        const res = await new Checker({
          store,
          box,
          clock: later,
          log: silentLogger,
          instagramUrl: ig.url,
          providers: new Map(),
          rate: { requests: 1000, windowMs: 660_000 },
          concurrency: 4,
        }).run();
        expect(res[0]!.jobs.completed).toBe(1);
        const items = await store.db
          .selectFrom('check_job_items')
          .select('ig_user_id')
          .where('job_id', '=', mid.id)
          .execute();
        const got = items.map((i) => i.ig_user_id);
        expect(new Set(got).size).toBe(got.length);
        expect(got.sort()).toEqual(
          fakeFriends(BIG.big_account, 'followers')
            .map((f) => f.pk)
            .sort(),
        );
        const done = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirstOrThrow();
        expect(done).toMatchObject({
          status: 'completed',
          fetched: FOLLOWERS,
          expected_total: FOLLOWERS,
          ig_account_id: ids[1],
        });
        // And the CLI reports a finished watch.
        const list = await runCli(['--json', 'watch', 'list'], { env });
        expect(JSON.parse(list.stdout)).toMatchObject({
          items: [{ username: 'big_account', kind: 'followers', lastResult: 'found' }],
          total: 1,
          more: 0,
        });
      },
    );
  },
);
