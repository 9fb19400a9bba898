import {
  accountsSource,
  accountsSourceOfRows,
  validateAccountsConfig,
  type AccountInput,
  type AccountsSource,
} from '../domain/accountsConfig.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { chooseDevice, storedDevice } from '../domain/device.js';
import { DataError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import {
  accountIdByName,
  accountsPage,
  existingAccounts,
  insertAccounts,
  removeAccount,
  type AccountRemoval,
  reserveAccountIds,
  reviveAccount,
  setAccountEnabled,
  updateAccountRow,
  markAccountsNew,
  type AccountColumns,
  type AccountFilter,
  type AccountListRow,
} from '../store/accounts.js';
import { upsertProxy } from '../store/proxies.js';
import { sealingTx } from '../store/secrets.js';
import type { Store } from '../store/store.js';
import { parseJsonFile, readJsonRows, rejectProblems, type ImportOptions } from '../config/inputFiles.js';
import { accountEvent, insertEvent } from '../store/events.js';
import { resolveTenants } from '../store/tenants.js';

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
    // A session file's .json (twoFA, unknown keys): replaced only when the file has one.
    ...(r.meta
      ? {
          session_meta_enc: box.seal(JSON.stringify(r.meta), {
            table: 'telegram_accounts',
            column: 'session_meta_enc',
            rowId: id,
          }),
        }
      : {}),
  });
  return sealingTx(deps.store, box, async (tx) => {
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
          ...(r.timezone !== undefined ? { timezone: r.timezone } : {}),
          api_id: r.apiId,
          dc_id: r.session.dcId,
          // A proxy given: the account's route, and the way back for one parked because its proxy was
          // removed. None given: a new account has none; an existing one keeps its route (a file
          // that leaves `proxy` out never sends an account direct: `accounts proxy NAME --direct` does).
          ...(proxyId !== null ? { proxy_id: proxyId, proxy_removed_at: null } : {}),
          updated_at: now,
        });
      }
      const existing = new Map(
        (
          await existingAccounts(
            tx,
            chunk.map((r) => r.sessionName),
          )
        ).map((e) => [e.session_name, e]),
      );
      const fresh = chunk.filter((r) => !existing.has(r.sessionName));
      let reservedIds: number[] = [];
      if (fresh.length) {
        // Ids first, so each row goes in once with its secrets already sealed to it.
        const reserved = await reserveAccountIds(tx, deps.store.caps, fresh.length);
        reservedIds = reserved;
        await insertAccounts(
          tx,
          fresh.map((r, i) => ({
            id: reserved[i]!,
            ...common.get(r)!,
            session_name: r.sessionName,
            ...sealFor(reserved[i]!, r),
            // One device per account: the file's, else one chosen once (by its name) and kept.
            device_json: storedDevice(r.device ?? chooseDevice(r.sessionName)),
            proxy_id: common.get(r)!.proxy_id ?? null,
            created_at: now,
          })),
        );
      }
      // New accounts (the file's `new: true`, or --new) start their warm-up ramp today.
      const isNew = (r: AccountInput) => r.isNew === true || opts.markNew === true;
      await markAccountsNew(
        tx,
        [
          ...fresh.flatMap((r, i) => (isNew(r) ? [reservedIds[i]!] : [])),
          ...chunk.flatMap((r) => (isNew(r) && existing.has(r.sessionName) ? [existing.get(r.sessionName)!.id] : [])),
        ],
        now,
      );
      for (const r of chunk) {
        const e = existing.get(r.sessionName);
        if (!e) {
          result.created.push(r.sessionName);
          continue;
        }
        // `disabled` means Telegram no longer accepts the session; a new one is the way back.
        const revive = e.state === 'disabled' && sessionChanged(box, e, r.stringSession);
        // Re-importing never moves the device unless the file names one.
        const device = r.device ?? (e.device_json === null ? chooseDevice(r.sessionName) : null);
        await updateAccountRow(tx, e.id, {
          ...common.get(r)!,
          ...sealFor(e.id, r),
          ...(device ? { device_json: storedDevice(device) } : {}),
        });
        result.updated.push(r.sessionName);
        if (revive) {
          await reviveAccount(tx, e.id);
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

const LIST_PAGE = 1000;

/** Every account (name order), states as at `now`. Listings page through `accountsPage` instead. */
export async function listAccounts(
  store: Store,
  filter: AccountFilter = {},
  now: number = systemClock.now(),
): Promise<AccountRow[]> {
  const out: AccountRow[] = [];
  for (let after: string | null = null; ;) {
    const page = await accountsPage(store, filter, after, LIST_PAGE, now);
    for (const { id: _id, ...r } of page) out.push(r);
    if (page.length < LIST_PAGE) return out;
    after = page[page.length - 1]!.name;
  }
}

export type AccountChange = 'enable' | 'disable' | 'remove';

export async function changeAccount(
  deps: { store: Store; clock: Clock },
  verb: AccountChange,
  name: string,
  opts: { force?: boolean } = {},
): Promise<{ name: string; change: AccountChange; removal?: AccountRemoval }> {
  const now = deps.clock.now();
  return deps.store.writeTx(async (tx) => {
    if (verb === 'remove') {
      const removal = await removeAccount(tx, name, { force: opts.force === true, now });
      const ended = [
        removal.leaseEnded ? `its lease (${removal.leaseEnded.holder})` : '',
        removal.targetsRequeued.length ? `its binding to ${removal.targetsRequeued.join(', ')} (queued again)` : '',
      ].filter(Boolean);
      await insertEvent(tx, {
        at: now,
        kind: 'account_removed',
        subject_type: 'telegram_account',
        subject_id: removal.id,
        tenant_id: removal.tenantId,
        message: `account ${name}: removed by operator${ended.length ? `, ending ${ended.join(' and ')}` : ''}`,
        data_json: null,
      });
      return { name, change: verb, removal };
    }
    const acc = await accountIdByName(tx, name);
    if (acc === undefined) throw new DataError(`no account named "${name}" → see \`acctctl accounts list\``);
    await setAccountEnabled(tx, acc, verb === 'enable', now);
    await insertEvent(tx, {
      at: now,
      kind: `account_${verb}d`,
      subject_type: 'telegram_account',
      subject_id: acc,
      tenant_id: null,
      message: `account ${name}: ${verb} by operator`,
      data_json: null,
    });
    return { name, change: verb };
  });
}
