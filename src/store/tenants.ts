import { sql, type Kysely } from 'kysely';
import { count, listing } from '../domain/plural.js';
import { DEFAULT_VERIFY_MODE } from '../domain/tenants.js';
import { notifyTargetLabel } from '../domain/webhooks.js';
import { DataError } from '../errors.js';
import { disableAccountsUsingProxies } from './proxies.js';
import { rememberRemoved } from './removed.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/**
 * The ids of the named tenants, inside the caller's write transaction. A tenant that does not
 * exist is created when `create` is set; otherwise nothing is written and a DataError (65)
 * names every missing tenant and how to add it.
 */
export async function resolveTenants(
  tx: Kysely<Database>,
  names: Iterable<string>,
  opts: { create: boolean; now: number },
): Promise<{ ids: Map<string, number>; created: string[] }> {
  const wanted = [...new Set(names)];
  const ids = new Map<string, number>();
  if (wanted.length === 0) return { ids, created: [] };
  const found = await tx.selectFrom('tenants').select(['id', 'name']).where('name', 'in', wanted).execute();
  for (const t of found) ids.set(t.name, t.id);
  const missing = wanted.filter((n) => !ids.has(n));
  if (missing.length > 0 && !opts.create) {
    const names = listing(missing.map((n) => `"${n}"`));
    throw new DataError(
      `${missing.length === 1 ? `tenant ${names} does not exist` : `tenants ${names} do not exist`}; nothing was imported → ` +
        `check the spelling, add ${missing.length === 1 ? 'it' : 'them'} first (${missing.map((n) => `\`acctctl tenants add ${n}\``).join(', ')}), ` +
        `or let the import create ${missing.length === 1 ? 'it' : 'them'} (--create-tenant; createTenants: true in the library)`,
    );
  }
  for (const name of missing) {
    const row = await tx
      .insertInto('tenants')
      .values({ name, verify_mode: DEFAULT_VERIFY_MODE, created_at: opts.now })
      .returning('id')
      .executeTakeFirstOrThrow();
    ids.set(name, row.id);
  }
  return { ids, created: missing };
}

/** The tenants check runs (one by name, or all), by name. */
export async function tenantsToCheck(
  store: Store,
  name?: string,
): Promise<{ id: number; name: string; verify_mode: string }[]> {
  let q = store.db.selectFrom('tenants').select(['id', 'name', 'verify_mode']).orderBy('name');
  if (name) q = q.where('name', '=', name);
  return q.execute();
}

/** What a tenant owns. */
export interface TenantUsage {
  telegramAccounts: number;
  proxies: number;
  igAccounts: number;
  apiKeys: number;
  watches: number;
  /** Join targets it owns. */
  targets: number;
}

async function tenantUsage(db: Kysely<Database>, tenantId: number): Promise<TenantUsage> {
  const n = async (t: 'telegram_accounts' | 'proxies' | 'ig_accounts' | 'api_keys' | 'watches' | 'targets') =>
    Number(
      (
        await db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('tenant_id', '=', tenantId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    telegramAccounts: await n('telegram_accounts'),
    proxies: await n('proxies'),
    igAccounts: await n('ig_accounts'),
    apiKeys: await n('api_keys'),
    watches: await n('watches'),
    targets: await n('targets'),
  };
}

export function describeTenantUsage(u: TenantUsage): string[] {
  const parts: string[] = [];
  if (u.telegramAccounts) parts.push(count(u.telegramAccounts, 'Telegram account'));
  if (u.proxies) parts.push(count(u.proxies, 'proxy', 'proxies'));
  if (u.igAccounts) parts.push(count(u.igAccounts, 'Instagram account'));
  if (u.apiKeys) parts.push(count(u.apiKeys, 'API key'));
  if (u.watches) parts.push(count(u.watches, 'watch', 'watches'));
  if (u.targets) parts.push(count(u.targets, 'join target'));
  return parts;
}

export interface TenantRemoval {
  tenant: string;
  removed: TenantUsage;
  /** Telegram accounts kept, now without a tenant. */
  accountsDetached: number;
  /** Telegram accounts disabled because their proxy went with the tenant (never connect direct). */
  accountsDisabled: string[];
}

/**
 * Remove a tenant. One that still owns anything is refused (DataError, 65, saying what) unless
 * `force`: then its proxies, Instagram accounts, API keys and watches go with it, its Telegram
 * accounts stay without a tenant, and those that used one of its proxies are disabled.
 */
export async function removeTenant(
  store: Store,
  name: string,
  opts: { force: boolean; now: number },
): Promise<TenantRemoval> {
  return store.writeTx(async (tx) => {
    const t = await tx.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
    if (!t) throw new DataError(`tenant "${name}" does not exist → see \`acctctl tenants list\``);
    const usage = await tenantUsage(tx, t.id);
    const uses = describeTenantUsage(usage);
    if (uses.length > 0 && !opts.force) {
      throw new DataError(
        `tenant "${name}" is in use: it has ${listing(uses)}; nothing was removed → remove those first, or pass --force ` +
          `(its proxies, Instagram accounts, API keys, watches and join targets are removed with it; its Telegram accounts are kept without a tenant)`,
      );
    }
    const proxyIds = (await tx.selectFrom('proxies').select('id').where('tenant_id', '=', t.id).execute()).map(
      (p) => p.id,
    );
    const accountsDisabled = await disableAccountsUsingProxies(tx, proxyIds, opts.now);
    // Its history stays readable under its name (and its Instagram accounts' under theirs).
    const igs = await tx.selectFrom('ig_accounts').select(['id', 'username']).where('tenant_id', '=', t.id).execute();
    const gone = (subject_type: string, subject_id: number, subject: string) => ({
      subject_type,
      subject_id,
      name: subject,
      tenant_id: t.id,
      tenant_name: name,
      removed_at: opts.now,
    });
    await rememberRemoved(tx, [gone('tenant', t.id, name), ...igs.map((i) => gone('ig_account', i.id, i.username))]);
    await tx.deleteFrom('tenants').where('id', '=', t.id).execute();
    await tx
      .insertInto('events')
      .values({
        at: opts.now,
        kind: 'tenant_removed',
        subject_type: 'tenant',
        subject_id: t.id,
        tenant_id: t.id,
        message: `tenant ${name}: removed by operator${uses.length ? ` with ${listing(uses)}` : ''}`,
        data_json: null,
      })
      .execute();
    return { tenant: name, removed: usage, accountsDetached: usage.telegramAccounts, accountsDisabled };
  });
}

