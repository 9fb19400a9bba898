import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrateToLatest } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/store.js';

// Read by test/support/dialects.ts (not imported here: it reads the Postgres URL as it loads).
const PG_TEMPLATE_ENV = 'ACCTCTL_TEST_PG_TEMPLATE';
const SQLITE_TEMPLATE_ENV = 'ACCTCTL_TEST_SQLITE_TEMPLATE';

/**
 * vitest globalSetup, after postgres.globalSetup.ts: migrate once per test run, then every test
 * that wants a migrated store copies it (dialects.ts createMigrated) instead of migrating its own:
 * - SQLite: a migrated file in a temp dir; tests copy it.
 * - Postgres (when there is one): a migrated database `acctctl_test_tmpl_<pid>`, closed to
 *   connections (so autovacuum never sits on it), that tests clone with CREATE DATABASE … TEMPLATE.
 * Workers are forked after this and find both through the environment. A template that cannot be
 * made is reported in one line and tests migrate their own, as before.
 */
const PREFIX = 'acctctl_test_tmpl_';
let sqliteDir: string | undefined;
let pgTemplate: string | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function admin<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function dropTemplate(c: pg.Client, name: string): Promise<void> {
  await c.query(`ALTER DATABASE ${name} WITH IS_TEMPLATE false`).catch(() => {});
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

async function makePgTemplate(url: string): Promise<string> {
  const name = `${PREFIX}${process.pid}`;
  await admin(url, async (c) => {
    // Templates of runs that were killed (their process is gone) are dropped.
    const old = await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
      `${PREFIX}%`,
    ]);
    for (const { datname } of old.rows) {
      const pid = Number(datname.slice(PREFIX.length));
      if (datname === name || !alive(pid)) await dropTemplate(c, datname).catch(() => {});
    }
    await c.query(`CREATE DATABASE ${name}`);
  });
  const u = new URL(url);
  u.pathname = '/' + name;
  const store = await openStore({ kind: 'postgres', url: u.toString() }, { schema: 'none' });
  try {
    await migrateToLatest(store.db, store.caps);
  } finally {
    await store.close();
  }
  await admin(url, (c) => c.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`));
  return name;
}

export async function setup(): Promise<void> {
  try {
    sqliteDir = mkdtempSync(join(tmpdir(), 'acctctl-test-tmpl-'));
    const path = join(sqliteDir, 'template.db');
    const store = await openStore({ kind: 'sqlite', path }, { schema: 'none' });
    try {
      await migrateToLatest(store.db, store.caps);
    } finally {
      await store.close();
    }
    process.env[SQLITE_TEMPLATE_ENV] = path;
  } catch (e) {
    process.stderr.write(`no migrated SQLite template (each test migrates its own): ${(e as Error).message}\n`);
  }
  const url = process.env.ACCTCTL_TEST_POSTGRES_URL;
  if (!url) return;
  try {
    pgTemplate = await makePgTemplate(url);
    process.env[PG_TEMPLATE_ENV] = pgTemplate;
  } catch (e) {
    process.stderr.write(`no migrated Postgres template (each test migrates its own): ${(e as Error).message}\n`);
  }
}

export async function teardown(): Promise<void> {
  if (sqliteDir) rmSync(sqliteDir, { recursive: true, force: true });
  delete process.env[SQLITE_TEMPLATE_ENV];
  const url = process.env.ACCTCTL_TEST_POSTGRES_URL;
  if (pgTemplate && url) await admin(url, (c) => dropTemplate(c, pgTemplate!)).catch(() => {});
  delete process.env[PG_TEMPLATE_ENV];
}
