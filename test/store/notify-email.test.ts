import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NotifyConfig } from '../../src/config/config.js';
import { FakeClock } from '../../src/domain/clock.js';
import { notify } from '../../src/fleet/notify.js';
import { silentLogger } from '../../src/log/logger.js';
import { sinkHealth } from '../../src/store/deliveries.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS } from '../support/dialects.js';
import { startSmtp } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';

const T0 = Date.parse('2026-12-02T09:00:00Z');
const MIN = 60_000;
const USER = 'alerts@example.org';
const PASS = 'Sm7p-p@ss/w0rd:with%chars';

async function addEvent(store: Store, kind: string, message: string, at = T0): Promise<void> {
  await store.db
    .insertInto('events')
    .values({ at, kind, subject_type: 'fleet', subject_id: null, tenant_id: null, message, data_json: null })
    .execute();
}

/** A quoted-printable body as text. */
function decoded(raw: string): string {
  const bytes = raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

/** Everything the store holds as text, to look for the password in. */
async function storeText(store: Store): Promise<string> {
  const parts = await Promise.all(
    (['events', 'deliveries', 'settings'] as const).map(async (t) =>
      JSON.stringify(await store.db.selectFrom(t).selectAll().execute()),
    ),
  );
  return parts.join('\n');
}

/** Issue 26 item 2: critical alerts by email, through the outbox, against a loopback SMTP server. */
describe.each(DIALECTS)('email alerts on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  let refuse: { code: 451 | 554; message: string } | undefined;
  let clock: FakeClock;
  beforeAll(async () => {
    smtp = await startSmtp({ user: USER, pass: PASS, refuse: () => refuse });
  });
  afterAll(async () => smtp.close());
  beforeEach(() => {
    smtp.received.length = 0;
    refuse = undefined;
    clock = new FakeClock(T0);
  });
  const url = (pass = PASS) => `smtp://${encodeURIComponent(USER)}:${encodeURIComponent(pass)}@127.0.0.1:${smtp.port}`;
  const config = (over: Partial<NonNullable<NotifyConfig['email']>> = {}): NotifyConfig => ({
    minSeverity: 'warning',
    webhook: undefined,
    telegram: undefined,
    telegramApiUrl: 'http://127.0.0.1:9',
    email: {
      smtpUrl: url(),
      to: ['ops@example.org', 'oncall@example.org'],
      from: USER,
      minSeverity: 'critical',
      ...over,
    },
  });
  const run = (over: Partial<NonNullable<NotifyConfig['email']>> = {}) =>
    notify({ store: f.store, clock, config: config(over), log: silentLogger, timeoutMs: 10_000 });

  it.skipIf(dialect.skip)(
    'a critical alert is mailed once (authenticated), warnings and info are not (default minimum: critical)',
    async () => {
      await addEvent(f.store, 'account_needs_person', 'acc_1: frozen → appeal');
      await addEvent(f.store, 'ig_session_old', 'session is 6 days old');
      await addEvent(f.store, 'ig_refreshed', 'refreshed');
      const r = await run();
      expect(r).toMatchObject({ delivered: 1, failed: 0 });
      expect(r.sinks).toEqual([
        expect.objectContaining({
          sink: 'email',
          label: `email to ops@example.org, oncall@example.org via smtp://127.0.0.1:${smtp.port}`,
          delivered: 1,
        }),
      ]);
      expect(smtp.received).toHaveLength(1);
      const [m] = smtp.received;
      expect(m).toMatchObject({ from: USER, to: ['ops@example.org', 'oncall@example.org'], user: USER });
      expect(m!.raw).toMatch(/^Subject: \[acctctl\] CRITICAL account_needs_person/m);
      expect(decoded(m!.raw)).toContain('acc_1: frozen → appeal');
      expect(m!.raw).toMatch(/^Date: Wed, 02 Dec 2026 09:00:00 \+0000/m); // the run's clock
      expect(m!.raw).not.toContain('session is 6 days old');
      // Again: nothing is mailed twice.
      clock.advance(5 * MIN);
      expect((await run()).delivered).toBe(0);
      expect(smtp.received).toHaveLength(1);
      expect(m!.raw).not.toContain(PASS);
      expect(await storeText(f.store)).not.toContain(PASS);
    },
  );

  it.skipIf(dialect.skip)(
    'a relay that is down (451) leaves the alert in the outbox; a later run delivers it once; many alerts are one email',
    async () => {
      refuse = { code: 451, message: 'Try again later' };
      await addEvent(f.store, 'fleet_unhealthy', 'healthy share below 80%');
      await addEvent(f.store, 'ig_failed', 'acme/brand: wrong password');
      const r1 = await run();
      expect(r1).toMatchObject({ delivered: 0, failed: 2 });
      expect(r1.sinks[0]!.error).toMatch(/^SMTP EMESSAGE 451: .*Try again later/);
      const [health] = await sinkHealth(f.store);
      expect(health).toMatchObject({ sink: 'email', pending: 2, dead: 0 });
      expect(health!.lastError).toMatch(/451/);
      // Before its back-off passes nothing is tried again.
      refuse = undefined;
      expect((await run()).delivered).toBe(0);
      expect(smtp.received).toHaveLength(0);
      clock.advance(2 * MIN);
      const r2 = await run();
      expect(r2).toMatchObject({ delivered: 2, failed: 0 });
      expect(smtp.received).toHaveLength(1);
      expect(smtp.received[0]!.raw).toMatch(/^Subject: \[acctctl\] 2 alerts \(2 critical\)/m);
      expect(smtp.received[0]!.raw).toContain('healthy share below 80%');
      expect(smtp.received[0]!.raw).toContain('acme/brand: wrong password');
      clock.advance(10 * MIN);
      expect((await run()).delivered).toBe(0);
      expect(smtp.received).toHaveLength(1);
    },
  );

  it.skipIf(dialect.skip)(
    'a wrong password: the sink fails (535, retried later), and the password is in no error, event or delivery',
    async () => {
      const wrong = 'Wr0ng-Secret-Pass';
      await addEvent(f.store, 'ig_needs_manual', 'acme/brand: checkpoint');
      const authFailedBefore = smtp.attempts.authFailed;
      const r = await run({ smtpUrl: url(wrong) });
      expect(r).toMatchObject({ delivered: 0, failed: 1 });
      expect(smtp.attempts.authFailed).toBe(authFailedBefore + 1);
      expect(r.sinks[0]!.error).toMatch(/^SMTP EAUTH 535/);
      expect(JSON.stringify(r)).not.toContain(wrong);
      expect(await storeText(f.store)).not.toContain(wrong);
      expect(await storeText(f.store)).not.toContain(encodeURIComponent(wrong));
      // The right password later: the same alert goes out.
      clock.advance(2 * MIN);
      expect((await run()).delivered).toBe(1);
      expect(smtp.received).toHaveLength(1);
    },
  );
});
