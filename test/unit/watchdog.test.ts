import { afterEach, describe, expect, it, vi } from 'vitest';
import { exitSoon } from '../../src/cli/main.js';

/**
 * The entry point's watchdog, under fake timers instead of a wall clock: it sets the exit code at
 * once, never keeps the process alive itself (unref'd), and ends a process that a stray handle
 * (e.g. a gramjs timer) would keep alive.
 */
describe('exit watchdog', () => {
  afterEach(() => {
    // Mocks first: the setTimeout spy wraps the fake one, and restoring it after useRealTimers()
    // put the fake timers back for good (isolation.setup.ts now fails a file that does that).
    vi.restoreAllMocks();
    vi.useRealTimers();
    process.exitCode = undefined;
  });

  it('is unref’d and fires process.exit(code) after its grace period', () => {
    vi.useFakeTimers();
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const unref = vi.fn();
    const real = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((cb: () => void, ms?: number) => {
      const t = real(cb, ms);
      const orig = t.unref.bind(t);
      t.unref = () => {
        unref();
        return orig();
      };
      return t;
    }) as typeof setTimeout);
    exitSoon(75);
    expect(process.exitCode).toBe(75);
    expect(unref).toHaveBeenCalledTimes(1);
    expect(exit).not.toHaveBeenCalled();
    vi.advanceTimersByTime(10_000);
    expect(exit).toHaveBeenCalledWith(75);
  });
});
