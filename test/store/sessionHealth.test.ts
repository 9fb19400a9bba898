import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTenant } from '../../src/fleet/tenants.js';
import { FakeClock } from '../../src/domain/clock.js';
import { SessionRefresher } from '../../src/fleet/refresh.js';
import type { LoginOutcome } from '../../src/instagram/browser.js';
import { silentLogger } from '../../src/log/logger.js';
import { sessionHealth } from '../../src/store/sessionHealth.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';

const T0 = Date.parse('2026-11-01T09:00:00Z');
const DAY = 86_400_000;

describe.each(DIALECTS)('session-health figures on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);

  it.skipIf(dialect.skip)(
    'proactive/reactive refreshes and their success rate, check success rate, over 30 days',
    async () => {
      const clock = new FakeClock(T0);
      const box = boxFor(f.env);
      await addTenant({ store: f.store, clock }, { name: 'h' });
      const tid = (await f.store.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow()).id;
      const add = async (username: string) => {
        const id = (
          await f.store.db
            .insertInto('ig_accounts')
            .values({
              tenant_id: tid,
              username,
              password_enc: null,
              totp_secret_enc: null,
              sessionid_enc: null,
              cookies_enc: null,
              proxy_id: null,
              state: 'valid',
              session_created_at: null,
              last_verified_at: null,
              next_refresh_at: null,
              last_error: null,
              created_at: T0,
              updated_at: T0,
              rate_limited_until: null,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
        await f.store.db
          .updateTable('ig_accounts')
          .set({ password_enc: box.seal('pw-123456', { table: 'ig_accounts', column: 'password_enc', rowId: id }) })
          .where('id', '=', id)
          .execute();
        return id;
      };
      const busy = await add('busy_ig');
      await add('idle_ig');
      const outcomes: LoginOutcome[] = [];
      const refresher = new SessionRefresher({
        store: f.store,
        box,
        clock,
        log: silentLogger,
        login: () =>
          Promise.resolve(
            outcomes.shift() ?? {
              kind: 'ok',
              cookies: [],
              sessionid: 'sid-000000',
              verified: true,
              state: { cookies: [], origins: [] },
            },
          ),
        instagramUrl: 'http://127.0.0.1:9',
        chromiumPath: undefined,
        legacyProfileRoot: join(f.t.dir, 'profiles'),
      });
      // 40 days ago: one proactive login (outside the window: not counted).
      await refresher.refreshOne(busy);
      clock.advance(40 * DAY);
      // In the window: 2 proactive (1 ok), 2 reactive (both ok) → 3 of 4 ok.
      outcomes.push({ kind: 'error', message: 'timeout' });
      await refresher.refreshOne(busy);
      await refresher.refreshOne(busy);
      await refresher.reactive(busy);
      await refresher.reactive(busy);
      // Checks: 9 answered 200, 1 not.
      await f.store.db
        .insertInto('ig_session_log')
        .values(
          Array.from({ length: 10 }, (_, i) => ({
            ig_account_id: busy,
            what: 'check',
            at: clock.now(),
            ok: i < 9 ? 1 : 0,
          })),
        )
        .execute();
      const figures = await sessionHealth(f.store, clock.now());
      expect(figures).toEqual([
        {
          igAccountId: busy,
          tenant: 'h',
          username: 'busy_ig',
          proactiveRefreshes: 2,
          reactiveRefreshes: 2,
          refreshSuccessPct: 75,
          checkRequests: 10,
          checkSuccessPct: 90,
        },
        expect.objectContaining({
          username: 'idle_ig',
          proactiveRefreshes: 0,
          reactiveRefreshes: 0,
          refreshSuccessPct: null,
          checkSuccessPct: null,
        }),
      ]);
      // status --json and ig list --json carry the same figures (the CLI runs on the real clock:
      // everything above is older than 30 days by then, so shift it to now).
      const shift = Date.now() - clock.now();
      await f.store.db
        .updateTable('ig_session_log')
        .set((eb) => ({ at: eb('at', '+', shift) }))
        .execute();
      const st = await runCli(['status', '--json'], { env: f.env });
      expect(st.code, st.stderr).toBe(0);
      const report = JSON.parse(st.stdout) as { alerts: { sessionHealth: unknown[]; sinks: unknown[] } };
      expect(report.alerts.sessionHealth[0]).toEqual({
        tenant: 'h',
        username: 'busy_ig',
        proactiveRefreshes30d: 2,
        reactiveRefreshes30d: 2,
        refreshSuccessPct: 75,
        checkSuccessPct: 90,
      });
      expect(report.alerts.sinks).toEqual([]);
      const list = await runCli(['ig', 'list', '--json'], { env: f.env });
      const rows = (JSON.parse(list.stdout) as { items: { username: string; health: unknown }[] }).items;
      expect(rows.find((r) => r.username === 'busy_ig')!.health).toEqual({
        proactiveRefreshes30d: 2,
        reactiveRefreshes30d: 2,
        refreshSuccessPct: 75,
        checkSuccessPct: 90,
      });
      const human = await runCli(['status'], { env: f.env });
      expect(human.stdout).toMatch(/busy_ig.*2 proactive, 2 reactive \(75% ok\) · checks 90% ok/);
    },
  );
});
