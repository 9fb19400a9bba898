import { Chalk, type ChalkInstance } from 'chalk';
import { escapeControl } from '../../domain/text.js';
import { currentTerminal, type Terminal } from './terminal.js';

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
  /**
   * `text`: the cell as shown (escaped, then coloured); `plain`: the same without our colour, and
   * `style` to colour a piece of it again (a cell wrapped to fit the terminal is coloured line by line).
   */
  constructor(
    readonly text: string,
    readonly plain: string = text,
    readonly style: (s: string) => string = (s) => s,
  ) {}
  toString(): string {
    return this.text;
  }
}

/** `style` (c.red, c.green, …) on a cell's text, escaped first: for table and listing cells. */
export function paint(style: (s: string) => string, v: Cell): Painted {
  const plain = cellText(v);
  return new Painted(style(plain), plain, style);
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

/** A table column: its heading and how much it matters when the terminal is too narrow for all. */
export interface TableColumn {
  head: string;
  /**
   * Columns are dropped lowest priority first (ties: the rightmost first) when the terminal cannot
   * show them all, even wrapped. Default DEFAULT_PRIORITY; what identifies a row ranks above it.
   */
  priority?: number | undefined;
}
export type Head = string | TableColumn;

export const DEFAULT_PRIORITY = 50;
/** What identifies a row (a name, a state): dropped last. */
export const KEY = 100;
/** Detail that is also in --json or another listing: dropped first. */
export const EXTRA = 10;
/** Between two columns. */
const GAP = '  ';
/** A wrapped column keeps at least this many columns (or its heading's width, or its widest cell). */
const MIN_WRAP = 12;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
/** Columns a text takes on a terminal (our colour codes take none; one per code point). */
export const visibleWidth = (s: string): number => [...s.replace(ANSI, '')].length;

/** Lines of at most `width` columns: broken at the last space that fits, else inside a word. */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const out: string[] = [];
  let rest = [...text];
  while (rest.length > w) {
    let cut = rest.lastIndexOf(' ', w);
    if (cut <= 0) cut = w;
    out.push(rest.slice(0, cut).join('').trimEnd());
    rest = rest.slice(cut);
    while (rest[0] === ' ') rest.shift();
  }
  out.push(rest.join(''));
  return out;
}

/** Which columns a table shows at a width, and how wide each is. */
export interface Layout {
  keep: number[];
  widths: number[];
}

/**
 * Fit columns of `natural` widths into `width` terminal columns: wrap the widest columns first
 * (down to MIN_WRAP), and if that is not enough drop columns by priority, lowest first. Null
 * width (not a terminal): every column at its natural width.
 */
export function fitColumns(heads: TableColumn[], natural: number[], width: number | null): Layout {
  const all = heads.map((_h, i) => i);
  if (width === null) return { keep: all, widths: [...natural] };
  const minOf = (i: number) => Math.min(natural[i]!, Math.max(visibleWidth(heads[i]!.head), MIN_WRAP));
  const need = (ix: number[], w: (i: number) => number) =>
    ix.reduce((a, i) => a + w(i), 0) + GAP.length * (ix.length - 1);
  let keep = all;
  while (keep.length > 1 && need(keep, minOf) > width) {
    let drop = -1;
    let lowest = Infinity;
    for (const i of keep) {
      const p = heads[i]!.priority ?? DEFAULT_PRIORITY;
      if (p <= lowest) [drop, lowest] = [i, p];
    }
    keep = keep.filter((i) => i !== drop);
  }
  const widths = keep.map((i) => natural[i]!);
  const mins = keep.length === 1 ? [Math.min(natural[keep[0]!]!, Math.max(1, width))] : keep.map(minOf);
  let excess = need(keep, (i) => natural[i]!) - width;
  while (excess > 0) {
    let j = -1;
    for (let k = 0; k < widths.length; k++) if (widths[k]! > mins[k]! && (j < 0 || widths[k]! > widths[j]!)) j = k;
    if (j < 0) break;
    widths[j]!--;
    excess--;
  }
  return { keep, widths };
}

/**
 * Rows laid out as aligned columns. On a terminal (`term.isTTY`): fitted to its width (fitColumns),
 * a light rule under the bold heading, and a line naming any column left out. Piped: every column
 * at full width, an ASCII rule, no box drawing — for grep, awk and cut.
 */
export class Grid {
  private heads: TableColumn[];
  private layout: Layout | null = null;
  private natural: number[];
  private readonly fit: boolean;
  constructor(
    head: Head[],
    private readonly term: Terminal,
  ) {
    this.heads = head.map((h) => (typeof h === 'string' ? { head: h } : h));
    this.natural = this.heads.map((h) => visibleWidth(h.head));
    this.fit = term.isTTY && term.columns !== null;
  }

