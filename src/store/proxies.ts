import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DataError } from '../errors.js';
import { proxyDisplay, type ProxySpec } from '../domain/proxyUrl.js';
import { PROXY_FAILURES_TO_DOWN } from '../domain/proxyHealth.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';
import { insertEvent } from './events.js';

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

/** A tenant's shared proxies that can carry HTTP, the least failing first (never an account's own). */
export async function tenantHttpProxies(store: Store, tenantId: number): Promise<{ id: number; healthy: number }[]> {
  return store.db
    .selectFrom('proxies')
    .select(['id', 'healthy'])
    .where('tenant_id', '=', tenantId)
    .where('shared', '=', 1)
    .where('scheme', 'in', ['http', 'socks5', 'socks4'])
    .orderBy('fail_count')
    .orderBy('id')
    .execute();
}

/**
 * Insert or update a proxy (identified by tenant + URL without password); its secrets sealed to its
 * row. `shared`: true makes it a tenant proxy (proxies import), false creates it as an account's own
 * (ig import: never a tenant proxy others are routed through); undefined keeps what it was.
 */
export async function upsertProxy(
  tx: Kysely<Database>,
  box: SecretBox,
  spec: ProxySpec,
  tenantId: number | null,
  now: number,
  shared?: boolean,
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
          shared: shared === false ? 0 : 1,
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
      ...(shared === true ? { shared: 1 } : {}),
    })
    .where('id', '=', id)
    .execute();
  return { id, created: existing === undefined };
}

/** Failures in a row after which a proxy is marked unhealthy (and not used until recover retries it). */
export const PROXY_MAX_FAILURES = PROXY_FAILURES_TO_DOWN;

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
      // A proxy whose last check failed stays dead until a check gets through (checkedProxy).
      .where((eb) => eb.or([eb('check_ok', 'is', null), eb('check_ok', '=', 1)]))
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

/** Why an account whose proxy went is parked (shown as its reason and in `ig list`). */
export const PROXY_REMOVED_REASON = 'its proxy was removed';

/**
 * Park the Telegram accounts that connect through these proxies, before the proxies go: disabled,
 * proxy cleared, `proxy_removed_at` set, reason "its proxy was removed". Such an account is never
 * leased, enabled or connected (it would go out directly) until a person gives it a proxy or says
 * --direct (`accounts proxy`). Returns their names.
 */
export async function disableAccountsUsingProxies(
  tx: Kysely<Database>,
  proxyIds: readonly number[],
  now: number,
): Promise<string[]> {
  if (proxyIds.length === 0) return [];
  const rows = await tx
    .updateTable('telegram_accounts')
    .set({ enabled: 0, proxy_id: null, proxy_removed_at: now, state_reason: PROXY_REMOVED_REASON, updated_at: now })
    .where('proxy_id', 'in', [...proxyIds])
    .returning('session_name')
    .execute();
  return rows.map((r) => r.session_name).sort();
}

/**
 * The Instagram accounts whose route goes through these proxies: their own or the one they are
 * pinned to — and, when the proxies are the last shared ones of a tenant, that tenant's accounts
 * not yet pinned (they would otherwise go out directly at first use).
 */
async function igAccountsRoutedThrough(
  tx: Kysely<Database>,
  proxyIds: readonly number[],
): Promise<{ id: number; tenant: string; username: string; proxyId: number | null }[]> {
  const ids = [...proxyIds];
  const direct = await tx
    .selectFrom('ig_accounts as i')
    .innerJoin('tenants as t', 't.id', 'i.tenant_id')
    .select(['i.id', 't.name as tenant', 'i.username', 'i.proxy_id', 'i.pinned_proxy_id'])
    .where((eb) => eb.or([eb('i.proxy_id', 'in', ids), eb('i.pinned_proxy_id', 'in', ids)]))
    .execute();
  const out = direct.map((r) => ({
    id: r.id,
    tenant: r.tenant,
    username: r.username,
    proxyId: r.proxy_id !== null && ids.includes(r.proxy_id) ? r.proxy_id : r.pinned_proxy_id,
  }));
  const tenants = await tx
    .selectFrom('proxies')
    .select('tenant_id')
    .distinct()
    .where('id', 'in', ids)
    .where('shared', '=', 1)
    .where('tenant_id', 'is not', null)
    .execute();
  for (const { tenant_id } of tenants) {
    const left = await tx
      .selectFrom('proxies')
      .select('id')
      .where('tenant_id', '=', tenant_id)
      .where('shared', '=', 1)
      .where('id', 'not in', ids)
      .executeTakeFirst();
    if (left) continue;
    const unpinned = await tx
      .selectFrom('ig_accounts as i')
      .innerJoin('tenants as t', 't.id', 'i.tenant_id')
      .select(['i.id', 't.name as tenant', 'i.username'])
      .where('i.tenant_id', '=', tenant_id!)
      .where('i.proxy_id', 'is', null)
      .where('i.pinned_proxy_id', 'is', null)
      .where('i.direct', '=', 0)
      .where('i.proxy_removed_at', 'is', null)
      .execute();
    for (const u of unpinned) out.push({ ...u, proxyId: null });
  }
  return out;
}

