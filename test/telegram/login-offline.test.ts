import { describe, expect, it } from 'vitest';
import { loginAccount } from '../../src/commands/login.js';
import { FakeClock } from '../../src/domain/clock.js';
import { ExitCode, UnavailableError } from '../../src/errors.js';
import { gramLogin } from '../../src/telegram/gramjs.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';
import { closedPort } from '../support/socks.js';

/** `accounts login` without a network: the real gramjs connect fails → 69 with the fix, nothing stored. */
describe.each(DIALECTS)('accounts login without network on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);

  it.skipIf(dialect.skip)(
    'exits 69 (unavailable) saying to check the network; asks nothing, stores nothing',
    async () => {
      const port = await closedPort();
      const asked: string[] = [];
      const err = await loginAccount(
        {
          store: f.store,
          box: boxFor(f.env),
          clock: new FakeClock(),
          login: (s, cb) => gramLogin(s, cb, { dcOverride: { host: '127.0.0.1', port }, connectTimeoutMs: 10_000 }),
          ask: async (q) => (asked.push(q), '12345'),
          askHidden: async (q) => (asked.push(q), 'pw'),
          warn: () => {},
        },
        { phone: '+15551234567', apiId: 1, apiHash: '0123456789abcdef0123456789abcdef' },
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as UnavailableError).exitCode).toBe(ExitCode.UNAVAILABLE);
      expect((err as Error).message).toMatch(/cannot reach Telegram .*→ check the network/);
      expect(asked).toEqual([]);
      expect(await f.store.db.selectFrom('telegram_accounts').selectAll().execute()).toEqual([]);
    },
  );
});
