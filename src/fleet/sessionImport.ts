import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { AccountInput, AccountsSource } from '../domain/accountsConfig.js';
import { completeDevice } from '../domain/device.js';
import { SESSION_NAME_RE } from '../domain/files/accountsConfig.js';
import { parseSessionJson } from '../domain/files/sessionJson.js';
import { encodeStringSession, parseStringSession } from '../domain/stringSession.js';
import { DataError } from '../errors.js';
import { readSessionFile } from '../store/sessionFiles.js';

/** Telegram's production data centres: a Pyrogram session names only its DC id. */
export const PRODUCTION_DCS: Readonly<Record<number, string>> = {
  1: '149.154.175.53',
  2: '149.154.167.51',
  3: '149.154.175.100',
  4: '149.154.167.91',
  5: '91.108.56.130',
};

/** Is this import of session files (`.session` files, or a folder of them) rather than an accounts_config.json? */
export function isSessionImport(paths: readonly string[]): boolean {
  return paths.some((p) => p.endsWith('.session') || isDir(p));
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Read `.session` files (Telethon or Pyrogram, told apart by their schema) and the `.json` of the
 * same name beside each, into accounts: every problem of every file, each with its file name, or
 * the accounts (DataError 65 otherwise). The files are only read.
 */
export function readSessionFiles(
  paths: readonly string[],
  opts: { tenant?: string | undefined; apiId?: number | undefined; apiHash?: string | undefined },
): AccountInput[] {
  const problems: string[] = [];
  const files: string[] = [];
  for (const p of paths) {
    if (isDir(p)) {
      const found = readdirSync(p)
        .filter((n) => n.endsWith('.session'))
        .sort()
        .map((n) => join(p, n));
      if (found.length === 0) problems.push(`${p}: no .session files in this folder`);
      files.push(...found);
    } else if (p.endsWith('.session')) files.push(p);
    else problems.push(`${p}: not a .session file or a folder (an accounts_config.json is imported on its own)`);
  }
  const rows: AccountInput[] = [];
  const names = new Map<string, string>();
  for (const file of files) {
    const at = (m: string) => problems.push(`${file}: ${m}`);
    const name = basename(file, '.session').replace(/^\+/, '');
    if (!SESSION_NAME_RE.test(name)) {
      at(`the file name must make an account name: letters, digits, _ . + - (up to 64) → rename the file`);
      continue;
    }
    const before = names.get(name);
    if (before) {
      at(`the account name "${name}" repeats ${before}`);
      continue;
    }
    names.set(name, file);
    const read = readSessionFile(file);
    if (!read.ok) {
      at(read.problem);
      continue;
    }
    const s = read.value;
    // The .json beside it, when there is one.
    const jsonPath = join(dirname(file), `${basename(file, '.session')}.json`);
    let extra = parseSessionJson({});
    let text: string | undefined;
    try {
      text = readFileSync(jsonPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') at(`cannot read ${basename(jsonPath)}`);
    }
    if (text !== undefined) {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch {
        at(`${basename(jsonPath)} is not valid JSON`);
        continue;
      }
      extra = parseSessionJson(data);
      if (!extra.ok) {
        for (const p of extra.problems) at(`${basename(jsonPath)}: ${p}`);
        continue;
      }
    }
    const j = extra.ok ? extra.value : undefined!;
    if (s.kind === 'pyrogram' && s.testMode) {
      at('a session of Telegram’s test servers (test_mode = 1) → import only production sessions');
      continue;
    }
    const serverAddress = s.kind === 'telethon' ? s.serverAddress : PRODUCTION_DCS[s.dcId];
    if (!serverAddress) {
      at(`data centre ${s.dcId} is not one of Telegram's (1-5)`);
      continue;
    }
    let stringSession: string;
    try {
      stringSession = encodeStringSession({
        dcId: s.dcId,
        serverAddress,
        port: s.kind === 'telethon' ? s.port : 443,
        authKey: s.authKey,
      });
    } catch (e) {
      at(`its session cannot be used (${e instanceof Error ? e.message : String(e)})`);
      continue;
    }
    const decoded = parseStringSession(stringSession);
    if (!decoded.ok) {
      at(`its session cannot be used (${decoded.problems.join('; ')})`);
      continue;
    }
    const apiId = j.apiId ?? (s.kind === 'pyrogram' ? s.apiId : null) ?? opts.apiId ?? null;
    const apiHash = j.apiHash ?? opts.apiHash ?? null;
    if (apiId === null || apiHash === null) {
      at(
        `no ${apiId === null ? 'app_id' : 'app_hash'} → put app_id and app_hash in ${basename(jsonPath)}, or set TELEGRAM_API_ID and TELEGRAM_API_HASH`,
      );
      continue;
    }
    const meta: Record<string, unknown> = { ...j.meta, source: s.kind };
    if (s.kind === 'pyrogram' && s.userId !== null) meta.user_id ??= s.userId;
    rows.push({
      sessionName: name,
      apiId,
      apiHash,
      stringSession,
      session: decoded.value,
      proxy: null,
      tenant: opts.tenant ?? null,
      phone: j.phone,
      device: completeDevice(j.device, name),
      meta,
    });
  }
  if (problems.length)
    throw new DataError(
      `${problems.length} problem${problems.length > 1 ? 's' : ''} in the session files; nothing was imported → fix these and import again`,
      { details: problems },
    );
  return rows;
}

/** accounts_config rows that name no tenant get `tenant` (`accounts import … --tenant T`). */
export function withDefaultTenant(src: AccountsSource, tenant: string): AccountsSource {
  return {
    count: src.count,
    tenants: [...new Set([...src.tenants, tenant])],
    *chunks(size) {
      for (const chunk of src.chunks(size)) yield chunk.map((r) => (r.tenant ? r : { ...r, tenant }));
    },
  };
}
