import type { Ctx } from './support/context.js';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { c, fmtTime, KEY, paint, table } from './support/output.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { importProxies, parseProxyFile } from '../fleet/proxies.js';
import { countProxies, listProxies, removeProxies, type ProxyRow } from '../store/proxies.js';
import { checkTenantFilter } from '../store/filters.js';
import { setIgRoute, setTelegramRoute, type RouteChange, type RouteChoice } from '../store/routes.js';
import { UsageError } from '../errors.js';
import { count } from '../domain/plural.js';
import { readInputFile } from '../config/inputFiles.js';
import { createdTenants, importSummary, parseIds, withImportStore, withRemovalStore } from './support/imported.js';

export async function importProxiesCli(
  ctx: Ctx,
  file: string,
  opts: { tenant?: string; createTenant?: boolean; dryRun?: boolean },
): Promise<void> {
  const rows = parseProxyFile(file, readInputFile(file), opts.tenant ?? null);
  const box = secretBox(ctx);
  await withImportStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await importProxies({ store, box, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) =>
        importSummary(
          ['proxy', 'proxies'],
          { imported: r.imported, created: r.created, existing: r.updated },
          'updated',
          opts.dryRun === true,
        ) + createdTenants(r.tenantsCreated),
    ),
  );
}

const proxyColumns: Column<ProxyRow>[] = [
  { head: 'id', value: (r) => r.id, priority: KEY },
  { head: 'tenant', value: (r) => r.tenant ?? '' },
  { head: 'proxy', value: (r) => r.proxy, priority: KEY },
  { head: 'healthy', value: (r) => (r.healthy ? 'yes' : 'no'), priority: KEY },
  { head: 'failures', value: (r) => r.failures },
  { head: 'last error', value: (r) => r.lastError ?? '' },
  { head: 'checked', value: (r) => checkCell(r) },
  { head: 'latency', value: (r) => (r.latencyMs === null ? '' : `${r.latencyMs} ms`) },
];

export async function listProxiesCli(ctx: Ctx, opts: ListFlags & { tenant?: string | undefined } = {}): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { tenant: opts.tenant };
  await withExistingStore(ctx, async (store) => {
    await checkTenantFilter(store, filter.tenant);
    await emitListing(ctx, spec, {
      columns: proxyColumns,
      total: await countProxies(store, filter),
      rows: pages<ProxyRow>((_last, n, offset) => listProxies(store, filter, { offset, limit: n }), spec.limit),
      empty: filter.tenant ? 'no proxies match' : 'no proxies → acctctl proxies import FILE',
      filters: '--tenant',
    });
  });
}

/** "ok 2026-12-01 08:00:00Z", "failed 2026-…: reason", or "never". */
function checkCell(r: { check: 'ok' | 'failed' | null; checkReason: string | null; checkedAt: number | null }): string {
  if (r.check === null || r.checkedAt === null) return 'never';
  return `${r.check} ${fmtTime(r.checkedAt)}${r.check === 'failed' && r.checkReason ? `: ${r.checkReason}` : ''}`;
}

export async function checkProxiesCli(ctx: Ctx, opts: { tenant?: string }): Promise<void> {
  const box = secretBox(ctx);
  await withExistingStore(ctx, async (store) => {
    const { checkProxies, instagramTarget } = await import('../fleet/proxyCheck.js');
    const run = await checkProxies(
      {
        store,
        box,
        clock: ctx.clock,
        log: ctx.log,
        instagram: instagramTarget(ctx.config.instagramUrl),
        telegramSimulated: ctx.config.telegramMode === 'sandbox',
      },
      { tenant: opts.tenant },
    );
    const rows = run.items;
    ctx.emit({ items: rows, total: rows.length, more: 0, notChecked: run.notChecked }, (r) =>
      r.items.length === 0
        ? `no proxies${opts.tenant === undefined ? '' : ` of tenant ${opts.tenant}`} → acctctl proxies import FILE`
        : table(
            ['id', 'tenant', 'proxy', 'through it to', 'result', 'latency', 'reason'],
            r.items.map((x) => [
              x.id,
              x.tenant ?? '',
              x.proxy,
              x.target,
              x.ok ? paint(c.green, 'ok') : paint(c.red, 'failed'),
              x.latencyMs === null ? '' : `${x.latencyMs} ms`,
              x.reason ?? '',
            ]),
          ) +
          `\n${count(r.items.filter((x) => x.ok).length, 'proxy', 'proxies')} ok, ${r.items.filter((x) => !x.ok).length} failed` +
          (r.items.some((x) => !x.ok)
            ? ' (dead: their accounts are skipped, never sent direct, until a check gets through)'
            : '') +
          r.notChecked.map((n) => `\nnot checked: proxy ${n.id} (${n.proxy}): ${n.reason}`).join(''),
    );
  });
}

