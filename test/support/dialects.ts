import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DbTarget } from '../../src/config/config.js';

/**
 * Every store test runs once per dialect. Postgres runs when ACCTCTL_TEST_POSTGRES_URL is set
 * (CI sets it); otherwise it is skipped and says so.
 */
export const PG_URL = process.env.ACCTCTL_TEST_POSTGRES_URL;

export interface TestDb {
  target: DbTarget;
  /** The value for DATABASE_URL / --db. */
  url: string;
  dir: string;
  cleanup(): Promise<void>;
}

export interface DialectCase {
  name: 'sqlite' | 'postgres';
  skip: boolean;
  create(): Promise<TestDb>;
}

async function createPg(): Promise<TestDb> {
  const base = new URL(PG_URL!);
  const name = `acctctl_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base.toString());
  u.pathname = '/' + name;
  const dir = mkdtempSync(join(tmpdir(), 'acctctl-test-'));
  return {
    target: { kind: 'postgres', url: u.toString() },
    url: u.toString(),
    dir,
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

async function createSqlite(): Promise<TestDb> {
  const dir = mkdtempSync(join(tmpdir(), 'acctctl-test-'));
  const path = join(dir, 'acctctl.db');
  return {
    target: { kind: 'sqlite', path },
    url: path,
    dir,
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

let warned = false;
export const DIALECTS: DialectCase[] = [
  { name: 'sqlite', skip: false, create: createSqlite },
  { name: 'postgres', skip: !PG_URL, create: createPg },
];
if (!PG_URL && !warned) {
  warned = true;
  process.stderr.write(
    'NOTE: Postgres store tests are SKIPPED: set ACCTCTL_TEST_POSTGRES_URL=postgres://user:pass@host/db to run them (CI does).\n',
  );
}