/**
 * Park Instagram accounts whose route goes through these proxies (see igAccountsRoutedThrough):
 * `needs_manual`, "its proxy was removed", own and pinned proxy cleared, `proxy_removed_at` set.
 * They send nothing, and are never pinned again or sent direct by themselves (`ig proxy` is the
 * way back). Returns `tenant/username` of each.
 */
export async function parkIgAccountsUsingProxies(
  tx: Kysely<Database>,
  proxyIds: readonly number[],
  now: number,
): Promise<string[]> {
  if (proxyIds.length === 0) return [];
  const users = await igAccountsRoutedThrough(tx, proxyIds);
  if (users.length === 0) return [];
  await tx
    .updateTable('ig_accounts')
    .set({
      state: 'needs_manual',
      next_refresh_at: null,
      proxy_id: null,
      pinned_proxy_id: null,
      proxy_removed_at: now,
      last_error: `${PROXY_REMOVED_REASON} → give it one: acctctl ig proxy USER --tenant T PROXY_ID (or --direct)`,
      updated_at: now,
    })
    .where(
      'id',
      'in',
      users.map((u) => u.id),
    )
    .execute();
  return users.map((u) => `${u.tenant}/${u.username}`).sort();
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
  /** Telegram accounts parked because their proxy went (with --force). */
  accountsDisabled: string[];
  /** Instagram accounts whose proxy (own or pinned) went (with --force): `needs_manual`, never sent direct. */
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
        'p.shared',
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
    const igUsers = await igAccountsRoutedThrough(tx, ids);
    const usage: ProxyUsage[] = [];
    for (const r of rows) {
      // Unpinned accounts of a tenant losing its last shared proxies count against each of them.
      const ig = igUsers.filter(
        (u) =>
          u.proxyId === r.id || (u.proxyId === null && r.shared === 1 && r.tenant === u.tenant && r.tenant_id !== null),
      );
      const tg = await tx.selectFrom('telegram_accounts').select('session_name').where('proxy_id', '=', r.id).execute();
      let tenantProxyFor: string | null = null;
      if (r.tenant_id !== null && r.shared === 1 && r.verify_mode?.split('+').includes('proxy')) {
        const others = await tx
          .selectFrom('proxies')
          .select('id')
          .where('tenant_id', '=', r.tenant_id)
          .where('shared', '=', 1)
          .where('id', 'not in', [...ids])
          .executeTakeFirst();
        if (!others) tenantProxyFor = r.tenant;
      }
      usage.push({
        id: r.id,
        proxy: proxyLabel(r)!,
        telegramAccounts: tg.map((a) => a.session_name).sort(),
        igAccounts: ig.map((a) => `${a.tenant}/${a.username}`).sort(),
        tenantProxyFor,
      });
    }
    const inUse = usage.filter((u) => usedBy(u).length > 0);
    if (inUse.length && !opts.force) {
      throw new DataError(
        `${inUse.length === 1 ? 'proxy' : 'proxies'} in use; nothing was removed → give the users another proxy first, or pass --force ` +
          `(accounts using a removed proxy are parked — "its proxy was removed" — never left to go direct)`,
        { details: inUse.map((u) => `proxy ${u.id} (${u.proxy}) is used by ${usedBy(u).join('; ')}`) },
      );
    }
    const accountsDisabled = await disableAccountsUsingProxies(tx, ids, opts.now);
    // An Instagram account whose proxy goes would otherwise change identity (another tenant
    // proxy) or go direct: it waits for a person instead (`ig proxy` brings it back).
    const igAccountsDetached = await parkIgAccountsUsingProxies(tx, ids, opts.now);
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
      igAccountsDetached,
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
 * The one route an Instagram account uses, for refresh-session's browser and for check's HTTP
 * alike, for life (issue 20 §2):
 * - its proxy was removed (`proxy_removed_at`) → blocked until a person runs `ig proxy`;
 * - a person said --direct → direct;
 * - its own proxy (ig import, `ig proxy`);
 * - else the tenant proxy it was pinned to at first use; not pinned yet → pinned now (stored) to
 *   one of its tenant's shared proxies (highest rendezvous rank among the usable ones). New
 *   proxies never move it; a pinned proxy that is down blocks it (no other is tried);
 * - its tenant has no shared proxy at all (and it was never pinned) → direct.
 * A proxy that is configured but not usable (down, MTProxy, SOCKS5 with a password Chromium
 * cannot send) → blocked, saying why: the account then sends nothing, never direct.
 */
export async function igRoute(store: Store, box: SecretBox, igAccountId: number, pinNow = true): Promise<IgRoute> {
  const a = await store.db
    .selectFrom('ig_accounts')
    .select(['tenant_id', 'proxy_id', 'pinned_proxy_id', 'direct', 'proxy_removed_at'])
    .where('id', '=', igAccountId)
    .executeTakeFirst();
  if (!a) return { kind: 'blocked', why: 'the Instagram account no longer exists' };
  if (a.proxy_removed_at !== null)
    return {
      kind: 'blocked',
      why: `${PROXY_REMOVED_REASON} → give it one: acctctl ig proxy USER --tenant T PROXY_ID (or --direct)`,
    };
  if (a.direct === 1) return { kind: 'direct' };
  const cols = [
    'id',
    'scheme',
    'host',
    'port',
    'healthy',
    'password_enc',
    'check_ok',
    'check_reason',
    'checked_at',
  ] as const;
  const fixed = a.proxy_id ?? a.pinned_proxy_id;
  if (fixed !== null) {
    const p = await store.db.selectFrom('proxies').select(cols).where('id', '=', fixed).executeTakeFirst();
    if (!p) return { kind: 'blocked', why: 'its proxy is gone → acctctl ig proxy USER --tenant T PROXY_ID' };
    if (!browserUsable(p))
      return {
        kind: 'blocked',
        why: `its ${p.scheme} proxy cannot carry a browser → give it an http:// proxy, or SOCKS5 without a password`,
      };
    if (p.healthy !== 1)
      return {
        kind: 'blocked',
        why:
          p.check_ok === 0
            ? `its proxy ${p.host}:${p.port} is dead: the check at ${p.checked_at === null ? '?' : new Date(Number(p.checked_at)).toISOString()} failed${p.check_reason ? ` (${p.check_reason})` : ''} → fix it, then acctctl proxies check`
            : `its proxy ${p.host}:${p.port} is down (recover retries it)`,
      };
    const spec = await loadProxy(store, box, p.id);
    return spec ? { kind: 'proxy', proxy: spec } : { kind: 'blocked', why: 'its proxy is gone' };
  }
  const all = await store.db
    .selectFrom('proxies')
    .select(cols)
    .where('tenant_id', '=', a.tenant_id)
    .where('shared', '=', 1)
    .execute();
  if (all.length === 0) return { kind: 'direct' };
  const usable = all.filter((p) => browserUsable(p) && p.healthy === 1);
  if (usable.length === 0) {
    const kinds = all.filter((p) => browserUsable(p));
    return {
      kind: 'blocked',
      why:
        kinds.length === 0
          ? `its tenant's only proxies are ${[...new Set(all.map((p) => p.scheme))].join('/')}, which cannot carry Instagram traffic → add an http:// or socks5:// proxy (proxies import --tenant)`
          : kinds.every((p) => p.check_ok === 0)
            ? `its tenant's proxies are all dead by their last check → fix them, then acctctl proxies check`
            : `its tenant's proxies are all down (recover retries them; acctctl proxies check tests them now)`,
    };
  }
  if (!pinNow) return { kind: 'blocked', why: 'it could not be pinned to a tenant proxy (changed meanwhile)' };
  const best = usable.reduce((x, y) => (rank(igAccountId, y.id) > rank(igAccountId, x.id) ? y : x));
  // Pinned once, atomically: a concurrent first use that pinned another wins, and both use it.
  await store.db
    .updateTable('ig_accounts')
    .set({ pinned_proxy_id: best.id })
    .where('id', '=', igAccountId)
    .where('pinned_proxy_id', 'is', null)
    .where('proxy_id', 'is', null)
    .where('proxy_removed_at', 'is', null)
    .execute();
  return igRoute(store, box, igAccountId, false);
}

export interface ProxyRow {
  id: number;
  tenant: string | null;
  proxy: string;
  healthy: boolean;
  failures: number;
  lastError: string | null;
  /** The last `proxies check`: ok, failed (dead until a check gets through), or null (never checked). */
  check: 'ok' | 'failed' | null;
  checkReason: string | null;
  latencyMs: number | null;
  /** What the check connected to through it. */
  checkTarget: string | null;
  checkedAt: number | null;
}

/** What `proxies list --tenant T` narrows to. */
export interface ProxyFilter {
  tenant?: string | undefined;
}

/** Proxies matching the filter (the listing's total). */
export async function countProxies(store: Store, filter: ProxyFilter = {}): Promise<number> {
  let q = store.db
    .selectFrom('proxies')
    .leftJoin('tenants', 'tenants.id', 'proxies.tenant_id')
    .select((eb) => eb.fn.countAll().as('n'));
  if (filter.tenant !== undefined) q = q.where('tenants.name', '=', filter.tenant);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Proxies in id order; a page of them with `page`. */
export async function listProxies(
  store: Store,
  filter: ProxyFilter = {},
  page?: { offset: number; limit: number },
): Promise<ProxyRow[]> {
  let q = store.db
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
      'check_ok',
      'check_reason',
      'check_latency_ms',
      'check_target',
      'checked_at',
    ])
    .orderBy('proxies.id');
  if (filter.tenant !== undefined) q = q.where('tenants.name', '=', filter.tenant);
  if (page) q = q.limit(page.limit).offset(page.offset);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant,
    proxy: proxyLabel(r)!,
    healthy: r.healthy === 1,
    failures: r.fail_count,
    lastError: r.last_error,
    check: r.check_ok === null ? null : r.check_ok === 1 ? 'ok' : 'failed',
    checkReason: r.check_reason,
    latencyMs: r.check_latency_ms === null ? null : Number(r.check_latency_ms),
    checkTarget: r.check_target,
    checkedAt: r.checked_at === null ? null : Number(r.checked_at),
  }));
}

