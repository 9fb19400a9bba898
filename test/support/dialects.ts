import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DbTarget } from '../../src/config/config.js';

/**
 * Every store test runs once per dialect. Postgres runs when ACCTCTL_TEST_POSTGRES_URL is set:
 * by CI, by you, or by the test run's global setup (test/support/postgres.globalSetup.ts), which
 * starts a throwaway embedded PostgreSQL when it is unset. If none could be had, it is skipped
 * and says so.
 */
export const PG_URL = process.env.ACCTCTL_TEST_POSTGRES_URL;

/**
 * Migrated templates made once per test run by test/support/templates.globalSetup.ts (which names
 * these variables too): a Postgres
 * database to clone (`CREATE DATABASE … TEMPLATE`) and a SQLite file to copy. Unset (a template
 * could not be made): createMigrated() makes an empty database and fleetStore migrates it.
 */
export const PG_TEMPLATE_ENV = 'ACCTCTL_TEST_PG_TEMPLATE';
export const SQLITE_TEMPLATE_ENV = 'ACCTCTL_TEST_SQLITE_TEMPLATE';

export interface TestDb {
  target: DbTarget;
  /** The value for DATABASE_URL / --db. */
  url: string;
  dir: string;
  /**
   * Already at the latest schema: a copy of the run's migrated template that nothing has used
   * yet, as a database this test had just created and migrated (fleetStore treats it so).
   */
  fromTemplate?: boolean;
  cleanup(): Promise<void>;
}

export interface DialectCase {
  name: 'sqlite' | 'postgres';
  skip: boolean;
  /** A new empty database (`acctctl migrate` or fleetStore migrates it). */
  create(): Promise<TestDb>;
  /** A new database at the latest schema, cloned from the run's migrated template (fast). */
  createMigrated(): Promise<TestDb>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Drop a test database. FORCE terminates the sessions still on it, which a role without
 * pg_signal_backend may not do to an autovacuum worker ("must be a member of the role whose
 * process is being terminated or member of pg_signal_backend"). Then, with every connection of
 * ours closed (the caller's stores and this admin client are not on that database), retry a
 * plain DROP until the other session (autovacuum) has gone.
 */
export async function dropTestDatabase(name: string): Promise<void> {
  const a = new pg.Client({ connectionString: PG_URL });
  await a.connect();
  try {
    try {
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      return;
    } catch {
      // fall through: retry without FORCE
    }
    // Our own sessions on that database (a store a failed test did not close).
    await a
      .query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user', [
        name,
      ])
      .catch(() => {});
    let last: unknown;
    for (let i = 0; i < 20; i++) {
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name}`);
        return;
      } catch (e) {
        last = e;
        await sleep(250 * Math.min(i + 1, 4));
      }
    }
    throw last;
  } finally {
    await a.end();
  }
}

async function createPg(template?: string): Promise<TestDb> {
  const base = new URL(PG_URL!);
  const name = `acctctl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    for (let i = 0; ; i++) {
      try {
        await admin.query(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
        break;
      } catch (e) {
        // 55006: another session on the template (the server's own, briefly): try again.
        if ((e as { code?: string }).code !== '55006' || i >= 20) throw e;
        await sleep(100);
      }
    }
  } finally {
    await admin.end();
  }
  const u = new URL(base.toString());
  u.pathname = '/' + name;
  const dir = mkdtempSync(join(tmpdir(), 'acctctl-test-'));
  return {
    target: { kind: 'postgres', url: u.toString() },
    url: u.toString(),
    dir,
    ...(template ? { fromTemplate: true } : {}),
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      await dropTestDatabase(name);
    },
  };
}

async function createSqlite(template?: string): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), 'acctctl-test-'));
  const path = join(dir, 'acctctl.db');
  if (template) copyFileSync(template, path);
  return {
    target: { kind: 'sqlite', path },
    url: path,
    dir,
    ...(template ? { fromTemplate: true } : {}),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

let warned = false;
export const DIALECTS: DialectCase[] = [
  {
    name: 'sqlite',
    skip: false,
    create: () => createSqlite(),
    createMigrated: () => createSqlite(process.env[SQLITE_TEMPLATE_ENV] || undefined),
  },
  {
    name: 'postgres',
    skip: !PG_URL,
    create: () => createPg(),
    createMigrated: () => createPg(process.env[PG_TEMPLATE_ENV] || undefined),
  },
];
if (!PG_URL && !warned) {
  warned = true;
  process.stderr.write(
    'NOTE: Postgres store tests are SKIPPED: set ACCTCTL_TEST_POSTGRES_URL=postgres://user:pass@host/db to run them (CI does).\n',
  );
}
