import type { NewEvent } from './events.js';
import type { Store } from './store.js';

/** `bot poll`'s place in the Bot API's update stream: the next update_id to ask for (settings row). */
const OFFSET = 'bot.offset';

export async function botOffset(store: Store): Promise<number> {
  const r = await store.db.selectFrom('settings').select('value').where('name', '=', OFFSET).executeTakeFirst();
  const n = Number(r?.value ?? 0);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/** Moves forward only (an older run finishing late never moves it back). */
export async function advanceBotOffset(store: Store, next: number): Promise<void> {
  await store.writeTx(async (tx) => {
    const r = await tx.selectFrom('settings').select('value').where('name', '=', OFFSET).executeTakeFirst();
    if (r && Number(r.value) >= next) return;
    await tx
      .insertInto('settings')
      .values({ name: OFFSET, value: String(next) })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value: String(next) }))
      .execute();
  });
}

export async function botEvent(store: Store, e: NewEvent): Promise<void> {
  await store.db.insertInto('events').values(e).execute();
}

export type RefreshRequest =
  | { outcome: 'marked'; tenant: string; username: string }
  | { outcome: 'needs_person'; tenant: string; username: string; state: string }
  | { outcome: 'disabled'; tenant: string; username: string }
  | { outcome: 'none' }
  | { outcome: 'ambiguous'; tenants: string[] };

/**
 * `/refresh USER [TENANT]`: the session is due now (next_refresh_at = now), so the next
 * `refresh-session` run logs it in. One that needs a person or is disabled is left as it is
 * (refresh-session would not log it in).
 */
export async function markIgRefreshDue(
  store: Store,
  who: { username: string; tenant?: string | undefined },
  now: number,
  requestedBy: string,
): Promise<RefreshRequest> {
  return store.writeTx(async (tx) => {
    let q = tx
      .selectFrom('ig_accounts as i')
      .innerJoin('tenants as t', 't.id', 'i.tenant_id')
      .select(['i.id', 'i.tenant_id', 't.name as tenant', 'i.username', 'i.state', 'i.disabled_at'])
      .where('i.username', '=', who.username.replace(/^@/, '').toLowerCase());
    if (who.tenant !== undefined) q = q.where('t.name', '=', who.tenant);
    const rows = await q.orderBy('t.name').execute();
    if (rows.length === 0) return { outcome: 'none' };
    if (rows.length > 1) return { outcome: 'ambiguous', tenants: rows.map((r) => r.tenant) };
    const a = rows[0]!;
    if (a.disabled_at !== null) return { outcome: 'disabled', tenant: a.tenant, username: a.username };
    if (a.state === 'needs_manual' || a.state === 'failed') {
      return { outcome: 'needs_person', tenant: a.tenant, username: a.username, state: a.state };
    }
    await tx.updateTable('ig_accounts').set({ next_refresh_at: now, updated_at: now }).where('id', '=', a.id).execute();
    await tx
      .insertInto('events')
      .values({
        at: now,
        kind: 'ig_refresh_requested',
        subject_type: 'ig_account',
        subject_id: a.id,
        tenant_id: a.tenant_id,
        message: `${a.tenant}/${a.username}: refresh requested by ${requestedBy}; the next refresh-session logs it in`,
        data_json: null,
      })
      .execute();
    return { outcome: 'marked', tenant: a.tenant, username: a.username };
  });
}
