import { sql } from 'kysely';
import type { Ctx } from './support/context.js';
import { secretBox, withStore } from './support/context.js';
import { emitListing, listSpec, pages, type Column, type ListFlags } from './support/listing.js';
import { c, fmtTime } from './support/output.js';
import {
  accountsSource,
  accountsSourceOfRows,
  validateAccountsConfig,
  type AccountInput,
  type AccountsSource,
} from '../domain/accountsConfig.js';
import type { Clock } from '../domain/clock.js';
import { DataError } from '../errors.js';
import { parseKeyMaterialFernet } from '../security/fernetKey.js';
import type { SecretBox } from '../security/secretBox.js';
import {
  accountsPage,
  checkAccountFilter,
  countAccounts,
  type AccountFilter,
  type AccountListRow,
} from '../store/accounts.js';
import { upsertProxy } from '../store/proxies.js';
import type { Store } from '../store/store.js';
import { parseJsonFile, readInputFile, readJsonRows, rejectProblems } from './importing.js';
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
  return r.value;
}

/**
 * Read, parse and validate accounts_config.json (every problem reported at once, DataError 65),
 * keeping only the parsed file: the rows are converted a chunk at a time while they are imported.
 */
export function openAccountsFile(path: string, fernetKey?: string): AccountsSource {
  const file = readJsonRows(path);
  const r = 'rows' in file ? accountsSourceOfRows(file.rows, { fernetKey }) : accountsSource(file.data, { fernetKey });
  if (!r.ok) rejectProblems(path, r.problems);
  return r.value;
}

function sourceOf(rows: AccountInput[]): AccountsSource {
  return {
    count: rows.length,
    tenants: rows.flatMap((r) => (r.tenant ? [r.tenant] : [])),
    *chunks(size) {
      for (let start = 0; start < rows.length; start += size) yield rows.slice(start, start + size);
    },
  };
}

interface AccountColumns {
  tenant_id: number | null;
  phone: string | null;
  api_id: number;
  dc_id: number;
  proxy_id: number | null;
  updated_at: number;
}

/** Rows written per statement by `accounts import` (bounded parameters per statement on both dialects). */
const IMPORT_CHUNK = 500;

/**
 * All rows in one write transaction: every account is imported, or none. Rows go in chunks: one
 * query finds which names exist, one statement inserts the new ones, one seals their secrets
 * (ciphertexts are bound to row ids, known only after the insert); tenants and proxies are
 * resolved once per distinct value.
 */
