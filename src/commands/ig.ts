import type { Ctx } from './support/context.js';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { c, EXTRA, fmtDuration, fmtTime, fmtWhen, KEY, paint, table } from './support/output.js';
import { browserRefresher, type RefreshResult } from '../fleet/refresh.js';
import { importIg } from '../fleet/checkImports.js';
import { validateIgAccounts, type IgAccountInput } from '../domain/igAccountsFile.js';
import { checkTotpSecret } from '../instagram/totp.js';
import { countIg, listIg, removeIg, setIgDisabled, type IgRow } from '../store/igAccounts.js';
import { createdTenants, importSummary, withImportStore, withRemovalStore } from './support/imported.js';
import { healthFigures, renderHealth, sessionHealth } from '../store/sessionHealth.js';
import { parseJsonFile, readInputFile, rejectProblems } from '../config/inputFiles.js';
import { UsageError } from '../errors.js';
import { checkFixedFilter, checkTenantFilter, IG_STATES } from '../store/filters.js';

export async function parseIgFile(path: string, text: string): Promise<IgAccountInput[]> {
  const r = await validateIgAccounts(parseJsonFile(path, text), checkTotpSecret);
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
}

export async function igImportCli(
  ctx: Ctx,
  file: string,
  opts: { createTenant?: boolean; dryRun?: boolean } = {},
): Promise<void> {
  const rows = await parseIgFile(file, readInputFile(file));
  const box = secretBox(ctx);
  await withImportStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await importIg({ store, box, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) =>
        importSummary(
          ['Instagram account'],
          { imported: r.imported, created: r.created, existing: r.updated },
          'updated',
          opts.dryRun === true,
        ) + createdTenants(r.tenantsCreated),
    ),
  );
}

export async function igRemoveCli(
  ctx: Ctx,
  username: string,
  opts: { tenant?: string; force?: boolean; dryRun?: boolean },
): Promise<void> {
  await withRemovalStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await removeIg(store, { username, tenant: opts.tenant }, { force: opts.force === true, now: ctx.clock.now() }),
      (r) => `removed Instagram account ${r.tenant}/${r.username} and its stored secrets`,
    ),
  );
}

/** `ig disable|enable USER --tenant T`. */
export async function igUseCli(ctx: Ctx, disabled: boolean, username: string, opts: { tenant: string }): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(await setIgDisabled(store, { username, tenant: opts.tenant }, disabled, ctx.clock.now()), (r) =>
      r.changed
        ? `${r.disabled ? 'disabled' : 'enabled'} Instagram account ${r.tenant}/${r.username}` +
          (r.disabled
            ? ': check and refresh-session leave it alone → `acctctl ig enable ' +
              `${r.username} --tenant ${r.tenant}\` brings it back`
            : '')
        : `Instagram account ${r.tenant}/${r.username} was already ${r.disabled ? 'disabled' : 'enabled'}`,
    ),
  );
}

type IgListRow = IgRow & { health: ReturnType<typeof healthFigures> };

function igListColumns(now: number): Column<IgListRow>[] {
  return [
    { head: 'tenant', value: (r) => r.tenant },
    { head: 'username', value: (r) => r.username, priority: KEY },
    {
      head: 'state',
      priority: KEY,
      value: (r) => (r.disabledAt === null ? r.state : `${r.state}, disabled`),
      style: (t) =>
        t === 'valid' ? c.green(t) : t.startsWith('needs_manual') || t.startsWith('failed') ? c.red(t) : c.yellow(t),
    },
    { head: '2FA', value: (r) => (r.hasTotp ? 'totp' : ''), priority: EXTRA },
    { head: 'proxy', value: (r) => r.proxy, priority: EXTRA },
    {
      head: 'session age',
      value: (r) => (r.sessionAgeMs === null ? '' : fmtDuration(r.sessionAgeMs)),
      priority: EXTRA,
    },
    { head: 'last verified', value: (r) => fmtWhen(r.lastVerifiedAt, now), priority: EXTRA },
    { head: 'last used', value: (r) => fmtWhen(r.lastUsedAt, now), priority: EXTRA },
    { head: 'next refresh', value: (r) => fmtTime(r.nextRefreshAt) },
    { head: 'failures', value: (r) => r.failures },
    { head: '30 days: refreshes · checks', value: (r) => renderHealth(r.health), priority: EXTRA },
    { head: 'last error', value: (r) => r.lastError },
  ];
}

export async function igListCli(
  ctx: Ctx,
  opts: ListFlags & { state?: string | undefined; tenant?: string | undefined } = {},
): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { state: opts.state, tenant: opts.tenant };
  checkFixedFilter('--state', filter.state, IG_STATES);
  await withExistingStore(ctx, async (store) => {
    await checkTenantFilter(store, filter.tenant);
    const now = ctx.clock.now();
    // Session-health figures over 30 days, per session.
    const health = new Map((await sessionHealth(store, now)).map((h) => [h.igAccountId, h]));
    await emitListing(ctx, spec, {
      columns: igListColumns(now),
      total: await countIg(store, filter),
      rows: pages<IgListRow>(
        async (_last, n, offset) =>
          (await listIg(store, now, { ...filter, limit: n, offset })).map((r) => ({
            ...r,
            health: healthFigures(health.get(r.id)),
          })),
        spec.limit,
      ),
      empty:
        filter.state || filter.tenant
          ? 'no Instagram accounts match'
          : 'no Instagram accounts → acctctl ig import FILE',
      filters: '--state, --tenant',
    });
  });
}

export function renderRefresh(rows: RefreshResult[]): string {
  if (rows.length === 0) return 'no Instagram session is due for a refresh';
  return table(
    ['tenant', { head: 'username', priority: KEY }, { head: 'result', priority: KEY }, 'next refresh', 'detail'],
    rows.map((r) => [
      r.tenant,
      r.username,
      paint(
        r.status === 'refreshed' ? c.green : r.status === 'backing_off' || r.status === 'locked' ? c.yellow : c.red,
        r.status,
      ),
      fmtTime(r.nextRefreshAt),
      r.detail,
    ]),
  );
}

export async function refreshCli(ctx: Ctx, opts: { account?: string; all?: boolean }): Promise<void> {
  if (opts.account && opts.all) throw new UsageError('give --account USERNAME or --all, not both');
  const box = secretBox(ctx);
  await withStore(ctx, async (store) =>
    ctx.emit(
      await (await browserRefresher({ store, box, clock: ctx.clock, log: ctx.log, config: ctx.config })).refresh(opts),
      renderRefresh,
    ),
  );
}
