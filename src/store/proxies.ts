import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DataError } from '../errors.js';
import { proxyDisplay, type ProxySpec } from '../domain/proxyUrl.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** A stored proxy with its secrets decrypted (null when the row is gone). */
export async function loadProxy(store: Store, box: SecretBox, id: number): Promise<ProxySpec | null> {
  const p = await store.db.selectFrom('proxies').selectAll().where('id', '=', id).executeTakeFirst();
  if (!p) return null;
  const spec: ProxySpec = { id: p.id, scheme: p.scheme as ProxySpec['scheme'], host: p.host, port: p.port };
  if (p.username) spec.username = p.username;
  if (p.password_enc)
    spec.password = box.open(p.password_enc, { table: 'proxies', column: 'password_enc', rowId: p.id });
  if (p.secret_enc) spec.secret = box.open(p.secret_enc, { table: 'proxies', column: 'secret_enc', rowId: p.id });
  return spec;
}

/** A tenant's proxies that can carry HTTP, the least failing first. */
export async function tenantHttpProxies(store: Store, tenantId: number): Promise<{ id: number; healthy: number }[]> {
  return store.db
    .selectFrom('proxies')
    .select(['id', 'healthy'])
    .where('tenant_id', '=', tenantId)
    .where('scheme', 'in', ['http', 'socks5', 'socks4'])
    .orderBy('fail_count')
    .orderBy('id')
    .execute();
}

