import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * Telethon and Pyrogram `.session` files (SQLite), read only: opened read-only, one row of
 * `sessions` read, closed. Which tool wrote one is told by its `sessions` columns, never by its
 * name: Telethon's has server_address and port; Pyrogram's has neither (its DC id maps to
 * Telegram's well-known addresses) but test_mode, and usually api_id and user_id.
 */
export type SessionFileRow =
  | { kind: 'telethon'; dcId: number; serverAddress: string; port: number; authKey: Buffer }
  | {
      kind: 'pyrogram';
      dcId: number;
      authKey: Buffer;
      testMode: boolean;
      apiId: number | null;
      userId: string | null;
      isBot: boolean;
    };

const require = createRequire(import.meta.url);

/** The session in a file, or why it cannot be read (never quoting the key). */
export function readSessionFile(path: string): { ok: true; value: SessionFileRow } | { ok: false; problem: string } {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  let db: BetterSqlite3.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    return { ok: false, problem: `cannot open it as SQLite (${e instanceof Error ? e.message : String(e)})` };
  }
  try {
    let cols: Set<string>;
    try {
      cols = new Set(
        (db.prepare('PRAGMA table_info(sessions)').all() as { name: string }[]).map((c) => c.name.toLowerCase()),
      );
    } catch (e) {
      return {
        ok: false,
        problem: `not a Telethon or Pyrogram session file (${e instanceof Error ? e.message : String(e)})`,
      };
    }
    if (!cols.has('dc_id') || !cols.has('auth_key'))
      return { ok: false, problem: 'not a Telethon or Pyrogram session file (no sessions table with dc_id, auth_key)' };
    const telethon = cols.has('server_address') && cols.has('port');
    const pyrogram = !telethon && cols.has('test_mode');
    if (!telethon && !pyrogram)
      return {
        ok: false,
        problem: 'its sessions table is neither Telethon’s (server_address, port) nor Pyrogram’s (test_mode)',
      };
    const rows = db.prepare('SELECT * FROM sessions').all() as Record<string, unknown>[];
    const withKey = rows.filter((r) => Buffer.isBuffer(r.auth_key) && r.auth_key.length > 0);
    if (withKey.length === 0) return { ok: false, problem: 'holds no logged-in session (no auth key)' };
    if (withKey.length > 1) return { ok: false, problem: `holds ${withKey.length} sessions; one expected` };
    const r = withKey[0]!;
    const authKey = Buffer.from(r.auth_key as Buffer);
    const dcId = Number(r.dc_id);
    if (telethon) {
      return {
        ok: true,
        value: {
          kind: 'telethon',
          dcId,
          serverAddress: String(r.server_address ?? ''),
          port: Number(r.port),
          authKey,
        },
      };
    }
    return {
      ok: true,
      value: {
        kind: 'pyrogram',
        dcId,
        authKey,
        testMode: Number(r.test_mode ?? 0) === 1,
        apiId: r.api_id === undefined || r.api_id === null ? null : Number(r.api_id),
        userId: r.user_id === undefined || r.user_id === null ? null : String(r.user_id),
        isBot: Number(r.is_bot ?? 0) === 1,
      },
    };
  } catch (e) {
    return { ok: false, problem: `cannot read it (${e instanceof Error ? e.message : String(e)})` };
  } finally {
    db.close();
  }
}

/** Telethon's SQLiteSession layout, version 7, as Telethon 1.x creates it. */
const TELETHON_SCHEMA = [
  'CREATE TABLE version (version integer primary key)',
  'CREATE TABLE sessions (dc_id integer primary key, server_address text, port integer, auth_key blob, takeout_id integer)',
  'CREATE TABLE entities (id integer primary key, hash integer not null, username text, phone integer, name text, date integer)',
  'CREATE TABLE sent_files (md5_digest blob, file_size integer, type integer, id integer, hash integer, primary key(md5_digest, file_size, type))',
  'CREATE TABLE update_state (id integer primary key, pts integer, qts integer, date integer, seq integer)',
];

/** Pyrogram's storage layout (SQLiteStorage, version 3), as its documented schema gives it. */
const PYROGRAM_SCHEMA = [
  'CREATE TABLE sessions (dc_id INTEGER PRIMARY KEY, api_id INTEGER, test_mode INTEGER, auth_key BLOB, date INTEGER NOT NULL, user_id INTEGER, is_bot INTEGER)',
  "CREATE TABLE peers (id INTEGER PRIMARY KEY, access_hash INTEGER, type INTEGER NOT NULL, username TEXT, phone_number TEXT, last_update_on INTEGER NOT NULL DEFAULT (CAST(STRFTIME('%s', 'now') AS INTEGER)))",
  'CREATE TABLE version (number INTEGER PRIMARY KEY)',
];

/** Write a new session file (the path must not exist), mode 0600. */
export function writeSessionFile(
  path: string,
  s:
    | { kind: 'telethon'; dcId: number; serverAddress: string; port: number; authKey: Buffer }
    | { kind: 'pyrogram'; dcId: number; apiId: number; authKey: Buffer; userId: string | null; date: number },
): void {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  const { openSync, closeSync } = require('node:fs') as typeof import('node:fs');
  closeSync(openSync(path, 'wx', 0o600)); // created here, private, never over another file
  const db = new Database(path);
  try {
    db.exec('PRAGMA journal_mode = DELETE');
    db.transaction(() => {
      if (s.kind === 'telethon') {
        for (const q of TELETHON_SCHEMA) db.exec(q);
        db.prepare('INSERT INTO version VALUES (7)').run();
        db.prepare('INSERT INTO sessions VALUES (?, ?, ?, ?, NULL)').run(s.dcId, s.serverAddress, s.port, s.authKey);
      } else {
        for (const q of PYROGRAM_SCHEMA) db.exec(q);
        db.prepare('INSERT INTO version VALUES (3)').run();
        db.prepare('INSERT INTO sessions VALUES (?, ?, 0, ?, ?, ?, 0)').run(
          s.dcId,
          s.apiId,
          s.authKey,
          s.date,
          s.userId === null ? null : BigInt(s.userId),
        );
      }
    })();
  } finally {
    db.close();
  }
}
