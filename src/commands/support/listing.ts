import { PAGE_SIZE, pages } from '../../domain/paging.js';
import type { Ctx } from './context.js';
import { UsageError } from '../../errors.js';
import { cellText, csvLine, Grid, Painted, table, type Cell } from './output.js';
import { currentTerminal } from './terminal.js';
import { jsonValue, SCHEMA_VERSION } from './json.js';

/**
 * One listing helper for every `… list` command: filters are the command's, paging, limits and
 * output formats are here. Rows are fetched a page at a time and written as they come, so a
 * listing of 100,000 rows costs time linear in its rows and memory of one page.
 */

/** Rows shown when neither --limit nor --all is given. */
export const DEFAULT_LIMIT = 50;
/**
 * Up to this many rows a listing is laid out as one table (output.ts `table`: every row measured
 * before the first is written); past it, rows are streamed a page at a time, their columns sized
 * by the first page. Either way it is the same Grid: fitted to a terminal, plain when piped.
 */
export const TABLE_MAX_ROWS = 200;
/** Rows fetched per query, and paging itself: domain/paging.ts (services page too). */
export { PAGE_SIZE, pages };

export interface Column<T> {
  head: string;
  value: (row: T) => Cell;
  /** Colour for tables (never applied to CSV or JSON). */
  style?: (text: string, row: T) => string;
  /** Which columns a narrow terminal drops first (output.ts TableColumn; KEY, EXTRA). */
  priority?: number;
}

export interface ListFlags {
  limit?: string | undefined;
  all?: boolean | undefined;
  csv?: boolean | undefined;
}

export interface ListSpec {
  /** null: every row (--all). */
  limit: number | null;
  format: 'table' | 'json' | 'csv';
}

/** Validate --limit / --all / --csv (with the global --json). */
export function listSpec(flags: ListFlags, json: boolean, defaultLimit = DEFAULT_LIMIT): ListSpec {
  if (flags.csv && json) throw new UsageError('--csv and --json both given → choose one output format');
  if (flags.all && flags.limit !== undefined) throw new UsageError('--all and --limit both given → choose one');
  let limit: number | null = defaultLimit;
  if (flags.all) limit = null;
  else if (flags.limit !== undefined) {
    limit = Number(flags.limit);
    if (!/^\d+$/.test(flags.limit) || !Number.isSafeInteger(limit) || limit < 1) {
      throw new UsageError(`--limit "${flags.limit}" → give a whole number of rows ≥ 1 (or --all)`);
    }
  }
  return { limit, format: flags.csv ? 'csv' : json ? 'json' : 'table' };
}

export interface Listing<T> {
  columns: Column<T>[];
  /** Rows matching the filters (the listing says how many more there are than it shows). */
  total: number;
  rows: AsyncIterable<T[]>;
  /** What to print when nothing matches (table format only). */
  empty: string;
  /** The JSON object of a row (default: the row itself). */
  json?: (row: T) => unknown;
  /** Flags that narrow this listing, for the "N more" hint, e.g. "--state, --tenant". */
  filters?: string;
}

export interface ListingOut {
  /** Write a chunk of stdout (redacted by the caller). */
  write: (text: string) => void;
  /** A note for people: on stdout under a table, on stderr with --json/--csv. */
  note: (text: string) => void;
  /** Resolves once the output has taken what was written; awaited after every page. */
  drain?: () => Promise<void>;
}

/**
 * Streamed rows (past TABLE_MAX_ROWS) as aligned columns (output.ts Grid): piped, widths come from
 * the first page and only ever grow; on a terminal the first page's fitted layout holds.
 */
class PlainRenderer<T> {
  private readonly grid: Grid;
  constructor(
    private readonly columns: Column<T>[],
    private readonly write: (text: string) => void,
  ) {
    this.grid = new Grid(heads(columns), currentTerminal());
  }
  rows(rows: T[], first: boolean): void {
    const cells = rows.map((r) => styled(this.columns, r));
    this.grid.measure(cells);
    this.write([...(first ? this.grid.header() : []), ...this.grid.rows(cells)].join('\n') + '\n');
  }
  /** The note under a fitted listing (columns left out), or nothing. */
  end(): void {
    const f = this.grid.footer();
    if (f.length) this.write(f.join('\n') + '\n');
  }
}

