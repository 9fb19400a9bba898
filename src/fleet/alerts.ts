import type { Store } from '../store/store.js';
import { count } from '../domain/plural.js';
import type { EventKind } from '../domain/events.js';
import { igAlertRows, reactiveBursts, telegramNeedingPerson } from '../store/alerts.js';
import { raiseAlert, resolveAlerts, type NewEvent } from '../store/events.js';
import { wayBack } from './waysBack.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The original system's session alerts (the Python auto-checker's), and accounts that need a person. */
export const ALERT_RULES = {
  /** Instagram session invalid and not refreshed for longer than this: critical. */
  staleAfterMs: DAY,
  /** A valid session older than this: warning (the proactive refresh is overdue). */
  oldAfterMs: 5 * DAY,
  /** This many reactive refreshes of one session within the window: warning. */
  reactiveBurst: { count: 3, windowMs: HOUR },
};

interface Candidate {
  key: string;
  event: NewEvent;
}

/** Open every candidate not open yet (one event each), close the family's others. */
async function sync(store: Store, prefix: string, candidates: Candidate[]): Promise<number> {
  return store.writeTx(async (tx) => {
    let raised = 0;
    for (const c of candidates) if ((await raiseAlert(tx, c.key, c.event)) !== null) raised++;
    await resolveAlerts(tx, prefix, new Set(candidates.map((c) => c.key)));
    return raised;
  });
}

/**
 * Evaluate the alert conditions and write one event per condition that began (not one per
 * run). Runs before every delivery (`notify`, the end of each batch). Returns events written.
 */
export async function scanAlerts(store: Store, now: number): Promise<number> {
  let raised = 0;
  const ig = await igAlertRows(store);
  const ev = (kind: EventKind, i: (typeof ig)[number], message: string, data: unknown = null): NewEvent => ({
    at: now,
    kind,
    subject_type: 'ig_account',
    subject_id: i.id,
    tenant_id: i.tenant_id,
    message: `${i.tenant}/${i.username}: ${message}`,
    data_json: data === null ? null : JSON.stringify(data),
  });

  const stale = ig.filter(
    (i) =>
      ['expired', 'failed', 'needs_manual'].includes(i.state) &&
      (i.session_created_at ?? i.created_at) <= now - ALERT_RULES.staleAfterMs,
  );
  raised += await sync(
    store,
    'ig_session_stale:',
    stale.map((i) => ({
      key: `ig_session_stale:${i.id}`,
      event: ev(
        'ig_session_stale',
        i,
        `session invalid (${i.state}) and not refreshed for over 24 h → run acctctl refresh-session --account ${i.username}, or solve it by hand`,
        { state: i.state, lastRefreshAt: i.session_created_at, lastError: i.last_error },
      ),
    })),
  );

  const old = ig.filter(
    (i) => i.state === 'valid' && i.session_created_at !== null && i.session_created_at <= now - ALERT_RULES.oldAfterMs,
  );
  raised += await sync(
    store,
    'ig_session_old:',
    old.map((i) => ({
      key: `ig_session_old:${i.id}`,
      event: ev(
        'ig_session_old',
        i,
        `session is ${count(Math.floor((now - i.session_created_at!) / DAY), 'day')} old → check that refresh-session runs from cron`,
        { sessionCreatedAt: i.session_created_at },
      ),
    })),
  );

  const needsIg = ig.filter((i) => i.state === 'needs_manual' || i.state === 'failed');
  raised += await sync(
    store,
    'needs_person:ig:',
    needsIg.map((i) => ({
      key: `needs_person:ig:${i.id}`,
      event: ev(
        i.state === 'failed' ? 'ig_failed' : 'ig_needs_manual',
        i,
        `needs a person (${i.state}: ${i.last_error ?? 'no detail'}) → solve it in a browser, then ig import the new sessionid or password`,
        { state: i.state, lastError: i.last_error },
      ),
    })),
  );

  const burst = await reactiveBursts(store, now - ALERT_RULES.reactiveBurst.windowMs, ALERT_RULES.reactiveBurst.count);
  const byId = new Map(ig.map((i) => [i.id, i]));
  raised += await sync(
    store,
    'ig_reactive_burst:',
    burst
      .filter((b) => byId.has(b.ig_account_id))
      .map((b) => ({
        key: `ig_reactive_burst:${b.ig_account_id}`,
        event: ev(
          'ig_reactive_burst',
          byId.get(b.ig_account_id)!,
          `${Number(b.n)} reactive refreshes within an hour → Instagram may be blocking this account; check it`,
          { reactiveRefreshes: Number(b.n), windowSeconds: ALERT_RULES.reactiveBurst.windowMs / 1000 },
        ),
      })),
  );

  const tg = await telegramNeedingPerson(store);
  raised += await sync(
    store,
    'needs_person:tg:',
    tg.map((a) => ({
      key: `needs_person:tg:${a.id}`,
      event: {
        at: now,
        kind: 'account_needs_person',
        subject_type: 'telegram_account',
        subject_id: a.id,
        tenant_id: a.tenant_id,
        // The way back `recover` prints: the command that actually brings it back.
        message: `${a.session_name}: ${a.state} (${a.state_reason ?? a.last_error ?? 'no detail'}) → ${wayBack({ account: a.session_name, state: a.state, phone: a.phone }) || 'check it'}`,
        data_json: JSON.stringify({ state: a.state, reason: a.state_reason }),
      },
    })),
  );
  return raised;
}

/** status --fail-under: below the threshold opens the alert (once), above closes it. */
export async function alertFleetHealth(
  store: Store,
  now: number,
  healthyPct: number,
  failUnder: number,
): Promise<boolean> {
  const below = healthyPct < failUnder;
  const raised = await sync(
    store,
    'fleet_unhealthy',
    below
      ? [
          {
            key: 'fleet_unhealthy',
            event: {
              at: now,
              kind: 'fleet_unhealthy',
              subject_type: 'fleet',
              subject_id: null,
              tenant_id: null,
              message: `healthy Telegram accounts ${healthyPct}% are below ${failUnder}% → run acctctl recover, see acctctl status`,
              data_json: JSON.stringify({ healthyPct, failUnder }),
            },
          },
        ]
      : [],
  );
  return raised > 0;
}
