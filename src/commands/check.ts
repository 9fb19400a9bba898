import type { Ctx } from './support/context.js';
import { secretBox, withStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { c, fmtTime, table } from './support/output.js';
import { countWatches, watchesPage, type WatchListRow } from '../store/watches.js';
import type { Clock } from '../domain/clock.js';
import { parseProviders, type ApiProvider } from '../domain/providers.js';
import { ConfigError, UsageError } from '../errors.js';
import { Checker, type TenantCheckResult } from '../fleet/check.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Store } from '../store/store.js';
import { parseJsonFile, readInputFile, rejectProblems } from './importing.js';
import { resolveTenants } from '../store/tenants.js';
import { listApiKeys, removeApiKeys } from '../store/apiKeys.js';
import { removeWatches } from '../store/watches.js';
import { count } from '../domain/plural.js';
import { createdTenants, parseIds } from './proxies.js';
import type { ImportOptions } from './importing.js';

import { parseApiKeys } from '../domain/files/apiKeys.js';
import { parseWatches, WATCH_KINDS, type WatchInput } from '../domain/files/watches.js';

export type { WatchInput };

export function parseWatchFile(path: string, text: string): WatchInput[] {
  const r = parseWatches(parseJsonFile(path, text));
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
}

export async function importWatches(
  deps: { store: Store; clock: Clock },
  rows: WatchInput[],
  opts: ImportOptions = {},
) {
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.map((r) => r.tenant),
      { create: opts.createTenants ?? true, now },
    );
    let added = 0;
    for (const r of rows) {
      const t = { id: tenants.ids.get(r.tenant)! };
      const res = await tx
        .insertInto('watches')
        .values({
          tenant_id: t.id,
          username: r.username,
          kind: r.kind,
          last_result: null,
          checked_at: null,
          next_check_at: now,
          changed_at: null,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'username', 'kind']).doNothing())
        .executeTakeFirst();
      added += Number(res.numInsertedOrUpdatedRows ?? 0n);
    }
    return { imported: rows.length, added, alreadyWatched: rows.length - added, tenantsCreated: tenants.created };
  });
}

export async function importApiKeys(
  deps: { store: Store; box: SecretBox; clock: Clock },
  rows: { tenant: string; provider: string; key: string }[],
  opts: ImportOptions = {},
) {
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.map((r) => r.tenant),
      { create: opts.createTenants ?? true, now },
    );
    for (const r of rows) {
      const t = { id: tenants.ids.get(r.tenant)! };
      const id = (
        await tx
          .insertInto('api_keys')
          .values({
            tenant_id: t.id,
            provider: r.provider,
            key_enc: '',
            quota_reset_at: null,
            last_error: null,
            created_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      await tx
        .updateTable('api_keys')
        .set({ key_enc: deps.box.seal(r.key, { table: 'api_keys', column: 'key_enc', rowId: id }) })
        .where('id', '=', id)
        .execute();
    }
    return { imported: rows.length, tenantsCreated: tenants.created };
  });
}

export function parseApiKeyFile(path: string, text: string): { tenant: string; provider: string; key: string }[] {
  const r = parseApiKeys(parseJsonFile(path, text));
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
}

export function loadProviders(file: string | undefined): Map<string, ApiProvider> {
  if (!file) return new Map();
  const r = parseProviders(parseJsonFile(file, readInputFile(file)));
  if (!r.ok) throw new ConfigError(`${file} describes the API providers wrongly → fix it`, { details: r.problems });
  return r.value;
}

export function renderCheck(rows: TenantCheckResult[]): string {
  if (rows.length === 0) return 'no tenants';
  return table(
    [
      'tenant',
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
      r.skipped ? c.yellow(`skipped: ${r.skipped}`) : r.error ? c.red(r.error) : '',
    ]),
  );
}

