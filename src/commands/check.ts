import { MAX_BATCH, wholeInRange } from '../domain/duration.js';
import type { Ctx } from './support/context.js';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { c, EXTRA, fmtTime, KEY, paint, table } from './support/output.js';
import { countWatches, watchesPage, type WatchListRow } from '../store/watches.js';
import type { ApiProvider } from '../domain/providers.js';
import { parseApiKeys } from '../domain/files/apiKeys.js';
import { parseWatches, WATCH_KINDS } from '../domain/files/watches.js';
import { DataError, UsageError } from '../errors.js';
import { Checker, type TenantCheckResult } from '../fleet/checkRun.js';
import { importApiKeys, importWatches, type WatchInput } from '../fleet/checkImports.js';
import { loadProvidersFile, parseJsonFile, readInputFile, rejectProblems } from '../config/inputFiles.js';
import { countApiKeys, listApiKeys, removeApiKeys, type ApiKeyRow } from '../store/apiKeys.js';
import { removeWatches } from '../store/watches.js';
import { count } from '../domain/plural.js';
import { checkFixedFilter, checkTenantFilter, WATCH_STATUSES } from '../store/filters.js';
import { createdTenants, importSummary, parseIds, withImportStore, withRemovalStore } from './support/imported.js';

export function parseWatchFile(path: string, text: string): WatchInput[] {
  const r = parseWatches(parseJsonFile(path, text));
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
}

export function parseApiKeyFile(path: string, text: string): { tenant: string; provider: string; key: string }[] {
  const r = parseApiKeys(parseJsonFile(path, text));
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
}

export function loadProviders(file: string | undefined): Map<string, ApiProvider> {
  return loadProvidersFile(file);
}

export function renderCheck(rows: TenantCheckResult[]): string {
  if (rows.length === 0) return 'no tenants';
  return table(
    [
      { head: 'tenant', priority: KEY },
      'mode',
      'checked',
      'found',
      'not found',
      'errors',
      'changed',
      'jobs done/paused/open',
      'fetched',
      'note',
    ],
    rows.map((r) => [
      r.tenant,
      r.mode,
      r.checked,
      r.found,
      r.notFound,
      r.errors,
      r.changed,
      `${r.jobs.completed}/${r.jobs.paused}/${r.jobs.inProgress}`,
      r.jobs.fetched,
      r.skipped ? paint(c.yellow, `skipped: ${r.skipped}`) : r.error ? paint(c.red, r.error) : '',
    ]),
  );
}

export async function checkCli(ctx: Ctx, opts: { tenant?: string; batch: string }): Promise<void> {
  const batch = wholeInRange(opts.batch, 1, MAX_BATCH);
  if (batch === undefined) throw new UsageError(`--batch "${opts.batch}" → give a whole number 1–${MAX_BATCH}`);
  const providers = loadProviders(ctx.config.apiProvidersFile);
  const box = secretBox(ctx);
  await withStore(ctx, async (store) => {
    const { findChromium } = await import('../instagram/chromium.js');
    let refresh: ((id: number) => Promise<{ status: string }>) | undefined;
    if ('path' in findChromium(ctx.config.chromiumPath, ctx.config.playwrightBrowsersPath)) {
      const { browserRefresher } = await import('../fleet/refresh.js');
      const refresher = await browserRefresher({ store, box, clock: ctx.clock, log: ctx.log, config: ctx.config });
      refresh = (id) => refresher.reactive(id);
    }
    const checker = new Checker({
      store,
      box,
      clock: ctx.clock,
      log: ctx.log,
      instagramUrl: ctx.config.instagramUrl,
      providers,
      rate: ctx.config.igRate,
      concurrency: ctx.config.checkConcurrency,
      ...(refresh ? { refresh } : {}),
    });
    const res = await checker.run({ ...(opts.tenant ? { tenant: opts.tenant } : {}), batch });
    ctx.emit(res, renderCheck);
  });
}

export async function watchImportCli(
  ctx: Ctx,
  file: string,
  opts: { createTenant?: boolean; dryRun?: boolean } = {},
): Promise<void> {
  const rows = parseWatchFile(file, readInputFile(file));
  await withImportStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await importWatches({ store, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) =>
        importSummary(
          ['watch', 'watches'],
          { imported: r.added + r.alreadyWatched, created: r.added, existing: r.alreadyWatched },
          'unchanged',
          opts.dryRun === true,
        ) + createdTenants(r.tenantsCreated),
    ),
  );
}

export async function watchRemoveCli(
  ctx: Ctx,
  username: string,
  opts: { tenant?: string; kind?: string; force?: boolean; dryRun?: boolean },
): Promise<void> {
  if (opts.kind !== undefined && !(WATCH_KINDS as readonly string[]).includes(opts.kind)) {
    throw new UsageError(`--kind "${opts.kind}" → use one of ${WATCH_KINDS.join(', ')}`);
  }
  await withRemovalStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await removeWatches(
        store,
        { username, tenant: opts.tenant, kind: opts.kind },
        { force: opts.force === true, now: ctx.clock.now() },
      ),
      (r) =>
        `removed ${count(r.removed.length, 'watch', 'watches')} of ${r.removed[0]!.username} (tenant ${r.removed[0]!.tenant}: ` +
        `${r.removed.map((w) => w.kind).join(', ')})` +
        (r.jobsRemoved
          ? ` with ${count(r.jobsRemoved, 'follower fetch', 'follower fetches')} and their stored pages`
          : ''),
    ),
  );
}

