import type { Ctx } from './support/context.js';
import { secretBox, withExistingStore, withStore } from './support/context.js';
import { table } from './support/output.js';
import { importProxies, parseProxyFile } from '../fleet/proxies.js';
import { listProxies, removeProxies } from '../store/proxies.js';
import { count } from '../domain/plural.js';
import { readInputFile } from '../config/inputFiles.js';
import { createdTenants, parseIds } from './support/imported.js';

export async function importProxiesCli(
  ctx: Ctx,
  file: string,
  opts: { tenant?: string; createTenant?: boolean },
): Promise<void> {
  const rows = parseProxyFile(file, readInputFile(file), opts.tenant ?? null);
  const box = secretBox(ctx);
  await withStore(ctx, async (store) =>
    ctx.emit(
      await importProxies({ store, box, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) =>
        `imported ${count(r.imported, 'proxy', 'proxies')} (${r.created} new, ${r.updated} updated)` +
        createdTenants(r.tenantsCreated),
    ),
  );
}

export async function listProxiesCli(ctx: Ctx): Promise<void> {
  await withExistingStore(ctx, async (store) =>
    ctx.emit(await listProxies(store), (rows) =>
      rows.length === 0
        ? 'no proxies → acctctl proxies import FILE'
        : table(
            ['id', 'tenant', 'proxy', 'healthy', 'failures', 'last error'],
            rows.map((r) => [r.id, r.tenant ?? '', r.proxy, r.healthy ? 'yes' : 'no', r.failures, r.lastError ?? '']),
          ),
    ),
  );
}

export async function removeProxiesCli(ctx: Ctx, ids: string[], opts: { force?: boolean }): Promise<void> {
  const list = parseIds(ids, 'proxy');
  await withStore(ctx, async (store) =>
    ctx.emit(
      await removeProxies(store, list, { force: opts.force === true, now: ctx.clock.now() }),
      (r) =>
        `removed ${count(r.removed.length, 'proxy', 'proxies')} (${r.removed.map((p) => `${p.id} ${p.proxy}`).join(', ')})` +
        (r.accountsDisabled.length
          ? `\ndisabled ${count(r.accountsDisabled.length, 'Telegram account')} that used ${r.removed.length === 1 ? 'it' : 'them'}: ` +
            `${r.accountsDisabled.join(', ')} → give each a proxy (accounts import with a proxy), then \`acctctl accounts enable NAME\``
          : '') +
        (r.igAccountsDetached.length
          ? `\nInstagram accounts that used it need a person (nothing is sent without their proxy; ig import them again with one): ${r.igAccountsDetached.join(', ')}`
          : ''),
    ),
  );
}
