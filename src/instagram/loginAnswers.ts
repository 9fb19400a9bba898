/**
 * What Instagram's login and 2FA answers mean (reference/instagram-web.md §1.4–1.6), shared by the
 * browser login (./browser.ts) and the HTTP fallback (./httpLogin.ts); and the error a browser
 * login throws when the browser itself failed. No I/O, no Playwright.
 */
import { UnavailableError } from '../errors.js';

export type Verdict =
  | { kind: 'logged_in' }
  | { kind: 'two_factor' }
  | { kind: 'checkpoint'; url: string }
  | { kind: 'bad_password' | 'rate_limited' | 'two_factor_failed' | 'error'; message: string };

/** An answer's JSON object, or null (no body, not JSON, not an object). */
export function parseAnswer(body: string | null): Record<string, unknown> | null {
  if (body === null) return null;
  try {
    const j = JSON.parse(body) as unknown;
    return j && typeof j === 'object' && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** What a login/2FA answer's JSON means (instaloader's login() branches, the web's messages). */
export function readAnswerJson(j: Record<string, unknown>, status: number, baseUrl: string): Verdict {
  const message = typeof j.message === 'string' ? j.message : '';
  if (j.authenticated === true && (j.status === undefined || j.status === 'ok')) return { kind: 'logged_in' };
  if (j.two_factor_required === true) return { kind: 'two_factor' };
  if (typeof j.checkpoint_url === 'string' || message === 'checkpoint_required' || message === 'challenge_required')
    return {
      kind: 'checkpoint',
      // The web answer names `checkpoint_url`; the mobile-style `challenge_required` its `challenge.url`.
      url: new URL(
        String(j.checkpoint_url ?? (j.challenge as { url?: unknown } | undefined)?.url ?? '/challenge/'),
        baseUrl,
      ).toString(),
    };
  if (j.authenticated === false)
    return {
      kind: 'bad_password',
      message: j.user === false ? "the username doesn't belong to an account" : 'Wrong password.',
    };
  return readMessage(message || `Instagram answered ${status} without a message`);
}

export function readMessage(msg: string): Verdict {
  if (/wait a few minutes|try again later/i.test(msg)) return { kind: 'rate_limited', message: msg };
  if (/password was incorrect|doesn.t belong to an account/i.test(msg)) return { kind: 'bad_password', message: msg };
  if (/security code|code is no longer valid|verification code/i.test(msg))
    return { kind: 'two_factor_failed', message: msg };
  return { kind: 'error', message: msg };
}

/**
 * Why a browser login could not be made, the browser's own fault (never Instagram's answer):
 * `missing` (no Chromium), `launch` (it would not start), `crash` (it or its page went away),
 * `timeout` (it did not do what was asked in time). `answered`: Instagram had already answered
 * the login (a password, 2FA or checkpoint answer) before it failed — then nothing may log in
 * again in another way.
 */
export type BrowserFailureReason = 'missing' | 'launch' | 'crash' | 'timeout';

export class BrowserLoginError extends UnavailableError {
  constructor(
    message: string,
    readonly reason: BrowserFailureReason,
    readonly answered: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The reason of a failure Playwright threw (its TimeoutError, a closed target, a failed launch). */
export function browserFailureReason(e: unknown, stage: 'launch' | 'login'): BrowserFailureReason {
  const name = e instanceof Error ? e.name : '';
  const msg = e instanceof Error ? e.message : String(e);
  if (name === 'TimeoutError' || /timeout .*exceeded/i.test(msg)) return 'timeout';
  if (stage === 'launch') return 'launch';
  return 'crash';
}
