import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { registerSecret } from './redact.js';

export const KEY_BYTES = 32;

/** The keys acctctl can decrypt with; the primary one encrypts. Key ids are derived from the key. */
export interface KeyRing {
  readonly primaryId: string;
  readonly keys: ReadonlyMap<string, Buffer>;
  readonly source: { kind: 'file'; path: string } | { kind: 'env' };
}

export function keyIdOf(key: Buffer): string {
  return 'k' + createHash('sha256').update('acctctl-key-id').update(key).digest('hex').slice(0, 12);
}

export function generateKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

/** One base64 key per line (or comma-separated); `#` starts a comment; the first key is primary. */
export function parseKeyMaterial(text: string, where: string): Buffer[] {
  const keys: Buffer[] = [];
  const tokens = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .flatMap((l) => l.split(','))
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  tokens.forEach((t, i) => {
    const buf = /^[A-Za-z0-9+/_-]+={0,2}$/.test(t) ? Buffer.from(t, 'base64') : Buffer.alloc(0);
    if (buf.length !== KEY_BYTES) {
      throw new ConfigError(
        `${where}: key #${i + 1} is not ${KEY_BYTES} bytes of base64 → create one with \`acctctl keys generate\``,
      );
    }
    keys.push(buf);
  });
  if (keys.length === 0) {
    throw new ConfigError(`${where} holds no key → create one with \`acctctl keys generate\``);
  }
  return keys;
}

function ringOf(keys: Buffer[], source: KeyRing['source']): KeyRing {
  const map = new Map<string, Buffer>();
  for (const k of keys) {
    registerSecret(k);
    registerSecret(k.toString('base64'));
    map.set(keyIdOf(k), k);
  }
  return { primaryId: keyIdOf(keys[0]!), keys: map, source };
}

export function loadKeyRing(opts: { keyFile: string; secretKeyEnv: string | undefined }): KeyRing {
  if (opts.secretKeyEnv !== undefined) {
    return ringOf(parseKeyMaterial(opts.secretKeyEnv, 'ACCTCTL_SECRET_KEY'), { kind: 'env' });
  }
  let st;
  try {
    st = statSync(opts.keyFile);
  } catch (cause) {
    throw new ConfigError(
      `no secret key: ${opts.keyFile} does not exist → run \`acctctl keys generate\` (or set ACCTCTL_KEY_FILE / ACCTCTL_SECRET_KEY)`,
      { cause },
    );
  }
  assertPrivateFile(opts.keyFile, st.mode);
  let text: string;
  try {
    text = readFileSync(opts.keyFile, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(
      `cannot read the key file ${opts.keyFile} (${code}) → run acctctl as the user that owns it, or fix its owner and mode (\`chown "$(id -un)" ${opts.keyFile} && chmod 600 ${opts.keyFile}\`)`,
      { cause },
    );
  }
  return ringOf(parseKeyMaterial(text, opts.keyFile), { kind: 'file', path: opts.keyFile });
}

export function assertPrivateFile(path: string, mode: number): void {
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `key file ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)}) → run \`chmod 600 ${path}\``,
    );
  }
}

export function keyFileText(keys: Buffer[]): string {
  return (
    '# acctctl secret keys, one per line; the first encrypts, the others only decrypt.\n' +
    '# Keep this file private (mode 0600) and backed up: without it the stored secrets are lost.\n' +
    keys.map((k) => k.toString('base64')).join('\n') +
    '\n'
  );
}

/** Write the key file atomically (temp file, fsync, rename), mode 0600. */
export function writeKeyFile(path: string, keys: Buffer[]): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, keyFileText(keys));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

/** Keys in file order, primary first. */
export function orderedKeys(ring: KeyRing): Buffer[] {
  const primary = ring.keys.get(ring.primaryId)!;
  return [primary, ...[...ring.keys.values()].filter((k) => k !== primary)];
}