export async function removeProxiesCli(
  ctx: Ctx,
  ids: string[],
  opts: { force?: boolean; dryRun?: boolean },
): Promise<void> {
  const list = parseIds(ids, 'proxy');
  await withRemovalStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await removeProxies(store, list, { force: opts.force === true, now: ctx.clock.now() }),
      (r) =>
        `removed ${count(r.removed.length, 'proxy', 'proxies')} (${r.removed.map((p) => `${p.id} ${p.proxy}`).join(', ')})` +
        (r.accountsDisabled.length
          ? `\nparked ${count(r.accountsDisabled.length, 'Telegram account')} that used ${r.removed.length === 1 ? 'it' : 'them'} (its proxy was removed; nothing is sent): ` +
            `${r.accountsDisabled.join(', ')} → give each a proxy (\`acctctl accounts proxy NAME PROXY_ID\`, or --direct), then \`acctctl accounts enable NAME\``
          : '') +
        (r.igAccountsDetached.length
          ? `\nInstagram accounts that used it need a person (its proxy was removed; nothing is sent): ${r.igAccountsDetached.join(', ')} → \`acctctl ig proxy USER --tenant T PROXY_ID\` (or --direct)`
          : ''),
    ),
  );
}

/** PROXY_ID or --direct, exactly one. */
function routeChoice(proxyId: string | undefined, direct: boolean | undefined): RouteChoice {
  if (direct && proxyId !== undefined)
    throw new UsageError('give a proxy id or --direct, not both → e.g. `acctctl accounts proxy NAME 3`');
  if (direct) return { direct: true };
  if (proxyId === undefined)
    throw new UsageError('which proxy? → give its id (see `acctctl proxies list`), or --direct to send without one');
  const [id] = parseIds([proxyId], 'proxy');
  return { proxyId: id! };
}

function renderRoute(r: RouteChange): string {
  return `${r.account}: route ${r.from} → ${r.to}${r.unparked ? ' (no longer parked for its removed proxy)' : ''}`;
}

export async function accountProxyCli(
  ctx: Ctx,
  name: string,
  proxyId: string | undefined,
  opts: { direct?: boolean },
): Promise<void> {
  const choice = routeChoice(proxyId, opts.direct);
  await withStore(ctx, async (store) =>
    ctx.emit(await setTelegramRoute(store, name, choice, ctx.clock.now()), (r) =>
      r.unparked ? `${renderRoute(r)}; \`acctctl accounts enable ${name}\` puts it back to work` : renderRoute(r),
    ),
  );
}

export async function igProxyCli(
  ctx: Ctx,
  username: string,
  proxyId: string | undefined,
  opts: { tenant: string; direct?: boolean },
): Promise<void> {
  const choice = routeChoice(proxyId, opts.direct);
  await withStore(ctx, async (store) =>
    ctx.emit(await setIgRoute(store, { username, tenant: opts.tenant }, choice, ctx.clock.now()), (r) =>
      r.unparked ? `${renderRoute(r)}; refresh-session logs it in through its new route` : renderRoute(r),
    ),
  );
}
