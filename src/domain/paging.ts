/** Rows per page when a listing or an export pages through the store. */
export const PAGE_SIZE = 1000;

/**
 * Pages of at most `pageSize` rows until `limit` rows (or the end). `fetch` gets the last row of
 * the previous page (for keyset paging), how many rows it may return, and how many came before.
 */
export async function* pages<T>(
  fetch: (last: T | null, n: number, offset: number) => Promise<T[]>,
  limit: number | null,
  pageSize: number = PAGE_SIZE,
): AsyncGenerator<T[]> {
  let last: T | null = null;
  let offset = 0;
  for (;;) {
    const n = limit === null ? pageSize : Math.min(pageSize, limit - offset);
    if (n <= 0) return;
    const rows = await fetch(last, n, offset);
    if (rows.length === 0) return;
    yield rows;
    offset += rows.length;
    last = rows[rows.length - 1]!;
    if (rows.length < n) return;
  }
}
