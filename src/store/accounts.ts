import { sql, type Kysely, type SqlBool } from 'kysely';
import { DataError, UsageError } from '../errors.js';
import { insertEvent } from './events.js';
import { PROXY_REMOVED_REASON, proxyLabel } from './proxies.js';
import { rememberRemoved } from './removed.js';
import { ACCOUNT_STATES, effectiveAccountState, TIMED_STATES, type AccountState } from '../domain/accountStates.js';
import { parseStoredDevice, type TelegramDevice } from '../domain/device.js';
import type { DialectCaps } from './dialects.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** Which Telegram accounts a listing shows (`--state`: the effective state, `--tenant`). */
export interface AccountFilter {
  state?: string | undefined;
  tenant?: string | undefined;
}

export interface AccountListRow {
  id: number;
  name: string;
  tenant: string | null;
  phone: string | null;
  enabled: boolean;
  /** The effective state at the listing's `now` (effectiveAccountState): a wait that has passed is `active`. */
  state: AccountState;
  /** When the effective state ends (null for active and the states a person ends). */
  until: number | null;
  /** What the store holds until `recover` writes `active`. */
  storedState: AccountState;
  storedUntil: number | null;
  reason: string | null;
  leaseHolder: string | null;
  leaseExpiresAt: number | null;
  proxy: string | null;
  lastUsedAt: number | null;
  errorCount: number;
  lastError: string | null;
  /** The device it connects as (null until chosen: import, or its first connect). */
  device: TelegramDevice | null;
  /** Its time zone: its own, else its tenant's (null: the fleet's, ACCTCTL_TIMEZONE). */
  timeZone: string | null;
}

export function checkAccountFilter(f: AccountFilter): void {
  if (f.state !== undefined && !(ACCOUNT_STATES as readonly string[]).includes(f.state)) {
    throw new UsageError(`--state "${f.state}" is unknown → use one of ${ACCOUNT_STATES.join(', ')}`);
  }
}

/** `--state S` on the effective state (the SQL twin of effectiveState, on telegram_accounts as `a`). */
function effectiveStateIs(state: AccountState, now: number) {
  const timed = sql.join(TIMED_STATES.map((s) => sql`${s}`));
  if (state === 'active')
    return sql<SqlBool>`(a.state = 'active' or (a.state in (${timed}) and a.state_until <= ${now}))`;
  if (TIMED_STATES.includes(state))
    return sql<SqlBool>`(a.state = ${state} and (a.state_until is null or a.state_until > ${now}))`;
  return sql<SqlBool>`(a.state = ${state})`;
}

function filtered(store: Store, f: AccountFilter, now: number) {
  let q = store.db
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .leftJoin('proxies as p', 'p.id', 'a.proxy_id');
  if (f.state !== undefined) q = q.where(effectiveStateIs(f.state as AccountState, now));
  if (f.tenant !== undefined) q = q.where('t.name', '=', f.tenant);
  return q;
}

/** Accounts matching the filter, `--state` read as the effective state at `now`. */
export async function countAccounts(store: Store, f: AccountFilter, now: number): Promise<number> {
  checkAccountFilter(f);
  let q = store.db.selectFrom('telegram_accounts as a');
  if (f.state !== undefined) q = q.where(effectiveStateIs(f.state as AccountState, now));
  if (f.tenant !== undefined) {
    const tenant = f.tenant;
    q = q.where('a.tenant_id', 'in', (eb) => eb.selectFrom('tenants').select('id').where('name', '=', tenant));
  }
  const r = await q.select(sql<number>`count(*)`.as('n')).executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * One page in name order, after the account named `after` (keyset paging: constant cost per page);
 * states as they are at `now` (effectiveAccountState), the stored ones beside them.
 */
export async function accountsPage(
  store: Store,
  f: AccountFilter,
  after: string | null,
  limit: number,
  now: number,
): Promise<AccountListRow[]> {
  checkAccountFilter(f);
  let q = filtered(store, f, now)
    .select([
      'a.id',
      'a.session_name',
      't.name as tenant',
      'a.phone',
      'a.enabled',
      'a.state',
      'a.state_until',
      'a.state_reason',
      'a.lease_holder',
      'a.lease_expires_at',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username',
      'a.last_used_at',
      'a.error_count',
      'a.last_error',
      'a.device_json',
      sql<string | null>`coalesce(a.timezone, t.timezone)`.as('timezone'),
    ])
    .orderBy('a.session_name')
    .limit(limit);
  if (after !== null) q = q.where('a.session_name', '>', after);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.session_name,
    tenant: r.tenant,
    phone: r.phone,
    enabled: r.enabled === 1,
    ...effectiveAccountState({ state: r.state, until: r.state_until }, now),
    storedState: r.state,
    storedUntil: r.state_until,
    reason: r.state_reason,
    leaseHolder: r.lease_holder,
    leaseExpiresAt: r.lease_expires_at,
    proxy: proxyLabel(r),
    lastUsedAt: r.last_used_at,
    errorCount: r.error_count,
    lastError: r.last_error,
    device: parseStoredDevice(r.device_json),
    timeZone: r.timezone,
  }));
}

