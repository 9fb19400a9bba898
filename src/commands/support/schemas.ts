import * as v from 'valibot';
import { SCHEMA_VERSION } from './json.js';

/**
 * The published shape of every command's `--json` output (README "JSON output"), one schema per
 * command path ("accounts list", "lease", …) plus "error" (what a failing command prints on
 * stdout with --json). schemas/*.json are generated from these (scripts/json-schemas.mjs) and
 * test/cli/json-schemas.test.ts checks both that they are up to date and that every command's
 * output validates. Objects allow keys added later (same schemaVersion); removing or changing a
 * key bumps SCHEMA_VERSION.
 *
 * Not imported by the CLI: only by the test and the generator.
 */

export type OutputSchema = v.GenericSchema;

const int = v.pipe(v.number(), v.integer());
const num = v.number();
const str = v.string();
const bool = v.boolean();
const n = <T extends v.GenericSchema>(s: T) => v.nullable(s);
/** A point in time: ISO 8601 UTC with milliseconds. */
const time = v.pipe(
  v.string(),
  v.regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
  v.description('ISO 8601 UTC, e.g. 2026-12-01T22:30:00.000Z'),
);
/** A map keyed by data (states, outcomes, key ids, actions), not by field names. */
const counts = v.record(str, int);
const strings = v.array(str);
/** Free-form: an event's data, an echoed limits file (keys as written there). */
const freeForm = v.unknown();

function doc<E extends v.ObjectEntries>(description: string, entries: E) {
  return v.pipe(v.object({ schemaVersion: v.literal(SCHEMA_VERSION), ...entries }), v.description(description));
}

/** The one listing envelope: rows shown, how many match, how many more than shown. */
function listing<T extends v.GenericSchema>(description: string, item: T) {
  return doc(description, { items: v.array(item), total: int, more: int });
}

const accountChange = doc('accounts enable|disable|remove', {
  name: str,
  change: v.picklist(['enable', 'disable', 'remove']),
});

const limitsSet = (who: 'account' | 'tenant') =>
  doc(
    `${who}s limits: with a file or --clear, the overrides now in force, as in the limits file (null: cleared); without, the limits in effect and the overrides behind them`,
    {
      [who]: str,
      limits: n(freeForm),
      overrides: n(v.object({ tenant: freeForm, account: freeForm })),
      /** Without a file: its time zone, active hours (null: pacing off) and warm-up start. */
      timeZone: n(str),
      activeHours: n(str),
      newSince: n(time),
    },
  );

const sinkHealth = v.object({
  sink: str,
  pending: int,
  failing: int,
  dead: int,
  oldestPendingAt: n(time),
  lastError: n(str),
  nextAttemptAt: n(time),
});

const healthFigures = {
  proactiveRefreshes30d: int,
  reactiveRefreshes30d: int,
  refreshSuccessPct: n(num),
  checkSuccessPct: n(num),
};

const throttled = v.array(v.object({ kind: str, until: time, strikes: int }));

const listed = v.object({
  filter: v.object({ state: n(str), tenant: n(str) }),
  limit: int,
  shown: int,
  total: int,
  more: int,
});

const actionToday = { action: str, used: int, limit: int };

