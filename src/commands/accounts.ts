import type { Ctx } from '../cli/context.js';
import { secretBox, withStore } from '../cli/context.js';
import { c, fmtTime, table } from '../cli/output.js';
import { validateAccountsConfig, type AccountInput } from '../domain/accountsConfig.js';
import type { Clock } from '../domain/clock.js';
import { DataError } from '../errors.js';
import { parseKeyMaterialFernet } from '../security/fernetKey.js';
import type { SecretBox } from '../security/secretBox.js';
import { proxyLabel, upsertProxy } from '../store/proxies.js';
import type { Store } from '../store/store.js';
import { parseJsonFile, readInputFile, rejectProblems } from './importing.js';
import { accountEvent } from '../fleet/waysBack.js';
import { resolveTenants } from '../store/tenants.js';
import { count } from '../domain/plural.js';
import { createdTenants } from './proxies.js';
import type { ImportOptions } from './importing.js';

export interface ImportAccountsResult {
  imported: number;
  created: string[];
  updated: string[];
  tenantsCreated: string[];
  /** Accounts that were `disabled` (session no longer valid) and got a new session: active again. */
  reactivated: string[];
}

/** Parse and validate accounts_config.json; throws DataError (65) listing every problem. */
export function parseAccountsFile(path: string, text: string, fernetKey?: string): AccountInput[] {
  const r = validateAccountsConfig(parseJsonFile(path, text), { fernetKey });
  if (!r.ok) rejectProblems(path, r.problems);
  return r.rows;
}

/** All rows in one write transaction: every account is imported, or none. */
export async function importAccounts(
  deps: { store: Store; box: SecretBox; clock: Clock },
  rows: AccountInput[],
  opts: ImportOptions = {},
): Promise<ImportAccountsResult> {
  const now = deps.clock.now();
  const { box } = deps;
  return deps.store.writeTx(async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.flatMap((r) => (r.tenant ? [r.tenant] : [])),
      { create: opts.createTenants ?? true, now },
    );
    const result: ImportAccountsResult = {
      imported: rows.length,
      created: [],
      updated: [],
      tenantsCreated: tenants.created,
      reactivated: [],
    };
    for (const r of rows) {
      const tenantId = r.tenant ? tenants.ids.get(r.tenant)! : null;
      const proxyId = r.proxy ? (await upsertProxy(tx, box, r.proxy, tenantId, now)).id : null;
      const existing = await tx
        .selectFrom('telegram_accounts')
        .select(['id', 'state', 'string_session_enc'])
        .where('session_name', '=', r.sessionName)
        .executeTakeFirst();
      const common = {
        tenant_id: tenantId,
        phone: r.phone,
        api_id: r.apiId,
        dc_id: r.session.dcId,
        proxy_id: proxyId,
        updated_at: now,
      };
      let id: number;
      if (existing) {
        id = existing.id;
        await tx.updateTable('telegram_accounts').set(common).where('id', '=', id).execute();
        result.updated.push(r.sessionName);
        if (existing.state === 'disabled' && sessionChanged(box, existing, r.stringSession)) {
          // `disabled` means Telegram no longer accepts the session; a new one is the way back.
          await tx
            .updateTable('telegram_accounts')
            .set({
              state: 'active',
              state_until: null,
              state_reason: 'new session',
              error_count: 0,
              last_error: null,
            })
            .where('id', '=', id)
            .execute();
          await accountEvent(
            tx,
            now,
            id,
            tenantId,
            'account_state',
            `${r.sessionName}: disabled → active (new session)`,
            {
              from: 'disabled',
              to: 'active',
              code: 'NEW_SESSION',
            },
          );
          result.reactivated.push(r.sessionName);
        }
      } else {
        id = (
          await tx
            .insertInto('telegram_accounts')
            .values({
              ...common,
              session_name: r.sessionName,
              api_hash_enc: '',
              string_session_enc: '',
              created_at: now,
              state_until: null,
              state_reason: null,
              lease_holder: null,
              lease_token: null,
              lease_action: null,
              lease_expires_at: null,
              last_used_at: null,
              next_action_at: null,
              last_error: null,
              last_error_at: null,
              limits_json: null,
            })
            .returning('id')
            .executeTakeFirstOrThrow()
        ).id;
        result.created.push(r.sessionName);
      }
      await tx
        .updateTable('telegram_accounts')
        .set({
          api_hash_enc: box.seal(r.apiHash, { table: 'telegram_accounts', column: 'api_hash_enc', rowId: id }),
          string_session_enc: box.seal(r.stringSession, {
            table: 'telegram_accounts',
            column: 'string_session_enc',
            rowId: id,
          }),
        })
        .where('id', '=', id)
        .execute();
    }
    return result;
  });
}

function sessionChanged(box: SecretBox, row: { id: number; string_session_enc: string }, next: string): boolean {
  try {
    return (
      box.open(row.string_session_enc, { table: 'telegram_accounts', column: 'string_session_enc', rowId: row.id }) !==
      next
    );
  } catch {
    return true; // the old one cannot even be read: the new one replaces it
  }
}

