import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { cellText, csvLine, table } from './support/output.js';
import { UsageError } from '../errors.js';
import { followerSnapshot, type FollowerView } from '../store/followers.js';

export interface FollowersOptions {
  tenant: string;
  kind?: string | undefined;
  new?: boolean | undefined;
  lost?: boolean | undefined;
  csv?: boolean | undefined;
}

export function toCsv(users: FollowerView[]): string {
  const lines = ['username,id,full_name,is_private'];
  for (const u of users) lines.push(csvLine([u.username, u.id, u.full_name, u.is_private]));
  return lines.join('\n');
}

/** Past 500 rows: one tab-separated line a user, each field escaped like a table cell. */
export function plainFollowers(users: FollowerView[]): string[] {
  return users.map((u) => [u.username, u.id, u.full_name, u.is_private ? 'private' : ''].map(cellText).join('\t'));
}

/** `watch followers USER --tenant T`: the latest snapshot, or what it gained (--new) / lost (--lost). */
export async function followersCli(ctx: Ctx, user: string, opts: FollowersOptions): Promise<void> {
  const kind = opts.kind ?? 'followers';
  if (kind !== 'followers' && kind !== 'following') {
    throw new UsageError(`--kind "${kind}" → use followers or following`);
  }
  if (opts.new && opts.lost) throw new UsageError('give --new or --lost, not both');
  if (opts.csv && ctx.config.json) throw new UsageError('give --json or --csv, not both');
  const diff = opts.new ? 'new' : opts.lost ? 'lost' : undefined;
  await withStore(ctx, async (store) => {
    const snap = await followerSnapshot(store, { tenant: opts.tenant, username: user, kind, diff });
    if (opts.csv) return ctx.emit(snap.users, toCsv);
    const json = snap.users.map((u) => ({
      username: u.username,
      id: u.id,
      fullName: u.full_name,
      isPrivate: u.is_private,
    }));
    const users = snap.users;
    ctx.emit(json, () =>
      [
        `@${snap.watch.username} ${kind}${diff ? ` ${diff} since the previous fetch` : ''}: ${users.length}` +
          (snap.snapshot.completedAt ? ` (fetched ${new Date(snap.snapshot.completedAt).toISOString()})` : ''),
        ...(users.length > 500
          ? plainFollowers(users)
          : users.length
            ? [
                table(
                  ['username', 'id', 'full name', 'private'],
                  users.map((u) => [
                    u.username,
                    u.id,
                    u.full_name,
                    u.is_private === null ? '' : u.is_private ? 'yes' : 'no',
                  ]),
                ),
              ]
            : []),
      ].join('\n'),
    );
  });
}