/** What a Telegram client needs of one account, still encrypted. */
export async function accountSessionRow(store: Store, accountId: number) {
  return store.db
    .selectFrom('telegram_accounts')
    .select([
      'id',
      'session_name',
      'api_id',
      'api_hash_enc',
      'string_session_enc',
      'proxy_id',
      'proxy_removed_at',
      'device_json',
    ])
    .where('id', '=', accountId)
    .executeTakeFirst();
}

/** What `accounts export` writes of the accounts chosen (by name, tenant, or all), still encrypted; name order. */
export async function accountsForExport(store: Store, sel: { names?: string[]; tenant?: string }) {
  let q = store.db
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .select([
      'a.id',
      'a.session_name',
      't.name as tenant',
      'a.phone',
      'a.api_id',
      'a.api_hash_enc',
      'a.string_session_enc',
      'a.session_meta_enc',
      'a.device_json',
      sql<string | null>`coalesce(a.timezone, t.timezone)`.as('timezone'),
    ])
    .orderBy('a.session_name');
  if (sel.names) q = q.where('a.session_name', 'in', sel.names);
  if (sel.tenant !== undefined) q = q.where('t.name', '=', sel.tenant);
  return q.execute();
}

/** An account's stored device (JSON), by name; null when it has none or does not exist. */
export async function accountDeviceByName(store: Store, name: string): Promise<string | null> {
  const r = await store.db
    .selectFrom('telegram_accounts')
    .select('device_json')
    .where('session_name', '=', name)
    .executeTakeFirst();
  return r?.device_json ?? null;
}

/** Store the device chosen for an account that had none (kept if another run stored one first). */
export async function setDeviceIfUnset(store: Store, accountId: number, deviceJson: string): Promise<string> {
  await store.db
    .updateTable('telegram_accounts')
    .set({ device_json: deviceJson })
    .where('id', '=', accountId)
    .where('device_json', 'is', null)
    .execute();
  const r = await store.db
    .selectFrom('telegram_accounts')
    .select('device_json')
    .where('id', '=', accountId)
    .executeTakeFirst();
  return r?.device_json ?? deviceJson;
}

/** An account's state, by name, inside the caller's transaction. */
export async function accountStateByName(tx: Kysely<Database>, name: string) {
  return tx
    .selectFrom('telegram_accounts')
    .select(['id', 'state', 'state_until', 'channels_full', 'tenant_id'])
    .where('session_name', '=', name)
    .executeTakeFirst();
}

