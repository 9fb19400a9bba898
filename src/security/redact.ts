/**
 * A process-wide list of secret values that must never be printed. Every secret acctctl reads
 * (from an import file, the key file or a decrypted column) is registered here, and every line
 * the logger or the error printer writes passes through `redact()`. This is defence in depth:
 * the code is written never to format a secret in the first place.
 */
const MIN_LENGTH = 6;

/*
 * Registered forms are kept as fingerprints, not strings. A bulk import registers hundreds of thousands of
 * secrets (each in four encodings); as strings they cost ~2 KB an account and `redact` looped over
 * all of them for every line. Now memory is a few dozen bytes a form and `redact` costs one index
 * lookup per character of output, whatever the number of secrets. (A hash collision can only
 * redact too much, never too little.)
 *
 * Three flat sets: the first MIN_LENGTH characters of every form, the lengths forms have, and a
 * fingerprint of (length, first characters). Flat sets of short strings and numbers cost a few
 * dozen bytes a form.
 */
const prefixes = new Set<string>();
const lengths = new Set<number>();
const fingerprints = new Set<number>();
let forms = 0;

/**
 * A form is recognised by its length and a hash of its first FINGERPRINT characters: text that
 * starts like a secret for that many characters is redacted for the secret's whole length.
 */
const FINGERPRINT = 48;

/** A 53-bit fingerprint of s[start, end): FNV-1a and a multiplicative hash, combined. */
function fingerprint(s: string, start: number, end: number): number {
  let a = 0x811c9dc5;
  let b = 7;
  for (let i = start; i < end; i++) {
    const ch = s.charCodeAt(i);
    a = Math.imul(a ^ ch, 0x01000193);
    b = (Math.imul(b, 31) + ch) | 0;
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) & 0x1fffff);
}

/** Length and fingerprint in one safe integer (a collision can only redact too much). */
const keyOf = (len: number, fp: number) => (fp + len * 0x9e3779b1) % Number.MAX_SAFE_INTEGER;

function addForm(f: string): void {
  prefixes.add(f.slice(0, MIN_LENGTH));
  lengths.add(f.length);
  const k = keyOf(f.length, fingerprint(f, 0, Math.min(f.length, FINGERPRINT)));
  if (!fingerprints.has(k)) {
    fingerprints.add(k);
    forms++;
  }
}

export function registerSecret(value: string | Buffer | undefined | null): void {
  if (value === undefined || value === null) return;
  const found: string[] = [];
  if (typeof value === 'string') {
    if (value.length < MIN_LENGTH) return;
    found.push(value);
    const buf = Buffer.from(value, 'utf8');
    found.push(buf.toString('base64'), buf.toString('base64url'), buf.toString('hex'));
  } else {
    if (value.length < 4) return;
    found.push(value.toString('base64'), value.toString('base64url'), value.toString('hex'));
  }
  for (const f of found) {
    const trimmed = f.replace(/=+$/, '');
    if (trimmed.length >= MIN_LENGTH) addForm(trimmed);
  }
}

/**
 * Forget every registered secret, as a new process starts. For a host that runs several commands
 * in one process (the in-process test runner, test/support/cli.ts): without it a secret read by
 * one run would be redacted in the next even when that run never read it, hiding a leak.
 */
export function forgetSecrets(): void {
  prefixes.clear();
  lengths.clear();
  fingerprints.clear();
  forms = 0;
}

/** Every registered secret in `text` (any of its forms) becomes `[redacted]`, longest match first. */
export function redact(text: string): string {
  if (forms === 0 || text.length < MIN_LENGTH) return text;
  let out = '';
  let last = 0;
  for (let i = 0; i + MIN_LENGTH <= text.length; i++) {
    if (!prefixes.has(text.slice(i, i + MIN_LENGTH))) continue;
    let best = 0;
    for (const len of lengths) {
      if (len <= best || i + len > text.length) continue;
      if (fingerprints.has(keyOf(len, fingerprint(text, i, i + Math.min(len, FINGERPRINT))))) best = len;
    }
    if (best > 0) {
      out += text.slice(last, i) + '[redacted]';
      last = i + best;
      i = last - 1;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

/** Query parameters of a connection URL that carry a credential (password, sslpassword, token…). */
const CREDENTIAL_PARAM = /pass|secret|token|auth/i;

/** Every credential-bearing part of a URL (the password, and credential query parameters). */
export function urlCredentials(url: string): string[] {
  try {
    const u = new URL(url);
    const out: string[] = [];
    if (u.password) out.push(decodeURIComponent(u.password), u.password);
    for (const [k, v] of u.searchParams) if (CREDENTIAL_PARAM.test(k) && v) out.push(v, encodeURIComponent(v));
    return out;
  } catch {
    return [];
  }
}

/**
 * A URL safe to print: its password and credential query parameters (`?password=…`) replaced by
 * `***`. An unparseable URL is not printed at all.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (CREDENTIAL_PARAM.test(k)) u.searchParams.set(k, '***');
    return u.toString();
  } catch {
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1] ?? 'postgres';
    return `${scheme}://…`;
  }
}
