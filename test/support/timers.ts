/**
 * Record the timers code schedules while `fn` runs (delay, and whether it was left keeping the
 * process alive), instead of measuring elapsed wall-clock time: a test asserts what was scheduled,
 * which a loaded machine cannot make flaky.
 */
export interface RecordedTimer {
  delay: number;
  timer: NodeJS.Timeout;
}

export async function recordTimers<T>(
  fn: () => Promise<T>,
): Promise<{ result: T | undefined; error: unknown; timers: RecordedTimer[] }> {
  const timers: RecordedTimer[] = [];
  const original = globalThis.setTimeout;
  const spy = ((cb: (...a: unknown[]) => void, delay?: number, ...args: unknown[]) => {
    const timer = original(cb, delay, ...args);
    timers.push({ delay: Number(delay ?? 0), timer });
    return timer;
  }) as typeof setTimeout;
  globalThis.setTimeout = Object.assign(spy, original);
  try {
    return { result: await fn(), error: undefined, timers };
  } catch (error) {
    return { result: undefined, error, timers };
  } finally {
    globalThis.setTimeout = original;
  }
}
