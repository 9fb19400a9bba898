import type { Ctx } from './support/context.js';
import { readFileSync } from 'node:fs';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { readInputFile } from '../config/inputFiles.js';
import {
  addTenant,
  setTenantNotifySettings,
  setTenantTimeZone,
  tenantTimeZoneInput,
  type TenantNotifyResult,
} from '../fleet/tenants.js';
import { countTenants, describeTenantUsage, listTenants, removeTenant, type TenantRow } from '../store/tenants.js';
import { checkTenantFilter } from '../store/filters.js';
import { withRemovalStore } from './support/imported.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { count } from '../domain/plural.js';

export async function addTenantCli(
  ctx: Ctx,
  name: string,
  opts: { verifyMode?: string; timezone?: string },
): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(
      await addTenant({ store, clock: ctx.clock }, { name, verifyMode: opts.verifyMode, timeZone: opts.timezone }),
      (r) =>
        `${r.created ? 'added' : 'updated'} tenant ${r.name} (verify mode ${r.verifyMode}` +
        (r.timeZone !== undefined ? `, time zone ${r.timeZone ?? 'ACCTCTL_TIMEZONE'})` : ')'),
    ),
  );
}

/** A secret given in a file (`-`: stdin), never on the command line. */
function fromFile(flag: string, path: string | undefined): { value: string; from: string } | undefined {
  if (path === undefined) return undefined;
  const value = path === '-' ? readFileSync(0, 'utf8') : readInputFile(path);
  return { value, from: path === '-' ? `${flag} - (stdin)` : `${flag} ${path}` };
}

export function renderTenantNotify(r: TenantNotifyResult): string {
  return (
    `tenant ${r.name}: alerts to ${r.target ?? 'nowhere (no notify target)'}` +
    (r.target?.startsWith('webhook')
      ? r.signed
        ? ', signed with its own secret'
        : ', unsigned (no --notify-secret-file)'
      : '') +
    `; minimum severity ${r.minSeverity ?? 'as ACCTCTL_NOTIFY_MIN_SEVERITY'}` +
    `; Instagram login ${r.loginFallback === 'http' ? 'by browser, over HTTP when the browser cannot' : 'by browser only'}`
  );
}

/** `tenants set NAME`: the tenant's notify target, its own webhook secret, its minimum severity, its login fallback. */
export async function setTenantCli(
  ctx: Ctx,
  name: string,
  opts: {
    notifyTargetFile?: string;
    notifySecretFile?: string;
    notifyMinSeverity?: string;
    loginFallback?: string;
    timezone?: string;
  },
): Promise<void> {
  const timeZone = tenantTimeZoneInput(opts.timezone);
  const input = {
    target: fromFile('--notify-target-file', opts.notifyTargetFile),
    secret: fromFile('--notify-secret-file', opts.notifySecretFile),
    minSeverity: opts.notifyMinSeverity,
    loginFallback: opts.loginFallback,
  };
  await withStore(ctx, async (store) => {
    const r = await setTenantNotifySettings({ store, box: secretBox(ctx) }, name, input);
    if (timeZone === undefined) return ctx.emit(r, renderTenantNotify);
    const tz = await setTenantTimeZone({ store }, name, timeZone);
    ctx.emit({ ...r, timeZone: tz }, (x) => `${renderTenantNotify(x)}; time zone ${tz ?? 'ACCTCTL_TIMEZONE'}`);
  });
}

const tenantColumns: Column<TenantRow>[] = [
  { head: 'tenant', value: (r) => r.name },
  { head: 'verify mode', value: (r) => r.verifyMode },
  { head: 'tg accounts', value: (r) => r.accounts },
  { head: 'proxies', value: (r) => r.proxies },
  { head: 'ig sessions', value: (r) => r.igAccounts },
  { head: 'api keys', value: (r) => r.apiKeys },
  { head: 'watches', value: (r) => r.watches },
];

export async function listTenantsCli(ctx: Ctx, opts: ListFlags & { tenant?: string | undefined } = {}): Promise<void> {
  const spec = listSpec(opts, ctx.config.json);
  const filter = { tenant: opts.tenant };
  await withExistingStore(ctx, async (store) => {
    await checkTenantFilter(store, filter.tenant);
    await emitListing(ctx, spec, {
      columns: tenantColumns,
      total: await countTenants(store, filter),
      rows: pages<TenantRow>((_last, n, offset) => listTenants(store, filter, { offset, limit: n }), spec.limit),
      empty: 'no tenants yet → acctctl tenants add NAME',
      filters: '--tenant',
    });
  });
}

export async function removeTenantCli(
  ctx: Ctx,
  name: string,
  opts: { force?: boolean; dryRun?: boolean },
): Promise<void> {
  await withRemovalStore(ctx, opts.dryRun, async (store) =>
    ctx.emit(await removeTenant(store, name, { force: opts.force === true, now: ctx.clock.now() }), (r) => {
      const gone = describeTenantUsage({ ...r.removed, telegramAccounts: 0 });
      return (
        `removed tenant ${r.tenant}${gone.length ? ` with ${gone.join(', ')}` : ''}` +
        (r.accountsDetached ? `; ${count(r.accountsDetached, 'Telegram account')} kept without a tenant` : '') +
        (r.accountsDisabled.length
          ? `\ndisabled ${r.accountsDisabled.join(', ')} (their proxy was the tenant's) → give each a proxy, then \`acctctl accounts enable NAME\``
          : '')
      );
    }),
  );
}
