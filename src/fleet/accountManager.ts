import { sql, type Kysely, type RawBuilder } from 'kysely';
import {
  classifyError,
  DEFAULT_FLOOD_THRESHOLD_SECONDS,
  PERSON_STATES,
  TIMED_STATES,
  transition,
  type ErrorInput,
  type ErrorOutcome,
} from '../domain/accountStates.js';
import { localDay, startOfDay } from '../domain/calendar.js';
import { parseTargetLink, targetKey } from '../domain/links.js';
import { systemClock, type Clock } from '../domain/clock.js';
import {
  ACTIONS,
  evaluateLimits,
  floodThresholdOf,
  parseLimitsOverride,
  resolveLimits,
  type Action,
  type ActionRecord,
  type LimitVerdict,
  type Limits,
  type LimitsOverride,
} from '../domain/limits.js';
import { DataError, LeaseLostError, UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { AccountState } from '../domain/accountStates.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { wayBack } from './waysBack.js';

export interface LeaseRequest {
  action: Action;
  tenant?: string | undefined;
  /**
   * For per-channel limits (invites), in any target link form. A group some account joined goes
   * only to that account, and to none during its warm-up or while its join request is pending.
   */
  channel?: string | undefined;
  /** Who holds it: shown in status, e.g. "joiner@host:pid". */
  holder: string;
  ttlMs: number;
  /** Only this account (a target pinned to it). */
  accountId?: number | undefined;
  /** Never these accounts (e.g. ones that failed to connect in this run). */
  excludeIds?: readonly number[] | undefined;
}

/** Work done in the same transaction as a release or an error report (e.g. the target's row). */
export type InTx = (tx: Kysely<Database>, now: number) => Promise<void>;

export interface Lease {
  /** `<accountId>.<fence>`: the fencing token every later call must present. */
  token: string;
  accountId: number;
  account: string;
  action: Action;
  channel: string | null;
  holder: string;
  expiresAt: number;
  /** Actions allowed now, one after another, before a gap or limit applies. */
  allowance: number;
}

export type LeaseResult =
  | { ok: true; lease: Lease }
  | {
      ok: false;
      /** When the next account may become eligible (null: none will without a person). */
      nextAt: number | null;
      reason: string;
    };

export interface ReleaseResult {
  account: string;
  recorded: Partial<Record<Action, number>>;
}

export interface ReportErrorResult {
  account: string;
  /** What the lease was for: only a join lease has a target to speak of. */
  action: Action | null;
  code: string;
  /** Telegram's (or the network's) own words, kept when the code alone loses them (UNKNOWN, NETWORK). */
  lastError: string;
  /** Not to be used again in this run (a long flood wait, a block). */
  skipForRun: boolean;
  state: AccountState;
  until: number | null;
  /** What to do with the join target (null for leases of other actions: they have none). */
  target: ErrorOutcome['target'] | null;
  pauseUntil: number | null;
}

export interface RecoverResult {
  reactivated: { account: string; from: string }[];
  leasesFreed: string[];
  targetsRequeued: number;
  jobsFreed: number;
  /** Proxies marked unhealthy long enough ago to be tried again. */
  proxiesRetried: number;
  /** Accounts in a state that needs a person, or parked for joins by CHANNELS_TOO_MUCH, with their way back. */
  needsPerson: {
    account: string;
    state: string;
    reason: string | null;
    lastError: string | null;
    channelsFull: boolean;
    /** The command that actually brings it back. */
    fix: string;
  }[];
}

export interface ResetResult {
  day: string;
  accountsReset: number;
  alreadyReset: number;
  actionLogPruned: number;
}

/** A channel given in any target link form is known by its target key (`@name`, `+hash`); other text as given. */
export function channelKey(channel: string | undefined | null): string | null {
  if (channel === undefined || channel === null || channel.trim() === '') return null;
  const r = parseTargetLink(channel);
  return r.ok ? targetKey(r.value) : channel.trim();
}

/**
 * What goes into `last_error`: the code, and for codes that lose the detail (UNKNOWN, NETWORK)
 * the raw text too, control characters out, bounded.
 */
export function errorText(code: string, error: string | ErrorInput): string {
  if (code !== 'UNKNOWN' && code !== 'NETWORK') return code;
  const raw = typeof error === 'string' ? error : (error.message ?? error.errorMessage ?? '');
  const clean = [...raw]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f ? ' ' : ch))
    .join('')
    .trim()
    .slice(0, 300);
  return clean && clean !== code ? `${code}: ${clean}` : code;
}