/** A proxy `proxies check` tests, with what it carries. */
export interface ProxyToCheck {
  id: number;
  tenant: string | null;
  scheme: string;
  /** How it is shown (no password or secret). */
  label: string;
  /** Telegram accounts routed through it, and the lowest DC among them (null: none). */
  telegramAccounts: number;
  dcId: number | null;
}

/** The proxies `proxies check` tests (a tenant's, or all), with what they carry. */
export async function proxiesToCheck(store: Store, tenantId?: number): Promise<ProxyToCheck[]> {
  let q = store.db
    .selectFrom('proxies as p')
    .leftJoin('tenants as t', 't.id', 'p.tenant_id')
    .leftJoin('telegram_accounts as a', 'a.proxy_id', 'p.id')
    .select((eb) => [
      'p.id',
      't.name as tenant',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username',
      eb.fn.count<number | string>('a.id').as('accounts'),
      eb.fn.min('a.dc_id').as('dc'),
    ])
    .groupBy(['p.id', 't.name', 'p.scheme', 'p.host', 'p.port', 'p.username'])
    .orderBy('p.id');
  if (tenantId !== undefined) q = q.where('p.tenant_id', '=', tenantId);
  return (await q.execute()).map((r) => ({
    id: r.id,
    tenant: r.tenant,
    scheme: r.scheme,
    label: proxyLabel(r) ?? `proxy ${r.id}`,
    telegramAccounts: Number(r.accounts),
    dcId: r.dc === null ? null : Number(r.dc),
  }));
}

