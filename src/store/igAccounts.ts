import type { Updateable } from 'kysely';
import type { IgAccountInput } from '../domain/igAccountsFile.js';
import { DataError, UsageError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import { raiseAlert, type NewEvent } from './events.js';
import { PROXY_REMOVED_REASON, proxyLabel, upsertProxy } from './proxies.js';
import { rememberRemoved } from './removed.js';
import type { IgAccountsTable } from './schema.js';
import { sealingTx } from './secrets.js';
import type { Store } from './store.js';
import { resolveTenants } from './tenants.js';

/** Instagram login accounts as `ig list` and `status` show them (no secret is read). */
export interface IgRow {
  id: number;
  rateLimitedUntil: number | null;
  tenant: string;
  username: string;
  state: string;
  priority: number;
  hasTotp: boolean;
  proxy: string | null;
  sessionAgeMs: number | null;
  lastVerifiedAt: number | null;
  nextRefreshAt: number | null;
  failures: number;
  lastError: string | null;
  /** Throttle back-offs still running, per endpoint kind (a live session Instagram throttled). */
  throttled: { kind: string; until: number; strikes: number }[];
  /** When an operator disabled it (`ig disable`); null while in use. */
  disabledAt: number | null;
  /** When check last sent a request with its session. */
  lastUsedAt: number | null;
}

/** Which sessions a listing shows, and which page (ordered by tenant, then username). */
export interface IgFilter {
  tenant?: string | undefined;
  state?: string | undefined;
  username?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

function filteredIg(store: Store, f: IgFilter) {
  let q = store.db.selectFrom('ig_accounts as i').innerJoin('tenants as t', 't.id', 'i.tenant_id');
  if (f.tenant !== undefined) q = q.where('t.name', '=', f.tenant);
  if (f.state !== undefined) q = q.where('i.state', '=', f.state);
  if (f.username !== undefined) q = q.where('i.username', '=', f.username.replace(/^@/, '').toLowerCase());
  return q;
}

export async function countIg(store: Store, f: IgFilter): Promise<number> {
  const r = await filteredIg(store, f)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

export async function listIg(store: Store, now: number, f: IgFilter = {}): Promise<IgRow[]> {
  let q = filteredIg(store, f)
    .leftJoin('proxies as p', (j) =>
      j.on((eb) =>
        eb.or([
          eb('p.id', '=', eb.ref('i.proxy_id')),
          eb.and([eb('i.proxy_id', 'is', null), eb('p.id', '=', eb.ref('i.pinned_proxy_id'))]),
        ]),
      ),
    )
    .select((eb) => [
      eb
        .exists(
          eb
            .selectFrom('proxies as s')
            .select('s.id')
            .whereRef('s.tenant_id', '=', 'i.tenant_id')
            .where('s.shared', '=', 1),
        )
        .as('tenant_proxies'),
      'i.direct',
      'i.proxy_removed_at',
      'i.id',
      'i.rate_limited_until',
      't.name as tenant',
      'i.username',
      'i.state',
      'i.priority',
      'i.totp_secret_enc',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username as puser',
      'i.session_created_at',
      'i.last_verified_at',
      'i.next_refresh_at',
      'i.fail_count',
      'i.last_error',
      'i.disabled_at',
      'i.last_used_at',
    ])
    .orderBy('t.name')
    .orderBy('i.username');
  if (f.limit !== undefined) q = q.limit(f.limit).offset(f.offset ?? 0);
  const rows = await q.execute();
  const backoffs = await listBackoffs(store, now);
  const effectiveRoute = (r: (typeof rows)[number]): string =>
    r.proxy_removed_at !== null
      ? `none: ${PROXY_REMOVED_REASON}`
      : r.direct === 1
        ? 'direct'
        : (proxyLabel({ ...r, username: r.puser }) ??
          (Number(r.tenant_proxies) ? 'a tenant proxy, pinned at first use' : 'direct'));
  return rows.map((r) => ({
    id: r.id,
    rateLimitedUntil: r.rate_limited_until,
    tenant: r.tenant,
    username: r.username,
    state: r.state,
    priority: r.priority,
    hasTotp: r.totp_secret_enc !== null,
    proxy: effectiveRoute(r),
    sessionAgeMs: r.session_created_at === null ? null : now - r.session_created_at,
    lastVerifiedAt: r.last_verified_at,
    nextRefreshAt: r.next_refresh_at,
    failures: r.fail_count,
    lastError: r.last_error,
    throttled: backoffs.get(r.id) ?? [],
    disabledAt: r.disabled_at,
    lastUsedAt: r.last_used_at,
  }));
}

export interface IgRemoval {
  tenant: string;
  username: string;
}

/**
 * Remove an Instagram login account (and its stored password, TOTP secret and cookies). One in
 * use — a login running for it (`ig-refresh` lock) or a follower fetch leased to it — is refused
 * (DataError, 65, saying what) unless `force`; paused fetches simply continue with another session.
 */
export async function removeIg(
  store: Store,
  who: { username: string; tenant?: string | undefined },
  opts: { force: boolean; now: number },
): Promise<IgRemoval> {
  return store.writeTx(async (tx) => {
    let q = tx
      .selectFrom('ig_accounts as i')
      .innerJoin('tenants as t', 't.id', 'i.tenant_id')
      .select(['i.id', 'i.tenant_id', 't.name as tenant', 'i.username'])
      .where('i.username', '=', who.username.replace(/^@/, '').toLowerCase());
    if (who.tenant !== undefined) q = q.where('t.name', '=', who.tenant);
    const rows = await q.execute();
    if (rows.length === 0) {
      throw new DataError(
        `no Instagram account "${who.username}"${who.tenant ? ` in tenant ${who.tenant}` : ''} → see \`acctctl ig list\``,
      );
    }
    if (rows.length > 1) {
      throw new UsageError(
        `Instagram account "${who.username}" exists in tenants ${rows.map((r) => r.tenant).join(', ')} → say which with --tenant`,
      );
    }
    const acc = rows[0]!;
    const uses: string[] = [];
    const lock = await tx
      .selectFrom('locks')
      .select('holder')
      .where('name', '=', `ig-refresh:${acc.id}`)
      .where('expires_at', '>', opts.now)
      .executeTakeFirst();
    if (lock) uses.push(`a login is running for it (${lock.holder})`);
    const jobs = await tx
      .selectFrom('check_jobs as j')
      .innerJoin('watches as w', 'w.id', 'j.watch_id')
      .select(['w.username', 'j.kind', 'j.lease_holder'])
      .where('j.ig_account_id', '=', acc.id)
      .where('j.lease_expires_at', '>', opts.now)
      .execute();
    for (const j of jobs) uses.push(`a ${j.kind} fetch of ${j.username} is running with it (${j.lease_holder ?? '?'})`);
    if (uses.length && !opts.force) {
      throw new DataError(
        `Instagram account ${acc.tenant}/${acc.username} is in use: ${uses.join('; ')}; nothing was removed → try again when it is done, or pass --force`,
      );
    }
    await rememberRemoved(tx, {
      subject_type: 'ig_account',
      subject_id: acc.id,
      name: acc.username,
      tenant_id: acc.tenant_id,
      tenant_name: acc.tenant,
      removed_at: opts.now,
    });
    await tx.deleteFrom('ig_accounts').where('id', '=', acc.id).execute();
    await tx.deleteFrom('locks').where('name', '=', `ig-refresh:${acc.id}`).execute();
    await tx
      .insertInto('events')
      .values({
        at: opts.now,
        kind: 'ig_account_removed',
        subject_type: 'ig_account',
        subject_id: acc.id,
        tenant_id: acc.tenant_id,
        message: `Instagram account ${acc.tenant}/${acc.username}: removed by operator`,
        data_json: null,
      })
      .execute();
    return { tenant: acc.tenant, username: acc.username };
  });
}

export interface IgUseChange {
  tenant: string;
  username: string;
  disabled: boolean;
  /** False when it already was so (nothing was written). */
  changed: boolean;
}

/**
 * `ig disable|enable USER --tenant T`: an operator takes the credentials out of use (check picks
 * none of its sessions, refresh-session never logs it in, no alert is raised for it) or back in.
 * The state is kept; an event records the change.
 */
export async function setIgDisabled(
  store: Store,
  who: { username: string; tenant: string },
  disabled: boolean,
  now: number,
): Promise<IgUseChange> {
  return store.writeTx(async (tx) => {
    const username = who.username.replace(/^@/, '').toLowerCase();
    const a = await tx
      .selectFrom('ig_accounts as i')
      .innerJoin('tenants as t', 't.id', 'i.tenant_id')
      .select(['i.id', 'i.tenant_id', 'i.disabled_at'])
      .where('t.name', '=', who.tenant)
      .where('i.username', '=', username)
      .executeTakeFirst();
    if (!a) {
      throw new DataError(
        `no Instagram account ${username} in tenant "${who.tenant}" → see \`acctctl ig list --tenant ${who.tenant}\``,
      );
    }
    const base = { tenant: who.tenant, username, disabled };
    if ((a.disabled_at !== null) === disabled) return { ...base, changed: false };
    await tx
      .updateTable('ig_accounts')
      .set({ disabled_at: disabled ? now : null, updated_at: now })
      .where('id', '=', a.id)
      .execute();
    await tx
      .insertInto('events')
      .values({
        at: now,
        kind: disabled ? 'ig_account_disabled' : 'ig_account_enabled',
        subject_type: 'ig_account',
        subject_id: a.id,
        tenant_id: a.tenant_id,
        message: `Instagram account ${who.tenant}/${username}: ${disabled ? 'disabled' : 'enabled'} by operator`,
        data_json: null,
      })
      .execute();
    return { ...base, changed: true };
  });
}

/** Back-offs of live sessions Instagram throttled, per endpoint kind (issue 9). */
export const THROTTLE_BASE_MS = 10 * 60_000;
export const THROTTLE_MAX_MS = 6 * 3_600_000;

export async function activeBackoffs(
  store: Store,
  igAccountId: number,
): Promise<Map<string, { until: number; strikes: number }>> {
  const rows = await store.db
    .selectFrom('ig_backoffs')
    .select(['kind', 'until_at', 'strikes'])
    .where('ig_account_id', '=', igAccountId)
    .execute();
  return new Map(rows.map((r) => [r.kind, { until: r.until_at, strikes: r.strikes }]));
}

/** One more throttle for (session, kind): rests 10 min · 2^(strikes−1), at most 6 h. Returns until. */
export async function throttleBackoff(
  store: Store,
  igAccountId: number,
  kind: string,
  reason: string,
  now: number,
): Promise<{ until: number; strikes: number }> {
  return store.writeTx(async (tx) => {
    const prev = await tx
      .selectFrom('ig_backoffs')
      .select('strikes')
      .where('ig_account_id', '=', igAccountId)
      .where('kind', '=', kind)
      .executeTakeFirst();
    const strikes = (prev?.strikes ?? 0) + 1;
    const until = now + Math.min(THROTTLE_BASE_MS * 2 ** (strikes - 1), THROTTLE_MAX_MS);
    if (prev)
      await tx
        .updateTable('ig_backoffs')
        .set({ strikes, until_at: until, reason })
        .where('ig_account_id', '=', igAccountId)
        .where('kind', '=', kind)
        .execute();
    else
      await tx
        .insertInto('ig_backoffs')
        .values({ ig_account_id: igAccountId, kind, strikes, until_at: until, reason })
        .execute();
    return { until, strikes };
  });
}

/** A request of this kind worked again: the strikes are forgotten. */
export async function clearBackoff(store: Store, igAccountId: number, kind: string): Promise<void> {
  await store.db.deleteFrom('ig_backoffs').where('ig_account_id', '=', igAccountId).where('kind', '=', kind).execute();
}

/** Throttle back-offs still running, for status / ig list. */
export async function listBackoffs(
  store: Store,
  now: number,
): Promise<Map<number, { kind: string; until: number; strikes: number }[]>> {
  const rows = await store.db
    .selectFrom('ig_backoffs')
    .select(['ig_account_id', 'kind', 'until_at', 'strikes'])
    .where('until_at', '>', now)
    .orderBy('kind')
    .execute();
  const out = new Map<number, { kind: string; until: number; strikes: number }[]>();
  for (const r of rows)
    out.set(r.ig_account_id, [
      ...(out.get(r.ig_account_id) ?? []),
      { kind: r.kind, until: r.until_at, strikes: r.strikes },
    ]);
  return out;
}

// ------------------------------------------------------------------------------------------
// check and refresh-session

/** Columns to change on an Instagram account. */
export type IgAccountPatch = Updateable<IgAccountsTable>;

/**
 * Change an Instagram account. `ifState`: only while it is in that state; `ifNoDevice`: only
 * while it has no device identity yet (the first chooser wins). Returns the rows changed (0 or 1).
 */
export async function updateIgAccount(
  store: Store,
  id: number,
  patch: IgAccountPatch,
  opts: { ifState?: string; ifNoDevice?: boolean } = {},
): Promise<number> {
  let q = store.db.updateTable('ig_accounts').set(patch).where('id', '=', id);
  if (opts.ifState !== undefined) q = q.where('state', '=', opts.ifState);
  if (opts.ifNoDevice) q = q.where('device_json', 'is', null);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Update an account with secrets: `patch` seals them inside a sealing transaction (see
 * store/secrets.ts `sealingTx`), so they are under the key that is primary when they are written.
 */
export async function updateIgAccountSealed(
  store: Store,
  box: SecretBox,
  id: number,
  patch: (box: SecretBox) => IgAccountPatch,
): Promise<void> {
  await sealingTx(store, box, async (tx) => {
    await tx.updateTable('ig_accounts').set(patch(box)).where('id', '=', id).execute();
  });
}

/** A tenant's expired sessions with a password whose refresh is due, best first. */
export async function expiredSessionsDue(
  store: Store,
  tenantId: number,
  now: number,
): Promise<{ id: number; username: string }[]> {
  return store.db
    .selectFrom('ig_accounts')
    .select(['id', 'username'])
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'expired')
    .where('disabled_at', 'is', null)
    .where('password_enc', 'is not', null)
    .where((eb) => eb.or([eb('next_refresh_at', 'is', null), eb('next_refresh_at', '<=', now)]))
    .orderBy('priority', 'desc')
    .orderBy('id')
    .execute();
}

function validSessionsQuery(store: Store, tenantId: number) {
  return store.db
    .selectFrom('ig_accounts')
    .where('tenant_id', '=', tenantId)
    .where('state', '=', 'valid')
    .where('disabled_at', 'is', null)
    .where('sessionid_enc', 'is not', null);
}

/** Whether the tenant has any valid session. */
export async function hasValidSession(store: Store, tenantId: number): Promise<boolean> {
  return (await validSessionsQuery(store, tenantId).select('id').executeTakeFirst()) !== undefined;
}

/** The ids of the tenant's valid sessions. */
export async function validSessionIds(store: Store, tenantId: number): Promise<{ id: number }[]> {
  return validSessionsQuery(store, tenantId).select('id').execute();
}

/** The tenant's valid sessions as check uses them (secrets still sealed), best first. */
export async function validSessions(
  store: Store,
  tenantId: number,
): Promise<
  {
    id: number;
    username: string;
    sessionid_enc: string | null;
    cookies_enc: string | null;
    device_json: string | null;
    rate_limited_until: number | null;
    last_verified_at: number | null;
    last_used_at: number | null;
  }[]
> {
  return validSessionsQuery(store, tenantId)
    .select([
      'id',
      'username',
      'sessionid_enc',
      'cookies_enc',
      'device_json',
      'rate_limited_until',
      'last_verified_at',
      'last_used_at',
    ])
    .orderBy('priority', 'desc')
    .orderBy('id')
    .execute();
}

/** One request of an endpoint kind made with a session (its rate window counts these). */
export async function recordIgRequest(store: Store, igAccountId: number, kind: string, at: number): Promise<void> {
  await store.db.insertInto('ig_requests').values({ ig_account_id: igAccountId, kind, at }).execute();
}

/** check used the session at `at` (`ig list`'s "last used"); never moves it back. */
export async function markIgUsed(store: Store, igAccountId: number, at: number): Promise<void> {
  await store.db
    .updateTable('ig_accounts')
    .set({ last_used_at: at })
    .where('id', '=', igAccountId)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
    .execute();
}

/** Requests of a kind a session made after `since`. */
export async function igRequestsSince(store: Store, igAccountId: number, kind: string, since: number): Promise<number> {
  const r = await store.db
    .selectFrom('ig_requests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('ig_account_id', '=', igAccountId)
    .where('kind', '=', kind)
    .where('at', '>', since)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** An Instagram account as refresh-session logs it in (secrets still sealed). */
export interface IgLoginRow {
  id: number;
  tenant: string;
  /** The tenant's login fallback (`tenants set --login-fallback`): null, or 'http'. */
  login_fallback: string | null;
  username: string;
  password_enc: string | null;
  totp_secret_enc: string | null;
  fail_count: number;
  proxy_id: number | null;
  browser_state_enc: string | null;
  cookies_enc: string | null;
  device_json: string | null;
  /** Set while an operator disabled it (`ig disable`): never logged in. */
  disabled_at: number | null;
}

/**
 * Accounts for refresh-session, best first: one by id or username, all, or those due at `due`
 * (their time has come; or their session died and no failed login asks for a back-off).
 */
export async function igLoginRows(
  store: Store,
  where: { due?: number; username?: string | undefined; all?: boolean | undefined; id?: number },
): Promise<IgLoginRow[]> {
  let q = store.db
    .selectFrom('ig_accounts as i')
    .innerJoin('tenants as t', 't.id', 'i.tenant_id')
    .select([
      'i.id',
      't.name as tenant',
      't.login_fallback',
      'i.username',
      'i.password_enc',
      'i.totp_secret_enc',
      'i.fail_count',
      'i.proxy_id',
      'i.browser_state_enc',
      'i.cookies_enc',
      'i.device_json',
      'i.disabled_at',
    ])
    .orderBy('i.priority', 'desc')
    .orderBy('i.id');
  // Disabled credentials are never logged in by the due or --all runs; one named is refused by its caller.
  if (where.id === undefined && where.username === undefined) q = q.where('i.disabled_at', 'is', null);
  if (where.id !== undefined) q = q.where('i.id', '=', where.id);
  else if (where.username !== undefined) q = q.where('i.username', '=', where.username.replace(/^@/, '').toLowerCase());
  else if (!where.all) {
    q = q
      .where('i.state', 'not in', ['needs_manual', 'failed'])
      .where((eb) =>
        eb.or([
          eb('i.next_refresh_at', 'is', null),
          eb('i.next_refresh_at', '<=', where.due ?? 0),
          eb.and([eb('i.state', '=', 'expired'), eb('i.fail_count', '=', 0)]),
        ]),
      );
  }
  return q.execute();
}

/** An account's state and next refresh (it must exist). */
export async function igRefreshState(
  store: Store,
  id: number,
): Promise<{ state: string; next_refresh_at: number | null }> {
  return store.db
    .selectFrom('ig_accounts')
    .select(['state', 'next_refresh_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
}

/** The tenant of an Instagram account (it must exist). */
export async function igTenantOf(store: Store, igId: number): Promise<{ tenant_id: number; name: string }> {
  return store.db
    .selectFrom('ig_accounts as i')
    .innerJoin('tenants as t', 't.id', 'i.tenant_id')
    .select(['i.tenant_id', 't.name'])
    .where('i.id', '=', igId)
    .executeTakeFirstOrThrow();
}

/** An event about an Instagram account; with `alertKey`, it also opens that alert (once while it lasts). */
export async function igAccountEvent(store: Store, e: NewEvent, alertKey: string | null): Promise<void> {
  if (alertKey) await store.writeTx((tx) => raiseAlert(tx, alertKey, e));
  else await store.db.insertInto('events').values(e).execute();
}

/**
 * ig import: all rows or none; secrets sealed to their row. A row with a sessionid is valid
 * (next refresh at `sessionRefreshAt`); a new one without, or one a person gave new details
 * after needs_manual / failed, is due for a login at once.
 */
export async function importIgAccounts(
  store: Store,
  box: SecretBox,
  rows: IgAccountInput[],
  opts: { createTenants: boolean; now: number; sessionRefreshAt: number },
): Promise<{ imported: number; created: number; updated: number; tenantsCreated: string[] }> {
  const { now } = opts;
  return sealingTx(store, box, async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.map((r) => r.tenant),
      { create: opts.createTenants, now },
    );
    let created = 0;
    for (const r of rows) {
      const tenant = { id: tenants.ids.get(r.tenant)! };
      const proxyId = r.proxy ? (await upsertProxy(tx, box, r.proxy, tenant.id, now, false)).id : null;
      const existing = await tx
        .selectFrom('ig_accounts')
        .select(['id', 'state', 'proxy_removed_at'])
        .where('tenant_id', '=', tenant.id)
        .where('username', '=', r.username)
        .executeTakeFirst();
      const id =
        existing?.id ??
        (
          await tx
            .insertInto('ig_accounts')
            .values({
              tenant_id: tenant.id,
              username: r.username,
              password_enc: null,
              totp_secret_enc: null,
              sessionid_enc: null,
              cookies_enc: null,
              proxy_id: proxyId,
              session_created_at: null,
              last_verified_at: null,
              next_refresh_at: null,
              last_error: null,
              created_at: now,
              updated_at: now,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
      if (!existing) created++;
      const seal = (v: string | null, column: string) =>
        v === null ? null : box.seal(v, { table: 'ig_accounts', column, rowId: id });
      await tx
        .updateTable('ig_accounts')
        .set({
          password_enc: seal(r.password, 'password_enc'),
          totp_secret_enc: seal(r.totpSecret, 'totp_secret_enc'),
          // An own proxy given: it is the account's route from now on (a removed one's way back too).
          // None given: the route stays as it was (moving an account is `ig proxy`, never an import).
          ...(proxyId !== null ? { proxy_id: proxyId, pinned_proxy_id: null, direct: 0, proxy_removed_at: null } : {}),
          priority: r.priority,
          updated_at: now,
          fail_count: 0,
          ...(r.sessionid
            ? {
                sessionid_enc: seal(r.sessionid, 'sessionid_enc'),
                state: 'valid',
                session_created_at: now,
                next_refresh_at: opts.sessionRefreshAt,
              }
            : (existing && existing.state !== 'needs_manual' && existing.state !== 'failed') ||
                (existing?.proxy_removed_at != null && proxyId === null)
              ? {} // (still parked for its removed proxy: `ig proxy` is the way back)
              : // New, or a person gave it new details after a checkpoint, a wrong password or a
                // removed proxy: due for a login at once.
                { state: 'expired', next_refresh_at: now, last_error: null }),
        })
        .where('id', '=', id)
        .execute();
    }
    return { imported: rows.length, created, updated: rows.length - created, tenantsCreated: tenants.created };
  });
}
