import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

/** The registry is the process's own: each test gets a fresh copy of the module (nothing registered). */
async function fresh(): Promise<typeof import('../../src/security/redact.js')> {
  vi.resetModules();
  return import('../../src/security/redact.js');
}

describe('redact', () => {
  it('scrubs every form of every registered secret, longest first, however many share a prefix', async () => {
    const { redact, registerSecret } = await fresh();
    // String sessions share their first characters (version, DC, address): 20,000 of them.
    const header = '1AgAOMTQ5LjE1NC4xNjcuNTEBu';
    const sessions = Array.from({ length: 20_000 }, () => header + randomBytes(255).toString('base64'));
    for (const s of sessions) registerSecret(s);
    const key = randomBytes(32);
    registerSecret(key);
    const pick = sessions[12_345]!;
    const text = `a ${pick} b ${Buffer.from(pick).toString('hex')} c ${key.toString('base64url')} d ${header} e`;
    const out = redact(text);
    expect(out).toBe('a [redacted] b [redacted] c [redacted] d ' + header + ' e');
    expect(redact('nothing secret here')).toBe('nothing secret here');
    // A longer secret that starts with a shorter one is redacted whole.
    registerSecret('abcdefgh');
    registerSecret('abcdefgh-and-more');
    expect(redact('x abcdefgh-and-more y abcdefgh z')).toBe('x [redacted] y [redacted] z');
  });

  it('ignores values too short to be secrets, and does nothing when none are registered', async () => {
    const { redact, registerSecret } = await fresh();
    expect(redact('abcdefgh')).toBe('abcdefgh');
    registerSecret('abc');
    expect(redact('abc abc')).toBe('abc abc');
    registerSecret('abcdefgh');
    expect(redact('x abcdefgh')).toBe('x [redacted]');
  });
});

describe('forgetSecrets', () => {
  it('forgets every registered secret, as a new process starts (the in-process CLI runner relies on it)', async () => {
    const { forgetSecrets, redact, registerSecret } = await fresh();
    const secret = 'a-secret-' + randomBytes(12).toString('hex');
    registerSecret(secret);
    expect(redact(`x ${secret} y`)).toBe('x [redacted] y');
    forgetSecrets();
    expect(redact(`x ${secret} y`)).toBe(`x ${secret} y`);
    registerSecret(secret);
    expect(redact(`x ${secret} y`)).toBe('x [redacted] y');
  });
});
