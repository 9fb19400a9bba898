/**
 * ACCTCTL_NOTIFY_SMTP_URL: `smtps://USER:PASSWORD@HOST[:PORT]` (TLS from the start, port 465) or
 * `smtp://[USER:PASSWORD@]HOST[:PORT]` (port 587, STARTTLS). The credentials live in the URL's
 * userinfo (percent-encoded); they are secrets: never printed, logged or stored.
 */
export interface SmtpTarget {
  host: string;
  port: number;
  /** smtps://: TLS from the first byte. */
  secure: boolean;
  /** smtp:// with credentials to a host that is not this one: STARTTLS is required (no password in clear). */
  requireTls: boolean;
  auth: { user: string; pass: string } | undefined;
  /** What may be shown: scheme, host and port, never the userinfo. */
  label: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/i;

export function parseSmtpUrl(url: string): SmtpTarget | undefined {
  if (/\s/.test(url)) return undefined;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || u.hostname === '') return undefined;
  if (u.pathname !== '' && u.pathname !== '/') return undefined;
  const secure = u.protocol === 'smtps:';
  const port = u.port ? Number(u.port) : secure ? 465 : 587;
  let auth: SmtpTarget['auth'];
  try {
    auth = u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined;
  } catch {
    return undefined;
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    secure,
    requireTls: !secure && auth !== undefined && !LOOPBACK.test(u.hostname),
    auth,
    label: `${u.protocol}//${u.host.includes(':') ? u.host : `${u.host}:${port}`}`,
  };
}

/** ACCTCTL_NOTIFY_EMAIL_TO: one or more addresses, comma-separated. */
export function parseEmailList(s: string): string[] | undefined {
  const list = s
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  return list.length > 0 && list.every((a) => /^[^\s@<>",]+@[^\s@<>",]+\.[^\s@<>",]+$/.test(a)) ? list : undefined;
}
