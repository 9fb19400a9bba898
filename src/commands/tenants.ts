import { sql } from 'kysely';
import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { table } from './support/output.js';
import type { Clock } from '../domain/clock.js';
import { DEFAULT_VERIFY_MODE, isVerifyMode, validTenantName, VERIFY_MODES } from '../domain/tenants.js';
import { DataError, UsageError } from '../errors.js';
import type { Store } from '../store/store.js';
import { describeTenantUsage, removeTenant } from '../store/tenants.js';
import { count } from '../domain/plural.js';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

export interface TenantAddResult {
  name: string;
  verifyMode: string;
  created: boolean;
}

/** Find a tenant by name, creating it inside the caller's transaction when asked to. */
export async function ensureTenant(
  tx: Kysely<Database>,
  name: string,
  now: number,
): Promise<{ id: number; created: boolean }> {
  const found = await tx.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
  if (found) return { id: found.id, created: false };
  const row = await tx
    .insertInto('tenants')
    .values({ name, verify_mode: DEFAULT_VERIFY_MODE, created_at: now })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, created: true };
}

export async function addTenant(
  deps: { store: Store; clock: Clock },
  input: { name: string; verifyMode?: string | undefined; notifyTarget?: string | undefined },
): Promise<TenantAddResult> {
  const target = input.notifyTarget?.trim();
  if (target !== undefined && target !== '' && !/^https?:\/\/\S+$/i.test(target) && !/^(-?\d+|@\w{4,})$/.test(target)) {
    throw new UsageError(
      `--notify-target "${target}" → give a webhook URL (https://…) or a Telegram chat id (-100…, @channel); "" removes it`,
    );
  }
  if (!validTenantName(input.name)) {
    throw new UsageError(`tenant name "${input.name}" is not allowed → use letters, digits, _ . - (up to 64)`);
  }
  if (input.verifyMode !== undefined && !isVerifyMode(input.verifyMode)) {
    throw new UsageError(`--verify-mode "${input.verifyMode}" is unknown → use one of ${VERIFY_MODES.join(', ')}`);
  }
  return deps.store.writeTx(async (tx) => {
    const { id, created } = await ensureTenant(tx, input.name, deps.clock.now());
    if (input.verifyMode !== undefined) {
      await tx.updateTable('tenants').set({ verify_mode: input.verifyMode }).where('id', '=', id).execute();
    }
    if (target !== undefined) {
      await tx
        .updateTable('tenants')
        .set({ notify_target: target === '' ? null : target })
        .where('id', '=', id)
        .execute();
    }
    const row = await tx.selectFrom('tenants').select('verify_mode').where('id', '=', id).executeTakeFirstOrThrow();
    return { name: input.name, verifyMode: row.verify_mode, created };
  });
}

export interface TenantRow {
  name: string;
  verifyMode: string;
  accounts: number;
  proxies: number;
  igAccounts: number;
  apiKeys: number;
  watches: number;
}

export async function listTenants(store: Store): Promise<TenantRow[]> {
  const count = (t: 'telegram_accounts' | 'proxies' | 'ig_accounts' | 'api_keys' | 'watches') =>
    sql<number>`(select count(*) from ${sql.table(t)} x where x.tenant_id = tenants.id)`;
  const rows = await store.db
    .selectFrom('tenants')
    .select([
      'name',
      'verify_mode',
      count('telegram_accounts').as('accounts'),
      count('proxies').as('proxies'),
      count('ig_accounts').as('ig'),
      count('api_keys').as('keys'),
      count('watches').as('watches'),
    ])
    .orderBy('name')
    .execute();
  return rows.map((r) => ({
    name: r.name,
    verifyMode: r.verify_mode,
    accounts: Number(r.accounts),
    proxies: Number(r.proxies),
    igAccounts: Number(r.ig),
    apiKeys: Number(r.keys),
    watches: Number(r.watches),
  }));
}

export async function tenantIdByName(store: Store | Kysely<Database>, name: string): Promise<number> {
  const db = 'db' in store ? store.db : store;
  const row = await db.selectFrom('tenants').select('id').where('name', '=', name).executeTakeFirst();
  if (!row) throw new DataError(`tenant "${name}" does not exist → add it with \`acctctl tenants add ${name}\``);
  return row.id;
}

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
  await withStore(ctx, async (store) =>
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