/** Options of renew(); a plain number (the TTL in ms) is accepted too, as before. */
export interface RenewOptions {
  /** New time to live from now, in milliseconds (default 10 minutes). */
  ttlMs?: number | undefined;
}

export interface RenewResult {
  account: string;
  expiresAt: number;
}

/** The TTL of a lease or renewal when none is given: 10 minutes. */
export const DEFAULT_LEASE_TTL_MS = 600_000;

export function parseToken(token: string): { id: number; fence: number } {
  const m = /^(\d+)\.(\d+)$/.exec(token.trim());
  if (!m) throw new UsageError(`"${token}" is not a lease token → pass the token a lease returned (lease.token)`);
  return { id: Number(m[1]), fence: Number(m[2]) };
}

/** Candidates read per round: a few more than concurrent holders usually race for. */
const PAGE = 16;
const CLAIM_RETRIES = 8;
/** Accounts looked at per lease, at most: PAGE × MAX_PAGES. */
const MAX_PAGES = 100;
const HOUR = 3_600_000;
/** An unhealthy proxy is given another chance by recover after this long. */
export const PROXY_RETRY_MS = 30 * 60_000;

const parsedOverrides = new Map<string, LimitsOverride>();

/** Overrides are stored as JSON; the same text is parsed once per process. */
export function parseOverride(json: string | null, where: string): LimitsOverride | null {
  if (!json) return null;
  const cached = parsedOverrides.get(json);
  if (cached) return cached;
  const r = parseLimitsOverride(JSON.parse(json) as unknown);
  if (!r.ok) throw new DataError(`${where} has invalid limits → fix them`, { details: r.problems });
  if (parsedOverrides.size > 10_000) parsedOverrides.clear();
  parsedOverrides.set(json, r.value);
  return r.value;
}

function ttlError(ttlMs: unknown): UsageError {
  return new UsageError(
    `the lease TTL ttlMs = ${String(ttlMs)} is not allowed → give a positive number of milliseconds, e.g. { ttlMs: 600_000 }`,
  );
}

export interface AccountManagerDeps {
  store: Store;
  /** Where "now" comes from (default: the system clock). */
  clock?: Clock | undefined;
  /** IANA time zone of "per day" limits (default UTC; openFleet() passes ACCTCTL_TIMEZONE). */
  timeZone?: string | undefined;
  log?: Logger | undefined;
  floodThresholdSeconds?: number | undefined;
}

/**
 * Hands accounts to work: leases with fencing tokens, limits computed from the action log, and
 * the error → state table. Every claim is one atomic statement with `now` from the clock.
 */
export class AccountManager {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly timeZone: string;
  private readonly log: Logger;
  private readonly floodThresholdSeconds: number;

  constructor(deps: AccountManagerDeps) {
    this.store = deps.store;
    this.clock = deps.clock ?? systemClock;
    this.timeZone = deps.timeZone ?? 'UTC';
    this.log = deps.log ?? silentLogger;
    this.floodThresholdSeconds = deps.floodThresholdSeconds ?? DEFAULT_FLOOD_THRESHOLD_SECONDS;
  }

  private get db(): Kysely<Database> {
    return this.store.db;
  }

  /** SQL that is true for an account that may be leased for `action` at `now`. */
  private eligible(
    now: number,
    action: Action,
    tenantId: number | null,
    only?: { accountId?: number | undefined; excludeIds?: readonly number[] | undefined },
  ): RawBuilder<unknown> {
    return sql`a.enabled = 1
      and (a.state = 'active' or (a.state in ('flood_wait', 'cooldown', 'blocked') and a.state_until <= ${now}))
      and (a.lease_holder is null or a.lease_expires_at <= ${now})
      and (a.next_action_at is null or a.next_action_at <= ${now})
      and (a.proxy_id is null or exists (select 1 from proxies p where p.id = a.proxy_id and p.healthy = 1))
      ${action === 'join' ? sql`and a.channels_full = 0` : sql``}
      ${tenantId === null ? sql`` : sql`and a.tenant_id = ${tenantId}`}
      ${only?.accountId === undefined ? sql`` : sql`and a.id = ${only.accountId}`}
      ${only?.excludeIds?.length ? sql`and a.id not in (${sql.join(only.excludeIds.map((i) => sql`${i}`))})` : sql``}`;
  }