  /** Widen columns for these rows; fitted tables keep the layout of the first rows measured. */
  measure(rows: Cell[][]): void {
    if (this.layout && this.fit) return;
    for (const r of rows) r.forEach((v, i) => (this.natural[i] = Math.max(this.natural[i] ?? 0, plainWidth(v))));
    if (this.fit) this.layout = fitColumns(this.heads, this.natural, this.term.columns);
  }

  private get current(): Layout {
    return this.layout ?? { keep: this.heads.map((_h, i) => i), widths: this.natural };
  }

  private lines(cells: Cell[], head = false): string[] {
    const { keep, widths } = this.current;
    const cols = keep.map((i, k) => {
      const v = cells[i];
      const w = this.fit ? widths[k]! : (this.natural[i] ?? 0);
      const plain = v instanceof Painted ? v.plain : cellText(v);
      const style = v instanceof Painted ? v.style : (s: string) => s;
      if (!this.fit || visibleWidth(plain) <= w) return { w, lines: [v instanceof Painted ? v.text : plain], head };
      return { w, lines: wrapText(plain, w).map(style), head };
    });
    const height = Math.max(1, ...cols.map((c) => c.lines.length));
    const out: string[] = [];
    for (let l = 0; l < height; l++) {
      out.push(
        cols
          .map((col, k) => {
            const t = col.lines[l] ?? '';
            const shown = col.head ? c.bold(t) : t;
            return k === cols.length - 1 ? shown : shown + ' '.repeat(Math.max(0, col.w - visibleWidth(t)));
          })
          .join(GAP)
          .trimEnd(),
      );
    }
    return out;
  }

  /** The heading and its rule. */
  header(): string[] {
    const { keep, widths } = this.current;
    const rule = this.term.isTTY ? '─' : '-';
    return [
      ...this.lines(
        this.heads.map((h) => h.head),
        true,
      ),
      keep.map((i, k) => rule.repeat(this.fit ? widths[k]! : (this.natural[i] ?? 0))).join(GAP),
    ];
  }

  rows(rows: Cell[][]): string[] {
    return rows.flatMap((r) => this.lines(r));
  }

  /** Under a fitted table: the columns left out to fit, if any. */
  footer(): string[] {
    const { keep } = this.current;
    const left = this.heads.filter((_h, i) => !keep.includes(i)).map((h) => h.head);
    return left.length
      ? wrapText(
          `(not shown at ${this.term.columns} columns: ${left.join(', ')} → a wider terminal, or pipe the output)`,
          this.term.columns ?? Infinity,
        )
      : [];
  }
}

function plainWidth(v: Cell): number {
  return visibleWidth(v instanceof Painted ? v.plain : cellText(v));
}

/** A table of rows in memory, for the run's terminal (Grid): fitted on a terminal, plain when piped. */
export function table(head: Head[], rows: Cell[][], term: Terminal = currentTerminal()): string {
  const g = new Grid(head, term);
  g.measure(rows);
  return [...g.header(), ...g.rows(rows), ...g.footer()].join('\n');
}

/*
 * Times, one format per context (README "Status, listings and metrics"):
 * - tables and messages: UTC to the second, `2026-12-01 22:30:45Z` (RFC 3339 with a space; no
 *   milliseconds, never local time) — fmtTime;
 * - a relative time only beside the absolute one: `2026-12-01 22:30:45Z (in 2d)` — fmtWhen;
 * - --json: ISO 8601 UTC with milliseconds (support/json.ts isoTime), never formatted here.
 * A length of time (a session's age) is a duration, not a time: fmtDuration.
 */

/** A point in time in tables and messages: UTC to the second. */
export function fmtTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace('T', ' ');
}

/** A length of time, rounded to its largest sensible unit: 45s, 12m, 5h, 3d. */
export function fmtDuration(ms: number): string {
  const a = Math.round(Math.abs(ms) / 1000);
  return a < 120
    ? `${a}s`
    : a < 7200
      ? `${Math.round(a / 60)}m`
      : a < 172800
        ? `${Math.round(a / 3600)}h`
        : `${Math.round(a / 86400)}d`;
}

/** A point in time with how far it is from `now` beside it: `… (3h ago)`, `… (in 2d)`. */
export function fmtWhen(ms: number | null | undefined, now: number): string {
  if (ms === null || ms === undefined) return '';
  const d = fmtDuration(ms - now);
  return `${fmtTime(ms)} (${ms > now ? `in ${d}` : `${d} ago`})`;
}
