import { holderId } from './fleet/holder.js';
import { resolve } from 'node:path';
import {
  changeAccount,
  importAccounts,
  listAccounts,
  openAccountsFile,
  parseAccountsFile,
  type AccountRow,
  type ImportAccountsResult,
} from './fleet/accounts.js';
import { readInputFile } from './config/inputFiles.js';
import { isTimeZone, loadConfig, parseDbUrl, type Config, type DbTarget } from './config/config.js';
import type { ErrorInput } from './domain/accountStates.js';
import { systemClock, type Clock } from './domain/clock.js';
import { ClosedError, ConfigError } from './errors.js';
import {
  AccountManager,
  DEFAULT_LEASE_TTL_MS,
  type LeaseRequest,
  type LeaseResult,
  type LimitsCheckRequest,
  type LimitsCheckResult,
  type RecordRequest,
  type RecordResult,
  type ReleaseResult,
  type RenewOptions,
  type RenewResult,
  type ReportErrorResult,
} from './fleet/accountManager.js';
import type { Purpose } from './domain/limits.js';
import { silentLogger, type Logger } from './log/logger.js';
import { parseKeyMaterialFernet } from './security/fernetKey.js';
import { SecretBox } from './security/secretBox.js';
import { openStore, type SchemaMode, type Store } from './store/store.js';
import { alignClock } from './store/dbClock.js';

export interface OpenFleetOptions {
  /**
   * The database: a SQLite path, `sqlite:PATH` or `postgres://…`. Default: what the CLI uses —
   * DATABASE_URL from the environment, else from `.env` in `cwd`, else `./acctctl.db`.
   */
  db?: string | DbTarget | undefined;
  /** The key file (needed only to import accounts). Default: ACCTCTL_KEY_FILE, else `./acctctl.key`. */
  keyFile?: string | undefined;
  /** IANA time zone of "per day" limits. Default: ACCTCTL_TIMEZONE, else UTC. */
  timeZone?: string | undefined;
  /** Where "now" comes from (default: the system clock). */
  clock?: Clock | undefined;
  /** Where acctctl logs (default: nowhere). */
  log?: Logger | undefined;
  /** The environment read for settings (default: process.env). */
  env?: NodeJS.ProcessEnv | undefined;
  /** Where `.env` and relative paths are looked up (default: process.cwd()). */
  cwd?: string | undefined;
  /**
   * Schema handling: `auto` (default) migrates a SQLite file itself and requires a migrated
   * Postgres; `require` never migrates.
   */
  schema?: Exclude<SchemaMode, 'none'> | undefined;
}

/** A lease request with the fleet's defaults: `holder` = `HOST:PID`, `ttlMs` = 10 minutes. */
export interface FleetLeaseRequest extends Omit<LeaseRequest, 'holder' | 'ttlMs'> {
  holder?: string | undefined;
  ttlMs?: number | undefined;
}

export interface ReleaseOptions {
  /** Actions done with the account, recorded against its limits: `{ invite: 3 }`. */
  used?: Partial<Record<Purpose, number>> | undefined;
  /** Actions done per channel, when the work used several: `{ '@a': { invite: 2 }, '@b': { invite: 1 } }`. */
  usedByChannel?: Readonly<Record<string, Partial<Record<Purpose, number>>>> | undefined;
  /** The channels the work used (besides the lease's own). */
  channels?: readonly string[] | undefined;
  /** Whether the work succeeded (false also logs a failed attempt). */
  success?: boolean | undefined;
}

/** Where accounts come from: a path to an accounts_config.json file, or its parsed rows. */
export type AccountsSource = string | readonly unknown[];

export interface AccountsImportOptions {
  /** Create the tenants the rows name when they do not exist (default false: refuse the import). */
  createTenants?: boolean | undefined;
  /** A Fernet key file, to decrypt values exported by the old Python system. */
  fernetKeyFile?: string | undefined;
}

export interface FleetAccounts {
  /** Import accounts (accounts_config.json format): all rows or none (DataError listing every problem). */
  import(source: AccountsSource, opts?: AccountsImportOptions): Promise<ImportAccountsResult>;
  /**
   * Every account with its state, lease, proxy and errors (never a secret): `state`/`until` as of
   * now (a wait that has passed is `active`), `storedState`/`storedUntil` as stored.
   */
  list(): Promise<AccountRow[]>;
  /** Allow leasing the account again (its state is kept). */
  enable(name: string): Promise<void>;
  /** Stop leasing the account (its state is kept). */
  disable(name: string): Promise<void>;
}

/** The resolved settings a fleet runs with (no secret). */
export interface FleetSettings {
  /** Where the data is, without a password. */
  database: string;
  keyFile: string;
  timeZone: string;
}

