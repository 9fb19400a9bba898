import { sql, type Kysely } from 'kysely';
import { ConfigError } from '../errors.js';
import type { Database } from './schema.js';
import { count } from '../domain/plural.js';

/** The settings row that marks a store made under ACCTCTL_TELEGRAM=sandbox. */
export const TELEGRAM_MODE_SETTING = 'telegram_mode';

export type StoreTelegramMode = 'sandbox' | 'real';

/** 'sandbox' when the store was made by a sandbox run; anything else is a real store. */
export async function storeTelegramMode(db: Kysely<Database>): Promise<StoreTelegramMode> {
  try {
    const r = await db
      .selectFrom('settings')
      .select('value')
      .where('name', '=', TELEGRAM_MODE_SETTING)
      .executeTakeFirst();
    return r?.value === 'sandbox' ? 'sandbox' : 'real';
  } catch {
    return 'real'; // not migrated yet
  }
}

export async function markSandboxStore(db: Kysely<Database>): Promise<void> {
  await sql`insert into settings (name, value) values (${TELEGRAM_MODE_SETTING}, 'sandbox')
    on conflict (name) do update set value = 'sandbox'`.execute(db);
}

async function telegramAccounts(db: Kysely<Database>): Promise<number> {
  const r = await db
    .selectFrom('telegram_accounts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/**
 * Why this run must not use this store (null: it may). A sandbox store holds simulated joins and
 * bindings: a real run would trust them. A real store that holds accounts would get fake joins
 * bound for good by a sandbox run.
 */
export async function telegramModeProblem(
  db: Kysely<Database>,
  mode: StoreTelegramMode,
): Promise<{ message: string; fix: string } | null> {
  const marked = await storeTelegramMode(db);
  if (marked === 'sandbox' && mode === 'real') {
    return {
      message: 'this database was made by the sandbox (ACCTCTL_TELEGRAM=sandbox): its joins and bindings are simulated',
      fix: 'set ACCTCTL_TELEGRAM=sandbox to keep using it, or point DATABASE_URL / --db at your real database',
    };
  }
  if (marked === 'real' && mode === 'sandbox') {
    const n = await telegramAccounts(db);
    if (n > 0) {
      return {
        message: `ACCTCTL_TELEGRAM=sandbox would write simulated joins into a real database (it holds ${count(n, 'Telegram account')} and was not made by the sandbox)`,
        fix: 'unset ACCTCTL_TELEGRAM for real runs, or give the sandbox its own database (DATABASE_URL / --db)',
      };
    }
  }
  return null;
}

/**
 * Every command's check: a store migrated from nothing by a sandbox run is marked as a sandbox
 * store; a sandbox run against a real store with accounts, or a real run against a sandbox store,
 * is refused (exit 78).
 */
export async function guardTelegramMode(
  db: Kysely<Database>,
  mode: StoreTelegramMode,
  opts: { createdNow: boolean },
): Promise<StoreTelegramMode> {
  if (mode === 'sandbox' && opts.createdNow) {
    await markSandboxStore(db);
    return 'sandbox';
  }
  const p = await telegramModeProblem(db, mode);
  if (p) throw new ConfigError(`${p.message} → ${p.fix}`);
  return storeTelegramMode(db);
}
