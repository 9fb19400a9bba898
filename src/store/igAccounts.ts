import { DataError, UsageError } from '../errors.js';
import { proxyLabel } from './proxies.js';
import type { Store } from './store.js';

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
}

/** Which sessions a listing shows, and which page (ordered by tenant, then username). */
export interface IgFilter {
  tenant?: string | undefined;
  state?: string | undefined;
  limit?: number | undefined;
  offset?: number | undefined;
}

function filteredIg(store: Store, f: IgFilter) {
  let q = store.db.selectFrom('ig_accounts as i').innerJoin('tenants as t', 't.id', 'i.tenant_id');
  if (f.tenant !== undefined) q = q.where('t.name', '=', f.tenant);
  if (f.state !== undefined) q = q.where('i.state', '=', f.state);
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
    .leftJoin('proxies as p', 'p.id', 'i.proxy_id')
    .select([
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
    ])
    .orderBy('t.name')
    .orderBy('i.username');
  if (f.limit !== undefined) q = q.limit(f.limit).offset(f.offset ?? 0);
  const rows = await q.execute();
  const backoffs = await listBackoffs(store, now);
  return rows.map((r) => ({
    id: r.id,
    rateLimitedUntil: r.rate_limited_until,
    tenant: r.tenant,
    username: r.username,
    state: r.state,
    priority: r.priority,
    hasTotp: r.totp_secret_enc !== null,
    proxy: proxyLabel({ ...r, username: r.puser }),
    sessionAgeMs: r.session_created_at === null ? null : now - r.session_created_at,
    lastVerifiedAt: r.last_verified_at,
    nextRefreshAt: r.next_refresh_at,
    failures: r.fail_count,
    lastError: r.last_error,
    throttled: backoffs.get(r.id) ?? [],
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
      .select(['i.id', 't.name as tenant', 'i.username'])
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
    await tx.deleteFrom('ig_accounts').where('id', '=', acc.id).execute();
    await tx.deleteFrom('locks').where('name', '=', `ig-refresh:${acc.id}`).execute();
    await tx
      .insertInto('events')
      .values({
        at: opts.now,
        kind: 'ig_account_removed',
        subject_type: 'ig_account',
        subject_id: null,
        tenant_id: null,
        message: `Instagram account ${acc.tenant}/${acc.username}: removed by operator`,
        data_json: null,
      })
      .execute();
    return { tenant: acc.tenant, username: acc.username };
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