const status = v.object({
  schemaVersion: v.literal(SCHEMA_VERSION),
  generatedAt: time,
  timeZone: str,
  accounts: v.object({
    total: int,
    enabled: int,
    healthy: int,
    healthyPct: num,
    byState: counts,
    leased: int,
    byTenant: v.array(v.object({ tenant: n(str), total: int, healthy: int, leased: int, byState: counts })),
    list: n(
      v.array(
        v.object({
          name: str,
          tenant: n(str),
          state: v.pipe(
            str,
            v.description('effective state: a flood_wait/cooldown/blocked whose until has passed is active'),
          ),
          until: n(time),
          storedState: v.pipe(str, v.description('the state the store holds until recover writes active')),
          storedUntil: n(time),
          enabled: bool,
          healthy: bool,
          leaseHolder: n(str),
          leaseExpiresAt: n(time),
          today: v.record(
            str,
            v.object({
              used: int,
              limit: int,
              usedLastHour: int,
              hourLimit: int,
              nextAt: n(time),
              blockedBy: n(str),
            }),
          ),
          lastError: n(str),
          pacing: v.object({
            timeZone: str,
            activeHours: n(str),
            joinBudget: n(int),
            rampDay: n(int),
            nextJoinAt: n(time),
          }),
        }),
      ),
    ),
    listed: n(listed),
  }),
  today: v.object({
    fleet: v.array(v.object(actionToday)),
    byTenant: v.array(v.object({ ...actionToday, tenant: n(str) })),
  }),
  counters: v.object({
    leases: int,
    errors: v.array(v.object({ kind: str, count: int })),
    lastResetAt: n(time),
  }),
  problems: v.object({
    needPerson: v.array(v.object({ state: str, reason: n(str), count: int })),
    needPersonTotal: int,
    needPersonGroups: int,
    disabledByOperator: int,
    accountsWithErrors: int,
    unhealthyProxies: int,
    igNeedPerson: int,
  }),
  targets: v.array(v.object({ niche: str, status: str, count: int })),
  joinedToday: v.array(v.object({ niche: str, count: int })),
  instagram: v.object({
    total: int,
    byState: counts,
    backingOff: int,
    requestsInWindow: int,
    busiestInWindow: int,
    limit: int,
    windowSeconds: int,
    list: n(
      v.array(
        v.object({
          username: str,
          tenant: str,
          state: str,
          sessionAgeMs: n(int),
          lastVerifiedAt: n(time),
          nextRefreshAt: n(time),
          failures: int,
          lastError: n(str),
          rate: v.object({
            profile: int,
            friendships: int,
            limit: int,
            windowSeconds: int,
            backedOffUntil: n(time),
            throttled,
          }),
        }),
      ),
    ),
    listed: n(listed),
  }),
  checkJobs: v.object({
    byStatus: counts,
    open: v.array(
      v.object({
        id: int,
        watch: str,
        kind: str,
        status: str,
        fetched: int,
        expected: n(int),
        updatedAt: time,
      }),
    ),
  }),
  alerts: v.object({
    sessionHealth: v.array(v.object({ tenant: str, username: str, ...healthFigures })),
    sinks: v.array(sinkHealth),
  }),
});

const joinOutcome = v.picklist(['joined', 'already_member', 'pending_approval', 'error', 'banned', 'queued']);

