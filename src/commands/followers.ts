import type { Ctx } from './support/context.js';
import { withExistingStore } from './support/context.js';
import { cellText, csvLine, fmtTime, table } from './support/output.js';
import { UsageError } from '../errors.js';
import { PAGE_SIZE, pages } from '../domain/paging.js';
import { followerSelection, type FollowerView } from '../store/followers.js';
import { jsonValue, SCHEMA_VERSION } from './support/json.js';
import { listSpec } from './support/listing.js';

export interface FollowersOptions {
  tenant: string;
  kind?: string | undefined;
  new?: boolean | undefined;
  lost?: boolean | undefined;
  csv?: boolean | undefined;
  /** At most this many users (default: every one, as an export wants). */
  limit?: string | undefined;
}

export const FOLLOWERS_CSV_HEAD = 'username,id,full_name,is_private';
/** One user as a line of `watch followers --csv` (cells through csvLine: OWASP prefix, escapes). */
export const followerCsvLine = (u: FollowerView): string => csvLine([u.username, u.id, u.full_name, u.is_private]);

/** Past this many users the human form is tab-separated lines (streamed), not a table. */
const TABLE_MAX_USERS = 500;

/** Past 500 rows: one tab-separated line a user, each field escaped like a table cell. */
export function plainFollowers(users: FollowerView[]): string[] {
  return users.map((u) => [u.username, u.id, u.full_name, u.is_private ? 'private' : ''].map(cellText).join('\t'));
}

function userTable(users: FollowerView[]): string {
  return table(
    ['username', 'id', 'full name', 'private'],
    users.map((u) => [u.username, u.id, u.full_name, u.is_private === null ? '' : u.is_private ? 'yes' : 'no']),
  );
}

/** `watch followers USER --tenant T`: the latest snapshot, or what it gained (--new) / lost (--lost). */
export async function followersCli(
  ctx: Ctx,
  user: string,
  opts: FollowersOptions,
  pageSize = PAGE_SIZE,
): Promise<void> {
  const kind = opts.kind ?? 'followers';
  if (kind !== 'followers' && kind !== 'following') {
    throw new UsageError(`--kind "${kind}" → use followers or following`);
  }
  if (opts.new && opts.lost) throw new UsageError('give --new or --lost, not both');
  if (opts.csv && ctx.config.json) throw new UsageError('give --json or --csv, not both');
  const diff = opts.new ? 'new' : opts.lost ? 'lost' : undefined;
  // --limit is validated as every listing's; without it, every user (an export).
  const { limit: given } = listSpec({ limit: opts.limit }, false, Number.POSITIVE_INFINITY);
  const limit = given !== null && Number.isFinite(given) ? given : null;
  await withExistingStore(ctx, async (store) => {
    const sel = await followerSelection(store, { tenant: opts.tenant, username: user, kind, diff });
    const total = await sel.count();
    const shown = limit === null ? total : Math.min(limit, total);
    const more = total - shown;
    const moreNote = `showing ${shown} of ${total}: ${more} more → a larger --limit, or leave it out for every one`;
    // A page at a time, written as it comes: an export of any size holds one page (PAGE_SIZE rows).
    const rows = pages<FollowerView>((last, n) => sel.page(last, n), limit, pageSize);
    if (opts.csv) {
      ctx.out(FOLLOWERS_CSV_HEAD + '\n');
      for await (const page of rows) {
        ctx.out(page.map((u) => followerCsvLine(u) + '\n').join(''));
        await ctx.drain?.();
      }
      if (more > 0) ctx.log.warn(moreNote);
      return;
    }
    if (ctx.config.json) {
      // The listing envelope (support/json.ts), streamed one user a line.
      let shown = 0;
      ctx.out(`{\n  "schemaVersion": ${SCHEMA_VERSION},\n  "items": [`);
      for await (const page of rows) {
        ctx.out(
          page
            .map(
              (u, i) =>
                (shown + i === 0 ? '\n    ' : ',\n    ') +
                JSON.stringify(
                  jsonValue({ username: u.username, id: u.id, fullName: u.full_name, isPrivate: u.is_private }),
                ),
            )
            .join(''),
        );
        shown += page.length;
        await ctx.drain?.();
      }
      ctx.out(`${shown ? '\n  ' : ''}],\n  "total": ${shown + more},\n  "more": ${more}\n}\n`);
      if (more > 0) ctx.log.warn(moreNote);
      return;
    }
    ctx.out(
      `@${sel.watch.username} ${kind}${diff ? ` ${diff} since the previous fetch` : ''}: ${total}` +
        (sel.snapshot.completedAt ? ` (fetched ${fmtTime(sel.snapshot.completedAt)})` : '') +
        '\n',
    );
    if (shown > TABLE_MAX_USERS) {
      for await (const page of rows) {
        ctx.out(plainFollowers(page).join('\n') + '\n');
        await ctx.drain?.();
      }
    } else if (shown > 0) {
      const users: FollowerView[] = [];
      for await (const page of rows) users.push(...page);
      ctx.out(userTable(users) + '\n');
    }
    if (more > 0) ctx.out(moreNote + '\n');
  });
}
