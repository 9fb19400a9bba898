import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import { ConfigError, InternalError } from '../errors.js';
import type { DialectCaps } from './dialects.js';
import type { Database } from './schema.js';

/** sql/ sits next to src/ and dist/, so this resolves from either. */
export const SQL_DIR = fileURLToPath(new URL('../../sql/', import.meta.url));

export function renderSql(text: string, caps: DialectCaps): string[] {
  const rendered = text.replace(/\{\{(\w+)\}\}/g, (_m, token: string) => {
    const v = (caps.sqlTypes as Record<string, string>)[token];
    if (v === undefined) throw new InternalError(`sql/: unknown token {{${token}}}`);
    return v;
  });
  return rendered
    .split(/;\s*(?:\r?\n|$)/)
    .map((s) =>
      s
        .split('\n')
        .filter((l) => !/^\s*--/.test(l))
        .join('\n')
        .trim(),
    )
    .filter((s) => s.length > 0);
}

/** Migrations are the files sql/NNNN_name.sql, applied in name order. */
export class SqlFileMigrationProvider implements MigrationProvider {
  constructor(
    private readonly caps: DialectCaps,
    private readonly dir: string = SQL_DIR,
  ) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const file of readdirSync(this.dir)
      .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
      .sort()) {
      const statements = renderSql(readFileSync(this.dir + file, 'utf8'), this.caps);
      out[file.replace(/\.sql$/, '')] = {
        up: async (db: Kysely<unknown>) => {
          for (const s of statements) await sql.raw(s).execute(db);
        },
      };
    }
    return out;
  }
}

export const MIGRATION_TABLE = 'kysely_migration';
/** Applying this one means the schema was created from nothing. */
export const FIRST_MIGRATION = '0001_init';

export interface SchemaState {
  applied: string[];
  pending: string[];
  /** Applied in the database but unknown to this binary: the database is newer. */
  unknown: string[];
}

export async function schemaState(db: Kysely<Database>, caps: DialectCaps): Promise<SchemaState> {
  const known = Object.keys(await new SqlFileMigrationProvider(caps).getMigrations()).sort();
  let applied: string[] = [];
  try {
    const rows = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)} order by name`.execute(db);
    applied = rows.rows.map((r) => r.name);
  } catch {
    applied = [];
  }
  return {
    applied,
    pending: known.filter((k) => !applied.includes(k)),
    unknown: applied.filter((a) => !known.includes(a)),
  };
}

export function refuseNewer(state: SchemaState): void {
  if (state.unknown.length > 0) {
    throw new ConfigError(
      `the database schema is newer than this acctctl (it has ${state.unknown.join(', ')}) → upgrade acctctl to the version that wrote it; nothing was changed`,
    );
  }
}

function check(result: MigrationResultSet): string[] {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new InternalError(`migration ${failed} failed; the database was rolled back → report this with the log`, {
      cause: result.error,
    });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Bring the schema up to date under a lock: Postgres uses the Migrator's advisory lock; SQLite
 * runs the whole migration inside one BEGIN IMMEDIATE, so a second process waits and then finds
 * nothing to do. Refuses a database that is newer than this binary.
 */
export async function migrateToLatest(db: Kysely<Database>, caps: DialectCaps): Promise<string[]> {
  refuseNewer(await schemaState(db, caps));
  const provider = new SqlFileMigrationProvider(caps);
  if (!caps.migrateInWriteTx) {
    return check(await new Migrator({ db, provider }).migrateToLatest());
  }
  return db.connection().execute(async (conn) => {
    // SQLite rebuilds a table to change what ALTER cannot (sql/0009): dropping the old table
    // must not cascade to the rows that refer to it. Its documented procedure: foreign keys off
    // outside the transaction, checked before the commit, on again after.
    await sql`pragma foreign_keys = off`.execute(conn);
    try {
      await sql.raw(caps.beginWrite).execute(conn);
      try {
        refuseNewer(await schemaState(conn, caps));
        const applied = check(await new Migrator({ db: conn, provider, disableTransactions: true }).migrateToLatest());
        const broken = applied.length
          ? (await sql<{ table: string }>`pragma foreign_key_check`.execute(conn)).rows
          : [];
        if (broken.length > 0) {
          throw new InternalError(
            `a migration left rows in ${[...new Set(broken.map((r) => r.table))].join(', ')} pointing at nothing; the database was rolled back → report this with the log`,
          );
        }
        await sql`commit`.execute(conn);
        return applied;
      } catch (e) {
        await sql`rollback`.execute(conn).catch(() => {});
        throw e;
      }
    } finally {
      await sql`pragma foreign_keys = on`.execute(conn);
    }
  });
}
