import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { startSmtp } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';

const USER = 'alerts@example.org';
const PASS = 'Cli-Smtp-P@ss:word/42';
const WRONG = 'Not-The-Right-One-99';

/** Issue 26 item 2 from the shell: the SMTP credentials are never printed, logged or stored. */
describe.each(DIALECTS)('email alerts from the CLI on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);
  let smtp: Awaited<ReturnType<typeof startSmtp>>;
  beforeAll(async () => {
    smtp = await startSmtp({ user: USER, pass: PASS });
  });
  afterAll(async () => smtp.close());
  const url = (pass: string) => `smtp://${encodeURIComponent(USER)}:${encodeURIComponent(pass)}@127.0.0.1:${smtp.port}`;
  const leaks = (text: string, pass: string) =>
    [pass, encodeURIComponent(pass), Buffer.from(pass).toString('base64')].filter((p) => text.includes(p));

  it.skipIf(dialect.skip)(
    'notify, doctor and events never show the password (wrong or right); a bad URL is named, not shown',
    async () => {
      await f.store.db
        .insertInto('events')
        .values({
          at: Date.now(),
          kind: 'fleet_unhealthy',
          subject_type: 'fleet',
          subject_id: null,
          tenant_id: null,
          message: 'healthy share below 80%',
          data_json: null,
        })
        .execute();
      const env = (pass: string) => ({
        ...f.env,
        ACCTCTL_NOTIFY_SMTP_URL: url(pass),
        ACCTCTL_NOTIFY_EMAIL_TO: 'ops@example.org',
        ACCTCTL_LOG_LEVEL: 'debug',
      });
      const failed = await runCli(['notify'], { env: env(WRONG) });
      expect(failed.code, failed.stderr).toBe(0);
      expect(failed.stdout).toContain(
        `email to ops@example.org via smtp://127.0.0.1:${smtp.port}: 0 delivered, 1 failed`,
      );
      expect(failed.stdout).toMatch(/SMTP EAUTH 535/);
      expect(leaks(failed.stdout + failed.stderr, WRONG)).toEqual([]);

      const doctor = await runCli(['doctor'], { env: env(WRONG) });
      expect(doctor.stdout).toMatch(/email: 1 pending, 0 given up, last error SMTP EAUTH 535/);
      expect(leaks(doctor.stdout + doctor.stderr, WRONG)).toEqual([]);

      // Its back-off (1 min) passes, as the next cron run would find it.
      await f.store.db.updateTable('deliveries').set({ next_attempt_at: 0 }).execute();
      const ok = await runCli(['notify', '--json'], { env: env(PASS) });
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ delivered: 1, failed: 0 });
      expect(smtp.received).toHaveLength(1);
      const doctorOk = await runCli(['doctor'], { env: env(PASS) });
      expect(doctorOk.stdout).toContain(
        `email to ops@example.org via smtp://127.0.0.1:${smtp.port} (min severity critical)`,
      );
      const events = await runCli(['events', '--json'], { env: env(PASS) });
      for (const r of [ok, doctorOk, events]) expect(leaks(r.stdout + r.stderr, PASS)).toEqual([]);

      // Not smtp(s)://, or no recipient: exit 78 naming the setting, never its value.
      const bad = await runCli(['notify'], {
        env: { ...env(PASS), ACCTCTL_NOTIFY_SMTP_URL: `https://${USER}:${encodeURIComponent(PASS)}@mail.example.org` },
      });
      expect(bad.code).toBe(78);
      expect(bad.stderr).toContain('ACCTCTL_NOTIFY_SMTP_URL: must be smtps://');
      expect(leaks(bad.stdout + bad.stderr, PASS)).toEqual([]);
      const noTo = await runCli(['notify'], { env: { ...env(PASS), ACCTCTL_NOTIFY_EMAIL_TO: '' } });
      expect(noTo.code).toBe(78);
      expect(noTo.stderr).toContain('ACCTCTL_NOTIFY_SMTP_URL: set ACCTCTL_NOTIFY_EMAIL_TO too');
    },
  );
});
