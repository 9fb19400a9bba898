import { createRequire } from 'node:module';
import { ensurePrivateDb } from '../security/filePerms.js';
import type { Clock } from '../domain/clock.js';
import type { TargetRef } from '../domain/links.js';
import {
  TelegramCallError,
  type AccountSession,
  type JoinRequestState,
  type JoinResult,
  type TelegramAccountClient,
  type TelegramGateway,
} from '../telegram/gateway.js';

/**
 * ACCTCTL_TELEGRAM=sandbox: a deterministic simulated Telegram for the demo, CI smoke runs and
 * benchmarks in simulated time. Its world follows from names:
 *  - usernames containing `missing` do not exist; `private` are private; `full` are full;
 *    `approval` need an admin's approval; `banned` have banned every account;
 *  - invite hashes starting `Expired` are expired, `Approval` need approval;
 *  - a join request is approved 12 h after it was sent, unless the group's name contains `never`;
 *  - accounts whose session name contains `revoked` have a revoked session, `banned` a banned number;
 *  - an account that joins too fast (another join within 90 s, or 4 in 10 min) gets FLOOD_WAIT;
 *  - an account can be in at most `capacity` groups (CHANNELS_TOO_MUCH).
 * Memberships and join times live in a small SQLite file, so separate processes share one world.
 */
export interface SandboxOptions {
  clock: Clock;
  /** SQLite file for the world's state; ':memory:' for one process. */
  statePath: string;
  capacity?: number;
  latencyMs?: number;
}

interface Db {
  prepare(sql: string): {
    run(...a: unknown[]): unknown;
    get(...a: unknown[]): unknown;
    all(...a: unknown[]): unknown[];
  };
  exec(sql: string): void;
  pragma(p: string): unknown;
  close(): void;
  transaction<T>(fn: () => T): { immediate(): T };
}

export class SandboxTelegram implements TelegramGateway {
  private db: Db | undefined;
  /** Flood waits handed out (for benchmarks). */
  floodWaits = 0;
  joins = 0;
  constructor(private readonly opts: SandboxOptions) {}

  private state(): Db {
    if (this.db) return this.db;
    const D = createRequire(import.meta.url)('better-sqlite3') as new (p: string, o?: object) => Db;
    if (this.opts.statePath !== ':memory:') ensurePrivateDb(this.opts.statePath); // 0600, like the store beside it
    const db = new D(this.opts.statePath, { timeout: 15_000 });
    db.pragma('journal_mode = WAL');
    db.exec(`create table if not exists members (account text not null, grp text not null, at integer not null, primary key (account, grp));
             create table if not exists joins (account text not null, at integer not null);
             create table if not exists requests (account text not null, grp text not null, at integer not null, primary key (account, grp));
             create index if not exists joins_account on joins (account, at);`);
    this.db = db;
    return db;
  }

  async client(session: AccountSession): Promise<TelegramAccountClient> {
    const name = session.sessionName;
    if (/revoked/i.test(name)) throw new TelegramCallError('AUTH_KEY_UNREGISTERED', 401, undefined);
    if (/banned/i.test(name)) throw new TelegramCallError('PHONE_NUMBER_BANNED', 400, undefined);
    return {
      join: (target) => this.join(name, target),
      getMe: async () => ({ id: String(session.accountId), username: name, phone: null }),
      askSpamBot: async () => 'Good news, no limits are currently applied to your account. You’re free as a bird!',
      checkJoin: async (target) => this.checkJoin(name, target),
      countChannels: async () =>
        (this.state().prepare('select count(*) as n from members where account = ?').get(name) as { n: number }).n,
    };
  }