export async function checkCli(ctx: Ctx, opts: { tenant?: string; batch: string }): Promise<void> {
  const batch = Number(opts.batch);
  if (!Number.isInteger(batch) || batch < 1) throw new UsageError('--batch must be a whole number ≥ 1');
  const providers = loadProviders(ctx.config.apiProvidersFile);
  const box = secretBox(ctx);
  await withStore(ctx, async (store) => {
    const { findChromium } = await import('../instagram/chromium.js');
    let refresh: ((id: number) => Promise<{ status: string }>) | undefined;
    if ('path' in findChromium(ctx.config.chromiumPath)) {
      const refresher = await (await import('./ig.js')).cliRefresher(ctx, store, box);
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

export async function watchImportCli(ctx: Ctx, file: string, opts: { createTenant?: boolean } = {}): Promise<void> {
  const rows = parseWatchFile(file, readInputFile(file));
  await withStore(ctx, async (store) =>
    ctx.emit(
      await importWatches({ store, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) =>
        `${count(r.added, 'watch', 'watches')} added, ${r.alreadyWatched} already watched` +
        createdTenants(r.tenantsCreated),
    ),
  );
}

export async function watchRemoveCli(
  ctx: Ctx,
  username: string,
  opts: { tenant?: string; kind?: string; force?: boolean },
): Promise<void> {
  if (opts.kind !== undefined && !(WATCH_KINDS as readonly string[]).includes(opts.kind)) {
    throw new UsageError(`--kind "${opts.kind}" → use one of ${WATCH_KINDS.join(', ')}`);
  }
  await withStore(ctx, async (store) =>
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

export async function apikeysListCli(ctx: Ctx): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(await listApiKeys(store), (rows) =>
      rows.length === 0
        ? 'no API keys → acctctl apikeys import FILE'
        : table(
            ['id', 'tenant', 'provider', 'healthy', 'quota used', 'quota resets', 'last error'],
            rows.map((r) => [
              r.id,
              r.tenant,
              r.provider,
              r.healthy ? 'yes' : c.red('no'),
              r.quotaUsed,
              fmtTime(r.quotaResetAt),
              r.lastError,
            ]),
          ),
    ),
  );
}

export async function apikeysRemoveCli(ctx: Ctx, ids: string[], opts: { force?: boolean }): Promise<void> {
  const list = parseIds(ids, 'API key');
  await withStore(ctx, async (store) =>
    ctx.emit(
      await removeApiKeys(store, list, { force: opts.force === true, now: ctx.clock.now() }),
      (r) =>
        `removed ${count(r.removed.length, 'API key')} (${r.removed.map((k) => `${k.id}: ${k.tenant}/${k.provider}`).join(', ')})`,
    ),
  );
}

const watchColumns: Column<WatchListRow>[] = [
  { head: 'tenant', value: (r) => r.tenant },
  { head: 'username', value: (r) => r.username },
  { head: 'kind', value: (r) => r.kind },
  { head: 'result', value: (r) => r.last_result },
  { head: 'checked', value: (r) => fmtTime(r.checked_at) },
  { head: 'next check', value: (r) => fmtTime(r.next_check_at) },
  { head: 'changed', value: (r) => fmtTime(r.changed_at) },
];

export async function watchListCli(
  ctx: Ctx,
  opts: ListFlags & { tenant?: string | undefined; status?: string | undefined } = {},
): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { tenant: opts.tenant, status: opts.status };
  await withStore(ctx, async (store) => {
    await emitListing(ctx, spec, {
      columns: watchColumns,
      total: await countWatches(store, filter),
      rows: pages<WatchListRow>((_last, n, offset) => watchesPage(store, filter, offset, n), spec.limit),
      json: ({ id: _id, ...r }) => r,
      empty: filter.tenant || filter.status ? 'no watches match' : 'no watches → acctctl watch import FILE',
      filters: '--tenant, --status',
    });
  });
}

export async function apikeysImportCli(ctx: Ctx, file: string, opts: { createTenant?: boolean } = {}): Promise<void> {
  const rows = parseApiKeyFile(file, readInputFile(file));
  const box = secretBox(ctx);
  await withStore(ctx, async (store) =>
    ctx.emit(
      await importApiKeys({ store, box, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) => `imported ${count(r.imported, 'API key')}` + createdTenants(r.tenantsCreated),
    ),
  );
}
