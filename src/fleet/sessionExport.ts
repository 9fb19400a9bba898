import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../domain/clock.js';
import { parseStoredDevice } from '../domain/device.js';
import { encodeTelethonStringSession, parseStringSession } from '../domain/stringSession.js';
import { DataError, UsageError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import { accountsForExport } from '../store/accounts.js';
import { writeSessionFile } from '../store/sessionFiles.js';
import type { Store } from '../store/store.js';

export const EXPORT_FORMATS = ['telethon', 'pyrogram', 'string'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportResult {
  format: ExportFormat;
  out: string;
  exported: string[];
  files: string[];
}

/**
 * `accounts export`: each account as a file another tool opens — a Telethon or Pyrogram `.session`
 * with the market-style `.json` beside it, or (`string`) one accounts_config.json of Telethon
 * string sessions. The directory is made 0700, every file 0600 and new (nothing is overwritten);
 * all files are written or none is left.
 */
export async function exportAccounts(
  deps: { store: Store; box: SecretBox; clock: Clock },
  sel: { names?: string[]; tenant?: string; all?: boolean },
  opts: { format: string; out: string },
): Promise<ExportResult> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(opts.format))
    throw new UsageError(`--format "${opts.format}" → use telethon, pyrogram or string`);
  const format = opts.format as ExportFormat;
  const chosen = [sel.names?.length ? 1 : 0, sel.tenant !== undefined ? 1 : 0, sel.all ? 1 : 0].reduce((a, b) => a + b);
  if (chosen !== 1) throw new UsageError('name the accounts to export: NAME…, --tenant T or --all (one of them)');
  const rows = await accountsForExport(deps.store, {
    ...(sel.names?.length ? { names: sel.names } : {}),
    ...(sel.tenant !== undefined ? { tenant: sel.tenant } : {}),
  });
  if (sel.names?.length) {
    const found = new Set(rows.map((r) => r.session_name));
    const missing = sel.names.filter((n) => !found.has(n));
    if (missing.length)
      throw new DataError(
        `no account named ${missing.map((m) => `"${m}"`).join(', ')} → see \`acctctl accounts list\``,
      );
  }
  if (rows.length === 0) throw new DataError('no accounts to export → see `acctctl accounts list`');

  const ref = (id: number, column: string) => ({ table: 'telegram_accounts', column, rowId: id });
  const accounts = rows.map((r) => {
    const decoded = parseStringSession(deps.box.open(r.string_session_enc, ref(r.id, 'string_session_enc')));
    if (!decoded.ok) throw new DataError(`${r.session_name}: its stored session cannot be read → import it again`);
    const meta = r.session_meta_enc
      ? (JSON.parse(deps.box.open(r.session_meta_enc, ref(r.id, 'session_meta_enc'))) as Record<string, unknown>)
      : {};
    return {
      name: r.session_name,
      tenant: r.tenant,
      phone: r.phone,
      apiId: r.api_id,
      apiHash: deps.box.open(r.api_hash_enc, ref(r.id, 'api_hash_enc')),
      session: decoded.value,
      device: parseStoredDevice(r.device_json),
      meta,
    };
  });

  // The directory: made private, or an existing one that already is.
  if (existsSync(opts.out)) {
    const st = statSync(opts.out);
    if (!st.isDirectory()) throw new UsageError(`--out ${opts.out} is not a directory → name a new or empty directory`);
    if ((st.mode & 0o077) !== 0)
      throw new UsageError(
        `--out ${opts.out} is readable by others → \`chmod 700 ${opts.out}\`, or name a new directory`,
      );
  } else {
    mkdirSync(opts.out, { recursive: true, mode: 0o700 });
    chmodSync(opts.out, 0o700);
  }
  const files =
    format === 'string' ? ['accounts_config.json'] : accounts.flatMap((a) => [`${a.name}.session`, `${a.name}.json`]);
  const taken = files.filter((f) => existsSync(join(opts.out, f)));
  if (taken.length)
    throw new DataError(`${opts.out} already holds ${taken.join(', ')} → export into a new or empty directory`);

  const written: string[] = [];
  const writeNew = (name: string, text: string) => {
    const path = join(opts.out, name);
    const fd = openSync(path, 'wx', 0o600);
    written.push(path);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  };
  try {
    if (format === 'string') {
      writeNew(
        'accounts_config.json',
        JSON.stringify(
          accounts.map((a) => ({
            session_name: a.name,
            api_id: a.apiId,
            api_hash: a.apiHash,
            string_session: encodeTelethonStringSession(a.session),
            ...(a.tenant ? { tenant: a.tenant } : {}),
            ...(a.phone ? { phone: a.phone } : {}),
            ...(a.device ? { device: a.device } : {}),
          })),
          null,
          2,
        ) + '\n',
      );
    } else {
      const date = Math.floor(deps.clock.now() / 1000);
      for (const a of accounts) {
        const path = join(opts.out, `${a.name}.session`);
        written.push(path);
        const s = a.session;
        if (format === 'telethon') {
          writeSessionFile(path, {
            kind: 'telethon',
            dcId: s.dcId,
            serverAddress: s.serverAddress,
            port: s.port,
            authKey: s.authKey,
          });
        } else {
          const userId = a.meta.user_id ?? a.meta.id;
          writeSessionFile(path, {
            kind: 'pyrogram',
            dcId: s.dcId,
            apiId: a.apiId,
            authKey: s.authKey,
            userId: typeof userId === 'string' || typeof userId === 'number' ? String(userId) : null,
            date,
          });
        }
        const { source: _source, ...kept } = a.meta;
        writeNew(
          `${a.name}.json`,
          JSON.stringify(
            {
              ...kept,
              session_file: a.name,
              phone: a.phone?.replace(/^\+/, '') ?? null,
              app_id: a.apiId,
              app_hash: a.apiHash,
              ...(a.device
                ? {
                    device: a.device.model,
                    sdk: a.device.systemVersion,
                    app_version: a.device.appVersion,
                    lang_pack: a.device.langCode,
                    system_lang_pack: a.device.systemLangCode,
                  }
                : {}),
            },
            null,
            2,
          ) + '\n',
        );
      }
    }
  } catch (e) {
    for (const p of written) rmSync(p, { force: true });
    throw e;
  }
  return { format, out: opts.out, exported: accounts.map((a) => a.name), files };
}