/**
 * Record a `proxies check` result. A success clears everything against the proxy (healthy, no
 * failures: a dead mark ends here and only here); a failure marks it dead (healthy 0, `check_ok`
 * 0): its accounts are skipped — never sent direct — and `recover` does not retry it, until a
 * check gets through. A change either way writes an event.
 */
export async function recordProxyCheck(
  store: Store,
  v: {
    id: number;
    ok: boolean;
    reason: string | null;
    latencyMs: number | null;
    target: string;
    at: number;
    label: string;
  },
): Promise<{ changed: boolean }> {
  return store.writeTx(async (tx) => {
    const before = await tx
      .selectFrom('proxies')
      .select(['check_ok', 'healthy', 'tenant_id'])
      .where('id', '=', v.id)
      .executeTakeFirst();
    if (!before) return { changed: false };
    const reason = v.reason === null ? null : v.reason.slice(0, 300);
    await tx
      .updateTable('proxies')
      .set({
        check_ok: v.ok ? 1 : 0,
        check_reason: reason,
        check_latency_ms: v.latencyMs,
        check_target: v.target,
        checked_at: v.at,
        last_checked_at: v.at,
        ...(v.ok
          ? { healthy: 1, fail_count: 0, last_error: null }
          : { healthy: 0, last_error: `proxies check: ${reason ?? 'failed'}`.slice(0, 200) }),
      })
      .where('id', '=', v.id)
      .execute();
    const wasDead = before.check_ok === 0 || before.healthy === 0;
    const changed = v.ok ? wasDead : before.check_ok !== 0;
    if (changed) {
      await insertEvent(tx, {
        at: v.at,
        kind: v.ok ? 'proxy_alive' : 'proxy_dead',
        subject_type: 'proxy',
        subject_id: v.id,
        tenant_id: before.tenant_id,
        message: v.ok
          ? `proxy ${v.id} (${v.label}): the check through it to ${v.target} got through; its accounts are used again`
          : `proxy ${v.id} (${v.label}) is dead: ${reason ?? 'failed'} (checking ${v.target}); its accounts are skipped until a check gets through → acctctl proxies check`,
        data_json: JSON.stringify({ target: v.target, ok: v.ok, reason, latencyMs: v.latencyMs }),
      });
    }
    return { changed };
  });
}
