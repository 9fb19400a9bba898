import { createRequire } from 'node:module';

type Otplib = typeof import('otplib');
let lib: Otplib | undefined;
const otplib = (): Otplib => (lib ??= createRequire(import.meta.url)('otplib') as Otplib);

export const TOTP_PERIOD_S = 30;

/**
 * The time whose code a login sends first: now, or a time in the next window when this one ends
 * within 3 s (the code could expire on the way).
 */
export function firstCodeTime(nowS: number): number {
  return TOTP_PERIOD_S - (nowS % TOTP_PERIOD_S) < 3 ? nowS + TOTP_PERIOD_S : nowS;
}

/**
 * After a refused code (for the time `triedS`): the start of the window after the one already
 * tried, never earlier than the window after now's, and how long to wait until it begins. A
 * first code taken from the next window (firstCodeTime) is thus never sent again for the retry.
 */
export function retryCodeTime(triedS: number, nowMs: number): { t: number; waitMs: number } {
  const after = (s: number) => Math.floor(s / TOTP_PERIOD_S + 1) * TOTP_PERIOD_S;
  const t = Math.max(after(triedS), after(nowMs / 1000));
  return { t, waitMs: Math.max(0, t * 1000 - nowMs) };
}

/** otplib's verdict on a secret, in words an operator can act on (null: fine). */
export async function checkTotpSecret(secret: string): Promise<string | null> {
  try {
    await otplib().generate({ secret, epoch: 0 });
    return null;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const short = /at least (\d+) bytes.*got (\d+) bytes/.exec(msg);
    if (short) {
      return `too short for otplib: ${short[2]} bytes, it needs at least ${short[1]} (${Math.ceil((Number(short[1]) * 8) / 5)} base32 characters) → use the full secret from Instagram's authenticator setup`;
    }
    if (/Base32/i.test(msg)) return 'not a base32 secret (letters A–Z and digits 2–7)';
    return `rejected by otplib (${msg.replace(/[A-Z2-7]{16,}/g, '…')})`;
  }
}

/** The code for the 30-second window containing `epochSeconds`. */
export async function totpCode(secret: string, epochSeconds: number): Promise<string> {
  return otplib().generate({ secret, epoch: epochSeconds });
}

export async function totpValid(secret: string, token: string, epochSeconds: number, window = 1): Promise<boolean> {
  for (let w = -window; w <= window; w++) {
    if ((await totpCode(secret, epochSeconds + w * TOTP_PERIOD_S)) === token) return true;
  }
  return false;
}