export interface TenantNotifyRow {
  id: number;
  name: string;
  /** Set by older versions in plain text; read until the target is sealed. */
  notify_target: string | null;
  notify_target_enc: string | null;
  notify_secret_enc: string | null;
  notify_min_severity: string | null;
}

/** Tenants with a notify target set (`tenants set NAME --notify-target-file F`). */
export async function tenantNotifyTargets(store: Store): Promise<TenantNotifyRow[]> {
  return store.db
    .selectFrom('tenants')
    .select(['id', 'name', 'notify_target', 'notify_target_enc', 'notify_secret_enc', 'notify_min_severity'])
    .where((eb) =>
      eb.or([
        eb.and([eb('notify_target', 'is not', null), eb('notify_target', '<>', '')]),
        eb('notify_target_enc', 'is not', null),
      ]),
    )
    .orderBy('id')
    .execute();
}

/** What `tenants set` changes about a tenant's alerts (null clears; undefined leaves as is). */
export interface TenantNotifySet {
  target?: { enc: string; label: string } | null | undefined;
  secretEnc?: string | null | undefined;
  minSeverity?: string | null | undefined;
}

export async function setTenantNotify(tx: Kysely<Database>, id: number, set: TenantNotifySet): Promise<void> {
  if (set.target !== undefined) {
    await tx
      .updateTable('tenants')
      .set({
        notify_target: null,
        notify_target_enc: set.target?.enc ?? null,
        notify_target_label: set.target?.label ?? null,
      })
      .where('id', '=', id)
      .execute();
  }
  if (set.secretEnc !== undefined) {
    await tx.updateTable('tenants').set({ notify_secret_enc: set.secretEnc }).where('id', '=', id).execute();
  }
  if (set.minSeverity !== undefined) {
    await tx.updateTable('tenants').set({ notify_min_severity: set.minSeverity }).where('id', '=', id).execute();
  }
}

