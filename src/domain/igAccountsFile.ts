import { fail, ok, why, type ParseResult } from './result.js';
import { parseProxyUrl, type ProxySpec } from './proxyUrl.js';
import { validTenantName } from './tenants.js';

export interface IgAccountInput {
  tenant: string;
  username: string;
  password: string;
  totpSecret: string | null;
  sessionid: string | null;
  proxy: ProxySpec | null;
  priority: number;
}

const KNOWN = new Set(['tenant', 'username', 'password', 'totp_secret', 'sessionid', 'proxy', 'priority']);

/** Normalise a TOTP secret as authenticator apps show it (spaces, lower case). */
export function normaliseTotpSecret(s: string): string {
  return s.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
}

/**
 * Validate `ig import` JSON. `checkTotp` is otplib's own check (it rejects short secrets);
 * it returns an error message or null. Problems never quote a secret.
 */
export async function validateIgAccounts(
  data: unknown,
  checkTotp: (secret: string) => Promise<string | null>,
): Promise<ParseResult<IgAccountInput[]>> {
  if (!Array.isArray(data)) return { ok: false, problems: ['(top level): must be a JSON array of Instagram accounts'] };
  const problems: string[] = [];
  const rows: IgAccountInput[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of data.entries()) {
    const at = (f: string) => `[${i}].${f}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`[${i}]: must be an object`);
      continue;
    }
    const o = raw as Record<string, unknown>;
    const before = problems.length;
    for (const k of Object.keys(o)) if (!KNOWN.has(k)) problems.push(`${at(k)}: unknown field`);
    const tenant = o.tenant;
    if (typeof tenant !== 'string' || !validTenantName(tenant))
      problems.push(`${at('tenant')}: required, a tenant name`);
    const username = typeof o.username === 'string' ? o.username.trim().replace(/^@/, '').toLowerCase() : '';
    if (!/^[a-z0-9._]{1,30}$/.test(username)) problems.push(`${at('username')}: required, an Instagram username`);
    else if (seen.has(`${String(tenant)}/${username}`))
      problems.push(`${at('username')}: "${username}" repeats an earlier row`);
    seen.add(`${String(tenant)}/${username}`);
    if (typeof o.password !== 'string' || o.password.length === 0)
      problems.push(`${at('password')}: required, a non-empty string`);
    let totp: string | null = null;
    if (o.totp_secret !== undefined && o.totp_secret !== null && o.totp_secret !== '') {
      if (typeof o.totp_secret !== 'string')
        problems.push(`${at('totp_secret')}: must be the base32 secret as a string`);
      else {
        totp = normaliseTotpSecret(o.totp_secret);
        const why = await checkTotp(totp);
        if (why) problems.push(`${at('totp_secret')}: ${why}`);
      }
    }
    let sessionid: string | null = null;
    if (o.sessionid !== undefined && o.sessionid !== null && o.sessionid !== '') {
      if (typeof o.sessionid !== 'string' || !/^\d+(%3A|:)[^\s;]{10,}$/.test(o.sessionid)) {
        problems.push(`${at('sessionid')}: must look like <user id>%3A… (the sessionid cookie's value)`);
      } else sessionid = o.sessionid;
    }
    let proxy: ProxySpec | null = null;
    if (o.proxy !== undefined && o.proxy !== null && o.proxy !== '') {
      const r = typeof o.proxy === 'string' ? parseProxyUrl(o.proxy) : fail('must be a proxy URL string');
      if (r.ok) {
        if (r.value.scheme === 'mtproxy' || r.value.scheme === 'socks4')
          problems.push(`${at('proxy')}: a browser needs an http:// or socks5:// proxy`);
        else if (r.value.scheme === 'socks5' && r.value.password)
          problems.push(
            `${at('proxy')}: Chromium cannot authenticate to a SOCKS5 proxy → use an http:// proxy with a password, or SOCKS5 without one`,
          );
        else proxy = r.value;
      } else problems.push(`${at('proxy')}: ${why(r)}`);
    }
    const priority = o.priority === undefined ? 0 : o.priority;
    if (typeof priority !== 'number' || !Number.isInteger(priority)) problems.push(`${at('priority')}: a whole number`);
    if (problems.length === before) {
      rows.push({
        tenant: tenant as string,
        username,
        password: o.password as string,
        totpSecret: totp,
        sessionid,
        proxy,
        priority: priority as number,
      });
    }
  }
  if (data.length === 0) problems.push('(top level): the file holds no accounts');
  return problems.length ? { ok: false, problems } : ok(rows);
}
