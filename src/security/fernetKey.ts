import { ConfigError } from '../errors.js';
import { registerSecret } from './redact.js';

/** A Fernet key file: one url-safe base64 key of 32 bytes (`#` comments allowed). */
export function parseKeyMaterialFernet(text: string, where: string): string {
  const key = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*$/, '').trim())
    .find((l) => l.length > 0);
  if (!key || Buffer.from(key, 'base64url').length !== 32) {
    throw new ConfigError(
      `${where} does not hold a Fernet key (32 bytes, url-safe base64) → use the old system's key file`,
    );
  }
  registerSecret(key);
  return key;
}