const heads = <T>(columns: Column<T>[]) => columns.map((c) => ({ head: c.head, priority: c.priority }));

/** Each cell escaped, then coloured by its column (the colour is ours: it is kept). */
function styled<T>(columns: Column<T>[], r: T): Cell[] {
  return columns.map((c) => {
    const t = cellText(c.value(r));
    return c.style ? new Painted(c.style(t, r), t, (s) => c.style!(s, r)) : t;
  });
}

/** Rows already in memory (a bounded page): a table up to TABLE_MAX_ROWS, plain columns past it. */
export function renderRows<T>(columns: Column<T>[], rows: T[]): string {
  if (rows.length <= TABLE_MAX_ROWS) {
    return table(
      heads(columns),
      rows.map((r) => styled(columns, r)),
    );
  }
  const chunks: string[] = [];
  const plain = new PlainRenderer(columns, (t) => chunks.push(t));
  for (let i = 0; i < rows.length; i += PAGE_SIZE) plain.rows(rows.slice(i, i + PAGE_SIZE), i === 0);
  plain.end();
  return chunks.join('').replace(/\n$/, '');
}

/** Write a listing in the chosen format; returns how many rows were shown and how many more match. */
export async function writeListing<T>(
  out: ListingOut,
  spec: ListSpec,
  l: Listing<T>,
): Promise<{ shown: number; more: number }> {
  let shown = 0;
  const expected = spec.limit === null ? l.total : Math.min(spec.limit, l.total);
  if (spec.format === 'json') {
    // The listing envelope (support/json.ts), streamed: one row a line.
    const toJson = l.json ?? ((r: T) => r);
    out.write(`{\n  "schemaVersion": ${SCHEMA_VERSION},\n  "items": [`);
    for await (const page of l.rows) {
      out.write(
        page.map((r, i) => (shown + i === 0 ? '\n    ' : ',\n    ') + JSON.stringify(jsonValue(toJson(r)))).join(''),
      );
      shown += page.length;
      await out.drain?.();
    }
    const more = Math.max(0, l.total - shown);
    out.write(`${shown ? '\n  ' : ''}],\n  "total": ${l.total},\n  "more": ${more}\n}\n`);
  } else if (spec.format === 'csv') {
    out.write(csvLine(l.columns.map((c) => c.head)) + '\n');
    for await (const page of l.rows) {
      out.write(page.map((r) => csvLine(l.columns.map((c) => c.value(r))) + '\n').join(''));
      shown += page.length;
      await out.drain?.();
    }
  } else if (expected <= TABLE_MAX_ROWS) {
    const rows: T[] = [];
    for await (const page of l.rows) rows.push(...page);
    shown = rows.length;
    out.write((rows.length === 0 ? (l.total === 0 ? l.empty : '') : renderRows(l.columns, rows)) + '\n');
  } else {
    const plain = new PlainRenderer(l.columns, out.write);
    for await (const page of l.rows) {
      plain.rows(page, shown === 0);
      shown += page.length;
      await out.drain?.();
    }
    plain.end();
  }
  const more = Math.max(0, l.total - shown);
  if (more > 0) {
    out.note(
      `showing ${shown} of ${l.total}: ${more} more → --limit N or --all` +
        (l.filters ? `, or narrow with ${l.filters}` : ''),
    );
  }
  return { shown, more };
}

/** Write a listing to the command's stdout; the "N more" note goes under a table, or to stderr. */
export async function emitListing<T>(
  ctx: Pick<Ctx, 'out' | 'log' | 'config' | 'drain'>,
  spec: ListSpec,
  listing: Listing<T>,
): Promise<{ shown: number; more: number }> {
  return writeListing(
    {
      write: (t) => ctx.out(t),
      note: (t) => (spec.format === 'table' ? ctx.out(t + '\n') : ctx.log.warn(t)),
      ...(ctx.drain ? { drain: () => ctx.drain!() } : {}),
    },
    spec,
    listing,
  );
}