/** The fleet, for a service: lease, renew, release, report errors; import, list, enable accounts. */
export interface Fleet extends AsyncDisposable {
  readonly settings: FleetSettings;
  /** The store (Kysely over SQLite or Postgres), for queries acctctl does not offer. */
  readonly store: Store;
  /** Everything else the account manager does (recover, resetLimits, usage, setLimits…). */
  readonly manager: AccountManager;
  readonly accounts: FleetAccounts;
  lease(req: FleetLeaseRequest): Promise<LeaseResult>;
  renew(token: string, opts?: RenewOptions): Promise<RenewResult>;
  release(token: string, opts?: ReleaseOptions): Promise<ReleaseResult>;
  /** Would a lease succeed now, with which account, or when? Takes nothing. */
  check(req: LimitsCheckRequest): Promise<LimitsCheckResult>;
  /** An action done with an account outside a lease, counted by its limits from now on. */
  record(req: RecordRequest): Promise<RecordResult>;
  /** Apply Telegram's error (`FLOOD_WAIT_42`, `PEER_FLOOD`, gramjs's message…) and end the lease. */
  reportError(token: string, error: string | ErrorInput): Promise<ReportErrorResult>;
  /** Close the store. Idempotent; every call afterwards throws ClosedError. */
  close(): Promise<void>;
}

/**
 * Open the fleet with the same configuration the CLI reads (environment, `.env`, defaults), the
 * options winning. Close it with `await fleet.close()` or `await using fleet = await openFleet()`.
 */
export async function openFleet(opts: OpenFleetOptions = {}): Promise<Fleet> {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  let target: DbTarget | undefined;
  if (typeof opts.db === 'string') {
    target = parseDbUrl(opts.db, cwd);
    if (!target) throw new ConfigError('options.db is not a SQLite path, sqlite:PATH or postgres:// URL → fix it');
  } else if (opts.db) {
    target = opts.db;
  }
  if (opts.timeZone !== undefined && !isTimeZone(opts.timeZone)) {
    throw new ConfigError(
      `options.timeZone "${opts.timeZone}" is not an IANA time zone → e.g. "UTC" or "Europe/Moscow"`,
    );
  }
  const dbFlag = target === undefined ? undefined : 'url' in target ? target.url : target.path;
  const base = loadConfig({ db: dbFlag }, env, cwd);
  const config: Config = {
    ...base,
    keyFile: opts.keyFile === undefined ? base.keyFile : resolve(cwd, opts.keyFile),
    timeZone: opts.timeZone ?? base.timeZone,
  };
  const log = opts.log ?? silentLogger;
  const store = await openStore(config.db, { schema: opts.schema ?? 'auto' });
  // One clock per decision: on a shared (Postgres) store, leases go by the database's time, as in the CLI.
  let clock: Clock;
  try {
    clock = opts.clock ?? (await alignClock(store, systemClock, log));
  } catch (e) {
    await store.close();
    throw e;
  }
  // Flood waits are judged as the CLI judges them (ACCTCTL_FLOOD_THRESHOLD, .env, default 600 s).
  const manager = new AccountManager({
    store,
    clock,
    timeZone: config.timeZone,
    pacing: config.pacing,
    log,
    ...(config.floodThresholdSeconds !== undefined ? { floodThresholdSeconds: config.floodThresholdSeconds } : {}),
  });
  let closed: Promise<void> | undefined;
  const live = (): void => {
    if (closed) throw new ClosedError('this fleet is closed → open a new one with openFleet() to use it again');
  };
  const guard =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      live();
      return fn(...args);
    };
  let box: SecretBox | undefined;
  const secretBox = (): SecretBox =>
    (box ??= SecretBox.fromKeys({ keyFile: config.keyFile, secretKeyEnv: config.secretKeyEnv }));
  const holder = holderId('service');

  const accounts: FleetAccounts = {
    import: guard(async (source: AccountsSource, o: AccountsImportOptions = {}) => {
      const fernetKey = o.fernetKeyFile
        ? parseKeyMaterialFernet(readInputFile(o.fernetKeyFile), o.fernetKeyFile)
        : undefined;
      const rows =
        typeof source === 'string'
          ? openAccountsFile(source, fernetKey)
          : parseAccountsFile('accounts', JSON.stringify(source), fernetKey);
      return importAccounts({ store, box: secretBox(), clock }, rows, { createTenants: o.createTenants === true });
    }),
    list: guard(() => listAccounts(store, {}, clock.now())),
    enable: guard(async (name: string) => {
      await changeAccount({ store, clock }, 'enable', name);
    }),
    disable: guard(async (name: string) => {
      await changeAccount({ store, clock }, 'disable', name);
    }),
  };

  const close = (): Promise<void> => (closed ??= store.close());
  return {
    settings: { database: store.description, keyFile: config.keyFile, timeZone: config.timeZone },
    store,
    get manager() {
      live();
      return manager;
    },
    accounts,
    lease: guard((req: FleetLeaseRequest) =>
      manager.lease({ ...req, holder: req.holder ?? holder, ttlMs: req.ttlMs ?? DEFAULT_LEASE_TTL_MS }),
    ),
    renew: guard((token: string, o?: RenewOptions) => manager.renew(token, o)),
    release: guard((token: string, o: ReleaseOptions = {}) =>
      manager.release(token, {
        used: o.used,
        usedByChannel: o.usedByChannel,
        channels: o.channels,
        success: o.success,
      }),
    ),
    check: guard((req: LimitsCheckRequest) => manager.check(req)),
    record: guard((req: RecordRequest) => manager.record(req)),
    reportError: guard((token: string, error: string | ErrorInput) => manager.reportError(token, error)),
    close,
    [Symbol.asyncDispose]: close,
  };
}
