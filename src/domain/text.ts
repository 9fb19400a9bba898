import { redact } from '../security/redact.js';
/**
 * Text from outside (account and group names, Telegram titles, lease holders, error messages)
 * can carry control characters: a terminal escape that moves the cursor or rewrites the title, a
 * newline that forges a log line, a bidi override that reorders what the operator reads. Every
 * table cell and log line shows them escaped (`\x1b`, `\n`, `\u202e`) instead.
 */
// C0 controls (newline and tab included), DEL, C1 controls, and the Unicode bidi controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeControl(text: string): string {
  return text.replace(CONTROL, (ch) => {
    const code = ch.charCodeAt(0);
    if (ch === '\n') return '\\n';
    if (ch === '\r') return '\\r';
    if (ch === '\t') return '\\t';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A Telegram bot token (`<bot id>:<35 characters>`), wherever it appears (a Bot API path, a description). */
const BOT_TOKEN = /\b\d{5,}:[A-Za-z0-9_-]{30,}/g;
/** `/bot<token>/method` as the Bot API writes it (any token shape). */
const BOT_PATH = /\/bot[^/\s"']+\//gi;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;
const WHSEC = /\bwhsec_[A-Za-z0-9+/=_-]+/g;
const CREDENTIAL_QUERY = /([?&][^=&\s#]*(?:pass|secret|token|auth|key|sig)[^=&\s#]*=)[^&\s#]+/gi;

/**
 * What may be stored as a `last_error` and shown from it (status, doctor, --json): registered
 * secrets, bot tokens, URL credentials and webhook secrets redacted, control characters escaped
 * (`escapeControl`, as logs do), at most 500 characters.
 */
export function scrubStoredError(text: string): string {
  const scrubbed = redact(text)
    .replace(BOT_PATH, '/bot[redacted]/')
    .replace(BOT_TOKEN, '[redacted]')
    .replace(URL_USERINFO, '$1[redacted]@')
    .replace(WHSEC, 'whsec_[redacted]')
    .replace(CREDENTIAL_QUERY, '$1[redacted]');
  return escapeControl(scrubbed).slice(0, 500);
}
