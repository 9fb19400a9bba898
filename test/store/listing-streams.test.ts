import { describe, expect, it } from 'vitest';
import { eventsListing } from '../../src/commands/events.js';
import { followersCli } from '../../src/commands/followers.js';
import { writeListing } from '../../src/commands/support/listing.js';
import type { Ctx } from '../../src/commands/support/context.js';
import { loadConfig } from '../../src/config/config.js';
import { FakeClock } from '../../src/domain/clock.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { silentLogger } from '../../src/log/logger.js';
import { insertEvent, listEvents } from '../../src/store/events.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';

/**
 * Issue 21 §7: `events` and `watch followers` stream — a page at a time on an index, written as
 * each page comes — so any --limit or snapshot size runs in the memory of one page. Shown here
 * with tiny pages: the output equals the one-query listing, and the first rows are written before
 * the last page is read. (Memory itself is measured by `npm run bench:events`, not asserted.)
 */
const T0 = Date.parse('2026-11-01T09:00:00Z');

describe.each(DIALECTS)('streamed listings on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);

  it.skipIf(dialect.skip)(
    'events: pages on (at, id), equal to the one-query listing, written as they come',
    async () => {
      await addTenant({ store: f.store, clock: new FakeClock(T0) }, { name: 'acme' });
      await f.store.writeTx(async (tx) => {
        // 30 events, several sharing one `at` (the keyset must go on by id within a time).
        for (let i = 0; i < 30; i++) {
          await insertEvent(tx, {
            at: T0 + Math.floor(i / 4) * 1000,
            kind: i % 3 === 0 ? 'ig_failed' : 'account_state',
            subject_type: 'fleet',
            subject_id: null,
            tenant_id: null,
            message: `event ${i}`,
            data_json: JSON.stringify({ i }),
          });
        }
      });
      for (const filter of [{ limit: 23 }, { limit: 1000, kinds: ['ig_failed'] }, { limit: 5, sinceMs: T0 + 3000 }]) {
        const whole = await listEvents(f.store, filter);
        const { limit, ...matching } = filter;
        const listing = await eventsListing(f.store, matching, limit, 4);
        // total counts every match (issue 25: "showing N of M"); the rows stop at the limit.
        expect(listing.total).toBe((await listEvents(f.store, matching)).length);
        const log: string[] = [];
        const out: string[] = [];
        const wrapped = {
          ...listing,
          rows: (async function* () {
            for await (const page of listing.rows) {
              expect(page.length).toBeLessThanOrEqual(4);
              log.push('page');
              yield page;
            }
          })(),
        };
        await writeListing(
          {
            write: (t) => {
              out.push(t);
              log.push('write');
            },
            note: () => {},
            // Backpressure: the listing waits for the output to take each page before the next.
            drain: () => {
              log.push('drain');
              return Promise.resolve();
            },
          },
          { limit: filter.limit, format: 'json' },
          wrapped,
        );
        const doc = JSON.parse(out.join('')) as { items: unknown[]; total: number; more: number };
        expect(doc.items).toEqual(JSON.parse(JSON.stringify(whole)));
        expect(doc.total).toBe(listing.total);
        expect(doc.more).toBe(listing.total - whole.length);
        // Pages of 4, never the rows in one go …
        const pagesRead = Math.ceil(whole.length / 4);
        expect(log.filter((l) => l === 'page').length).toBe(pagesRead);
        // … each written before the next page is read.
        const firstPage = log.indexOf('page');
        if (pagesRead > 1) expect(log.indexOf('write', firstPage)).toBeLessThan(log.indexOf('page', firstPage + 1));
        expect(log.filter((l) => l === 'drain').length).toBe(pagesRead);
        if (pagesRead > 1) expect(log.indexOf('drain', firstPage)).toBeLessThan(log.indexOf('page', firstPage + 1));
      }
    },
  );

  it.skipIf(dialect.skip)(
    'watch followers: csv, json and the human form stream by (username, id), nameless users last, in pages',
    async () => {
      const clock = new FakeClock(T0);
      await addTenant({ store: f.store, clock }, { name: 'acme' });
      const tenantId = (await f.store.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow()).id;
      const watchId = (
        await f.store.db
          .insertInto('watches')
          .values({
            tenant_id: tenantId,
            username: 'star',
            kind: 'followers',
            last_result: null,
            checked_at: null,
            next_check_at: null,
            changed_at: null,
            created_at: T0,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      const jobId = (
        await f.store.db
          .insertInto('check_jobs')
          .values({
            watch_id: watchId,
            kind: 'followers',
            status: 'completed',
            cursor: null,
            cursor_expires_at: null,
            expected_total: null,
            ig_account_id: null,
            lease_holder: null,
            lease_token: null,
            lease_expires_at: null,
            last_error: null,
            started_at: T0,
            updated_at: T0,
            completed_at: T0,
            target_user_id: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      // 13 users: two share a username (ordered by id), three have none (last, by id).
      const users = [
        ['900', 'zed'],
        ['100', 'amy'],
        ['205', 'bob'],
        ['204', 'bob'],
        ['300', null],
        ['050', null],
        ['700', 'carl'],
        ['701', 'dora'],
        ['702', 'eve'],
        ['703', 'fay'],
        ['704', 'gus'],
        ['705', 'hal'],
        ['999', null],
      ] as const;
      await f.store.db
        .insertInto('check_job_items')
        .values(
          users.map(([id, username]) => ({
            job_id: jobId,
            ig_user_id: id,
            username,
            full_name: username ? `Full ${username}` : null,
            is_private: Number(id) % 2,
          })),
        )
        .execute();
      const expected = ['100', '204', '205', '700', '701', '702', '703', '704', '705', '900', '050', '300', '999'];

      const run = async (json: boolean, csv: boolean) => {
        const config = {
          ...loadConfig({ db: f.env.DATABASE_URL }, { ACCTCTL_KEY_FILE: f.env.ACCTCTL_KEY_FILE }),
          json,
        };
        const chunks: string[] = [];
        const ctx = {
          config,
          log: silentLogger,
          clock,
          emit: () => {
            throw new Error('followers streams through out(), it does not build one document');
          },
          out: (t: string) => chunks.push(t),
          setExitCode: () => {},
        } as unknown as Ctx;
        await followersCli(ctx, 'star', { tenant: 'acme', csv }, 3);
        return chunks;
      };
      const csv = await run(false, true);
      // Header, then one chunk per page of 3.
      expect(csv.length).toBe(1 + Math.ceil(users.length / 3));
      const lines = csv.join('').trimEnd().split('\n');
      expect(lines[0]).toBe('username,id,full_name,is_private');
      expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(expected);
      expect(lines[2]).toBe('bob,204,Full bob,false');
      expect(lines[11]).toBe(',050,,false');

      const json = JSON.parse((await run(true, false)).join('')) as {
        schemaVersion: number;
        items: { username: string | null; id: string; fullName: string | null; isPrivate: boolean | null }[];
        total: number;
        more: number;
      };
      expect(json.items.map((u) => u.id)).toEqual(expected);
      expect(json.items[0]).toEqual({ username: 'amy', id: '100', fullName: 'Full amy', isPrivate: false });
      expect(json).toMatchObject({ schemaVersion: 1, total: 13, more: 0 });

      const human = (await run(false, false)).join('');
      // Human text shows times in the table format (UTC to the second, README "Tables and times").
      const fetched = new Date(T0)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d{3}Z$/, 'Z');
      expect(human.split('\n')[0]).toBe(`@star followers: 13 (fetched ${fetched})`);
      expect(human).toContain('amy');
    },
  );
});
