/**
 * A process-wide list of secret values that must never be printed. Every secret acctctl reads
 * (from an import file, the key file or a decrypted column) is registered here, and every line
 * the logger or the error printer writes passes through `redact()`. This is defence in depth:
 * the code is written never to format a secret in the first place.
 */
const secrets = new Set<string>();
const MIN_LENGTH = 6;

export function registerSecret(value: string | Buffer | undefined | null): void {
  if (value === undefined || value === null) return;
  const forms: string[] = [];
  if (typeof value === 'string') {
    if (value.length < MIN_LENGTH) return;
    forms.push(value);
    const buf = Buffer.from(value, 'utf8');
    forms.push(buf.toString('base64'), buf.toString('base64url'), buf.toString('hex'));
  } else {
    if (value.length < 4) return;
    forms.push(value.toString('base64'), value.toString('base64url'), value.toString('hex'));
  }
  for (const f of forms) {
    const trimmed = f.replace(/=+$/, '');
    if (trimmed.length >= MIN_LENGTH) secrets.add(trimmed);
  }
}

export function redact(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  }
  return out;
}

/** For tests only. */
export function clearRegisteredSecrets(): void {
  secrets.clear();
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
