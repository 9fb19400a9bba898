// Preloaded with --require: reports on stderr every load of gramjs or Playwright.
const Module = require('node:module');
const orig = Module._load;
Module._load = function (request, ...rest) {
  if (/^(telegram|playwright|playwright-core)(\/|$)/.test(request)) process.stderr.write(`LOADED ${request}\n`);
  return orig.call(this, request, ...rest);
};