export interface AccountRow {
  name: string;
  tenant: string | null;
  phone: string | null;
  enabled: boolean;
  state: string;
  until: number | null;
  reason: string | null;
  leaseHolder: string | null;
  leaseExpiresAt: number | null;
  proxy: string | null;
  lastUsedAt: number | null;
  errorCount: number;
  lastError: string | null;
}

export async function listAccounts(store: Store): Promise<AccountRow[]> {
  const rows = await store.db
    .selectFrom('telegram_accounts as a')
    .leftJoin('tenants as t', 't.id', 'a.tenant_id')
    .leftJoin('proxies as p', 'p.id', 'a.proxy_id')
    .select([
      'a.session_name',
      't.name as tenant',
      'a.phone',
      'a.enabled',
      'a.state',
      'a.state_until',
      'a.state_reason',
      'a.lease_holder',
      'a.lease_expires_at',
      'p.scheme',
      'p.host',
      'p.port',
      'p.username',
      'a.last_used_at',
      'a.error_count',
      'a.last_error',
    ])
    .orderBy('a.session_name')
    .execute();
  return rows.map((r) => ({
    name: r.session_name,
    tenant: r.tenant,
    phone: r.phone,
    enabled: r.enabled === 1,
    state: r.state,
    until: r.state_until,
    reason: r.state_reason,
    leaseHolder: r.lease_holder,
    leaseExpiresAt: r.lease_expires_at,
    proxy: proxyLabel(r),
    lastUsedAt: r.last_used_at,
    errorCount: r.error_count,
    lastError: r.last_error,
  }));
}

export type AccountChange = 'enable' | 'disable' | 'remove';

export async function changeAccount(
  deps: { store: Store; clock: Clock },
  verb: AccountChange,
  name: string,
): Promise<{ name: string; change: AccountChange }> {
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    const acc = await tx
      .selectFrom('telegram_accounts')
      .select('id')
      .where('session_name', '=', name)
      .executeTakeFirst();
    if (!acc) throw new DataError(`no account named "${name}" → see \`acctctl accounts list\``);
    if (verb === 'remove') {
      await tx
        .updateTable('targets')
        .set({ account_id: null })
        .where('account_id', '=', acc.id)
        .where('status', 'not in', ['joined', 'pending_approval'])
        .execute();
      await tx.deleteFrom('telegram_accounts').where('id', '=', acc.id).execute();
    } else {
      await tx
        .updateTable('telegram_accounts')
        .set({ enabled: verb === 'enable' ? 1 : 0, updated_at: now })
        .where('id', '=', acc.id)
        .execute();
    }
    await tx
      .insertInto('events')
      .values({
        at: now,
        kind: `account_${verb}d`,
        subject_type: 'telegram_account',
        subject_id: verb === 'remove' ? null : acc.id,
        tenant_id: null,
        message: `account ${name}: ${verb} by operator`,
        data_json: null,
      })
      .execute();
    return { name, change: verb };
  });
}

export async function importAccountsCli(
  ctx: Ctx,
  file: string,
  opts: { fernetKeyFile?: string; createTenant?: boolean },
): Promise<void> {
  const fernetKey = opts.fernetKeyFile
    ? parseKeyMaterialFernet(readInputFile(opts.fernetKeyFile), opts.fernetKeyFile)
    : undefined;
  const rows = parseAccountsFile(file, readInputFile(file), fernetKey);
  const box = secretBox(ctx);
  await withStore(ctx, async (store) =>
    ctx.emit(
      await importAccounts({ store, box, clock: ctx.clock }, rows, { createTenants: opts.createTenant === true }),
      (r) =>
        `imported ${count(r.imported, 'account')} (${r.created.length} new, ${r.updated.length} updated)` +
        createdTenants(r.tenantsCreated) +
        (r.reactivated.length ? `; new sessions made ${r.reactivated.join(', ')} active again` : ''),
    ),
  );
}

export function renderAccounts(rows: AccountRow[], now: number): string {
  if (rows.length === 0) return 'no accounts yet → acctctl accounts import accounts_config.json';
  const stateColour = (s: string) =>
    s === 'active' ? c.green(s) : ['frozen', 'disabled', 'banned'].includes(s) ? c.red(s) : c.yellow(s);
  return table(
    ['account', 'tenant', 'state', 'until', 'enabled', 'lease', 'proxy', 'last used', 'errors', 'last error'],
    rows.map((r) => [
      r.name,
      r.tenant,
      stateColour(r.state),
      fmtTime(r.until),
      r.enabled ? 'yes' : c.red('no'),
      r.leaseHolder && (r.leaseExpiresAt ?? 0) > now ? `${r.leaseHolder} → ${fmtTime(r.leaseExpiresAt)}` : '',
      r.proxy,
      fmtTime(r.lastUsedAt),
      r.errorCount,
      r.lastError,
    ]),
  );
}

export async function listAccountsCli(ctx: Ctx): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(await listAccounts(store), (rows) => renderAccounts(rows, ctx.clock.now())),
  );
}

export async function changeAccountCli(ctx: Ctx, verb: AccountChange, name: string): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(await changeAccount({ store, clock: ctx.clock }, verb, name), (r) => `account ${r.name}: ${r.change}d`),
  );
}