/** `active` again with a clean slate: no errors, not parked by CHANNELS_TOO_MUCH. */
export async function reactivateAccountRow(
  tx: Kysely<Database>,
  id: number,
  reason: string,
  now: number,
): Promise<void> {
  await tx
    .updateTable('telegram_accounts')
    .set({
      state: 'active',
      state_until: null,
      state_reason: reason,
      error_count: 0,
      last_error: null,
      channels_full: 0,
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
}

/** The columns a probe reads of an account, and of its proxy (to skip one that is down). */
function probeSelect(store: Store, now: number) {
  return store.db
    .selectFrom('telegram_accounts as a')
    .leftJoin('proxies as p', 'p.id', 'a.proxy_id')
    .select([
      'a.id',
      'a.session_name',
      'a.state',
      'a.state_until',
      'a.channels_full',
      'a.proxy_id',
      'p.healthy as proxy_healthy',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username',
      'p.check_ok',
      'p.check_reason',
      'p.checked_at',
      'p.last_error as proxy_error',
    ])
    .where((eb) => eb.or([eb('a.lease_holder', 'is', null), eb('a.lease_expires_at', '<=', now)]));
}

export type ProbeCandidate = Awaited<ReturnType<typeof probeCandidates>>[number];

/**
 * The accounts `recover --probe` asks Telegram about, free of leases, in name order: the one
 * named, else the enabled, not banned ones with errors, in a state a probe can end, or parked by
 * CHANNELS_TOO_MUCH.
 */
export async function probeCandidates(store: Store, opts: { account?: string | undefined; now: number }) {
  let q = probeSelect(store, opts.now).orderBy('a.session_name');
  if (opts.account !== undefined) {
    q = q.where('a.session_name', '=', opts.account);
  } else {
    q = q
      .where('a.enabled', '=', 1)
      .where('a.proxy_removed_at', 'is', null)
      .where('a.state', '!=', 'banned')
      .where((eb) =>
        eb.or([
          eb('a.error_count', '>', 0),
          eb('a.state', 'in', ['blocked', 'frozen', 'disabled']),
          eb('a.channels_full', '=', 1),
        ]),
      );
  }
  return q.execute();
}

/**
 * `recover --probe --all`: give every account not scheduled yet its first probe time, the next
 * occurrence of its slot of the day (domain/probePacing.ts: ((id × SLOT_MULTIPLIER) mod 1440)
 * minutes after UTC midnight, computed here in one statement). Returns how many were scheduled.
 */
export async function scheduleFleetProbes(
  store: Store,
  v: { now: number; dayMs: number; multiplier: number },
): Promise<number> {
  const dayStart = sql.lit(v.now - (v.now % v.dayMs));
  const now = sql.lit(v.now);
  const day = sql.lit(v.dayMs);
  const slot = sql<number>`((id * ${sql.lit(v.multiplier)}) % ${sql.lit(v.dayMs / 60_000)}) * 60000`;
  const r = await store.db
    .updateTable('telegram_accounts')
    .set({
      probe_due_at: sql<number>`${dayStart} + ${slot} + case when ${dayStart} + ${slot} < ${now} then ${day} else 0 end`,
    })
    .where('probe_due_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * The accounts `recover --probe --all` probes now: enabled, not needing a person (`personStates`:
 * frozen, disabled, banned — the plain `recover --probe` asks about those), not parked for a
 * removed proxy, free, and due (their slot has come), the longest due first, at most `limit` — only those
 * whose proxy is up (`proxyUp`) or only those on a proxy that is down (`!proxyUp`).
 */
export async function dueFleetProbes(
  store: Store,
  v: { now: number; limit: number; proxyUp: boolean; personStates: readonly AccountState[] },
) {
  return probeSelect(store, v.now)
    .where('a.enabled', '=', 1)
    .where('a.proxy_removed_at', 'is', null)
    .where('a.state', 'not in', [...v.personStates])
    .where('a.probe_due_at', '<=', v.now)
    .where((eb) =>
      v.proxyUp
        ? eb.or([eb('a.proxy_id', 'is', null), eb('p.healthy', '=', 1)])
        : eb.and([eb('a.proxy_id', 'is not', null), eb('p.healthy', '=', 0)]),
    )
    .orderBy('a.probe_due_at')
    .orderBy('a.id')
    .limit(v.limit)
    .execute();
}

/** How many accounts `--all` still has due after a run, and when the next one falls due. */
export async function fleetProbeBacklog(
  store: Store,
  now: number,
  personStates: readonly AccountState[],
): Promise<{ due: number; nextAt: number | null }> {
  const base = store.db
    .selectFrom('telegram_accounts')
    .where('enabled', '=', 1)
    .where('proxy_removed_at', 'is', null)
    .where('state', 'not in', [...personStates]);
  const due = await base
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('probe_due_at', '<=', now)
    .executeTakeFirstOrThrow();
  const next = await base
    .select((eb) => eb.fn.min('probe_due_at').as('at'))
    .where('probe_due_at', '>', now)
    .executeTakeFirst();
  return { due: Number(due.n), nextAt: next?.at == null ? null : Number(next.at) };
}

/**
 * Enabled accounts (not parked, not needing a person) whose proxy is down — dead by a failed
 * `proxies check`, or unhealthy after failures in use: leases skip them (never direct), and join
 * says so. At most `limit`, in name order.
 */
export async function accountsOnDownProxies(
  store: Store,
  v: { now: number; tenantId?: number | undefined; limit: number; personStates: readonly AccountState[] },
) {
  let q = probeSelect(store, v.now)
    .where('a.enabled', '=', 1)
    .where('a.proxy_removed_at', 'is', null)
    .where('a.state', 'not in', [...v.personStates])
    .where('a.proxy_id', 'is not', null)
    .where('p.healthy', '=', 0)
    .orderBy('a.session_name')
    .limit(v.limit);
  if (v.tenantId !== undefined) q = q.where('a.tenant_id', '=', v.tenantId);
  return q.execute();
}

export async function accountExists(store: Store, name: string): Promise<boolean> {
  const row = await store.db
    .selectFrom('telegram_accounts')
    .select('id')
    .where('session_name', '=', name)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Lease one account for a probe, in one statement: only if no live lease holds it (a join that
 * leased it first wins; one starting now finds it taken). Returns the lease token, or null.
 */
export async function claimProbeLease(
  store: Store,
  v: { id: number; holder: string; now: number; expiresAt: number },
): Promise<number | null> {
  const row = await store.db
    .updateTable('telegram_accounts')
    .set((eb) => ({
      lease_holder: v.holder,
      lease_token: eb('fence', '+', 1),
      fence: eb('fence', '+', 1),
      lease_expires_at: v.expiresAt,
      lease_action: null,
      lease_channel: null,
      updated_at: v.now,
    }))
    .where('id', '=', v.id)
    .where((eb) => eb.or([eb('lease_holder', 'is', null), eb('lease_expires_at', '<=', v.now)]))
    .returning('lease_token')
    .executeTakeFirst();
  return row?.lease_token ?? null;
}

/** End a probe's lease (only the one it took: the token must still match). */
export async function endProbeLease(
  store: Store,
  v: { id: number; token: number; now: number; probed?: { at: number; nextDueAt: number } },
): Promise<void> {
  await store.db
    .updateTable('telegram_accounts')
    .set((eb) => ({
      lease_holder: null,
      lease_token: null,
      lease_expires_at: null,
      fence: eb('fence', '+', 1),
      updated_at: v.now,
      ...(v.probed ? { probed_at: v.probed.at, probe_due_at: v.probed.nextDueAt } : {}),
    }))
    .where('id', '=', v.id)
    .where('lease_token', '=', v.token)
    .execute();
}

/** Write what a probe learned (the state, or only the CHANNELS_TOO_MUCH parking) and its event. */
export async function recordProbe(
  store: Store,
  a: { id: number; name: string },
  learned: {
    state: AccountState;
    until: number | null;
    reason: string;
    fine: boolean;
    lastError: string | null;
  } | null,
  channelsFull: boolean,
  event: { message: string; data: unknown },
  now: number,
): Promise<void> {
  await store.writeTx(async (tx) => {
    await tx
      .updateTable('telegram_accounts')
      .set({
        ...(learned
          ? {
              state: learned.state,
              state_until: learned.until,
              state_reason: learned.reason,
              ...(learned.fine ? { error_count: 0, last_error: null } : { last_error: learned.lastError }),
            }
          : {}),
        channels_full: channelsFull ? 1 : 0,
        updated_at: now,
      })
      .where('id', '=', a.id)
      .execute();
    await insertEvent(tx, {
      at: now,
      kind: 'account_probe',
      subject_type: 'telegram_account',
      subject_id: a.id,
      tenant_id: null,
      message: event.message,
      data_json: JSON.stringify(event.data),
    });
  });
}

/** Whether an account is enabled, and its state (undefined: it no longer exists). */
export async function accountStanding(
  store: Store,
  id: number,
): Promise<{ state: AccountState; enabled: number } | undefined> {
  return store.db.selectFrom('telegram_accounts').select(['state', 'enabled']).where('id', '=', id).executeTakeFirst();
}

/** The columns an import writes besides the name and the sealed secrets. */
export interface AccountColumns {
  tenant_id: number | null;
  phone: string | null;
  api_id: number;
  dc_id: number;
  /** Left out: an existing account keeps its route (a new one gets none). */
  proxy_id?: number;
  /** null when an import gives a proxy: ends the parking of an account whose proxy was removed. */
  proxy_removed_at?: null;
  /** Left out: the stored time zone stays. */
  timezone?: string | null;
  updated_at: number;
}

/** The accounts among `names` that exist already, with what an import compares. */
export async function existingAccounts(tx: Kysely<Database>, names: string[]) {
  return tx
    .selectFrom('telegram_accounts')
    .select(['id', 'session_name', 'state', 'string_session_enc', 'device_json'])
    .where('session_name', 'in', names)
    .execute();
}

/** `n` new account ids, so each row goes in once with its secrets already sealed to it. */
export async function reserveAccountIds(tx: Kysely<Database>, caps: DialectCaps, n: number): Promise<number[]> {
  const r = await sql<{ id: number | string }>`${sql.raw(caps.reserveIdsSql('telegram_accounts', n))}`.execute(tx);
  return r.rows.map((x) => Number(x.id));
}

export async function insertAccounts(
  tx: Kysely<Database>,
  rows: (Omit<AccountColumns, 'proxy_id'> & {
    proxy_id: number | null;
    id: number;
    session_name: string;
    api_hash_enc: string;
    string_session_enc: string;
    device_json: string;
    session_meta_enc?: string | null;
    created_at: number;
  })[],
): Promise<void> {
  await tx.insertInto('telegram_accounts').values(rows).execute();
}

export async function updateAccountRow(
  tx: Kysely<Database>,
  id: number,
  cols: AccountColumns & {
    api_hash_enc: string;
    string_session_enc: string;
    device_json?: string;
    session_meta_enc?: string;
  },
): Promise<void> {
  await tx.updateTable('telegram_accounts').set(cols).where('id', '=', id).execute();
}

/** Mark accounts new (warm-up ramp from `now`); one already new keeps its start. */
export async function markAccountsNew(tx: Kysely<Database>, ids: readonly number[], now: number): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .updateTable('telegram_accounts')
    .set({ new_since: now })
    .where('id', 'in', [...ids])
    .where('new_since', 'is', null)
    .execute();
}

/** A `disabled` account given a new session: active again, errors cleared. */
export async function reviveAccount(tx: Kysely<Database>, id: number): Promise<void> {
  await tx
    .updateTable('telegram_accounts')
    .set({ state: 'active', state_until: null, state_reason: 'new session', error_count: 0, last_error: null })
    .where('id', '=', id)
    .execute();
}

export async function accountIdByName(db: Kysely<Database>, name: string): Promise<number | undefined> {
  const row = await db.selectFrom('telegram_accounts').select('id').where('session_name', '=', name).executeTakeFirst();
  return row?.id;
}

/** What an account removal found using the account, and what `--force` ended. */
export interface AccountRemoval {
  name: string;
  /** Its id, never handed out again (its events keep pointing at it). */
  id: number;
  tenantId: number | null;
  /** The lease it ended (its token fails from now on), if one was held. */
  leaseEnded: { holder: string; action: string | null; expiresAt: number } | null;
  /** Groups it was bound to (joined, pending approval, being joined): unbound and queued again. */
  targetsRequeued: string[];
}

/**
 * Remove a Telegram account as one transaction. In use — leased, or bound to groups (joined,
 * pending approval, a join trying one with it) — is refused (DataError, 65, naming what) unless
 * `force`: then the lease ends (the account's id is never handed out again, so its token fails
 * for good), its groups are unbound and queued for another account, and its name is kept in
 * removed_subjects so its events stay readable under it. The action and error logs go with it.
 */
export async function removeAccount(
  tx: Kysely<Database>,
  name: string,
  opts: { force: boolean; now: number },
): Promise<AccountRemoval> {
  const acc = await tx
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .select(['a.id', 'a.tenant_id', 't.name as tenant', 'a.lease_holder', 'a.lease_action', 'a.lease_expires_at'])
    .where('a.session_name', '=', name)
    .executeTakeFirst();
  if (!acc) throw new DataError(`no account named "${name}" → see \`acctctl accounts list\``);
  const leased =
    acc.lease_holder !== null && acc.lease_expires_at !== null && acc.lease_expires_at > opts.now
      ? { holder: acc.lease_holder, action: acc.lease_action, expiresAt: acc.lease_expires_at }
      : null;
  const bound = await tx
    .selectFrom('targets')
    .select(['id', 'ref', 'status'])
    .where('account_id', '=', acc.id)
    .where((eb) =>
      eb.or([eb('status', 'in', ['joined', 'pending_approval', 'joining']), eb('lease_expires_at', '>', opts.now)]),
    )
    .orderBy('ref')
    .execute();
  const uses: string[] = [];
  if (leased) {
    uses.push(
      `leased by ${leased.holder}${leased.action ? ` for ${leased.action}` : ''} until ${new Date(leased.expiresAt).toISOString()}`,
    );
  }
  if (bound.length) {
    const shown = bound.slice(0, 5).map((b) => `${b.ref} (${b.status})`);
    uses.push(
      `bound to ${bound.length === 1 ? 'a group' : `${bound.length} groups`}: ${shown.join(', ')}${bound.length > 5 ? ', …' : ''}`,
    );
  }
  if (uses.length && !opts.force) {
    throw new DataError(
      `account ${name} is in use: ${uses.join('; ')}; nothing was removed → release or wait for the lease, or pass --force ` +
        `(the lease ends and its token fails; its groups are unbound and queued for another account)`,
    );
  }
  // Groups it only tried are anyone's again; the ones it is in or asked to join are queued again.
  await tx.updateTable('targets').set({ account_id: null }).where('account_id', '=', acc.id).execute();
  if (bound.length) {
    await tx
      .updateTable('targets')
      .set({
        status: 'new',
        attempts: 0,
        next_attempt_at: null,
        error_message: null,
        joined_at: null,
        warmup_ends_at: null,
        requested_at: null,
        lease_holder: null,
        lease_token: null,
        lease_expires_at: null,
        updated_at: opts.now,
      })
      .where(
        'id',
        'in',
        bound.map((b) => b.id),
      )
      .execute();
  }
  await rememberRemoved(tx, {
    subject_type: 'telegram_account',
    subject_id: acc.id,
    name,
    tenant_id: acc.tenant_id,
    tenant_name: acc.tenant,
    removed_at: opts.now,
  });
  await tx.deleteFrom('telegram_accounts').where('id', '=', acc.id).execute();
  return { name, id: acc.id, tenantId: acc.tenant_id, leaseEnded: leased, targetsRequeued: bound.map((b) => b.ref) };
}

export async function setAccountEnabled(
  tx: Kysely<Database>,
  id: number,
  enabled: boolean,
  now: number,
): Promise<void> {
  if (enabled) {
    const a = await tx
      .selectFrom('telegram_accounts')
      .select(['session_name', 'proxy_removed_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (a && a.proxy_removed_at !== null)
      throw new DataError(
        `account ${a.session_name} is parked: ${PROXY_REMOVED_REASON}, and enabled it would connect directly; nothing was changed → ` +
          `give it a proxy first (\`acctctl accounts proxy ${a.session_name} PROXY_ID\`, or --direct to send from this host)`,
      );
  }
  await tx
    .updateTable('telegram_accounts')
    .set({ enabled: enabled ? 1 : 0, updated_at: now })
    .where('id', '=', id)
    .execute();
}

/** Put an account on a given proxy row. */
export async function setAccountProxy(store: Store, name: string, proxyId: number): Promise<void> {
  await store.db.updateTable('telegram_accounts').set({ proxy_id: proxyId }).where('session_name', '=', name).execute();
}
