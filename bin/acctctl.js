#!/usr/bin/env -S node --
// `node --`: Node 20 reads an `--env-file` anywhere on its command line, even after the script
// (nodejs/node#54232), and exits 9 on a missing one before acctctl runs; after `--` it leaves
// acctctl's own `--env-file FILE` alone (README "Configuration").
// The entry point: the only place that decides the process's exit.
// A reader that goes away (`acctctl accounts list --all | head`) is not an error: stop quietly, 0.
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') process.exit(0);
  throw err;
});
import('../dist/cli-bundle/main.js').then(
  async ({ main, exitSoon }) => exitSoon(await main(process.argv)),
  (err) => {
    process.stderr.write(
      `acctctl: cannot load its build (${err && err.code ? err.code : err}) → run \`npm install\` (or \`npm run build\`) in the acctctl folder\n`,
    );
    process.exitCode = 70;
  },
);
