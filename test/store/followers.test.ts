import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { importWatches } from '../../src/fleet/checkImports.js';
import { addTenant } from '../../src/fleet/tenants.js';
import type { RetentionConfig } from '../../src/config/config.js';
import { FakeClock } from '../../src/domain/clock.js';
import { Checker } from '../../src/fleet/checkRun.js';
import { startFakeInstagram, type FakeFriend, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { silentLogger } from '../../src/log/logger.js';
import type { FollowerView } from '../../src/store/followers.js';
import { pruneRetention } from '../../src/store/retention.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { addIgSession } from '../support/igSession.js';
import { boxFor } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');
const DAY = 86_400_000;

const friend = (i: number): FakeFriend => ({
  pk: `77${String(i).padStart(5, '0')}`,
  username: `fan_${i}`,
  full_name: i % 3 === 0 ? `Fan, "Number" ${i}` : `Fan ${i}`,
  is_private: i % 2 === 0,
});
const view = (f: FakeFriend): FollowerView => ({
  username: f.username,
  id: f.pk,
  full_name: f.full_name ?? null,
  is_private: f.is_private ?? null,
});
const byId = (a: FollowerView, b: FollowerView) => a.id.localeCompare(b.id);

describe.each(DIALECTS)('watch followers and retention on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);
  const profile = { id: '601', friends: { followers: [] as FakeFriend[] } };
  let ig: FakeInstagram;
  let clock: FakeClock;
  beforeAll(async () => {
    ig = await startFakeInstagram({ users: { s1: { password: 'x', pk: '9001' } }, profiles: { star: profile } });
  });
  afterAll(async () => ig.close());
  beforeEach(() => {
    clock = new FakeClock(T0);
  });
  const check = () =>
    new Checker({
      store: f.store,
      box: boxFor(f.env),
      clock,
      log: silentLogger,
      instagramUrl: ig.url,
      providers: new Map(),
      rate: { requests: 1000, windowMs: 660_000 },
      concurrency: 4,
    }).run();
  const cli = async (...args: string[]) => {
    const r = await runCli(['watch', 'followers', 'star', '--tenant', 'w', ...args], { env: f.env });
    return r;
  };
  const json = async (...args: string[]) => {
    const r = await cli('--json', ...args);
    expect(r.code, r.stderr).toBe(0);
    // The JSON rows are camelCase (README "JSON output"); compared as the store's FollowerView.
    const doc = JSON.parse(r.stdout) as {
      items: { username: string | null; id: string; fullName: string | null; isPrivate: boolean | null }[];
      total: number;
      more: number;
    };
    expect(doc.total).toBe(doc.items.length);
    return doc.items
      .map((u): FollowerView => ({ username: u.username, id: u.id, full_name: u.fullName, is_private: u.isPrivate }))
      .sort(byId);
  };

  it.skipIf(dialect.skip)('--limit N: N users, the total and how many more (table, --json, --csv)', async () => {
    await addTenant({ store: f.store, clock }, { name: 'w', verifyMode: 'instagram' });
    await importWatches({ store: f.store, clock }, [{ tenant: 'w', username: 'star', kind: 'followers' }]);
    await addIgSession(f.store, boxFor(f.env), ig, { tenant: 'w', username: 's1' });
    profile.friends.followers = Array.from({ length: 5 }, (_, i) => friend(i));
    expect((await check())[0]!.jobs).toMatchObject({ completed: 1 });
    const j = await cli('--json', '--limit', '2');
    expect(j.code, j.stderr).toBe(0);
    const doc = JSON.parse(j.stdout) as { items: unknown[]; total: number; more: number };
    expect(doc.items).toHaveLength(2);
    expect(doc).toMatchObject({ total: 5, more: 3 });
    expect(j.stderr).toContain('showing 2 of 5');
    const csv = await cli('--csv', '--limit', '2');
    expect(csv.stdout.trim().split('\n')).toHaveLength(3);
    const table = await cli('--limit', '2');
    expect(table.stdout).toContain('showing 2 of 5: 3 more');
    expect((await cli('--limit', '0')).code).toBe(64);
    // Without --limit: every user (an export).
    expect((JSON.parse((await cli('--json')).stdout) as { items: unknown[] }).items).toHaveLength(5);
  });

  it.skipIf(dialect.skip)(
    'the latest snapshot equals the server’s set; --new/--lost are exact after the followers change',
    async () => {
      await addTenant({ store: f.store, clock }, { name: 'w', verifyMode: 'instagram' });
      await importWatches({ store: f.store, clock }, [{ tenant: 'w', username: 'star', kind: 'followers' }]);
      await addIgSession(f.store, boxFor(f.env), ig, { tenant: 'w', username: 's1' });
      const none = await cli('--json');
      expect(none.code).toBe(69);
      expect(none.stderr).toMatch(/no completed fetch yet → run acctctl check/);

      profile.friends.followers = Array.from({ length: 40 }, (_, i) => friend(i));
      expect((await check())[0]!.jobs).toMatchObject({ completed: 1 });
      expect(await json()).toEqual(profile.friends.followers.map(view).sort(byId));
      const onlyOne = await cli('--new');
      expect(onlyOne.code).toBe(69);
      expect(onlyOne.stderr).toMatch(/only one completed fetch so far/);

      // 7 leave (0..6), 5 arrive (100..104).
      profile.friends.followers = [
        ...Array.from({ length: 33 }, (_, i) => friend(i + 7)),
        ...Array.from({ length: 5 }, (_, i) => friend(100 + i)),
      ];
      clock.advance(DAY + 1);
      expect((await check())[0]!.jobs).toMatchObject({ completed: 1 });
      expect(await json()).toEqual(profile.friends.followers.map(view).sort(byId));
      expect(await json('--new')).toEqual(Array.from({ length: 5 }, (_, i) => view(friend(100 + i))).sort(byId));
      expect(await json('--lost')).toEqual(Array.from({ length: 7 }, (_, i) => view(friend(i))).sort(byId));
      // Every authenticated request counted for the session's check success rate.
      const log = await f.store.db.selectFrom('ig_session_log').select(['what', 'ok']).execute();
      expect(log.length).toBeGreaterThan(4);
      expect(log.every((l) => l.what === 'check' && l.ok === 1)).toBe(true);
      // The diff event says the same.
      const diff = await f.store.db
        .selectFrom('events')
        .select('message')
        .where('kind', '=', 'followers_diff')
        .executeTakeFirstOrThrow();
      expect(diff.message).toBe('@star followers: +5 new, -7 lost (38 now)');
      // CSV: a header, quoting where needed.
      const csv = await cli('--lost', '--csv');
      expect(csv.code, csv.stderr).toBe(0);
      const lines = csv.stdout.trim().split('\n');
      expect(lines[0]).toBe('username,id,full_name,is_private');
      expect(lines).toContain('fan_0,7700000,"Fan, ""Number"" 0",true');
      expect(lines).toContain('fan_1,7700001,Fan 1,false');
      expect(lines).toHaveLength(8);
      // Human output, and usage errors.
      expect((await cli('--new')).stdout).toMatch(/@star followers new since the previous fetch: 5/);
      expect((await cli('--new', '--lost')).code).toBe(64);
      const unknown = await runCli(['watch', 'followers', 'nobody', '--tenant', 'w'], { env: f.env });
      expect(unknown.code).toBe(64);
      expect(unknown.stderr).toMatch(/no followers watch for @nobody → add it with acctctl watch import/);
    },
  );

  it.skipIf(dialect.skip)(
    'reset-limits retention: old events, delivered deliveries, request logs and snapshots go; the latest snapshot stays',
    async () => {
      await addTenant({ store: f.store, clock }, { name: 'w', verifyMode: 'instagram' });
      await importWatches({ store: f.store, clock }, [
        { tenant: 'w', username: 'star', kind: 'followers' },
        { tenant: 'w', username: 'lonely', kind: 'followers' },
      ]);
      const watches = await f.store.db.selectFrom('watches').select(['id', 'username']).orderBy('id').execute();
      const snapshot = async (watchId: number, completedAt: number, n: number) => {
        const j = await f.store.db
          .insertInto('check_jobs')
          .values({
            watch_id: watchId,
            kind: 'followers',
            status: 'completed',
            cursor: null,
            cursor_expires_at: null,
            expected_total: n,
            ig_account_id: null,
            lease_holder: null,
            lease_token: null,
            lease_expires_at: null,
            last_error: null,
            started_at: completedAt,
            updated_at: completedAt,
            completed_at: completedAt,
            target_user_id: '601',
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        await f.store.db
          .insertInto('check_job_items')
          .values(
            Array.from({ length: n }, (_, i) => ({
              job_id: j.id,
              ig_user_id: String(i),
              username: `u${i}`,
              full_name: null,
              is_private: null,
            })),
          )
          .execute();
        return j.id;
      };
      const now = T0 + 100 * DAY;
      const [star, lonely] = [watches[0]!.id, watches[1]!.id];
      const s1 = await snapshot(star, now - 90 * DAY, 3);
      const s2 = await snapshot(star, now - 60 * DAY, 4);
      const s3 = await snapshot(star, now - 40 * DAY, 5); // the latest: kept although old
      const l1 = await snapshot(lonely, now - 50 * DAY, 2); // the only one: kept
      const ev = (at: number) => ({
        at,
        kind: 'ig_refresh_failed',
        subject_type: 'fleet',
        subject_id: null,
        tenant_id: null,
        message: 'x',
        data_json: null,
      });
      const [oldEv, midEv, newEv] = await Promise.all(
        [now - 100 * DAY, now - 20 * DAY, now - DAY].map(
          async (at) =>
            (await f.store.db.insertInto('events').values(ev(at)).returning('id').executeTakeFirstOrThrow()).id,
        ),
      );
      const delivery = (event_id: number, sink: string, status: string, at: number) => ({
        event_id,
        sink,
        status,
        attempts: 1,
        next_attempt_at: at,
        lease_holder: null,
        lease_expires_at: null,
        last_error: null,
        created_at: at,
        delivered_at: status === 'delivered' ? at : null,
      });
      await f.store.db
        .insertInto('deliveries')
        .values([
          delivery(oldEv!, 'webhook', 'delivered', now - 100 * DAY), // goes with its event
          delivery(midEv!, 'webhook', 'delivered', now - 20 * DAY), // delivered long ago: pruned
          delivery(midEv!, 'telegram', 'pending', now - 20 * DAY), // still pending: kept
          delivery(newEv!, 'webhook', 'delivered', now - DAY), // recent: kept
        ])
        .execute();
      const ig = await addIgSession(f.store, boxFor(f.env), ig_(), { tenant: 'w', username: 's1' });
      await f.store.db
        .insertInto('ig_requests')
        .values([
          { ig_account_id: ig.id, kind: 'profile', at: now - 40 * DAY },
          { ig_account_id: ig.id, kind: 'profile', at: now - DAY },
        ])
        .execute();
      const retention: RetentionConfig = { eventsDays: 90, deliveriesDays: 14, igRequestsDays: 31, snapshotsDays: 30 };
      const r = await pruneRetention(f.store, now, retention);
      expect(r).toEqual({ eventsPruned: 1, deliveriesPruned: 1, igRequestsPruned: 1, snapshotsPruned: 2 });
      const jobs = await f.store.db.selectFrom('check_jobs').select('id').orderBy('id').execute();
      expect(jobs.map((j) => j.id)).toEqual([s3, l1]);
      const items = await f.store.db
        .selectFrom('check_job_items')
        .select(['job_id'])
        .where('job_id', 'in', [s1, s2])
        .execute();
      expect(items).toEqual([]);
      const left = await f.store.db.selectFrom('deliveries').select(['event_id', 'sink']).orderBy('id').execute();
      expect(left).toEqual([
        { event_id: midEv, sink: 'telegram' },
        { event_id: newEv, sink: 'webhook' },
      ]);
      // Again: nothing more to prune, and the latest snapshots are still there.
      expect(await pruneRetention(f.store, now, retention)).toEqual({
        eventsPruned: 0,
        deliveriesPruned: 0,
        igRequestsPruned: 0,
        snapshotsPruned: 0,
      });
      // reset-limits runs it (defaults), saying what it pruned.
      const cliRun = await runCli(['reset-limits', '--json'], { env: f.env });
      expect(cliRun.code, cliRun.stderr).toBe(0);
      expect(JSON.parse(cliRun.stdout)).toHaveProperty('retention.snapshotsPruned');
    },
  );
  const ig_ = () => ig;
});