/** Insert or update a proxy (identified by tenant + URL without password); its secrets sealed to its row. */
export async function upsertProxy(
  tx: Kysely<Database>,
  box: SecretBox,
  spec: ProxySpec,
  tenantId: number | null,
  now: number,
): Promise<{ id: number; created: boolean }> {
  const urlKey = `${tenantId ?? '-'}|${proxyDisplay(spec)}`;
  const existing = await tx.selectFrom('proxies').select('id').where('url_key', '=', urlKey).executeTakeFirst();
  const id =
    existing?.id ??
    (
      await tx
        .insertInto('proxies')
        .values({
          tenant_id: tenantId,
          url_key: urlKey,
          scheme: spec.scheme,
          host: spec.host,
          port: spec.port,
          username: spec.username ?? null,
          password_enc: null,
          secret_enc: null,
          last_checked_at: null,
          last_error: null,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  await tx
    .updateTable('proxies')
    .set({
      password_enc:
        spec.password === undefined
          ? null
          : box.seal(spec.password, { table: 'proxies', column: 'password_enc', rowId: id }),
      secret_enc:
        spec.secret === undefined ? null : box.seal(spec.secret, { table: 'proxies', column: 'secret_enc', rowId: id }),
    })
    .where('id', '=', id)
    .execute();
  return { id, created: existing === undefined };
}

/** Failures in a row after which a proxy is marked unhealthy (and not used until recover retries it). */
export const PROXY_MAX_FAILURES = 3;

/**
 * Record what a proxy did: a failure counts (unhealthy after PROXY_MAX_FAILURES in a row), a
 * success clears the count. Nothing is recorded for proxies that did not come from the store.
 */
export async function markProxy(
  store: Store,
  proxy: ProxySpec | null,
  ok: boolean,
  now: number,
  error?: string,
): Promise<void> {
  if (!proxy?.id) return;
  if (ok) {
    await store.db
      .updateTable('proxies')
      .set({ fail_count: 0, healthy: 1, last_checked_at: now, last_error: null })
      .where('id', '=', proxy.id)
      .where('fail_count', '>', 0)
      .execute();
    return;
  }
  await store.db
    .updateTable('proxies')
    .set((eb) => ({
      fail_count: eb('fail_count', '+', 1),
      healthy: eb
        .case()
        .when('fail_count', '>=', PROXY_MAX_FAILURES - 1)
        .then(0)
        .else(eb.ref('healthy'))
        .end(),
      last_checked_at: now,
      last_error: (error ?? 'failed').slice(0, 200),
    }))
    .where('id', '=', proxy.id)
    .execute();
}

/** How a stored proxy is shown (no password or secret), from its columns; null when there is none. */
export function proxyLabel(r: {
  scheme: string | null;
  host: string | null;
  port: number | null;
  username?: string | null;
}): string | null {
  if (!r.scheme || !r.host || !r.port) return null;
  return proxyDisplay({
    scheme: r.scheme as ProxySpec['scheme'],
    host: r.host,
    port: r.port,
    ...(r.username ? { username: r.username } : {}),
  });
}

/**
 * Disable (enabled = 0) the enabled Telegram accounts that connect through these proxies, before
 * the proxies go: an account whose proxy vanished would otherwise connect directly. Returns
 * their names.
 */
export async function disableAccountsUsingProxies(
  tx: Kysely<Database>,
  proxyIds: readonly number[],
  now: number,
): Promise<string[]> {
  if (proxyIds.length === 0) return [];
  const rows = await tx
    .updateTable('telegram_accounts')
    .set({ enabled: 0, updated_at: now })
    .where('proxy_id', 'in', [...proxyIds])
    .where('enabled', '=', 1)
    .returning('session_name')
    .execute();
  return rows.map((r) => r.session_name).sort();
}

/** Who uses a proxy. */
export interface ProxyUsage {
  id: number;
  proxy: string;
  telegramAccounts: string[];
  igAccounts: string[];
  /** The tenant whose anonymous `proxy` checks go through it (its only proxy, mode includes proxy). */
  tenantProxyFor: string | null;
}

export interface ProxyRemoval {
  removed: { id: number; proxy: string }[];
  /** Accounts disabled because their proxy went (with --force). */
  accountsDisabled: string[];
  /** Instagram accounts whose own proxy went (with --force): they now need a person (never sent direct). */
  igAccountsDetached: string[];
}

function usedBy(u: ProxyUsage): string[] {
  const parts: string[] = [];
  if (u.telegramAccounts.length) {
    parts.push(`Telegram account${u.telegramAccounts.length > 1 ? 's' : ''} ${u.telegramAccounts.join(', ')}`);
  }
  if (u.igAccounts.length) {
    parts.push(`Instagram account${u.igAccounts.length > 1 ? 's' : ''} ${u.igAccounts.join(', ')}`);
  }
  if (u.tenantProxyFor) parts.push(`tenant ${u.tenantProxyFor}'s proxy checks (its only proxy)`);
  return parts;
}

/**
 * Remove proxies by id, all or none. A proxy in use (by a Telegram or Instagram account, or as a
 * tenant's only proxy for its `proxy` checks) is refused (DataError, 65, naming the users) unless
 * `force`; with force the Telegram accounts that used it are disabled — they must never fall back
 * to a direct connection — and Instagram accounts that used it need a person (`needs_manual`).
 */
export async function removeProxies(
  store: Store,
  ids: readonly number[],
  opts: { force: boolean; now: number },
): Promise<ProxyRemoval> {
  return store.writeTx(async (tx) => {
    const rows = await tx
      .selectFrom('proxies as p')
      .leftJoin('tenants as t', 't.id', 'p.tenant_id')
      .select([
        'p.id',
        'p.scheme',
        'p.host',
        'p.port',
        'p.username',
        'p.tenant_id',
        't.name as tenant',
        't.verify_mode',
      ])
      .where('p.id', 'in', ids.length ? [...ids] : [-1])
      .execute();
    const missing = ids.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) {
      throw new DataError(
        `no proxy with id ${missing.join(', ')}; nothing was removed → see \`acctctl proxies list\` for the ids`,
      );
    }
    const usage: ProxyUsage[] = [];
    for (const r of rows) {
      const tg = await tx.selectFrom('telegram_accounts').select('session_name').where('proxy_id', '=', r.id).execute();
      const ig = await tx
        .selectFrom('ig_accounts as i')
        .innerJoin('tenants as t', 't.id', 'i.tenant_id')
        .select(['t.name', 'i.username'])
        .where('i.proxy_id', '=', r.id)
        .execute();
      let tenantProxyFor: string | null = null;
      if (r.tenant_id !== null && r.verify_mode?.split('+').includes('proxy')) {
        const others = await tx
          .selectFrom('proxies')
          .select('id')
          .where('tenant_id', '=', r.tenant_id)
          .where('id', 'not in', [...ids])
          .executeTakeFirst();
        if (!others) tenantProxyFor = r.tenant;
      }
      usage.push({
        id: r.id,
        proxy: proxyLabel(r)!,
        telegramAccounts: tg.map((a) => a.session_name).sort(),
        igAccounts: ig.map((a) => `${a.name}/${a.username}`).sort(),
        tenantProxyFor,
      });
    }
    const inUse = usage.filter((u) => usedBy(u).length > 0);
    if (inUse.length && !opts.force) {
      throw new DataError(
        `${inUse.length === 1 ? 'proxy' : 'proxies'} in use; nothing was removed → give the users another proxy first, or pass --force ` +
          `(Telegram accounts using a removed proxy are disabled, never left to connect directly)`,
        { details: inUse.map((u) => `proxy ${u.id} (${u.proxy}) is used by ${usedBy(u).join('; ')}`) },
      );
    }
    const accountsDisabled = await disableAccountsUsingProxies(tx, ids, opts.now);
    // An Instagram account whose own proxy goes would otherwise change identity (its tenant's
    // proxy) or go direct: it waits for a person instead (`ig import` with a proxy brings it back).
    await tx
      .updateTable('ig_accounts')
      .set({
        state: 'needs_manual',
        next_refresh_at: null,
        last_error: 'its proxy was removed → ig import it again with a proxy',
        updated_at: opts.now,
      })
      .where('proxy_id', 'in', [...ids])
      .execute();
    await tx
      .deleteFrom('proxies')
      .where('id', 'in', [...ids])
      .execute();
    await tx
      .insertInto('events')
      .values(
        usage.map((u) => ({
          at: opts.now,
          kind: 'proxy_removed',
          subject_type: 'proxy',
          subject_id: null,
          tenant_id: null,
          message: `proxy ${u.id} (${u.proxy}): removed by operator`,
          data_json: null,
        })),
      )
      .execute();
    return {
      removed: usage.map((u) => ({ id: u.id, proxy: u.proxy })),
      accountsDisabled,
      igAccountsDetached: usage.flatMap((u) => u.igAccounts).sort(),
    };
  });
}

/** How an Instagram account reaches Instagram: its one identity (issue 9). */
export type IgRoute = { kind: 'direct' } | { kind: 'proxy'; proxy: ProxySpec } | { kind: 'blocked'; why: string };

/** Whether both Chromium and Node can use a proxy: HTTP(S), or SOCKS5 without a password. */
function browserUsable(p: { scheme: string; password_enc: string | null }): boolean {
  return p.scheme === 'http' || (p.scheme === 'socks5' && p.password_enc === null);
}

function rank(igAccountId: number, proxyId: number): number {
  return Number.parseInt(createHash('sha256').update(`${igAccountId}:${proxyId}`).digest('hex').slice(0, 12), 16);
}

/**
 * The one proxy an Instagram account uses, for refresh-session's browser and for check's HTTP
 * alike: its own, else one of its tenant's (the same one every time while it stays usable:
 * highest rendezvous rank among the usable ones). A proxy is configured but none is usable
 * (down, or only MTProxy, or SOCKS5 with a password Chromium cannot send) → blocked, saying why:
 * the account then sends nothing, never direct. No proxy configured at all → direct.
 */
export async function igRoute(store: Store, box: SecretBox, igAccountId: number): Promise<IgRoute> {
  const a = await store.db
    .selectFrom('ig_accounts')
    .select(['tenant_id', 'proxy_id'])
    .where('id', '=', igAccountId)
    .executeTakeFirst();
  if (!a) return { kind: 'blocked', why: 'the Instagram account no longer exists' };
  const cols = ['id', 'scheme', 'host', 'port', 'healthy', 'password_enc'] as const;
  if (a.proxy_id !== null) {
    const p = await store.db.selectFrom('proxies').select(cols).where('id', '=', a.proxy_id).executeTakeFirst();
    if (!p) return { kind: 'blocked', why: 'its proxy is gone → ig import it again with a proxy' };
    if (!browserUsable(p))
      return {
        kind: 'blocked',
        why: `its ${p.scheme} proxy cannot carry a browser → give it an http:// proxy, or SOCKS5 without a password`,
      };
    if (p.healthy !== 1) return { kind: 'blocked', why: `its proxy ${p.host}:${p.port} is down (recover retries it)` };
    const spec = await loadProxy(store, box, p.id);
    return spec ? { kind: 'proxy', proxy: spec } : { kind: 'blocked', why: 'its proxy is gone' };
  }
  const all = await store.db.selectFrom('proxies').select(cols).where('tenant_id', '=', a.tenant_id).execute();
  if (all.length === 0) return { kind: 'direct' };
  const usable = all.filter((p) => browserUsable(p) && p.healthy === 1);
  if (usable.length === 0) {
    const kinds = all.filter((p) => browserUsable(p));
    return {
      kind: 'blocked',
      why:
        kinds.length === 0
          ? `its tenant's only proxies are ${[...new Set(all.map((p) => p.scheme))].join('/')}, which cannot carry Instagram traffic → add an http:// or socks5:// proxy (proxies import --tenant)`
          : `its tenant's proxies are all down (recover retries them)`,
    };
  }
  const best = usable.reduce((x, y) => (rank(igAccountId, y.id) > rank(igAccountId, x.id) ? y : x));
  const spec = await loadProxy(store, box, best.id);
  return spec ? { kind: 'proxy', proxy: spec } : { kind: 'blocked', why: 'its proxy is gone' };
}

export interface ProxyRow {
  id: number;
  tenant: string | null;
  proxy: string;
  healthy: boolean;
  failures: number;
  lastError: string | null;
}

export async function listProxies(store: Store): Promise<ProxyRow[]> {
  const rows = await store.db
    .selectFrom('proxies')
    .leftJoin('tenants', 'tenants.id', 'proxies.tenant_id')
    .select([
      'proxies.id',
      'tenants.name as tenant',
      'scheme',
      'host',
      'port',
      'username',
      'healthy',
      'fail_count',
      'last_error',
    ])
    .orderBy('proxies.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant,
    proxy: proxyLabel(r)!,
    healthy: r.healthy === 1,
    failures: r.fail_count,
    lastError: r.last_error,
  }));
}
