import { afterAll } from 'vitest';

/**
 * Test files share their worker process (vitest.config.ts: isolate false). A file that leaves a
 * process-wide change behind fails itself here, at its end, instead of breaking whichever file
 * runs next in that worker (fake timers left installed once hung a later file's connect test).
 */
const cwd = process.cwd();
const umask = process.umask();
const setTimeoutReal = globalThis.setTimeout;
const DateReal = globalThis.Date;

afterAll(() => {
  const left: string[] = [];
  if (globalThis.setTimeout !== setTimeoutReal)
    left.push('globalThis.setTimeout is not the real one (fake timers or a spy left installed)');
  if (globalThis.Date !== DateReal) left.push('globalThis.Date is not the real one (a mocked clock left installed)');
  if (process.cwd() !== cwd) left.push(`the working directory moved to ${process.cwd()}`);
  if (process.umask() !== umask) left.push(`the umask is ${process.umask().toString(8)}, not ${umask.toString(8)}`);
  if (left.length)
    throw new Error(`this file left the worker changed: ${left.join('; ')} → put it back in afterEach/finally`);
});
