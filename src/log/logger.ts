import { closeSync, openSync, writeSync } from 'node:fs';
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
    const s = typeof v === 'string' && /^[\w.:/@+-]*$/.test(v) ? v : JSON.stringify(v);
    parts.push(`${k}=${s}`);
  }
  return parts.length ? ' ' + parts.join(' ') : '';
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
  if (opts.file) fd = openSync(opts.file, 'a', 0o600);
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (rank[level] > rank[opts.level]) return;
    const line = redact(
      `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}${formatFields(fields)}\n`,
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
