import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { generateKey, keyFileText, keyIdOf } from './keyring.js';

export interface GenerateResult {
  keyFile: string;
  keyId: string;
}

/** Create a new key file, mode 0600. Never overwrites: an existing key protects existing data. */
export function generateKeyFile(path: string): GenerateResult {
  const key = generateKey();
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new ConfigError(
        `${path} already exists and may protect stored secrets → keep it; use \`acctctl keys rotate\` to change keys, or --out another file`,
        { cause },
      );
    }
    throw new ConfigError(`cannot create ${path} → check the directory exists and is writable`, { cause });
  }
  try {
    writeSync(fd, keyFileText([key]));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { keyFile: path, keyId: keyIdOf(key) };
}