/** The tenant's alert settings as `tenants set` shows them (the target by its label only). */
export async function tenantNotifySettings(
  db: Kysely<Database>,
  id: number,
): Promise<{ target: string | null; signed: boolean; minSeverity: string | null }> {
  const r = await db
    .selectFrom('tenants')
    .select(['notify_target', 'notify_target_enc', 'notify_target_label', 'notify_secret_enc', 'notify_min_severity'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return {
    target: r.notify_target_enc ? (r.notify_target_label ?? 'set') : r.notify_target ? 'set (plain text)' : null,
    signed: r.notify_secret_enc !== null,
    minSeverity: r.notify_min_severity,
  };
}

/** Find a tenant by name, creating it inside the caller's transaction when asked to. */
export async function ensureTenant(
  tx: Kysely<Database>,
  name: string,
  now: number,
): Promise<{ id: number; created: boolean }> {
  const found = await tx.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
  if (found) return { id: found.id, created: false };
  const row = await tx
    .insertInto('tenants')
    .values({ name, verify_mode: DEFAULT_VERIFY_MODE, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, created: true };
}

/** Set a tenant's verify mode and notify target (null clears it; undefined leaves either as is); its verify mode after. */
export async function updateTenantSettings(
  tx: Kysely<Database>,
  id: number,
  set: { verifyMode?: string | undefined; notifyTarget?: string | null | undefined },
): Promise<string> {
  if (set.verifyMode !== undefined) {
    await tx.updateTable('tenants').set({ verify_mode: set.verifyMode }).where('id', '=', id).execute();
  }
  if (set.notifyTarget !== undefined) {
    await tx.updateTable('tenants').set({ notify_target: set.notifyTarget }).where('id', '=', id).execute();
  }
  const row = await tx.selectFrom('tenants').select('verify_mode').where('id', '=', id).executeTakeFirstOrThrow();
  return row.verify_mode;
}

export interface TenantRow {
  name: string;
  verifyMode: string;
  accounts: number;
  proxies: number;
  igAccounts: number;
  apiKeys: number;
  watches: number;
}

/** Tenants matching `tenants list --tenant T` (the listing's total). */
export async function countTenants(store: Store, filter: { tenant?: string | undefined } = {}): Promise<number> {
  let q = store.db.selectFrom('tenants').select((eb) => eb.fn.countAll().as('n'));
  if (filter.tenant !== undefined) q = q.where('name', '=', filter.tenant);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Tenants in name order with what each owns; a page of them with `page`. */
export async function listTenants(
  store: Store,
  filter: { tenant?: string | undefined } = {},
  page?: { offset: number; limit: number },
): Promise<TenantRow[]> {
  const count = (t: 'telegram_accounts' | 'proxies' | 'ig_accounts' | 'api_keys' | 'watches') =>
    sql<number>`(select count(*) from ${sql.table(t)} x where x.tenant_id = tenants.id)`;
  let q = store.db
    .selectFrom('tenants')
    .select([
      'name',
      'verify_mode',
      count('telegram_accounts').as('accounts'),
      count('proxies').as('proxies'),
      count('ig_accounts').as('ig'),
      count('api_keys').as('keys'),
      count('watches').as('watches'),
    ])
    .orderBy('name');
  if (filter.tenant !== undefined) q = q.where('name', '=', filter.tenant);
  if (page) q = q.limit(page.limit).offset(page.offset);
  const rows = await q.execute();
  return rows.map((r) => ({
    name: r.name,
    verifyMode: r.verify_mode,
    accounts: Number(r.accounts),
    proxies: Number(r.proxies),
    igAccounts: Number(r.ig),
    apiKeys: Number(r.keys),
    watches: Number(r.watches),
  }));
}

export async function tenantIdByName(store: Store | Kysely<Database>, name: string): Promise<number> {
  const db = 'db' in store ? store.db : store;
  const row = await db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
  if (!row) throw new DataError(`tenant "${name}" does not exist → add it with \`acctctl tenants add ${name}\``);
  return row.id;
}

/** Set (null: clear) the time zone of a tenant's accounts that set none; returns the stored value. */
export async function updateTenantTimeZone(
  db: Kysely<Database>,
  id: number,
  timeZone: string | null,
): Promise<string | null> {
  await db.updateTable('tenants').set({ timezone: timeZone }).where('id', '=', id).execute();
  return timeZone;
}

/** Up to `limit` tenant names, in name order (is there more than one tenant, and which). */
export async function someTenantNames(store: Store, limit: number): Promise<string[]> {
  const rows = await store.db.selectFrom('tenants').select('name').orderBy('name').limit(limit).execute();
  return rows.map((r) => r.name);
}

/** Move a target older versions stored in plain text into its encrypted column (once). */
export async function sealLegacyTenantTarget(
  store: Store,
  id: number,
  target: string,
  seal: (plain: string) => string,
): Promise<void> {
  const label = notifyTargetLabel(target);
  await store.db
    .updateTable('tenants')
    .set({ notify_target_enc: seal(target), notify_target_label: label, notify_target: null })
    .where('id', '=', id)
    .where('notify_target', '=', target)
    .where('notify_target_enc', 'is', null)
    .execute();
}

/** How a tenant's Instagram accounts may log in without the browser (`tenants set --login-fallback`). */
export const LOGIN_FALLBACKS = ['none', 'http'] as const;
export type LoginFallback = (typeof LOGIN_FALLBACKS)[number];

export async function setTenantLoginFallback(tx: Kysely<Database>, id: number, fallback: LoginFallback): Promise<void> {
  await tx
    .updateTable('tenants')
    .set({ login_fallback: fallback === 'none' ? null : fallback })
    .where('id', '=', id)
    .execute();
}

/** The tenant's login fallback ('none' unless `tenants set T --login-fallback http`). */
export async function tenantLoginFallback(db: Kysely<Database>, tenantId: number): Promise<LoginFallback> {
  const r = await db.selectFrom('tenants').select('login_fallback').where('id', '=', tenantId).executeTakeFirst();
  return r?.login_fallback === 'http' ? 'http' : 'none';
}

/** What a tenant has of what its verify mode may need (doctor's and check's pre-flight). */
export interface TenantResourceCounts {
  id: number;
  name: string;
  verifyMode: string;
  loginFallback: LoginFallback;
  /** API keys: all, and the provider of each key check may use now (healthy, or back from a quota rest). */
  apiKeys: number;
  usableApiKeyProviders: string[];
  /** Instagram sessions: all login accounts, and those valid with a sessionid. */
  igAccounts: number;
  validSessions: number;
  /** The tenant's shared proxies that can carry HTTP: all, and the healthy ones. */
  proxies: number;
  healthyProxies: number;
  /** Watches: all, and those of followers/following (which need a valid session whatever the mode). */
  watches: number;
  followerWatches: number;
}

/** Each tenant (one by name, or all) with the resources its mode may need, by name. */
export async function tenantResources(store: Store, now: number, name?: string): Promise<TenantResourceCounts[]> {
  let q = store.db.selectFrom('tenants').select(['id', 'name', 'verify_mode', 'login_fallback']).orderBy('name');
  if (name !== undefined) q = q.where('name', '=', name);
  const out: TenantResourceCounts[] = [];
  for (const t of await q.execute()) {
    const keys = await store.db
      .selectFrom('api_keys')
      .select(['provider', 'healthy', 'quota_reset_at'])
      .where('tenant_id', '=', t.id)
      .execute();
    const usable = keys.filter((k) => k.healthy === 1 || (k.quota_reset_at !== null && k.quota_reset_at <= now));
    const countOf = async (valid: boolean) =>
      Number(
        (
          await (
            valid
              ? store.db.selectFrom('ig_accounts').where('state', '=', 'valid').where('sessionid_enc', 'is not', null)
              : store.db.selectFrom('ig_accounts')
          )
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('tenant_id', '=', t.id)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const proxies = await store.db
      .selectFrom('proxies')
      .select(['healthy'])
      .where('tenant_id', '=', t.id)
      .where('shared', '=', 1)
      .where('scheme', 'in', ['http', 'socks5', 'socks4'])
      .execute();
    const watches = await store.db.selectFrom('watches').select('kind').where('tenant_id', '=', t.id).execute();
    out.push({
      id: t.id,
      name: t.name,
      verifyMode: t.verify_mode,
      loginFallback: t.login_fallback === 'http' ? 'http' : 'none',
      apiKeys: keys.length,
      usableApiKeyProviders: usable.map((k) => k.provider).sort(),
      igAccounts: await countOf(false),
      validSessions: await countOf(true),
      proxies: proxies.length,
      healthyProxies: proxies.filter((p) => p.healthy === 1).length,
      watches: watches.length,
      followerWatches: watches.filter((w) => w.kind !== 'exists').length,
    });
  }
  return out;
}
