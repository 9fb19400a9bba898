import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeInstagram, type FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import type { Store } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { writeJson } from '../support/fixtures.js';
import { fleetStore } from '../support/fleet.js';
import { recordingHttpProxy } from '../support/httpProxy.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Proxy = Awaited<ReturnType<typeof recordingHttpProxy>>;
const USERS = Array.from({ length: 8 }, (_, i) => `route_s${i}`);
const WATCHED = Array.from({ length: 8 }, (_, i) => `watched_${i}`);
/** Each loopback proxy connects out from its own address, so the fake sees which one a request used. */
const ADDR = ['127.0.0.11', '127.0.0.12', '127.0.0.13'];

/**
 * Issue 20 §2 "done when": 8 Instagram accounts on tenant proxies, each seen by Instagram from one
 * source address across check runs, proxy imports and a forced removal — never from this host.
 */
describe.each(DIALECTS)('one source address per Instagram account, CLI, on $name', ({ skip, createMigrated }) => {
  let ig: FakeInstagram;
  const proxies: Proxy[] = [];
  let t: TestDb;
  let store: Store;
  let env: Record<string, string>;
  beforeAll(async () => {
    ig = await startFakeInstagram({
      users: Object.fromEntries(USERS.map((u, i) => [u, { password: 'pw-123456', pk: String(7000 + i) }])),
      profiles: Object.fromEntries(WATCHED.map((w, i) => [w, { id: String(800 + i), followers: 1 }])),
    });
    for (const localAddress of ADDR) proxies.push(await recordingHttpProxy({ localAddress }));
  });
  afterAll(async () => {
    await ig.close();
    for (const p of proxies) await p.close();
  });
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    ({ store, env } = await fleetStore(t, 0));
    env = {
      ...env,
      ACCTCTL_INSTAGRAM_URL: ig.url,
      ACCTCTL_CHROMIUM_PATH: '/nonexistent',
      // One profile lookup per session per run: all eight sessions take part in every run.
      ACCTCTL_IG_RATE: '1/660',
    };
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const cli = async (args: string[], code = 0) => {
    const r = await runCli(args, { env });
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(code);
    return r;
  };
  const importProxy = async (i: number) => {
    const f = join(t.dir, `proxy${i}.txt`);
    writeFileSync(f, `http://127.0.0.1:${proxies[i]!.port}\n`);
    await cli(['proxies', 'import', f, '--tenant', 't']);
  };
  /** The next run: every watch due again and the rate windows over (simulated time). */
  const nextRun = async () => {
    await store.db.updateTable('watches').set({ next_check_at: null }).execute();
    await store.db.deleteFrom('ig_requests').execute();
    const from = ig.sources.length;
    await cli(['--json', 'check']);
    return ig.sources.slice(from).filter((s) => s.path === '/api/v1/users/web_profile_info/');
  };

  it.skipIf(skip)(
    'across runs, proxy imports and a forced removal each account keeps one address; never direct',
    async () => {
      await cli(['tenants', 'add', 't', '--verify-mode', 'instagram']);
      await importProxy(0);
      await importProxy(1);
      await cli([
        'ig',
        'import',
        writeJson(
          t.dir,
          'ig.json',
          USERS.map((username) => ({
            tenant: 't',
            username,
            password: 'pw-123456',
            sessionid: ig.grantSession(username),
          })),
        ),
      ]);
      await cli([
        'watch',
        'import',
        writeJson(
          t.dir,
          'w.json',
          WATCHED.map((username) => ({ tenant: 't', username, kind: 'exists' })),
        ),
      ]);
      const seen = new Map<string, Set<string>>();
      const note = (rows: { user: string | null; from: string }[]) => {
        for (const r of rows) {
          expect(r.user).not.toBeNull();
          if (!seen.has(r.user!)) seen.set(r.user!, new Set());
          seen.get(r.user!)!.add(r.from);
        }
      };
      const first = await nextRun();
      expect(new Set(first.map((r) => r.user))).toEqual(new Set(USERS));
      note(first);
      const firstFrom = new Map(first.map((r) => [r.user!, r.from]));
      // Both proxies carry some of the eight (pinned among the two at first use).
      expect(new Set(firstFrom.values())).toEqual(new Set([ADDR[0], ADDR[1]]));

      // ig list shows each account's route: the proxy it was pinned to.
      const listed = JSON.parse((await cli(['--json', 'ig', 'list'])).stdout) as {
        items: { username: string; proxy: string }[];
      };
      for (const it of listed.items) {
        const i = ADDR.indexOf(firstFrom.get(it.username)!);
        expect(it.proxy).toBe(`http://127.0.0.1:${proxies[i]!.port}`);
      }

      // A new tenant proxy, and another run: nobody moves.
      await importProxy(2);
      note(await nextRun());
      note(await nextRun());

      // The proxy some of them use cannot be removed without --force; it names them.
      const onFirst = USERS.filter((u) => firstFrom.get(u) === ADDR[0]).sort();
      const { items: rows } = JSON.parse((await cli(['--json', 'proxies', 'list'])).stdout) as {
        items: { id: number; proxy: string }[];
      };
      const p0 = rows.find((r) => r.proxy === `http://127.0.0.1:${proxies[0]!.port}`)!.id;
      const refused = await cli(['proxies', 'remove', String(p0)], 65);
      for (const u of onFirst) expect(refused.stderr).toContain(`t/${u}`);
      await cli(['proxies', 'remove', String(p0), '--force']);

      // Those on the removed proxy send nothing (never direct, never moved to proxy 2 or 3); the rest go on.
      for (let run = 0; run < 2; run++) {
        const after = await nextRun();
        expect(after.filter((r) => onFirst.includes(r.user!))).toEqual([]);
        expect(new Set(after.map((r) => r.user))).toEqual(new Set(USERS.filter((u) => !onFirst.includes(u))));
        note(after);
      }
      const parked = JSON.parse((await cli(['--json', 'ig', 'list', '--state', 'needs_manual'])).stdout) as {
        items: { username: string; proxy: string; lastError: string }[];
      };
      expect(parked.items.map((i) => i.username).sort()).toEqual(onFirst);
      for (const p of parked.items) {
        expect(p.proxy).toBe('none: its proxy was removed');
        expect(p.lastError).toMatch(/^its proxy was removed/);
      }

      // Each account, every run: one source address, a proxy's, never this host's own.
      for (const u of USERS) {
        expect([...seen.get(u)!], u).toEqual([firstFrom.get(u)]);
        expect(seen.get(u)!.has('127.0.0.1')).toBe(false);
      }
      expect(ig.sources.filter((s) => s.from === '127.0.0.1' && s.path.startsWith('/api/'))).toEqual([]);
    },
  );
});
