import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeStringSession } from '../../src/domain/stringSession.js';
import { generateKeyFile } from '../../src/security/keyFiles.js';

export interface AccountFixture {
  session_name: string;
  api_id: number;
  api_hash: string;
  string_session: string;
  proxy?: string;
  tenant?: string;
  phone?: string;
}

export function makeSession(seed = randomBytes(256)): string {
  return encodeStringSession({ dcId: 2, serverAddress: '149.154.167.51', port: 443, authKey: seed });
}

export function makeAccounts(n: number, opts: { tenant?: string; withProxy?: boolean } = {}): AccountFixture[] {
  return Array.from({ length: n }, (_, i) => ({
    session_name: `acc_${String(i).padStart(5, '0')}`,
    api_id: 100000 + i,
    api_hash: randomBytes(16).toString('hex'),
    string_session: makeSession(),
    ...(opts.withProxy
      ? { proxy: `socks5://u${i}:${randomBytes(9).toString('base64url')}@127.0.0.1:${2000 + (i % 1000)}` }
      : {}),
    ...(opts.tenant ? { tenant: opts.tenant } : {}),
  }));
}

export function writeJson(dir: string, name: string, data: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(data, null, 2));
  return p;
}

/** A key file in `dir`, mode 0600. */
export function makeKey(dir: string): string {
  const p = join(dir, 'acctctl.key');
  generateKeyFile(p);
  return p;
}
