import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { ramTmpdir } from './test/support/ramTmpdir.js';

// Temporary files (test databases above all) in memory when there is a tmpfs: see ramTmpdir.
const tmp = ramTmpdir();
// Set here, in the main process, so the global setup (templates, the embedded PostgreSQL) and
// every worker it forks see it.
if (tmp) process.env.TMPDIR = tmp;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A throwaway PostgreSQL when ACCTCTL_TEST_POSTGRES_URL is unset (see the README's Tests).
    // Then one migrated SQLite file and Postgres database per run, copied by tests that want a
    // migrated store (test/support/templates.globalSetup.ts).
    globalSetup: ['test/support/postgres.globalSetup.ts', 'test/support/templates.globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // vitest's default is one file per core but one: a single file at a time on a 2-core machine,
    // which leaves a core idle while tests wait on PostgreSQL, Chromium or a child process.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // The in-process CLI runner (test/support/cli.ts) loads the built bundle as Node does.
    server: { deps: { external: [/\/dist\/cli-bundle\//] } },
    reporters: ['default'],
  },
});
