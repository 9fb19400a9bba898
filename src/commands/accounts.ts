import type { Ctx } from './support/context.js';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { c, EXTRA, fmtTime, KEY } from './support/output.js';
import { readInputFile } from '../config/inputFiles.js';
import { count } from '../domain/plural.js';
import {
  changeAccount,
  importAccounts,
  openAccountsFile,
  type AccountChange,
  type AccountRow,
} from '../fleet/accounts.js';
import { parseKeyMaterialFernet } from '../security/fernetKey.js';
import { accountsPage, checkAccountFilter, countAccounts, type AccountListRow } from '../store/accounts.js';
import { createdTenants, importSummary, withImportStore, withRemovalStore } from './support/imported.js';
import type { AccountInput, AccountsSource } from '../domain/accountsConfig.js';
import { validTenantName } from '../domain/tenants.js';
import { UsageError } from '../errors.js';
import { isSessionImport, readSessionFiles, withDefaultTenant } from '../fleet/sessionImport.js';
import { exportAccounts } from '../fleet/sessionExport.js';
import { resolve } from 'node:path';
import { checkTenantFilter } from '../store/filters.js';

export async function importAccountsCli(
  ctx: Ctx,
  paths: string | string[],
  opts: { tenant?: string; fernetKeyFile?: string; createTenant?: boolean; new?: boolean; dryRun?: boolean },
): Promise<void> {
  const list = typeof paths === 'string' ? [paths] : paths;
  if (opts.tenant !== undefined && !validTenantName(opts.tenant))
    throw new UsageError(`--tenant "${opts.tenant}" → letters, digits, _ . - (up to 64)`);
  let rows: AccountsSource | AccountInput[];
  if (isSessionImport(list)) {
    rows = readSessionFiles(list, {
      tenant: opts.tenant,
      apiId: ctx.config.telegramApiId,
      apiHash: ctx.config.telegramApiHash,
    });
  } else {
    if (list.length !== 1) throw new UsageError('give one accounts_config.json, or .session files and folders of them');
    const fernetKey = opts.fernetKeyFile
      ? parseKeyMaterialFernet(readInputFile(opts.fernetKeyFile), opts.fernetKeyFile)
      : undefined;
    const file = openAccountsFile(list[0]!, fernetKey);
    rows = opts.tenant === undefined ? file : withDefaultTenant(file, opts.tenant);
  }
  const box = secretBox(ctx);
  await withImportStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(
      await importAccounts({ store, box, clock: ctx.clock }, rows, {
        createTenants: opts.createTenant === true,
        markNew: opts.new === true,
      }),
      (r) =>
        importSummary(
          ['account'],
          { imported: r.imported, created: r.created.length, existing: r.updated.length },
          'updated',
          opts.dryRun === true,
        ) +
        createdTenants(r.tenantsCreated) +
        (r.reactivated.length ? `; new sessions made ${r.reactivated.join(', ')} active again` : ''),
    ),
  );
}

export async function exportAccountsCli(
  ctx: Ctx,
  names: string[],
  opts: { tenant?: string; all?: boolean; format: string; out: string },
): Promise<void> {
  const box = secretBox(ctx);
  await withStore(ctx, async (store) =>
    ctx.emit(
      await exportAccounts(
        { store, box, clock: ctx.clock },
        {
          ...(names.length ? { names } : {}),
          ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
          ...(opts.all ? { all: true } : {}),
        },
        { format: opts.format, out: resolve(opts.out) },
      ),
      (r) =>
        `exported ${count(r.exported.length, 'account')} as ${r.format} into ${r.out} (${count(r.files.length, 'file')}, mode 0600)`,
    ),
  );
}

const stateColour = (s: string) =>
  s === 'active' ? c.green(s) : ['frozen', 'disabled', 'banned'].includes(s) ? c.red(s) : c.yellow(s);

export function accountListColumns(now: number, defaultZone = 'UTC'): Column<AccountRow>[] {
  return [
    { head: 'account', value: (r) => r.name, priority: KEY },
    { head: 'tenant', value: (r) => r.tenant },
    { head: 'state', value: (r) => r.state, style: stateColour, priority: KEY },
    { head: 'until', value: (r) => fmtTime(r.until) },
    { head: 'enabled', value: (r) => (r.enabled ? 'yes' : 'no'), style: (t) => (t === 'no' ? c.red(t) : t) },
    {
      head: 'lease',
      priority: EXTRA,
      value: (r) =>
        r.leaseHolder && (r.leaseExpiresAt ?? 0) > now ? `${r.leaseHolder} → ${fmtTime(r.leaseExpiresAt)}` : '',
    },
    { head: 'proxy', value: (r) => r.proxy, priority: EXTRA },
    { head: 'device', value: (r) => r.device?.model ?? '', priority: EXTRA },
    { head: 'time zone', value: (r) => r.timeZone ?? defaultZone, priority: EXTRA },
    { head: 'last used', value: (r) => fmtTime(r.lastUsedAt), priority: EXTRA },
    { head: 'errors', value: (r) => r.errorCount },
    { head: 'last error', value: (r) => r.lastError },
  ];
}

export async function listAccountsCli(
  ctx: Ctx,
  opts: ListFlags & { state?: string | undefined; tenant?: string | undefined },
): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { state: opts.state, tenant: opts.tenant };
  checkAccountFilter(filter);
  await withExistingStore(ctx, async (store) => {
    await checkTenantFilter(store, filter.tenant);
    // One `now` for the whole listing: the states shown, the --state filter and the leases shown live.
    const now = ctx.clock.now();
    await emitListing(ctx, spec, {
      columns: accountListColumns(now, ctx.config.timeZone),
      total: await countAccounts(store, filter, now),
      rows: pages<AccountListRow>((last, n) => accountsPage(store, filter, last?.name ?? null, n, now), spec.limit),
      json: ({ id: _id, ...r }) => ({ ...r, timeZone: r.timeZone ?? ctx.config.timeZone }),
      empty:
        filter.state || filter.tenant
          ? 'no accounts match'
          : 'no accounts yet → acctctl accounts import accounts_config.json',
      filters: '--state, --tenant',
    });
  });
}

export async function changeAccountCli(
  ctx: Ctx,
  verb: AccountChange,
  name: string,
  opts: { force?: boolean; dryRun?: boolean } = {},
): Promise<void> {
  await withRemovalStore(ctx, opts.dryRun, async (store) => {
    const r = await changeAccount({ store, clock: ctx.clock }, verb, name, { force: opts.force === true });
    if (!r.removal) {
      ctx.emit({ name: r.name, change: r.change }, (x) => `account ${x.name}: ${x.change}d`);
      return;
    }
    const { leaseEnded, targetsRequeued } = r.removal;
    ctx.emit({ name: r.name, change: r.change, leaseEnded, targetsRequeued }, (x) =>
      [
        `account ${x.name}: removed (its events stay under its name)`,
        ...(x.leaseEnded ? [`ended the lease of ${x.leaseEnded.holder}: its token no longer works`] : []),
        ...(x.targetsRequeued.length ? [`queued again for another account: ${x.targetsRequeued.join(', ')}`] : []),
      ].join('\n'),
    );
  });
}