export const JSON_SCHEMAS: Record<string, OutputSchema> = {
  error: doc('what a failing command prints on stdout with --json (its message also goes to stderr)', {
    error: v.object({ message: str, exitCode: int, details: strings }),
  }),
  demo: doc('demo: what it did, and the status of the demo store', {
    dir: str,
    kept: bool,
    steps: strings,
    status: v.object({ ...status.entries, schemaVersion: v.optional(v.literal(SCHEMA_VERSION)) }),
    env: n(v.record(str, str)),
  }),
  migrate: doc('migrate', { database: str, applied: strings, current: strings }),
  doctor: doc('doctor: ok is false when a check fails with severity error (doctor then exits non-zero)', {
    ok: bool,
    checks: v.array(
      v.object({
        name: str,
        ok: bool,
        severity: v.pipe(n(v.picklist(['error', 'warning'])), v.description('null when the check passed')),
        simulated: bool,
        detail: str,
        fix: n(str),
        exitCode: n(int),
        secretsByKey: n(counts),
        tenant: v.pipe(
          n(
            v.object({
              tenant: str,
              mode: str,
              loginFallback: v.picklist(['none', 'http']),
              needs: v.array(v.picklist(['API keys', 'valid sessions', 'proxies'])),
              apiKeys: v.object({ total: int, usable: int, providers: strings }),
              validSessions: v.object({ total: int, valid: int }),
              proxies: v.object({ total: int, healthy: int }),
              problems: v.array(
                v.object({ resource: v.picklist(['API keys', 'valid sessions', 'proxies']), detail: str, fix: str }),
              ),
            }),
          ),
          v.description("a tenant's row: its verify mode, what it needs and what it has (null on other rows)"),
        ),
      }),
    ),
  }),
  status: v.pipe(status, v.description('status (accounts.list and instagram.list: with --accounts, else null)')),

  'keys generate': doc('keys generate', { keyFile: str, keyId: str }),
  completion: doc('completion (the shell script; without --json it is printed as it is)', { shell: str, script: str }),
  'keys rotate': doc('keys rotate', { primaryKeyId: str, newKey: bool, reencrypted: int, byKey: counts }),
  'keys remove': doc('keys remove', { keyId: str, keyFile: str, keysLeft: strings }),

  'tenants add': doc('tenants add', { name: str, verifyMode: str, created: bool }),
  'tenants set': doc('tenants set', {
    name: str,
    target: n(str),
    signed: bool,
    minSeverity: n(str),
    loginFallback: v.picklist(['none', 'http']),
  }),
  'tenants list': listing(
    'tenants list',
    v.object({
      name: str,
      verifyMode: str,
      accounts: int,
      proxies: int,
      igAccounts: int,
      apiKeys: int,
      watches: int,
    }),
  ),
  'tenants limits': limitsSet('tenant'),
  'tenants remove': doc('tenants remove', {
    tenant: str,
    removed: v.object({
      telegramAccounts: int,
      proxies: int,
      igAccounts: int,
      apiKeys: int,
      watches: int,
      targets: int,
    }),
    accountsDetached: int,
    accountsDisabled: strings,
  }),

  'proxies import': doc('proxies import', { imported: int, created: int, updated: int, tenantsCreated: strings }),
  'proxies list': listing(
    'proxies list (no passwords)',
    v.object({
      id: int,
      tenant: n(str),
      proxy: str,
      healthy: bool,
      failures: int,
      lastError: n(str),
      check: n(v.picklist(['ok', 'failed'])),
      checkReason: n(str),
      latencyMs: n(int),
      checkTarget: n(str),
      checkedAt: n(time),
    }),
  ),
  'proxies check': doc('proxies check: one row per proxy checked (failed: dead until a check gets through)', {
    items: v.array(
      v.object({
        id: int,
        tenant: n(str),
        proxy: str,
        target: str,
        ok: bool,
        reason: n(str),
        latencyMs: n(int),
        checkedAt: time,
      }),
    ),
    total: int,
    more: int,
    notChecked: v.array(v.object({ id: int, proxy: str, reason: str })),
  }),
  'proxies remove': doc('proxies remove', {
    removed: v.array(v.object({ id: int, proxy: str })),
    accountsDisabled: strings,
    igAccountsDetached: strings,
  }),
  'accounts proxy': doc('accounts proxy: a Telegram account given its route', {
    account: str,
    from: str,
    to: str,
    unparked: bool,
  }),
  'ig proxy': doc('ig proxy: an Instagram account moved to its route (tenant/username)', {
    account: str,
    from: str,
    to: str,
    unparked: bool,
  }),

  'accounts import': doc('accounts import', {
    imported: int,
    created: strings,
    updated: strings,
    tenantsCreated: strings,
    reactivated: strings,
  }),
  'accounts list': listing(
    'accounts list',
    v.object({
      name: str,
      tenant: n(str),
      phone: n(str),
      enabled: bool,
      state: v.pipe(
        str,
        v.description('effective state: a flood_wait/cooldown/blocked whose until has passed is active'),
      ),
      until: n(time),
      storedState: v.pipe(str, v.description('the state the store holds until recover writes active')),
      storedUntil: n(time),
      reason: n(str),
      leaseHolder: n(str),
      leaseExpiresAt: n(time),
      proxy: n(str),
      lastUsedAt: n(time),
      errorCount: int,
      lastError: n(str),
      device: n(v.object({ model: str, systemVersion: str, appVersion: str, langCode: str, systemLangCode: str })),
      timeZone: str,
    }),
  ),
  'accounts export': doc('accounts export', {
    format: str,
    out: str,
    exported: strings,
    files: strings,
  }),
  'accounts login': doc('accounts login', {
    account: str,
    userId: str,
    username: n(str),
    created: bool,
    reactivated: bool,
  }),
  'accounts enable': accountChange,
  'accounts disable': accountChange,
  'accounts remove': doc('accounts remove: what the removal ended (null / [] when nothing used the account)', {
    name: str,
    change: v.literal('remove'),
    leaseEnded: n(v.object({ holder: str, action: n(str), expiresAt: time })),
    targetsRequeued: strings,
  }),
  'accounts reactivate': doc('accounts reactivate', {
    account: str,
    from: str,
    until: n(time),
    channelsFullCleared: bool,
    reason: str,
  }),
  'accounts limits': limitsSet('account'),

  'targets import': doc('targets import', { niche: str, tenant: n(str), added: int, alreadyKnown: int }),
  'targets list': listing(
    'targets list',
    v.object({
      ref: str,
      niche: str,
      status: str,
      account: n(str),
      joinedAt: n(time),
      warmupEndsAt: n(time),
      attempts: int,
      nextAttemptAt: n(time),
      error: n(str),
    }),
  ),
  'targets retry': doc('targets retry', {
    requeued: strings,
    recheck: strings,
    skipped: v.array(v.object({ target: str, status: str, why: str })),
  }),
  'targets remove': doc('targets remove', { removed: strings }),

  join: doc('join (plan, accounts: with --dry-run, else null)', {
    niche: str,
    dryRun: bool,
    claimed: int,
    results: v.array(v.object({ target: str, account: n(str), outcome: joinOutcome, detail: n(str) })),
    counts,
    nextFreeAt: n(time),
    waiting: int,
    plan: n(v.array(v.object({ target: str, account: n(str) }))),
    accounts: n(
      v.array(
        v.object({
          account: str,
          timeZone: str,
          activeHours: n(str),
          budget: n(int),
          usedToday: int,
          nextAt: time,
          why: n(str),
        }),
      ),
    ),
    rechecked: v.array(v.object({ target: str, account: str, outcome: str, detail: n(str) })),
    simulated: bool,
    skipped: v.array(v.object({ account: str, reason: str })),
  }),
  lease: doc('lease: ok with the lease, or (exit 75) why not and when the next account frees up', {
    ok: bool,
    lease: n(
      v.object({
        token: str,
        accountId: int,
        account: str,
        action: str,
        channel: n(str),
        holder: str,
        expiresAt: time,
        allowance: int,
      }),
    ),
    nextAt: n(time),
    reason: n(str),
  }),
  release: doc('release: what was recorded, the channels of the work, and whether it succeeded (null: not said)', {
    account: str,
    recorded: counts,
    channels: strings,
    success: n(bool),
  }),
  'limits check': doc(
    'limits check: whether a lease would succeed now, with which account, or (exit 75) why not and when',
    {
      ok: bool,
      account: n(str),
      accountId: n(int),
      allowance: n(int),
      nextAt: n(time),
      reason: n(str),
    },
  ),
  record: doc('record: an action done outside a lease, now in the action log', {
    account: str,
    action: str,
    channel: n(str),
    ok: bool,
    at: time,
  }),
  renew: doc('renew', { account: str, expiresAt: time }),
  'report-error': doc('report-error', {
    account: str,
    action: n(str),
    code: str,
    lastError: str,
    skipForRun: bool,
    state: str,
    until: n(time),
    target: n(str),
    pauseUntil: n(time),
    late: bool,
  }),
  'reset-limits': doc('reset-limits', {
    day: str,
    accountsReset: int,
    alreadyReset: int,
    actionLogPruned: int,
    retention: v.object({ eventsPruned: int, deliveriesPruned: int, igRequestsPruned: int, snapshotsPruned: int }),
  }),
  recover: doc('recover', {
    reactivated: v.array(v.object({ account: str, from: str })),
    leasesFreed: strings,
    targetsRequeued: int,
    jobsFreed: int,
    proxiesRetried: int,
    needsPerson: v.array(
      v.object({ account: str, state: str, reason: n(str), lastError: n(str), channelsFull: bool, fix: str }),
    ),
    /** With --probe: each account probed. */
    probed: v.optional(
      v.array(
        v.object({
          account: str,
          verdict: str,
          from: str,
          state: str,
          until: n(time),
          channels: n(int),
          channelsFull: bool,
          detail: n(str),
        }),
      ),
    ),
    /** With --probe --all: the pacing (scheduled now, left due, next due; skipped on a down proxy). */
    fleet: v.optional(
      v.object({
        skipped: v.array(v.object({ account: str, reason: str })),
        scheduled: int,
        due: int,
        nextDueAt: n(time),
      }),
    ),
    simulated: v.optional(bool),
  }),

  check: listing(
    'check: one row per tenant',
    v.object({
      tenant: str,
      mode: str,
      skipped: n(str),
      checked: int,
      found: int,
      notFound: int,
      errors: int,
      changed: int,
      jobs: v.object({ completed: int, paused: int, inProgress: int, fetched: int }),
      error: n(str),
    }),
  ),
  'watch import': doc('watch import', { imported: int, added: int, alreadyWatched: int, tenantsCreated: strings }),
  'watch followers': listing(
    'watch followers: the snapshot (or its --new / --lost diff)',
    v.object({ username: n(str), id: str, fullName: n(str), isPrivate: n(bool) }),
  ),
  'watch list': listing(
    'watch list',
    v.object({
      tenant: str,
      username: str,
      kind: str,
      lastResult: n(str),
      checkedAt: n(time),
      nextCheckAt: n(time),
      changedAt: n(time),
    }),
  ),
  'watch remove': doc('watch remove', {
    removed: v.array(v.object({ tenant: str, username: str, kind: str })),
    jobsRemoved: int,
  }),

  'apikeys import': doc('apikeys import', { imported: int, updated: int, tenantsCreated: strings }),
  'apikeys list': listing(
    'apikeys list (never the key)',
    v.object({
      id: int,
      tenant: str,
      provider: str,
      healthy: bool,
      quotaUsed: int,
      quotaResetAt: n(time),
      lastError: n(str),
      createdAt: time,
    }),
  ),
  'apikeys remove': doc('apikeys remove', { removed: v.array(v.object({ id: int, tenant: str, provider: str })) }),

  'ig import': doc('ig import', { imported: int, created: int, updated: int, tenantsCreated: strings }),
  'ig list': listing(
    'ig list',
    v.object({
      id: int,
      rateLimitedUntil: n(time),
      tenant: str,
      username: str,
      state: str,
      priority: int,
      hasTotp: bool,
      proxy: n(str),
      sessionAgeMs: n(int),
      lastVerifiedAt: n(time),
      nextRefreshAt: n(time),
      failures: int,
      lastError: n(str),
      throttled,
      disabledAt: n(time),
      lastUsedAt: n(time),
      health: v.object(healthFigures),
    }),
  ),
  'ig remove': doc('ig remove', { tenant: str, username: str }),
  'bot poll': doc('bot poll', { enabled: bool, updates: int, answered: int, ignored: int, offset: int }),
  'ig disable': doc('ig disable', { tenant: str, username: str, disabled: bool, changed: bool }),
  'ig enable': doc('ig enable', { tenant: str, username: str, disabled: bool, changed: bool }),
  'refresh-session': listing(
    'refresh-session: one row per account tried',
    v.object({ tenant: str, username: str, status: str, detail: n(str), nextRefreshAt: n(time) }),
  ),

  events: listing(
    'events, newest first (data: the event kind’s own details, free-form)',
    v.object({
      id: int,
      at: time,
      kind: str,
      severity: v.picklist(['info', 'warning', 'critical']),
      subject: v.object({ type: str, name: n(str) }),
      tenant: n(str),
      message: str,
      data: freeForm,
    }),
  ),
  notify: v.union([
    doc('notify', {
      alertsRaised: int,
      enqueued: int,
      delivered: int,
      failed: int,
      budgetSpent: bool,
      sinks: v.array(v.object({ sink: str, label: str, delivered: int, failed: int, error: n(str) })),
    }),
    doc('notify secret: a new Standard Webhooks secret', { secret: str }),
  ]),
};

/** Commands the JSON schema test cannot run, and why (their schema is still published). */
export const NOT_RUN_IN_TEST: Record<string, string> = {
  'accounts login': 'interactive, and needs the real Telegram (code by SMS/app)',
};

/** schemas/FILE.json for a command path: "accounts list" → accounts-list.json. */
export function schemaFileName(command: string): string {
  return `${command.replace(/ /g, '-')}.json`;
}

/**
 * The JSON Schema documents of schemas/, from a valibot → JSON Schema converter (passed in so
 * that the library does not depend on it: @valibot/to-json-schema is a dev dependency).
 */
export function jsonSchemaFiles(toJsonSchema: (schema: OutputSchema) => object): Record<string, object> {
  const files: Record<string, object> = {};
  for (const [command, schema] of Object.entries(JSON_SCHEMAS).sort(([a], [b]) => a.localeCompare(b))) {
    const file = schemaFileName(command);
    files[file] = {
      title: command === 'error' ? 'acctctl error (--json)' : `acctctl ${command} --json`,
      ...toJsonSchema(schema),
    };
  }
  return files;
}
