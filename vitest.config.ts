import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { ramTmpdir } from './test/support/ramTmpdir.js';
import { LongestFirst } from './test/support/sequencer.js';

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
    // Each worker process runs file after file without loading every module again for each
    // (vitest's default is a fresh module graph per file). In two whole runs back to back, the run
    // spent 280 CPU-seconds in node processes with isolation and 164 without ("import" 51 s →
    // 11 s), on 2 cores where the run is bound by CPU. Tests share no state across files: every
    // store, server and browser is made and closed by the file that uses it, nothing is mocked
    // at module level, and process-wide changes (umask, cwd) are put back in finally blocks.
    isolate: false,
    // …and each file checks at its end that it put back what it changed (timers, Date, cwd, umask).
    setupFiles: ['test/support/isolation.setup.ts'],
    // Longest files first (test/support/sequencer.ts): the real-browser files start at once.
    sequence: { sequencer: LongestFirst },
    // vitest's default is one file per core but one: a single file at a time on a 2-core machine,
    // which leaves a core idle while tests wait on PostgreSQL, Chromium or a child process.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // The in-process CLI runner (test/support/cli.ts) loads the built bundle as Node does.
    server: { deps: { external: [/\/dist\/cli-bundle\//] } },
    reporters: ['default'],
  },
});