  private async tenantId(name: string | undefined): Promise<number | null> {
    if (name === undefined) return null;
    const t = await this.db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
    if (!t) throw new DataError(`tenant "${name}" does not exist → see \`acctctl tenants list\``);
    return t.id;
  }

  /** History of one action for some accounts, enough for every limit at `now`. */
  private async history(ids: number[], action: Action, now: number): Promise<Map<number, ActionRecord[]>> {
    const out = new Map<number, ActionRecord[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    const since = Math.min(startOfDay(now, this.timeZone), now - 2 * HOUR);
    const rows = await this.db
      .selectFrom('action_log')
      .select(['account_id', 'at', 'ok', 'channel'])
      .where('account_id', 'in', ids)
      .where('action', '=', action)
      .where('at', '>=', since)
      .execute();
    for (const r of rows) out.get(r.account_id)?.push({ at: r.at, ok: r.ok === 1, channel: r.channel });
    return out;
  }

  async lease(req: LeaseRequest): Promise<LeaseResult> {
    if (!(ACTIONS as readonly string[]).includes(req.action)) {
      throw new UsageError(`unknown action "${req.action}" → use one of ${ACTIONS.join(', ')}`);
    }
    if (!(req.ttlMs > 0)) throw ttlError(req.ttlMs);
    const tenantId = await this.tenantId(req.tenant);
    const channel = channelKey(req.channel);
    // A group some account joined is bound to it for good, and rests through its warm-up.
    const bound = channel === null ? null : await this.boundTo(channel);
    if (bound) {
      const now = this.clock.now();
      if (bound.status === 'pending_approval') {
        return {
          ok: false,
          nextAt: null,
          reason: `${channel} is bound to ${bound.account}, whose join request is waiting for an admin's approval (join re-checks it)`,
        };
      }
      if (bound.warmupEndsAt !== null && bound.warmupEndsAt > now) {
        return {
          ok: false,
          nextAt: bound.warmupEndsAt,
          reason: `${channel} is bound to ${bound.account}, which joined it recently: warm-up ends at ${new Date(bound.warmupEndsAt).toISOString()}`,
        };
      }
      if (req.accountId !== undefined && req.accountId !== bound.accountId) {
        return { ok: false, nextAt: null, reason: `${channel} is bound to another account (${bound.account})` };
      }
      req = { ...req, accountId: bound.accountId };
    }
    req = { ...req, channel: channel ?? undefined };
    for (let attempt = 0; attempt < CLAIM_RETRIES; attempt++) {
      const now = this.clock.now();
      let earliest: number | null = null;
      let lostRace = false;
      for (let page = 0; page < MAX_PAGES; page++) {
        const candidates = (
          await sql<{ id: number; fence: number; limits_json: string | null; tenant_limits: string | null }>`
            select a.id, a.fence, a.limits_json, t.limits_json as tenant_limits
            from telegram_accounts a left join tenants t on t.id = a.tenant_id
            where ${this.eligible(now, req.action, tenantId, req)}
            order by a.lru_at, a.id limit ${PAGE} offset ${page * PAGE}`.execute(this.db)
        ).rows;
        const hist = await this.history(
          candidates.map((c) => c.id),
          req.action,
          now,
        );
        const allowed: { id: number; fence: number; allowance: number }[] = [];
        for (const c of candidates) {
          const limits = resolveLimits(
            parseOverride(c.tenant_limits, 'the tenant'),
            parseOverride(c.limits_json, `account ${c.id}`),
          )[req.action];
          const v = evaluateLimits(limits, hist.get(c.id) ?? [], {
            now,
            timeZone: this.timeZone,
            channel,
            accountId: c.id,
          });
          if (v.allowed) allowed.push({ id: c.id, fence: c.fence, allowance: v.allowance });
          else if (earliest === null || v.until < earliest) earliest = v.until;
        }
        if (allowed.length > 0) {
          const lease = await this.claim(req, allowed, now, tenantId);
          if (lease) return { ok: true, lease };
          // Another holder took or changed them between our read and our claim: read again.
          lostRace = true;
          break;
        }
        if (candidates.length < PAGE) break;
      }
      if (!lostRace) {
        return {
          ok: false,
          nextAt: await this.nextFreeAt(now, req.action, tenantId, earliest, req.accountId),
          reason:
            earliest === null
              ? 'no account is free (all leased, resting, disabled, or needing a person)'
              : 'every free account is at one of its limits',
        };
      }
    }
    return { ok: false, nextAt: this.clock.now(), reason: 'lost every claim to concurrent holders; try again' };
  }

  /** One statement: take the least recently used allowed account whose fence we saw. */
  private async claim(
    req: LeaseRequest,
    allowed: { id: number; fence: number; allowance: number }[],
    now: number,
    tenantId: number | null,
  ): Promise<Lease | null> {
    const expiresAt = now + req.ttlMs;
    const seen = sql.join(
      allowed.map((a) => sql`(a.id = ${a.id} and a.fence = ${a.fence})`),
      sql` or `,
    );
    const r = await sql<{ id: number; session_name: string; lease_token: number; lease_expires_at: number }>`
      update telegram_accounts set
        lease_holder = ${req.holder}, lease_token = fence + 1, fence = fence + 1,
        lease_expires_at = ${expiresAt}, lease_action = ${req.action}, lease_channel = ${req.channel ?? null},
        lru_at = ${now}, updated_at = ${now}, state = 'active', state_until = null,
        lease_count = lease_count + 1
      where id = (
        select a.id from telegram_accounts a
        where (${seen}) and ${this.eligible(now, req.action, tenantId, req)}
        order by a.lru_at, a.id limit 1 ${sql.raw(this.store.caps.claimLock)}
      )
      returning id, session_name, lease_token, lease_expires_at`.execute(this.db);
    const row = r.rows[0];
    if (!row) return null;
    return {
      token: `${row.id}.${row.lease_token}`,
      accountId: row.id,
      account: row.session_name,
      action: req.action,
      channel: req.channel ?? null,
      holder: req.holder,
      expiresAt: row.lease_expires_at,
      allowance: allowed.find((a) => a.id === row.id)?.allowance ?? 1,
    };
  }

  private async verdicts(action: Action, tenantId: number | null, now: number, limit: number) {
    const rows = (
      await sql<{ id: number; session_name: string; limits_json: string | null; tenant_limits: string | null }>`
        select a.id, a.session_name, a.limits_json, t.limits_json as tenant_limits
        from telegram_accounts a left join tenants t on t.id = a.tenant_id
        where ${this.eligible(now, action, tenantId)}
        order by a.lru_at, a.id limit ${limit}`.execute(this.db)
    ).rows;
    const hist = await this.history(
      rows.map((r) => r.id),
      action,
      now,
    );
    return rows.map((r) => {
      const limits = resolveLimits(
        parseOverride(r.tenant_limits, 'the tenant'),
        parseOverride(r.limits_json, `account ${r.id}`),
      )[action];
      return {
        id: r.id,
        account: r.session_name,
        verdict: evaluateLimits(limits, hist.get(r.id) ?? [], { now, timeZone: this.timeZone, accountId: r.id }),
      };
    });
  }

  /** Accounts a lease for `action` could take right now, in the order it would take them (read-only). */
  async eligibleNow(
    action: Action,
    opts: { tenant?: string; limit?: number } = {},
  ): Promise<{ id: number; account: string; allowance: number }[]> {
    const now = this.clock.now();
    const v = await this.verdicts(action, await this.tenantId(opts.tenant), now, opts.limit ?? 1000);
    return v.flatMap(({ id, account, verdict }) =>
      verdict.allowed ? [{ id, account, allowance: verdict.allowance }] : [],
    );
  }

  /** When the next account may be leased for `action`: now, a time, or null (none will without a person). */
  async nextFree(action: Action, tenant?: string): Promise<number | null> {
    const now = this.clock.now();
    const tenantId = await this.tenantId(tenant);
    const v = await this.verdicts(action, tenantId, now, 10_000);
    if (v.some((x) => x.verdict.allowed)) return now;
    const limitsUntil = v.reduce<number | null>(
      (m, x) => (x.verdict.allowed ? m : m === null ? x.verdict.until : Math.min(m, x.verdict.until)),
      null,
    );
    return this.nextFreeAt(now, action, tenantId, limitsUntil);
  }

  /** The earliest moment another lease could succeed: limits, timed states, leases, pauses. */
  private async nextFreeAt(
    now: number,
    action: Action,
    tenantId: number | null,
    limitsUntil: number | null,
    accountId?: number,
  ): Promise<number | null> {
    const r = await sql<{ t: number | null }>`
      select min(t) as t from (
        select case
          when a.state in ('flood_wait', 'cooldown', 'blocked') and a.state_until > ${now} then a.state_until
          when a.lease_holder is not null and a.lease_expires_at > ${now} then a.lease_expires_at
          when a.next_action_at > ${now} then a.next_action_at
          else null end as t
        from telegram_accounts a
        where a.enabled = 1 and a.state not in ('frozen', 'disabled', 'banned')
          ${action === 'join' ? sql`and a.channels_full = 0` : sql``}
          ${tenantId === null ? sql`` : sql`and a.tenant_id = ${tenantId}`}
          ${accountId === undefined ? sql`` : sql`and a.id = ${accountId}`}
      ) x`.execute(this.db);
    const fromState = r.rows[0]?.t ?? null;
    const options = [fromState, limitsUntil].filter((x): x is number => x !== null);
    return options.length ? Math.min(...options) : null;
  }

  /** The flood threshold for an account: its own limits, else its tenant's, else this run's (default 600 s). */
  private async floodThreshold(tx: Kysely<Database>, accountId: number): Promise<number> {
    const r = await tx
      .selectFrom('telegram_accounts as a')
      .leftJoin('tenants as t', 't.id', 'a.tenant_id')
      .select(['a.limits_json', 't.limits_json as tenant_limits'])
      .where('a.id', '=', accountId)
      .executeTakeFirst();
    return floodThresholdOf(r?.limits_json) ?? floodThresholdOf(r?.tenant_limits) ?? this.floodThresholdSeconds;
  }

  /** The account a group is bound to (joined, or join request pending), by the group's target key. */
  private async boundTo(
    ref: string,
  ): Promise<{ accountId: number; account: string; status: string; warmupEndsAt: number | null } | null> {
    const t = await this.db
      .selectFrom('targets as t')
      .innerJoin('telegram_accounts as a', 'a.id', 't.account_id')
      .select(['t.account_id', 'a.session_name', 't.status', 't.warmup_ends_at'])
      .where('t.ref', '=', ref)
      .where('t.status', 'in', ['joined', 'pending_approval'])
      .executeTakeFirst();
    return t
      ? { accountId: t.account_id!, account: t.session_name, status: t.status, warmupEndsAt: t.warmup_ends_at }
      : null;
  }

  /** Lock the leased row (still ours, not expired) inside a write transaction. */
  private async heldRow(tx: Kysely<Database>, token: string, now: number) {
    const { id, fence } = parseToken(token);
    const row = (
      await sql<{
        id: number;
        session_name: string;
        state: AccountState;
        state_until: number | null;
        lease_action: Action | null;
        lease_channel: string | null;
        error_count: number;
      }>`select id, session_name, state, state_until, lease_action, lease_channel, error_count
         from telegram_accounts
         where id = ${id} and lease_token = ${fence} and lease_expires_at > ${now} ${sql.raw(this.store.caps.forUpdate)}`.execute(
        tx,
      )
    ).rows[0];
    if (!row) {
      throw new LeaseLostError(
        `lease ${token} is no longer held (expired, released, or taken over) → nothing was changed; take a new lease`,
      );
    }
    return { ...row, fence };
  }

  /** Extend a lease still held: `renew(token, { ttlMs })` (or the older `renew(token, ttlMs)`). */
  async renew(token: string, opts: RenewOptions | number = {}): Promise<RenewResult> {
    const ttlMs = typeof opts === 'number' ? opts : (opts.ttlMs ?? DEFAULT_LEASE_TTL_MS);
    if (!(ttlMs > 0)) throw ttlError(ttlMs);
    const now = this.clock.now();
    const { id, fence } = parseToken(token);
    const r = await this.db
      .updateTable('telegram_accounts')
      .set({ lease_expires_at: now + ttlMs, updated_at: now })
      .where('id', '=', id)
      .where('lease_token', '=', fence)
      .where('lease_expires_at', '>', now)
      .returning(['session_name', 'lease_expires_at'])
      .executeTakeFirst();
    if (!r) throw new LeaseLostError(`lease ${token} is no longer held → nothing was changed; take a new lease`);
    return { account: r.session_name, expiresAt: r.lease_expires_at! };
  }

  /** End the lease and record what was done with it. */
  async release(
    token: string,
    opts: { used?: Partial<Record<Action, number>>; inTx?: InTx } = {},
  ): Promise<ReleaseResult> {
    const used = opts.used ?? {};
    for (const [a, n] of Object.entries(used)) {
      if (!(ACTIONS as readonly string[]).includes(a) || !Number.isInteger(n) || n! < 0 || n! > 1000) {
        throw new UsageError(
          `used.${a} = ${n} is not allowed → use { used: { ACTION: N } } with an action of ${ACTIONS.join(', ')} and N a whole number from 0 to 1000`,
        );
      }
    }
    const { id, fence } = parseToken(token);
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      // One statement ends the lease if (and only if) it is still ours; lease_action and
      // lease_channel are kept so RETURNING can say what the lease was for.
      const row = (
        await sql<{ id: number; session_name: string; lease_action: Action | null; lease_channel: string | null }>`
          update telegram_accounts set lease_holder = null, lease_token = null, lease_expires_at = null,
            fence = fence + 1, updated_at = ${now}
            ${Object.keys(used).length ? sql`, last_used_at = ${now}` : sql``}
          where id = ${id} and lease_token = ${fence} and lease_expires_at > ${now}
          returning id, session_name, lease_action, lease_channel`.execute(tx)
      ).rows[0];
      if (!row) {
        throw new LeaseLostError(
          `lease ${token} is no longer held (expired, released, or taken over) → nothing was changed; take a new lease`,
        );
      }
      const rows = Object.entries(used).flatMap(([action, n]) =>
        Array.from({ length: n! }, () => ({
          account_id: row.id,
          action,
          channel: action === row.lease_action ? row.lease_channel : null,
          at: now,
          ok: 1,
        })),
      );
      if (rows.length) await tx.insertInto('action_log').values(rows).execute();
      if (opts.inTx) await opts.inTx(tx, now);
      return { account: row.session_name, recorded: used };
    });
  }

  /**
   * Apply the error table to the leased account, log the failed attempt, and end the lease.
   * Returns what the caller should do with its target.
   */
  async reportError(
    token: string,
    error: string | ErrorInput,
    inTx?: (tx: Kysely<Database>, now: number, outcome: ErrorOutcome) => Promise<void>,
  ): Promise<ReportErrorResult> {
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      const row = await this.heldRow(tx, token, now);
      const outcome = classifyError(error, {
        floodThresholdSeconds: await this.floodThreshold(tx, row.id),
        errorCount: row.error_count,
      });
      const next = transition({ state: row.state, until: row.state_until }, outcome, now);
      const lastError = errorText(outcome.code, error);
      const pauseUntil = outcome.pauseMs === null ? null : now + outcome.pauseMs;
      if (outcome.failedAttempt && row.lease_action) {
        await tx
          .insertInto('action_log')
          .values({ account_id: row.id, action: row.lease_action, channel: row.lease_channel, at: now, ok: 0 })
          .execute();
      }
      await tx.insertInto('error_log').values({ account_id: row.id, kind: outcome.code, at: now }).execute();
      await tx
        .updateTable('telegram_accounts')
        .set((eb) => ({
          state: next.state,
          state_until: next.until,
          state_reason: next.changed ? outcome.code : undefined,
          channels_full: outcome.channelsFull ? 1 : undefined,
          next_action_at: pauseUntil ?? undefined,
          error_count: outcome.countsAsError ? eb('error_count', '+', 1) : undefined,
          last_error: lastError,
          last_error_at: now,
          lease_holder: null,
          lease_token: null,
          lease_expires_at: null,
          lease_action: null,
          lease_channel: null,
          fence: eb('fence', '+', 1),
          updated_at: now,
        }))
        .where('id', '=', row.id)
        .execute();
      if (next.changed || outcome.channelsFull) {
        await tx
          .insertInto('events')
          .values({
            at: now,
            kind: 'account_state',
            subject_type: 'telegram_account',
            subject_id: row.id,
            tenant_id: null,
            message: `${row.session_name}: ${row.state} → ${next.state} (${outcome.code})`,
            data_json: JSON.stringify({
              from: row.state,
              to: next.state,
              until: next.until,
              code: outcome.code,
              error: lastError,
            }),
          })
          .execute();
      }
      if (inTx) await inTx(tx, now, outcome);
      return {
        account: row.session_name,
        action: row.lease_action,
        code: outcome.code,
        lastError,
        skipForRun: outcome.skipForRun,
        state: next.state,
        until: next.until,
        target: row.lease_action === 'join' ? outcome.target : null,
        pauseUntil,
      };
    });
  }

  /** Timed states that are over → active; expired leases freed and their work requeued. */
  async recover(): Promise<RecoverResult> {
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      const timed = sql.join(TIMED_STATES.map((s) => sql`${s}`));
      await sql`insert into events (at, kind, subject_type, subject_id, tenant_id, message, data_json)
        select ${now}, 'account_state', 'telegram_account', id, tenant_id,
          session_name || ': ' || state || ' → active (recover)', null
        from telegram_accounts where state in (${timed}) and state_until <= ${now}`.execute(tx);
      const reactivated = await sql<{ session_name: string; from: string }>`
        update telegram_accounts set state = 'active', state_until = null, state_reason = state, updated_at = ${now}
        where state in (${timed}) and state_until <= ${now}
        returning session_name, state_reason as "from"`.execute(tx);
      const freed = await sql<{ session_name: string }>`
        update telegram_accounts set lease_holder = null, lease_token = null, lease_expires_at = null,
          lease_action = null, lease_channel = null, fence = fence + 1, updated_at = ${now}
        where lease_holder is not null and lease_expires_at <= ${now}
        returning session_name`.execute(tx);
      const targets = await sql`update targets set
          status = case when status = 'joining' then 'new' else status end,
          lease_holder = null, lease_token = null, lease_expires_at = null, updated_at = ${now}
        where lease_holder is not null and lease_expires_at <= ${now}`.execute(tx);
      const jobs = await tx
        .updateTable('check_jobs')
        .set({ lease_holder: null, lease_token: null, lease_expires_at: null, updated_at: now })
        .where('lease_holder', 'is not', null)
        .where('lease_expires_at', '<=', now)
        .executeTakeFirst();
      const proxies = await tx
        .updateTable('proxies')
        .set({ healthy: 1, fail_count: 0 })
        .where('healthy', '=', 0)
        .where('last_checked_at', '<=', now - PROXY_RETRY_MS)
        .executeTakeFirst();
      const person = await tx
        .selectFrom('telegram_accounts')
        .select(['session_name', 'state', 'state_reason', 'last_error', 'phone', 'channels_full'])
        .where((eb) => eb.or([eb('state', 'in', [...PERSON_STATES]), eb('channels_full', '=', 1)]))
        .orderBy('session_name')
        .execute();
      return {
        reactivated: reactivated.rows.map((r) => ({ account: r.session_name, from: r.from })),
        leasesFreed: freed.rows.map((r) => r.session_name),
        targetsRequeued: Number(targets.numAffectedRows ?? 0n),
        jobsFreed: Number(jobs.numUpdatedRows),
        proxiesRetried: Number(proxies.numUpdatedRows),
        needsPerson: person.map((p) => ({
          account: p.session_name,
          state: p.state,
          reason: p.state_reason,
          lastError: p.last_error,
          channelsFull: p.channels_full === 1,
          fix: wayBack({
            account: p.session_name,
            state: p.state,
            phone: p.phone,
            channelsFull: p.channels_full === 1,
          }),
        })),
      };
    });
  }

  /**
   * Exactly one reset per account per local day however often it runs (a row per account and
   * day); it zeroes the day's error count and prunes the action log past the retention period.
   * Limits never depend on it: they are computed from the action log.
   */
  async resetLimits(opts: { retentionDays?: number } = {}): Promise<ResetResult> {
    const retentionMs = (opts.retentionDays ?? 30) * 24 * HOUR;
    return this.store.writeTx(async (tx) => {
      const now = this.clock.now();
      const day = localDay(now, this.timeZone);
      const total = Number(
        (
          await tx
            .selectFrom('telegram_accounts')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirst()
        )?.n ?? 0,
      );
      const ins = await sql`insert into limit_resets (account_id, day, at)
        select id, ${day}, ${now} from telegram_accounts where true
        on conflict (account_id, day) do nothing`.execute(tx);
      const accountsReset = Number(ins.numAffectedRows ?? 0n);
      if (accountsReset > 0) {
        await sql`update telegram_accounts set error_count = 0, lease_count = 0
          where id in (select account_id from limit_resets where day = ${day} and at = ${now})`.execute(tx);
      }
      const pruned = await tx
        .deleteFrom('action_log')
        .where('at', '<', now - retentionMs)
        .executeTakeFirst();
      await tx
        .deleteFrom('limit_resets')
        .where('at', '<', now - retentionMs)
        .execute();
      await tx
        .deleteFrom('error_log')
        .where('at', '<', now - retentionMs)
        .execute();
      return {
        day,
        accountsReset,
        alreadyReset: total - accountsReset,
        actionLogPruned: Number(pruned.numDeletedRows),
      };
    });
  }

  /**
   * Limits and today's use per account and action, from the same functions `lease` uses; only the
   * accounts `ids` when given (a page of `status --accounts`).
   */
  async usage(
    ids?: readonly number[],
  ): Promise<Map<number, Record<Action, { limits: Limits[Action]; verdict: LimitVerdict }>>> {
    const now = this.clock.now();
    if (ids && ids.length === 0) return new Map();
    let aq = this.db
      .selectFrom('telegram_accounts as a')
      .leftJoin('tenants as t', 't.id', 'a.tenant_id')
      .select(['a.id', 'a.limits_json', 't.limits_json as tenant_limits']);
    if (ids) aq = aq.where('a.id', 'in', ids);
    const accounts = await aq.execute();
    const since = Math.min(startOfDay(now, this.timeZone), now - 2 * HOUR);
    let lq = this.db
      .selectFrom('action_log')
      .select(['account_id', 'action', 'at', 'ok', 'channel'])
      .where('at', '>=', since);
    if (ids) lq = lq.where('account_id', 'in', ids);
    const rows = await lq.execute();
    const hist = new Map<string, ActionRecord[]>();
    for (const r of rows) {
      const k = `${r.account_id}:${r.action}`;
      let list = hist.get(k);
      if (!list) hist.set(k, (list = []));
      list.push({ at: r.at, ok: r.ok === 1, channel: r.channel });
    }
    const out = new Map<number, Record<Action, { limits: Limits[Action]; verdict: LimitVerdict }>>();
    const dayStart = startOfDay(now, this.timeZone);
    const resolved = new Map<string, Limits>();
    for (const a of accounts) {
      const key = `${a.tenant_limits ?? ''}\u0000${a.limits_json ?? ''}`;
      let limits = resolved.get(key);
      if (!limits) {
        limits = resolveLimits(
          parseOverride(a.tenant_limits, 'the tenant'),
          parseOverride(a.limits_json, `account ${a.id}`),
        );
        resolved.set(key, limits);
      }
      const per = {} as Record<Action, { limits: Limits[Action]; verdict: LimitVerdict }>;
      for (const action of ACTIONS) {
        per[action] = {
          limits: limits[action],
          verdict: evaluateLimits(limits[action], hist.get(`${a.id}:${action}`) ?? [], {
            now,
            timeZone: this.timeZone,
            accountId: a.id,
            dayStart,
          }),
        };
      }
      out.set(a.id, per);
    }
    return out;
  }

  /** Set (or clear, with null) an account's or a tenant's limit overrides. */
  async setLimits(target: { account: string } | { tenant: string }, override: unknown): Promise<void> {
    let json: string | null = null;
    if (override !== null) {
      const r = parseLimitsOverride(override);
      if (!r.ok) throw new DataError('the limits are invalid → fix them', { details: r.problems });
      json = JSON.stringify(override);
    }
    const now = this.clock.now();
    const n =
      'account' in target
        ? await this.db
            .updateTable('telegram_accounts')
            .set({ limits_json: json, updated_at: now })
            .where('session_name', '=', target.account)
            .executeTakeFirst()
        : await this.db
            .updateTable('tenants')
            .set({ limits_json: json })
            .where('name', '=', target.tenant)
            .executeTakeFirst();
    if (Number(n.numUpdatedRows) === 0) {
      throw new DataError(
        `${'account' in target ? `account "${target.account}"` : `tenant "${target.tenant}"`} does not exist`,
      );
    }
  }
}
