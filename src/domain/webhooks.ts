import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks (https://www.standardwebhooks.com/): a secret is `whsec_` and the base64 of
 * 24 to 64 random bytes; each message carries `webhook-id` (the same on every retry),
 * `webhook-timestamp` (seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
 * keyed with the secret's bytes.
 */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** The key bytes of a `whsec_…` secret, or undefined when it is not one. */
export function webhookSecretKey(secret: string): Buffer | undefined {
  const s = secret.trim();
  if (!s.startsWith(WEBHOOK_SECRET_PREFIX)) return undefined;
  const b64 = s.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  const key = Buffer.from(b64, 'base64');
  return key.length >= 24 && key.length <= 64 ? key : undefined;
}

export function isWebhookSecret(secret: string): boolean {
  return webhookSecretKey(secret) !== undefined;
}

/** A new secret: 32 random bytes (`acctctl notify secret`). */
export function newWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** `v1,<signature>` for one message (the published recipe). */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = webhookSecretKey(secret);
  if (!key) throw new Error('not a whsec_ webhook secret');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

export const WEBHOOK_SECRET_HELP =
  'a Standard Webhooks secret (whsec_ and base64) → make one with `acctctl notify secret`';

/** A sink URL we can POST to: http(s), a host, no spaces. */
export function isWebhookUrl(url: string): boolean {
  if (/\s/.test(url)) return false;
  try {
    const u = new URL(url);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** What may be shown of a target URL: its scheme and host (the path and query may hold a token). */
export function targetLabel(target: string): string {
  try {
    const u = new URL(target);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'a malformed URL';
  }
}

/** A Telegram chat id as a notify target: -100…, a user id, or @channel. */
export const TELEGRAM_CHAT_ID = /^(-?\d+|@\w{4,})$/;

/** How a tenant's target is shown: a webhook by scheme and host, a chat by its id. */
export function notifyTargetLabel(target: string): string {
  return TELEGRAM_CHAT_ID.test(target) ? `telegram chat ${target}` : `webhook ${targetLabel(target)}`;
}
