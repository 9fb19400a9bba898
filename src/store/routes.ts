import type { Kysely } from 'kysely';
import { DataError } from '../errors.js';
import { accountEvent, insertEvent } from './events.js';
import { proxyLabel, PROXY_REMOVED_REASON } from './proxies.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** Where a person sends an account from now on: a stored proxy (by id), or explicitly direct. */
export type RouteChoice = { proxyId: number } | { direct: true };

export interface RouteChange {
  account: string;
  from: string;
  to: string;
  /** It had been parked because its proxy was removed, and may work again. */
  unparked: boolean;
}

async function chosenProxy(tx: Kysely<Database>, id: number, tenantId: number | null, forBrowser: boolean) {
  const p = await tx
    .selectFrom('proxies')
    .select(['id', 'tenant_id', 'scheme', 'host', 'port', 'username', 'password_enc'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!p) throw new DataError(`no proxy with id ${id}; nothing was changed → see \`acctctl proxies list\` for the ids`);
  if (p.tenant_id !== null && p.tenant_id !== tenantId)
    throw new DataError(
      `proxy ${id} belongs to another tenant; nothing was changed → import one for this account's tenant (proxies import --tenant)`,
    );
  if (forBrowser && !(p.scheme === 'http' || (p.scheme === 'socks5' && p.password_enc === null)))
    throw new DataError(
      `proxy ${id} (${p.scheme}) cannot carry Instagram's browser; nothing was changed → choose an http:// proxy, or SOCKS5 without a password`,
    );
  return { id: p.id, label: proxyLabel(p)! };
}

/**
 * `accounts proxy NAME PROXY_ID | --direct`: a person gives a Telegram account its route. The way
 * back for an account parked because its proxy was removed (it stays disabled until `accounts
 * enable`); an event records the change.
 */
export async function setTelegramRoute(
  store: Store,
  name: string,
  choice: RouteChoice,
  now: number,
): Promise<RouteChange> {
  return store.writeTx(async (tx) => {
    const a = await tx
      .selectFrom('telegram_accounts as a')
      .leftJoin('proxies as p', 'p.id', 'a.proxy_id')
      .select(['a.id', 'a.tenant_id', 'a.proxy_removed_at', 'p.scheme', 'p.host', 'p.port', 'p.username'])
      .where('a.session_name', '=', name)
      .executeTakeFirst();
    if (!a) throw new DataError(`no account named "${name}" → see \`acctctl accounts list\``);
    const from = a.proxy_removed_at !== null ? `none (${PROXY_REMOVED_REASON})` : (proxyLabel(a) ?? 'direct');
    const p = 'proxyId' in choice ? await chosenProxy(tx, choice.proxyId, a.tenant_id, false) : null;
    const to = p ? p.label : 'direct';
    await tx
      .updateTable('telegram_accounts')
      .set({
        proxy_id: p ? p.id : null,
        proxy_removed_at: null,
        ...(a.proxy_removed_at !== null ? { state_reason: p ? 'given a proxy' : 'set direct' } : {}),
        updated_at: now,
      })
      .where('id', '=', a.id)
      .execute();
    await accountEvent(tx, now, a.id, a.tenant_id, 'account_proxy', `${name}: route ${from} → ${to} (by a person)`, {
      from,
      to,
      proxyId: p?.id ?? null,
      direct: p === null,
    });
    return { account: name, from, to, unparked: a.proxy_removed_at !== null };
  });
}

/**
 * `ig proxy USER --tenant T PROXY_ID | --direct`: a person moves an Instagram account to another
 * route (its own proxy from now on), or says it goes direct. One parked because its proxy was
 * removed is due for a login through the new route; an event records the move.
 */
export async function setIgRoute(
  store: Store,
  who: { username: string; tenant: string },
  choice: RouteChoice,
  now: number,
): Promise<RouteChange> {
  return store.writeTx(async (tx) => {
    const username = who.username.replace(/^@/, '').toLowerCase();
    const a = await tx
      .selectFrom('ig_accounts as i')
      .innerJoin('tenants as t', 't.id', 'i.tenant_id')
      .leftJoin('proxies as p', (j) =>
        j.on((eb) =>
          eb.or([
            eb('p.id', '=', eb.ref('i.proxy_id')),
            eb.and([eb('i.proxy_id', 'is', null), eb('p.id', '=', eb.ref('i.pinned_proxy_id'))]),
          ]),
        ),
      )
      .select([
        'i.id',
        'i.tenant_id',
        'i.direct',
        'i.proxy_removed_at',
        'p.scheme',
        'p.host',
        'p.port',
        'p.username as puser',
      ])
      .where('t.name', '=', who.tenant)
      .where('i.username', '=', username)
      .executeTakeFirst();
    if (!a)
      throw new DataError(
        `no Instagram account ${username} in tenant "${who.tenant}" → see \`acctctl ig list --tenant ${who.tenant}\``,
      );
    const from =
      a.proxy_removed_at !== null
        ? `none (${PROXY_REMOVED_REASON})`
        : a.direct === 1
          ? 'direct'
          : (proxyLabel({ ...a, username: a.puser }) ?? 'not pinned yet');
    const p = 'proxyId' in choice ? await chosenProxy(tx, choice.proxyId, a.tenant_id, true) : null;
    const to = p ? p.label : 'direct';
    await tx
      .updateTable('ig_accounts')
      .set({
        proxy_id: p ? p.id : null,
        pinned_proxy_id: null,
        direct: p ? 0 : 1,
        proxy_removed_at: null,
        updated_at: now,
        ...(a.proxy_removed_at !== null
          ? { state: 'expired', next_refresh_at: now, fail_count: 0, last_error: null }
          : {}),
      })
      .where('id', '=', a.id)
      .execute();
    await insertEvent(tx, {
      at: now,
      kind: 'ig_proxy',
      subject_type: 'ig_account',
      subject_id: a.id,
      tenant_id: a.tenant_id,
      message: `${who.tenant}/${username}: route ${from} → ${to} (by a person)`,
      data_json: JSON.stringify({ from, to, proxyId: p?.id ?? null, direct: p === null }),
    });
    return { account: `${who.tenant}/${username}`, from, to, unparked: a.proxy_removed_at !== null };
  });
}
