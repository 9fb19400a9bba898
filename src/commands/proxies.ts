import type { Ctx } from './support/context.js';
import { secretBox, withStore } from './support/context.js';
import { table } from './support/output.js';
import type { Clock } from '../domain/clock.js';
import { parseProxyUrl, type ProxySpec } from '../domain/proxyUrl.js';
import { validTenantName } from '../domain/tenants.js';
import type { SecretBox } from '../security/secretBox.js';
import { proxyLabel, removeProxies, upsertProxy } from '../store/proxies.js';
import { count } from '../domain/plural.js';
import { UsageError } from '../errors.js';
import type { Store } from '../store/store.js';
import { parseJsonFile, readInputFile, rejectProblems } from './importing.js';
import { resolveTenants } from '../store/tenants.js';
import type { ImportOptions } from './importing.js';

export interface ProxyInput {
  spec: ProxySpec;
  tenant: string | null;
}

/** One URL per line (`#` comments), or JSON: ["url", …] or [{ "url": …, "tenant": … }, …]. */
export function parseProxyFile(path: string, text: string, defaultTenant: string | null): ProxyInput[] {
  const problems: string[] = [];
  const out: ProxyInput[] = [];
  const trimmed = text.trimStart();
  const entries: { where: string; url: unknown; tenant: unknown }[] = [];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const data = parseJsonFile(path, text);
    if (!Array.isArray(data)) rejectProblems(path, ['(top level): must be a JSON array']);
    data.forEach((e: unknown, i) => {
      if (typeof e === 'string') entries.push({ where: `[${i}]`, url: e, tenant: defaultTenant });
      else if (typeof e === 'object' && e !== null && !Array.isArray(e)) {
        const o = e as Record<string, unknown>;
        for (const k of Object.keys(o)) if (k !== 'url' && k !== 'tenant') problems.push(`[${i}].${k}: unknown field`);
        entries.push({ where: `[${i}].url`, url: o.url, tenant: o.tenant ?? defaultTenant });
      } else problems.push(`[${i}]: must be a URL string or {url, tenant}`);
    });
  } else {
    text.split(/\r?\n/).forEach((line, i) => {
      const l = line.replace(/#.*$/, '').trim();
      if (l) entries.push({ where: `line ${i + 1}`, url: l, tenant: defaultTenant });
    });
  }
  for (const e of entries) {
    if (typeof e.url !== 'string') {
      problems.push(`${e.where}: must be a proxy URL string`);
      continue;
    }
    const r = parseProxyUrl(e.url);
    if (!r.ok) problems.push(`${e.where}: ${r.problems.join('; ')}`);
    if (e.tenant !== null && (typeof e.tenant !== 'string' || !validTenantName(e.tenant))) {
      problems.push(`${e.where}: tenant must be a tenant name`);
      continue;
    }
    if (r.ok) out.push({ spec: r.value, tenant: e.tenant as string | null });
  }
  if (entries.length === 0) problems.push('(file): no proxies found');
  if (problems.length) rejectProblems(path, problems);
  return out;
}

export interface ImportProxiesResult {
  imported: number;
  created: number;
  updated: number;
  tenantsCreated: string[];
}

export async function importProxies(
  deps: { store: Store; box: SecretBox; clock: Clock },
  rows: ProxyInput[],
  opts: ImportOptions = {},
): Promise<ImportProxiesResult> {
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.flatMap((r) => (r.tenant ? [r.tenant] : [])),
      { create: opts.createTenants ?? true, now },
    );
    const tenantsCreated = tenants.created;
    let created = 0;
    for (const r of rows) {
      const tenantId = r.tenant ? tenants.ids.get(r.tenant)! : null;
      if ((await upsertProxy(tx, deps.box, r.spec, tenantId, now)).created) created++;
    }
    return { imported: rows.length, created, updated: rows.length - created, tenantsCreated };
  });
}

export interface ProxyRow {
  id: number;
  tenant: string | null;
  proxy: string;
  healthy: boolean;
  failures: number;
  lastError: string | null;
}

export async function listProxies(store: Store): Promise<ProxyRow[]> {
  const rows = await store.db
    .selectFrom('proxies')
    .leftJoin('tenants', 'tenants.id', 'proxies.tenant_id')
    .select([
      'proxies.id',
      'tenants.name as tenant',
      'scheme',
      'host',
      'port',
      'username',
      'healthy',
      'fail_count',
      'last_error',
    ])
    .orderBy('proxies.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant,
    proxy: proxyLabel(r)!,
    healthy: r.healthy === 1,
    failures: r.fail_count,
    lastError: r.last_error,
  }));
}

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
  await withStore(ctx, async (store) =>
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

/** `; created tenant x` / `; created 2 tenants x, y` after an import that was allowed to create them. */
export function createdTenants(names: readonly string[]): string {
  if (names.length === 0) return '';
  return `; created ${names.length === 1 ? 'tenant' : `${names.length} tenants`} ${names.join(', ')}`;
}

/** Whole-number ids from argv (`proxies remove 3 4`), or a usage error. */
export function parseIds(values: readonly string[], what: string): number[] {
  const bad = values.filter((v) => !/^[1-9]\d{0,15}$/.test(v));
  if (bad.length || values.length === 0) {
    throw new UsageError(
      `${bad.length ? `"${bad.join('", "')}" ${bad.length === 1 ? 'is' : 'are'} not` : 'give one or more'} ${what} ids → see the id column of the list command`,
    );
  }
  return [...new Set(values.map(Number))];
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
