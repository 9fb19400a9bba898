import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { LeaseLostError } from '../../src/errors.js';
import { AccountManager } from '../../src/fleet/accountManager.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { snapshot } from '../support/snapshot.js';

const HOLDER = fileURLToPath(new URL('../support/hold-worker.mjs', import.meta.url));
const TTL = 30_000;

describe.each(DIALECTS)('a holder killed with SIGKILL on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 4);

  it.skipIf(skip)('after the TTL, recover frees its leases; its late release changes nothing', async () => {
    const child = spawn(process.execPath, [HOLDER, f.t.url, '3', String(TTL)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const tokens = await new Promise<string[]>((resolve) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as string[]);
      });
    });
    expect(tokens).toHaveLength(3);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));

    const held = await f.store.db
      .selectFrom('telegram_accounts')
      .select('session_name')
      .where('lease_holder', 'is not', null)
      .execute();
    expect(held).toHaveLength(3);
    // Before the TTL nothing is freed: the holder might only be slow.
    const early = new AccountManager({ store: f.store, clock: new FakeClock(Date.now()) });
    expect((await early.recover()).leasesFreed).toEqual([]);
    // After it (simulated time), recover frees all three.
    const later = new FakeClock(Date.now() + TTL + 1000);
    const fleet = new AccountManager({ store: f.store, clock: later });
    expect((await fleet.recover()).leasesFreed.sort()).toEqual(held.map((h) => h.session_name).sort());
    expect(
      await f.store.db.selectFrom('telegram_accounts').select('id').where('lease_holder', 'is not', null).execute(),
    ).toEqual([]);

    // The killed holder's late release, with its own token: refused, nothing changes. (A late
    // report-error is recorded on the account: test/store/accountManager.test.ts.)
    const before = await snapshot(f.store);
    for (const token of tokens) {
      await expect(fleet.release(token, { used: { invite: 1 } })).rejects.toBeInstanceOf(LeaseLostError);
    }
    const cli = await runCli(['release', tokens[0]!, '--used', 'invite=1'], { env: f.env });
    expect(cli.code).toBe(75);
    expect(cli.stderr).toMatch(/no longer held .* nothing was changed/);
    expect(await snapshot(f.store)).toBe(before);

    // A new holder gets the accounts back, with a higher fencing token.
    const r = await fleet.lease({ action: 'invite', holder: 'new', ttlMs: TTL });
    expect(r.ok).toBe(true);
    if (r.ok) {
      const old = tokens.find((tk) => tk.split('.')[0] === String(r.lease.accountId));
      if (old) expect(Number(r.lease.token.split('.')[1])).toBeGreaterThan(Number(old.split('.')[1]));
    }
  });
});
