import type { Ctx } from './support/context.js';
import { withExistingStore, withStore } from './support/context.js';
import { table } from './support/output.js';
import { addTenant } from '../fleet/tenants.js';
import { describeTenantUsage, listTenants, removeTenant } from '../store/tenants.js';
import { count } from '../domain/plural.js';

export async function addTenantCli(
  ctx: Ctx,
  name: string,
  opts: { verifyMode?: string; notifyTarget?: string },
): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(
      await addTenant(
        { store, clock: ctx.clock },
        { name, verifyMode: opts.verifyMode, notifyTarget: opts.notifyTarget },
      ),
      (r) => `${r.created ? 'added' : 'updated'} tenant ${r.name} (verify mode ${r.verifyMode})`,
    ),
  );
}

export async function listTenantsCli(ctx: Ctx): Promise<void> {
  await withExistingStore(ctx, async (store) =>
    ctx.emit(await listTenants(store), (rows) =>
      rows.length === 0
        ? 'no tenants yet → acctctl tenants add NAME'
        : table(
            ['tenant', 'verify mode', 'tg accounts', 'proxies', 'ig sessions', 'api keys', 'watches'],
            rows.map((r) => [r.name, r.verifyMode, r.accounts, r.proxies, r.igAccounts, r.apiKeys, r.watches]),
          ),
    ),
  );
}

export async function removeTenantCli(ctx: Ctx, name: string, opts: { force?: boolean }): Promise<void> {
  await withStore(ctx, async (store) =>
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
