import { sql } from 'kysely';
import type { Store } from './store.js';

export const SESSION_HEALTH_WINDOW_MS = 30 * 86_400_000;

/** One line of the session-health log: a login (`proactive` / `reactive`) or a `check` request, and whether it worked. */
export async function logSessionAttempt(
  store: Store,
  e: { igAccountId: number; what: 'proactive' | 'reactive' | 'check'; at: number; ok: boolean },
): Promise<void> {
  await store.db
    .insertInto('ig_session_log')
    .values({ ig_account_id: e.igAccountId, what: e.what, at: e.at, ok: e.ok ? 1 : 0 })
    .execute();
}

/** The original Instagram auto-checker's session-health figures for one Instagram session, over the last 30 days. */
export interface SessionHealth {
  igAccountId: number;
  tenant: string;
  username: string;
  proactiveRefreshes: number;
  reactiveRefreshes: number;
  /** Share of logins (both kinds) that gave a verified session, in %; null when none. */
  refreshSuccessPct: number | null;
  checkRequests: number;
  /** Share of authenticated check requests answered 200, in %; null when none. */
  checkSuccessPct: number | null;
}

const pct = (ok: number, n: number) => (n === 0 ? null : Math.round((ok / n) * 1000) / 10);

/** One query: every Instagram session with its figures (zero when it has no history). */
export async function sessionHealth(store: Store, now: number): Promise<SessionHealth[]> {
  const rows = await store.db
    .selectFrom('ig_accounts as i')
    .innerJoin('tenants as t', 't.id', 'i.tenant_id')
    .leftJoin(
      (eb) =>
        eb
          .selectFrom('ig_session_log')
          .select([
            'ig_account_id',
            sql<number>`sum(case when what = 'proactive' then 1 else 0 end)`.as('pro'),
            sql<number>`sum(case when what = 'reactive' then 1 else 0 end)`.as('re'),
            sql<number>`sum(case when what <> 'check' and ok = 1 then 1 else 0 end)`.as('re_ok'),
            sql<number>`sum(case when what = 'check' then 1 else 0 end)`.as('chk'),
            sql<number>`sum(case when what = 'check' and ok = 1 then 1 else 0 end)`.as('chk_ok'),
          ])
          .where('at', '>', now - SESSION_HEALTH_WINDOW_MS)
          .groupBy('ig_account_id')
          .as('h'),
      (j) => j.onRef('h.ig_account_id', '=', 'i.id'),
    )
    .select(['i.id', 't.name as tenant', 'i.username', 'h.pro', 'h.re', 'h.re_ok', 'h.chk', 'h.chk_ok'])
    .orderBy('t.name')
    .orderBy('i.username')
    .execute();
  return rows.map((r) => {
    const pro = Number(r.pro ?? 0);
    const re = Number(r.re ?? 0);
    const chk = Number(r.chk ?? 0);
    return {
      igAccountId: r.id,
      tenant: r.tenant,
      username: r.username,
      proactiveRefreshes: pro,
      reactiveRefreshes: re,
      refreshSuccessPct: pct(Number(r.re_ok ?? 0), pro + re),
      checkRequests: chk,
      checkSuccessPct: pct(Number(r.chk_ok ?? 0), chk),
    };
  });
}

export interface HealthFigures {
  proactiveRefreshes30d: number;
  reactiveRefreshes30d: number;
  refreshSuccessPct: number | null;
  checkSuccessPct: number | null;
}

/** The session-health figures as `ig list --json` and `status --json` show them. */
export function healthFigures(h: SessionHealth | undefined): HealthFigures {
  return {
    proactiveRefreshes30d: h?.proactiveRefreshes ?? 0,
    reactiveRefreshes30d: h?.reactiveRefreshes ?? 0,
    refreshSuccessPct: h?.refreshSuccessPct ?? null,
    checkSuccessPct: h?.checkSuccessPct ?? null,
  };
}

export function renderHealth(h: HealthFigures): string {
  const p = (v: number | null) => (v === null ? '–' : `${v}%`);
  return (
    `${h.proactiveRefreshes30d} proactive, ${h.reactiveRefreshes30d} reactive (${p(h.refreshSuccessPct)} ok)` +
    ` · checks ${p(h.checkSuccessPct)} ok`
  );
}
