import { sql, type Kysely } from 'kysely';
import type { DbTarget } from '../config/config.js';
import { ClosedError, ConfigError, NoInputError } from '../errors.js';
import { missingStoreFile, openDialect, type DialectCaps, type HeldStatements } from './dialects.js';
import { FIRST_MIGRATION, migrateToLatest, refuseNewer, schemaState } from './migrations.js';
import type { Database } from './schema.js';

export interface Store {
  readonly db: Kysely<Database>;
  readonly caps: DialectCaps;
  /** Prepared statements held for the hot paths (lease, release); see store/leases.ts. */
  readonly held: HeldStatements;
  readonly description: string;
  /** This open created the schema from nothing (the first migration ran now). */
  readonly createdNow: boolean;
  /**
   * A transaction that holds the write lock from its first statement (SQLite BEGIN IMMEDIATE,
   * so concurrent writers wait on busy_timeout instead of failing with SQLITE_BUSY).
   */
  writeTx<T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Close the connections. Idempotent; afterwards `db` and `writeTx` throw ClosedError. */
  close(): Promise<void>;
}

/**
 * `auto`: bring the schema up to date (both dialects alike, under the dialect's migration lock);
 * `existing`: the same for a store that has a schema, but one with none at all (a new database, an
 * empty file) is an error (66): read-only commands never create a store; `require`: refuse a
 * database that is not migrated; `none`: no check (migrate, doctor).
 */
export type SchemaMode = 'auto' | 'existing' | 'require' | 'none';

/**
 * Read-only commands (status, doctor, listings) never create a store: a SQLite file that does not
 * exist is an error naming the path (66), so a monitoring line run in the wrong directory fails
 * instead of reporting on a new empty store.
 */
export function assertStoreExists(target: DbTarget): void {
  const path = missingStoreFile(target);
  if (path === null) return;
  throw new NoInputError(
    `no store at ${path} → point --db or DATABASE_URL at the existing one, or create it with \`acctctl migrate\` (or \`acctctl accounts import FILE\`)`,
  );
}

/** Open the store, its schema checked (and migrated) as `opts.schema` says (SchemaMode). */
export async function openStore(target: DbTarget, opts: { schema?: SchemaMode } = {}): Promise<Store> {
  const { db, caps, held, description } = await openDialect(target);
  let createdNow = false;
  let closing: Promise<void> | undefined;
  const closedError = () =>
    new ClosedError(`the store ${description} is closed → open a new one (openStore or openFleet) to use it again`);
  const store: Store = {
    get db() {
      if (closing) throw closedError();
      return db;
    },
    caps,
    get held() {
      if (closing) throw closedError();
      return held;
    },
    description,
    get createdNow() {
      return createdNow;
    },
    writeTx: (fn) => {
      if (closing) return Promise.reject(closedError());
      return db.connection().execute(async (conn) => {
        await sql.raw(caps.beginWrite).execute(conn);
        try {
          const r = await fn(conn);
          await sql`commit`.execute(conn);
          return r;
        } catch (e) {
          await sql`rollback`.execute(conn).catch(() => {});
          throw e;
        }
      });
    },
    /** Idempotent: later calls wait for the same close. */
    close: () => (closing ??= db.destroy()),
  };
  try {
    const mode = opts.schema ?? 'auto';
    if (mode !== 'none') {
      const state = await schemaState(db, caps);
      refuseNewer(state);
      if (mode === 'existing' && state.applied.length === 0) {
        throw new NoInputError(
          `the database ${description} has no acctctl store in it → point --db or DATABASE_URL at the existing one, or create it with \`acctctl migrate\``,
        );
      }
      if (state.pending.length > 0) {
        if (mode === 'auto' || mode === 'existing') {
          createdNow = (await migrateToLatest(db, caps)).includes(FIRST_MIGRATION);
        } else
          throw new ConfigError(
            `the database ${description} is not migrated (${state.pending.length} pending) → run \`acctctl migrate\``,
          );
      }
    }
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}
