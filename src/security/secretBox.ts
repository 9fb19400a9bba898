import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ConfigError, DataError } from '../errors.js';
import { loadKeyRing, type KeyRing } from './keyring.js';
import { registerSecret } from './redact.js';

/** Where a secret lives. The ciphertext is bound to it: copied elsewhere it fails to decrypt. */
export interface SecretRef {
  table: string;
  column: string;
  rowId: number | string;
}

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

function aad(ref: SecretRef, keyId: string): Buffer {
  return Buffer.from(`acctctl/${VERSION}|${ref.table}|${ref.column}|${String(ref.rowId)}|${keyId}`);
}

/**
 * Stored form: `v1.<keyId>.<base64url(iv ‖ ciphertext ‖ tag)>` — AES-256-GCM.
 *
 * A box made with `reload` (SecretBox.fromKeys on a key file) follows the key file while the
 * process runs: `refresh()` reads it again (every sealing transaction does, see store/secrets.ts
 * `sealingTx`, so a secret is sealed with the key that is primary when it is written, not when the
 * process started), and `open` reads it again once when it meets a key id it does not hold (a
 * rotation by another process re-encrypted the row under a newer key).
 */
export class SecretBox {
  constructor(
    private ring: KeyRing,
    private readonly reload?: () => KeyRing,
  ) {}

  /** The box for the configured keys; with a key file, it re-reads the file when asked. */
  static fromKeys(opts: { keyFile: string; secretKeyEnv: string | undefined }): SecretBox {
    const ring = loadKeyRing(opts);
    return ring.source.kind === 'file' ? new SecretBox(ring, () => loadKeyRing(opts)) : new SecretBox(ring);
  }

  /** Read the key file again (no-op for keys from ACCTCTL_SECRET_KEY or a fixed ring). */
  refresh(): void {
    if (this.reload) this.ring = this.reload();
  }

  get primaryKeyId(): string {
    return this.ring.primaryId;
  }

  hasKey(keyId: string): boolean {
    return this.ring.keys.has(keyId);
  }

  seal(plaintext: string, ref: SecretRef): string {
    registerSecret(plaintext);
    const keyId = this.ring.primaryId;
    const key = this.ring.keys.get(keyId)!;
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad(ref, keyId));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return `${VERSION}.${keyId}.${Buffer.concat([iv, ct, c.getAuthTag()]).toString('base64url')}`;
  }

  open(stored: string, ref: SecretRef): string {
    const where = `${ref.table}.${ref.column} of row ${String(ref.rowId)}`;
    const parts = stored.split('.');
    if (parts.length !== 3 || parts[0] !== VERSION) {
      throw new DataError(`${where} is not an acctctl ciphertext → re-import that secret`);
    }
    const keyId = parts[1]!;
    if (!this.ring.keys.has(keyId)) this.refresh();
    const key = this.ring.keys.get(keyId);
    if (!key) {
      throw new ConfigError(
        `${where} was encrypted with key ${keyId}, which is not in the key ring → restore the key file that holds it`,
      );
    }
    const raw = Buffer.from(parts[2]!, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) {
      throw new DataError(`${where} is truncated → re-import that secret`);
    }
    try {
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      d.setAAD(aad(ref, keyId));
      d.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const pt = Buffer.concat([d.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), d.final()]).toString('utf8');
      registerSecret(pt);
      return pt;
    } catch (cause) {
      throw new DataError(
        `${where} failed authentication (tampered, or copied from another row) → re-import that secret`,
        { cause },
      );
    }
  }

  static keyIdOf(stored: string): string | undefined {
    const parts = stored.split('.');
    return parts.length === 3 ? parts[1] : undefined;
  }
}
