import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';

/**
 * Files that hold fleet data (databases, their -wal/-shm, logs) are private to their owner. A
 * missing one is created 0600 from its first byte; an existing one with group or world bits is
 * tightened to 0600 (it was created by something else, or before acctctl did this).
 */
export function ensurePrivateFile(path: string, opts: { create: boolean }): void {
  if (!existsSync(path)) {
    if (opts.create) closeSync(openSync(path, 'a', 0o600));
    return;
  }
  const st = statSync(path);
  if (st.isFile() && (st.mode & 0o077) !== 0) chmodSync(path, 0o600);
}

/** The database file and SQLite's companions, as they are now. */
export function ensurePrivateDb(path: string): void {
  ensurePrivateFile(path, { create: true });
  for (const suffix of ['-wal', '-shm', '-journal']) ensurePrivateFile(path + suffix, { create: false });
}
