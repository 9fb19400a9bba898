import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * Who holds a lease, claim or lock: `role@host:pid` (plus a random suffix when one process may
 * hold several at once). Written into the store so `status` can say which machine and process
 * has something, and so a lock left by a dead process on this host can be recognised.
 */
export function holderId(role: string, opts: { unique?: boolean } = {}): string {
  const base = `${role}@${hostname()}:${process.pid}`;
  return opts.unique ? `${base}:${randomBytes(4).toString('hex')}` : base;
}
