import { igAccountsFileSchema } from './files/igAccounts.js';
import { parseWithAsync } from './files/schema.js';
import type { ProxySpec } from './proxyUrl.js';
import { type ParseResult } from './result.js';

export interface IgAccountInput {
  tenant: string;
  username: string;
  password: string;
  totpSecret: string | null;
  sessionid: string | null;
  proxy: ProxySpec | null;
  priority: number;
}

/**
 * Validate `ig import` JSON against its schema (domain/files/igAccounts.ts): every problem at once,
 * with its path (`[3].proxy: …`), a username repeated within a tenant included. `checkTotp` is
 * otplib's own check (it rejects short secrets); it returns an error message or null. Problems never
 * quote a secret.
 */
export async function validateIgAccounts(
  data: unknown,
  checkTotp: (secret: string) => Promise<string | null>,
): Promise<ParseResult<IgAccountInput[]>> {
  const r = await parseWithAsync(igAccountsFileSchema(checkTotp), data);
  const repeats = repeatedUsernames(data);
  if (!r.ok || repeats.length > 0) return { ok: false, problems: byRow([...(r.ok ? [] : r.problems), ...repeats]) };
  return {
    ok: true,
    value: r.value.map((o) => ({
      tenant: o.tenant,
      username: o.username,
      password: o.password,
      totpSecret: o.totp_secret ?? null,
      sessionid: o.sessionid ?? null,
      proxy: o.proxy ?? null,
      priority: o.priority,
    })),
  };
}

/** `[i].username: "bob" repeats an earlier row` for every row naming a (tenant, username) seen before. */
function repeatedUsernames(data: unknown): string[] {
  if (!Array.isArray(data)) return [];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const [i, raw] of data.entries()) {
    const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (typeof o.username !== 'string') continue;
    const username = o.username.trim().replace(/^@/, '').toLowerCase();
    if (!/^[a-z0-9._]{1,30}$/.test(username)) continue;
    const key = `${String(o.tenant)}/${username}`;
    if (seen.has(key)) out.push(`[${i}].username: "${username}" repeats an earlier row`);
    seen.add(key);
  }
  return out;
}

/** Problems in file order: by row, the schema's order within a row kept. */
function byRow(problems: string[]): string[] {
  const row = (p: string) => Number(/^\[(\d+)\]/.exec(p)?.[1] ?? -1);
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => row(a.p) - row(b.p) || a.i - b.i)
    .map((x) => x.p);
}