  private async checkJoin(account: string, target: TargetRef): Promise<JoinRequestState> {
    const grp = target.kind === 'username' ? `@${target.username}` : `+${target.hash}`;
    const name = target.kind === 'username' ? target.username : target.hash;
    if (target.kind === 'username' && /missing/i.test(name))
      throw new TelegramCallError('USERNAME_NOT_OCCUPIED', 400, undefined);
    if (target.kind === 'invite' && /^Expired/.test(name))
      throw new TelegramCallError('INVITE_HASH_EXPIRED', 400, undefined);
    const db = this.state();
    if (db.prepare('select 1 from members where account = ? and grp = ?').get(account, grp)) return 'member';
    const req = db.prepare('select at from requests where account = ? and grp = ?').get(account, grp) as
      { at: number } | undefined;
    if (req && !/never/i.test(name) && req.at + SANDBOX_APPROVAL_MS <= this.opts.clock.now()) {
      db.prepare('insert or ignore into members (account, grp, at) values (?, ?, ?)').run(
        account,
        grp,
        req.at + SANDBOX_APPROVAL_MS,
      );
      db.prepare('delete from requests where account = ? and grp = ?').run(account, grp);
      return 'member';
    }
    return 'pending';
  }

  private async join(account: string, target: TargetRef): Promise<JoinResult> {
    if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));
    const now = this.opts.clock.now();
    const grp = target.kind === 'username' ? `@${target.username}` : `+${target.hash}`;
    const db = this.state();
    return db
      .transaction((): JoinResult => {
        const recent = db
          .prepare('select at from joins where account = ? and at > ? order by at desc')
          .all(account, now - 600_000) as {
          at: number;
        }[];
        if ((recent[0] && now - recent[0].at < 90_000) || recent.length >= 4) {
          this.floodWaits++;
          const wait = 300 + (hash(`${account}:${now}`) % 600);
          throw new TelegramCallError(
            'FLOOD',
            420,
            wait,
            `A wait of ${wait} seconds is required (caused by channels.JoinChannel)`,
          );
        }
        if (db.prepare('select 1 from members where account = ? and grp = ?').get(account, grp)) {
          throw new TelegramCallError('USER_ALREADY_PARTICIPANT', 400, undefined);
        }
        const name = target.kind === 'username' ? target.username : target.hash;
        if (target.kind === 'username') {
          if (/missing/i.test(name)) throw new TelegramCallError('USERNAME_NOT_OCCUPIED', 400, undefined);
          if (/private/i.test(name)) throw new TelegramCallError('CHANNEL_PRIVATE', 406, undefined);
        } else if (/^Expired/.test(name)) throw new TelegramCallError('INVITE_HASH_EXPIRED', 400, undefined);
        if (/banned/i.test(name)) throw new TelegramCallError('USER_BANNED_IN_CHANNEL', 400, undefined);
        if (/full/i.test(name)) throw new TelegramCallError('USERS_TOO_MUCH', 400, undefined);
        const count = (db.prepare('select count(*) as n from members where account = ?').get(account) as { n: number })
          .n;
        if (count >= (this.opts.capacity ?? 500)) throw new TelegramCallError('CHANNELS_TOO_MUCH', 400, undefined);
        db.prepare('insert into joins (account, at) values (?, ?)').run(account, now);
        if (/approval/i.test(name)) {
          db.prepare('insert or ignore into requests (account, grp, at) values (?, ?, ?)').run(account, grp, now);
          return { kind: 'requested' };
        }
        db.prepare('insert into members (account, grp, at) values (?, ?, ?)').run(account, grp, now);
        this.joins++;
        return { kind: 'joined', title: `Sandbox ${grp}` };
      })
      .immediate();
  }

  /** Which accounts are in a group (tests: "never joined twice"). */
  membersOf(grp: string): string[] {
    return (this.state().prepare('select account from members where grp = ?').all(grp) as { account: string }[]).map(
      (r) => r.account,
    );
  }

  async closeAll(): Promise<void> {
    this.db?.close();
    this.db = undefined;
  }
}

/** How long the sandbox's admins take to approve a join request. */
export const SANDBOX_APPROVAL_MS = 12 * 3_600_000;

function hash(s: string): number {
  let h = 2166136261;
  for (const ch of s) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  return h;
}
