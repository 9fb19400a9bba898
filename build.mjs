// Build: tsc emits dist/ (the typed library, `import … from 'acctctl'`); esbuild bundles the
// CLI into dist/cli-bundle/ so a cron run loads a few files instead of hundreds (Kysely alone
// is 279 modules). Command modules stay separate chunks, loaded only when their command runs.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/cli-bundle', { recursive: true, force: true });

await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/cli-bundle',
  bundle: true,
  minify: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Native addons and optional drivers are loaded from node_modules at run time.
  external: ['better-sqlite3', 'pg-native', 'telegram', 'playwright', 'playwright-core'],
  banner: {
    js: "import { createRequire as __acctctlCreateRequire } from 'node:module'; const require = __acctctlCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
