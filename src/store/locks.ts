import { sql } from 'kysely';
import type { Store } from './store.js';

/**
 * Named locks in the store (one refresh per Instagram account at a time, across processes and
 * hosts). Taken in one statement: insert, or take over a lock whose holder's time ran out.
 */
export async function acquireLock(
  store: Store,
  name: string,
  holder: string,
  ttlMs: number,
  now: number,
): Promise<number | null> {
  const token = Math.floor(Math.random() * 2 ** 47) + 1;
  const r = await sql<{ token: number }>`
    insert into locks (name, holder, token, expires_at) values (${name}, ${holder}, ${token}, ${now + ttlMs})
    on conflict (name) do update set holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at
    where locks.expires_at <= ${now}
    returning token`.execute(store.db);
  return r.rows[0]?.token === token ? token : null;
}

export async function releaseLock(store: Store, name: string, token: number): Promise<void> {
  await store.db.deleteFrom('locks').where('name', '=', name).where('token', '=', token).execute();
}

export async function lockHeld(store: Store, name: string, now: number): Promise<boolean> {
  const r = await store.db.selectFrom('locks').select('expires_at').where('name', '=', name).executeTakeFirst();
  return r !== undefined && r.expires_at > now;
}

export interface LockRow {
  holder: string;
  token: number;
  expires_at: number;
}

export async function lockInfo(store: Store, name: string): Promise<LockRow | undefined> {
  return store.db
    .selectFrom('locks')
    .select(['holder', 'token', 'expires_at'])
    .where('name', '=', name)
    .executeTakeFirst();
}

/**
 * Take over a lock whose holder is known to be dead (e.g. its process is gone on this host), in one
 * statement: only if the row still carries the dead holder's token, so two callers cannot both win.
 */
export async function takeOverLock(
  store: Store,
  name: string,
  holder: string,
  ttlMs: number,
  now: number,
  deadToken: number,
): Promise<number | null> {
  const token = Math.floor(Math.random() * 2 ** 47) + 1;
  const r = await store.db
    .updateTable('locks')
    .set({ holder, token, expires_at: now + ttlMs })
    .where('name', '=', name)
    .where('token', '=', deadToken)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1 ? token : null;
}

/** Extend a lock still held (fenced by its token); false when it was lost. Usable inside a transaction. */
export async function renewLock(
  db: Store['db'],
  name: string,
  token: number,
  ttlMs: number,
  now: number,
): Promise<boolean> {
  const r = await db
    .updateTable('locks')
    .set({ expires_at: now + ttlMs })
    .where('name', '=', name)
    .where('token', '=', token)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
