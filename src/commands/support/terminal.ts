import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Where a run's stdout goes, as far as tables care (README "Status, listings and metrics"): a
 * terminal of `columns` columns, or a pipe/file. The entry point injects it (ctx.terminal, from
 * CliIO or process.stdout) and runs the command inside `withTerminal`, so every table rendered by
 * that run fits it without each renderer passing it along. Kept free of other imports: the entry
 * point loads it for every command.
 */
export interface Terminal {
  /** stdout is a terminal: tables fit `columns`; otherwise plain aligned columns, never cut. */
  isTTY: boolean;
  /** Its width in columns (null: unknown; tables are then not fitted). */
  columns: number | null;
}

/** Not a terminal: what a table is when nothing says otherwise (tests, library callers). */
export const PIPED: Terminal = { isTTY: false, columns: null };

const current = new AsyncLocalStorage<Terminal>();

/** Run `fn` with `t` as the terminal every table inside it fits. */
export function withTerminal<T>(t: Terminal, fn: () => T): T {
  return current.run(t, fn);
}

/** The terminal of the run in progress (PIPED outside one). */
export function currentTerminal(): Terminal {
  return current.getStore() ?? PIPED;
}

/** The terminal a process's stdout is: what the binary injects. */
export function stdoutTerminal(out: { isTTY?: boolean; columns?: number } = process.stdout): Terminal {
  const isTTY = out.isTTY === true;
  return { isTTY, columns: isTTY && typeof out.columns === 'number' && out.columns > 0 ? out.columns : null };
}
