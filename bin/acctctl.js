#!/usr/bin/env node
// The entry point: the only place that decides the process's exit.
import('../dist/cli-bundle/main.js').then(
  async ({ main, exitSoon }) => exitSoon(await main(process.argv)),
  (err) => {
    process.stderr.write(
      `acctctl: cannot load its build (${err && err.code ? err.code : err}) → run \`npm install\` (or \`npm run build\`) in the acctctl folder\n`,
    );
    process.exitCode = 70;
  },
);
