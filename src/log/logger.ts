import { closeSync, fchmodSync, fstatSync, openSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { escapeControl } from '../domain/text.js';
import { ConfigError } from '../errors.js';
import { redact } from '../security/redact.js';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  close(): void;
}

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function formatFields(fields: LogFields | undefined): string {
  if (!fields) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const s = typeof v === 'string' && /^[\w.:/@+-]*$/.test(v) ? v : escapeControl(JSON.stringify(v));
    parts.push(`${k}=${s}`);
  }
  return parts.length ? ' ' + parts.join(' ') : '';
}

/**
 * Open (append) the log file, created 0600; an existing one readable by group or others is
 * tightened to 0600 (it may hold account names and errors). A missing directory is a setting to fix.
 */
function openLogFile(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      code === 'ENOENT'
        ? `--log-file ${path}: its directory ${dirname(resolve(path))} does not exist → create it (\`mkdir -p ${dirname(resolve(path))}\`) or set another --log-file / ACCTCTL_LOG_FILE`
        : `--log-file ${path} cannot be opened (${code}) → make it writable by the user running acctctl, or set another --log-file / ACCTCTL_LOG_FILE`,
      { cause },
    );
  }
  if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
  return fd;
}

/**
 * Logs go to stderr (stdout is for results) and, with --log-file, to a file created mode 0600.
 * Every line is passed through the secret redactor.
 */
export function createLogger(opts: {
  level: LogLevel;
  file?: string | undefined;
  stderr?: (line: string) => void;
}): Logger {
  const write = opts.stderr ?? ((line: string) => process.stderr.write(line));
  let fd: number | undefined;
  if (opts.file) fd = openLogFile(opts.file);
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (rank[level] > rank[opts.level]) return;
    const line = redact(
      `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${escapeControl(message)}${formatFields(fields)}\n`,
    );
    write(line);
    if (fd !== undefined) writeSync(fd, line);
  };
  return {
    error: (m, f) => emit('error', m, f),
    warn: (m, f) => emit('warn', m, f),
    info: (m, f) => emit('info', m, f),
    debug: (m, f) => emit('debug', m, f),
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

export const silentLogger: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
  close: () => {},
};
