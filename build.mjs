// Build: tsc emits dist/ (the typed library, `import … from 'acctctl'`); esbuild bundles the
// CLI into dist/cli-bundle/ so a cron run loads a few files instead of hundreds (Kysely alone
// is 279 modules). Command modules stay separate chunks, loaded only when their command runs.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

/** The commit and time `acctctl --version` shows (src/cli/version.ts); null commit outside git. */
function gitCommit() {
  try {
    const opts = { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' };
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return commit ? `${commit}${dirty ? '-dirty' : ''}` : null;
  } catch {
    return null; // no git, or not a checkout (an unpacked tarball)
  }
}
// SOURCE_DATE_EPOCH (reproducible builds) wins over the clock.
const epoch = Number(process.env.SOURCE_DATE_EPOCH);
const builtAt = new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now());
const buildInfo = { commit: gitCommit(), date: builtAt.toISOString().replace(/\.\d{3}Z$/, 'Z') };

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
  define: { __ACCTCTL_BUILD__: JSON.stringify(buildInfo) },
  logLevel: 'warning',
});
