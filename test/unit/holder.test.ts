import { readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { holderGoneHere, holderId, parseHolder } from '../../src/fleet/holder.js';

/** Issue 25 point 21: holder ids are built (and read back) in one helper. */
const SRC = resolve(__dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

describe('holder ids', () => {
  it('only src/fleet/holder.ts asks for the host name or spells role@host:pid', () => {
    const others = files(SRC)
      .filter((f) => !f.endsWith(join('fleet', 'holder.ts')))
      .filter((f) => /\bhostname\(\)|@\$\{hostname|@\(\.\+\):\(\\d\+\)/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(others).toEqual([]);
  });

  it('parseHolder reads back what holderId builds, unique or not; other names are not holders', () => {
    expect(parseHolder(holderId('keys-rotate'))).toEqual({ role: 'keys-rotate', host: hostname(), pid: process.pid });
    expect(parseHolder(holderId('notify', { unique: true }))).toEqual({
      role: 'notify',
      host: hostname(),
      pid: process.pid,
    });
    expect(parseHolder('worker-7')).toBeNull();
    // A random suffix that happens to be all digits is still the suffix, never read as the pid.
    expect(parseHolder('notify@h:123:12345678')).toEqual({ role: 'notify', host: 'h', pid: 123 });
    expect(parseHolder('k@h.x:9:abcdef01')).toEqual({ role: 'k', host: 'h.x', pid: 9 });
  });

  it('a holder of this host whose process is gone may be taken over; a live one or another host’s never', () => {
    expect(holderGoneHere(holderId('keys-rotate'), 'keys-rotate')).toBe(false); // this process
    expect(holderGoneHere(`keys-rotate@${hostname()}:999999999`, 'keys-rotate')).toBe(true);
    expect(holderGoneHere('keys-rotate@some-other-host:999999999', 'keys-rotate')).toBe(false);
    expect(holderGoneHere(`join@${hostname()}:999999999`, 'keys-rotate')).toBe(false);
  });
});