const apiKeyColumns: Column<ApiKeyRow>[] = [
  { head: 'id', value: (r) => r.id, priority: KEY },
  { head: 'tenant', value: (r) => r.tenant },
  { head: 'provider', value: (r) => r.provider },
  {
    head: 'healthy',
    value: (r) => (r.healthy ? 'yes' : 'no'),
    style: (t) => (t === 'no' ? c.red(t) : t),
    priority: KEY,
  },
  { head: 'quota used', value: (r) => r.quotaUsed },
  { head: 'quota resets', value: (r) => fmtTime(r.quotaResetAt) },
  { head: 'last error', value: (r) => r.lastError },
];

export async function apikeysListCli(ctx: Ctx, opts: ListFlags & { tenant?: string | undefined } = {}): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { tenant: opts.tenant };
  await withExistingStore(ctx, async (store) => {
    await checkTenantFilter(store, filter.tenant);
    await emitListing(ctx, spec, {
      columns: apiKeyColumns,
      total: await countApiKeys(store, filter),
      rows: pages<ApiKeyRow>((_last, n, offset) => listApiKeys(store, filter, { offset, limit: n }), spec.limit),
      empty: filter.tenant ? 'no API keys match' : 'no API keys → acctctl apikeys import FILE',
      filters: '--tenant',
    });
  });
}

export async function apikeysRemoveCli(
  ctx: Ctx,
  ids: string[],
  opts: { force?: boolean; dryRun?: boolean },
): Promise<void> {
  const list = parseIds(ids, 'API key');
  await withRemovalStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await removeApiKeys(store, list, { force: opts.force === true, now: ctx.clock.now() }),
      (r) =>
        `removed ${count(r.removed.length, 'API key')} (${r.removed.map((k) => `${k.id}: ${k.tenant}/${k.provider}`).join(', ')})`,
    ),
  );
}

const watchColumns: Column<WatchListRow>[] = [
  { head: 'tenant', value: (r) => r.tenant },
  { head: 'username', value: (r) => r.username, priority: KEY },
  { head: 'kind', value: (r) => r.kind },
  { head: 'result', value: (r) => r.last_result, priority: KEY },
  { head: 'checked', value: (r) => fmtTime(r.checked_at) },
  { head: 'next check', value: (r) => fmtTime(r.next_check_at), priority: EXTRA },
  { head: 'changed', value: (r) => fmtTime(r.changed_at), priority: EXTRA },
];

export async function watchListCli(
  ctx: Ctx,
  opts: ListFlags & { tenant?: string | undefined; status?: string | undefined } = {},
): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { tenant: opts.tenant, status: opts.status };
  checkFixedFilter('--status', filter.status, WATCH_STATUSES);
  await withExistingStore(ctx, async (store) => {
    await checkTenantFilter(store, filter.tenant);
    await emitListing(ctx, spec, {
      columns: watchColumns,
      total: await countWatches(store, filter),
      rows: pages<WatchListRow>((_last, n, offset) => watchesPage(store, filter, offset, n), spec.limit),
      json: (r) => ({
        tenant: r.tenant,
        username: r.username,
        kind: r.kind,
        lastResult: r.last_result,
        checkedAt: r.checked_at,
        nextCheckAt: r.next_check_at,
        changedAt: r.changed_at,
      }),
      empty: filter.tenant || filter.status ? 'no watches match' : 'no watches → acctctl watch import FILE',
      filters: '--tenant, --status',
    });
  });
}

export async function apikeysImportCli(
  ctx: Ctx,
  file: string,
  opts: { createTenant?: boolean; dryRun?: boolean } = {},
): Promise<void> {
  const rows = parseApiKeyFile(file, readInputFile(file));
  // A key for a provider the providers file does not describe could never be used.
  if (ctx.config.apiProvidersFile !== undefined) {
    const providers = loadProviders(ctx.config.apiProvidersFile);
    const unknown = [...new Set(rows.map((r) => r.provider).filter((p) => !providers.has(p)))];
    if (unknown.length) {
      throw new DataError(
        `${file}: provider ${unknown.join(', ')} is not configured in ${ctx.config.apiProvidersFile} (it has ${[...providers.keys()].join(', ') || 'none'}); nothing was imported → fix the provider names, or describe the provider there`,
      );
    }
  }
  const box = secretBox(ctx);
  await withImportStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await importApiKeys({ store, box, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) =>
        importSummary(
          ['API key'],
          { imported: r.imported + r.updated, created: r.imported, existing: r.updated },
          'updated',
          opts.dryRun === true,
        ) + createdTenants(r.tenantsCreated),
    ),
  );
}