export async function importAccounts(
  deps: { store: Store; box: SecretBox; clock: Clock },
  input: AccountInput[] | AccountsSource,
  opts: ImportOptions = {},
): Promise<ImportAccountsResult> {
  const rows = Array.isArray(input) ? sourceOf(input) : input;
  const now = deps.clock.now();
  const { box } = deps;
  const sealFor = (id: number, r: AccountInput) => ({
    api_hash_enc: box.seal(r.apiHash, { table: 'telegram_accounts', column: 'api_hash_enc', rowId: id }),
    string_session_enc: box.seal(r.stringSession, {
      table: 'telegram_accounts',
      column: 'string_session_enc',
      rowId: id,
    }),
  });
  return deps.store.writeTx(async (tx) => {
    const tenants = await resolveTenants(tx, rows.tenants, { create: opts.createTenants ?? true, now });
    const result: ImportAccountsResult = {
      imported: rows.count,
      created: [],
      updated: [],
      tenantsCreated: tenants.created,
      reactivated: [],
    };
    const proxies = new Map<string, number>();
    for (const chunk of rows.chunks(IMPORT_CHUNK)) {
      const common = new Map<AccountInput, AccountColumns>();
      for (const r of chunk) {
        const tenantId = r.tenant ? tenants.ids.get(r.tenant)! : null;
        let proxyId: number | null = null;
        if (r.proxy) {
          const key = `${tenantId ?? '-'}|${JSON.stringify(r.proxy)}`;
          proxyId = proxies.get(key) ?? null;
          if (proxyId === null) proxies.set(key, (proxyId = (await upsertProxy(tx, box, r.proxy, tenantId, now)).id));
        }
        common.set(r, {
          tenant_id: tenantId,
          phone: r.phone,
          api_id: r.apiId,
          dc_id: r.session.dcId,
          proxy_id: proxyId,
          updated_at: now,
        });
      }
      const existing = new Map(
        (
          await tx
            .selectFrom('telegram_accounts')
            .select(['id', 'session_name', 'state', 'string_session_enc'])
            .where(
              'session_name',
              'in',
              chunk.map((r) => r.sessionName),
            )
            .execute()
        ).map((e) => [e.session_name, e]),
      );
      const fresh = chunk.filter((r) => !existing.has(r.sessionName));
      if (fresh.length) {
        // Ids first, so each row goes in once with its secrets already sealed to it.
        const reserved = (
          await sql<{
            id: number | string;
          }>`${sql.raw(deps.store.caps.reserveIdsSql('telegram_accounts', fresh.length))}`.execute(tx)
        ).rows.map((r) => Number(r.id));
        await tx
          .insertInto('telegram_accounts')
          .values(
            fresh.map((r, i) => ({
              id: reserved[i]!,
              ...common.get(r)!,
              session_name: r.sessionName,
              ...sealFor(reserved[i]!, r),
              created_at: now,
            })),
          )
          .execute();
      }
      for (const r of chunk) {
        const e = existing.get(r.sessionName);
        if (!e) {
          result.created.push(r.sessionName);
          continue;
        }
        // `disabled` means Telegram no longer accepts the session; a new one is the way back.
        const revive = e.state === 'disabled' && sessionChanged(box, e, r.stringSession);
        await tx
          .updateTable('telegram_accounts')
          .set({ ...common.get(r)!, ...sealFor(e.id, r) })
          .where('id', '=', e.id)
          .execute();
        result.updated.push(r.sessionName);
        if (revive) {
          await tx
            .updateTable('telegram_accounts')
            .set({ state: 'active', state_until: null, state_reason: 'new session', error_count: 0, last_error: null })
            .where('id', '=', e.id)
            .execute();
          await accountEvent(
            tx,
            now,
            e.id,
            common.get(r)!.tenant_id,
            'account_state',
            `${r.sessionName}: disabled → active (new session)`,
            { from: 'disabled', to: 'active', code: 'NEW_SESSION' },
          );
          result.reactivated.push(r.sessionName);
        }
      }
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

export type AccountRow = Omit<AccountListRow, 'id'>;

/** Every account (name order). Listings page through `accountsPage` instead. */
export async function listAccounts(store: Store, filter: AccountFilter = {}): Promise<AccountRow[]> {
  const out: AccountRow[] = [];
  for await (const page of pages<AccountListRow>((last, n) => accountsPage(store, filter, last?.name ?? null, n), null))
    for (const { id: _id, ...r } of page) out.push(r);
  return out;
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
  const rows = openAccountsFile(file, fernetKey);
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

const stateColour = (s: string) =>
  s === 'active' ? c.green(s) : ['frozen', 'disabled', 'banned'].includes(s) ? c.red(s) : c.yellow(s);

export function accountListColumns(now: number): Column<AccountRow>[] {
  return [
    { head: 'account', value: (r) => r.name },
    { head: 'tenant', value: (r) => r.tenant },
    { head: 'state', value: (r) => r.state, style: stateColour },
    { head: 'until', value: (r) => fmtTime(r.until) },
    { head: 'enabled', value: (r) => (r.enabled ? 'yes' : 'no'), style: (t) => (t === 'no' ? c.red(t) : t) },
    {
      head: 'lease',
      value: (r) =>
        r.leaseHolder && (r.leaseExpiresAt ?? 0) > now ? `${r.leaseHolder} → ${fmtTime(r.leaseExpiresAt)}` : '',
    },
    { head: 'proxy', value: (r) => r.proxy },
    { head: 'last used', value: (r) => fmtTime(r.lastUsedAt) },
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
  await withStore(ctx, async (store) => {
    await emitListing(ctx, spec, {
      columns: accountListColumns(ctx.clock.now()),
      total: await countAccounts(store, filter),
      rows: pages<AccountListRow>((last, n) => accountsPage(store, filter, last?.name ?? null, n), spec.limit),
      json: ({ id: _id, ...r }) => r,
      empty:
        filter.state || filter.tenant
          ? 'no accounts match'
          : 'no accounts yet → acctctl accounts import accounts_config.json',
      filters: '--state, --tenant',
    });
  });
}

export async function changeAccountCli(ctx: Ctx, verb: AccountChange, name: string): Promise<void> {
  await withStore(ctx, async (store) =>
    ctx.emit(await changeAccount({ store, clock: ctx.clock }, verb, name), (r) => `account ${r.name}: ${r.change}d`),
  );
}
