import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/** This machine's name, as holder ids and the default email sender spell it. */
export function thisHost(): string {
  return hostname();
}

/**
 * Who holds a lease, claim or lock: `role@host:pid` (plus a random suffix when one process may
 * hold several at once). Written into the store so `status` can say which machine and process
 * has something, and so a lock left by a dead process on this host can be recognised. Every
 * holder id is built by holderId and read back by parseHolder: nothing else spells the format.
 */
export function holderId(role: string, opts: { unique?: boolean } = {}): string {
  const base = `${role}@${thisHost()}:${process.pid}`;
  return opts.unique ? `${base}:${randomBytes(4).toString('hex')}` : base;
}

export interface Holder {
  role: string;
  host: string;
  pid: number;
}

/** The parts of a holder id holderId built; null for any other text (`lease --holder NAME`). */
export function parseHolder(id: string): Holder | null {
  const m = /^([^@]+)@(.+?):(\d+)(?::[0-9a-f]{8})?$/.exec(id);
  return m ? { role: m[1]!, host: m[2]!, pid: Number(m[3]) } : null;
}

/** Whether a process of this machine is still running (EPERM: it is, under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The holder was a process of this host with this role that has gone: what it held may be taken
 * over. One on another host is never guessed about.
 */
export function holderGoneHere(id: string, role: string): boolean {
  const h = parseHolder(id);
  return h !== null && h.role === role && h.host === thisHost() && !processAlive(h.pid);
}
