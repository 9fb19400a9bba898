import { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { escapeControl } from '../../domain/text.js';

/** Colour honours NO_COLOR (https://no-color.org) and is off when stdout is not a terminal. */
export function makeChalk(env: NodeJS.ProcessEnv = process.env, isTTY = Boolean(process.stdout.isTTY)): ChalkInstance {
  const off = (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || (!isTTY && env.FORCE_COLOR === undefined);
  return new Chalk({ level: off ? 0 : 1 });
}

export const c = makeChalk();

/**
 * A cell acctctl coloured itself: its text was escaped before the colour went on, so the only
 * escape codes in it are ours. Any other cell is text from outside and is escaped whole — a colour
 * code in data (even one of ours, `ESC[31m`) is shown, never obeyed.
 */
export class Painted {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** `style` (c.red, c.green, …) on a cell's text, escaped first: for table and listing cells. */
export function paint(style: (s: string) => string, v: Cell): Painted {
  return new Painted(style(cellText(v)));
}

export type Cell = string | number | null | undefined | Painted;

/** The one place a value becomes the text of a table, plain listing or CSV cell. */
export function cellText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Painted) return v.text;
  // Cells hold text from outside: control characters, colour codes included, are shown escaped.
  return escapeControl(String(v));
}

/**
 * The one place a value becomes a CSV cell (every CSV acctctl writes): control characters escaped
 * as everywhere else (no colour, ever); a text cell that begins with `=`, `+`, `-`, `@`, a tab or a
 * carriage return is prefixed with `'` so a spreadsheet does not run it as a formula (OWASP, CSV
 * injection); quoted when it holds a comma, a quote or begins/ends with a space.
 */
export function csvCell(v: Cell | boolean): string {
  if (v === null || v === undefined) return '';
  const raw = String(v);
  let s = escapeControl(raw);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(raw)) s = `'${s}`;
  return /[",]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line. */
export function csvLine(cells: (Cell | boolean)[]): string {
  return cells.map(csvCell).join(',');
}

export function table(head: string[], rows: Cell[][]): string {
  const t = new Table({
    head: head.map((h) => c.bold(h)),
    style: { head: [], border: [] },
  });
  for (const r of rows) t.push(r.map(cellText));
  return t.toString();
}

export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function fmtAge(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return '';
  const s = Math.round((now - ms) / 1000);
  const sign = s < 0 ? 'in ' : '';
  const a = Math.abs(s);
  const v =
    a < 120
      ? `${a}s`
      : a < 7200
        ? `${Math.round(a / 60)}m`
        : a < 172800
          ? `${Math.round(a / 3600)}h`
          : `${Math.round(a / 86400)}d`;
  return s < 0 ? sign + v : v + ' ago';
}
