import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import type { EventView } from '../../src/store/events.js';
import type { Store } from '../../src/store/store.js';
import { BIN, ROOT, runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { startWebhook, type Received } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';

const SOAK = process.env.ACCTCTL_SOAK === '1';
const SECRET = 'whsec_' + Buffer.from('kill-nine-test-secret-32-bytes!!').toString('base64');

async function addEvents(store: Store, n: number, at: number): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) => ({
    at: at + i,
    kind: 'account_needs_person',
    subject_type: 'fleet',
    subject_id: null,
    tenant_id: null,
    message: `event #${i}`,
    data_json: null,
  }));
  for (let i = 0; i < rows.length; i += 200) {
    await store.db
      .insertInto('events')
      .values(rows.slice(i, i + 200))
      .execute();
  }
}

/** Client connections to the store's database other than the one asking (0 on SQLite). */
async function otherBackends(store: Store, postgres: boolean): Promise<number> {
  if (!postgres) return 0;
  const r = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`.execute(
    store.db,
  );
  return r.rows[0]!.n;
}

/**
 * Start `acctctl notify` and kill -9 it once the receiver has seen `after` more requests. On
 * PostgreSQL, a statement the killed process had sent still runs (and commits) in its server
 * backend after the process is gone: wait for those backends to end, so that what the test does
 * next sees every claim the killed run made.
 */
async function notifyKilledAfter(
  env: Record<string, string>,
  seen: () => number,
  after: number,
  store: Store,
  postgres: boolean,
): Promise<void> {
  const before = await otherBackends(store, postgres);
  await new Promise<void>((resolve) => {
    const child = spawn(process.execPath, [BIN, 'notify'], { cwd: ROOT, env, stdio: 'ignore' });
    const start = seen();
    const timer = setInterval(() => {
      if (seen() - start >= after) child.kill('SIGKILL');
    }, 2);
    child.on('close', () => {
      clearInterval(timer);
      resolve();
    });
  });
  for (let i = 0; i < 500 && (await otherBackends(store, postgres)) > before; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(DIALECTS)('notify from the CLI on $name', (dialect) => {
  const f = useFleetStore(dialect, 1);
  let hook: Awaited<ReturnType<typeof startWebhook>>;
  const all: Received[] = [];
  beforeAll(async () => {
    hook = await startWebhook({ delayMs: 3, onRequest: (r) => void all.push(r) });
  });
  afterAll(async () => hook.close());

  it.skipIf(dialect.skip)(
    'kill -9 at random points loses nothing; every repeat carries the same webhook-id',
    async () => {
      all.length = 0;
      hook.received.length = 0;
      const n = SOAK ? 800 : 120;
      const kills = SOAK ? 20 : 4;
      await addEvents(f.store, n, Date.now() - 60_000);
      const env = { ...f.env, ACCTCTL_NOTIFY_WEBHOOK: hook.url, ACCTCTL_NOTIFY_WEBHOOK_SECRET: SECRET };
      for (let k = 0; k < kills; k++) {
        await notifyKilledAfter(
          env,
          () => all.length,
          1 + Math.floor(Math.random() * (n / kills)),
          f.store,
          dialect.name === 'postgres',
        );
        // The killed run's claims last 2 minutes; let them run out (as the next cron run, later, would find them).
        await f.store.db
          .updateTable('deliveries')
          .set({ lease_expires_at: 0 })
          .where('status', '=', 'pending')
          .where('lease_holder', 'is not', null)
          .execute();
      }
      const last = await runCli(['notify', '--json'], { env });
      expect(last.code, last.stderr).toBe(0);
      // Every event arrived (a send the kill interrupted counts when the receiver answered it).
      const events = new Map<number, Set<string>>();
      for (const r of hook.received) {
        const id = (JSON.parse(r.body) as EventView).id;
        events.set(id, (events.get(id) ?? new Set()).add(String(r.headers['webhook-id'])));
        // Each verifies with the package (real time: the CLI's clock).
        new Webhook(SECRET).verify(r.body, r.headers as Record<string, string>);
      }
      expect(events.size).toBe(n);
      // A repeat is the same message: one webhook-id per event, whatever the number of sends.
      expect([...events.values()].filter((ids) => ids.size !== 1)).toEqual([]);
      // At most the sends in flight at each kill repeat (4 workers), not whole batches.
      expect(hook.received.length - n).toBeLessThanOrEqual(kills * 4);
      const left = await f.store.db
        .selectFrom('deliveries')
        .select('status')
        .where('status', '<>', 'delivered')
        .execute();
      expect(left).toEqual([]);
    },
    120_000,
  );

  it.skipIf(dialect.skip)(
    'tenants set: target and secret from files, sealed, shown by scheme and host only; never echoed',
    async () => {
      all.length = 0;
      hook.received.length = 0;
      const target = `${hook.url}/T000/B000/XXXXsecretpathtoken?token=abc123def`;
      const tf = join(f.t.dir, 'target.txt');
      const sf = join(f.t.dir, 'secret.txt');
      writeFileSync(tf, target + '\n');
      const gen = await runCli(['notify', 'secret'], { env: f.env });
      expect(gen.code, gen.stderr).toBe(0);
      const tenantSecret = gen.stdout.trim();
      expect(tenantSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      writeFileSync(sf, tenantSecret);
      const set = await runCli(
        [
          'tenants',
          'set',
          'acme',
          '--notify-target-file',
          tf,
          '--notify-secret-file',
          sf,
          '--notify-min-severity',
          'info',
        ],
        { env: f.env },
      );
      expect(set.code, set.stderr).toBe(0);
      expect(set.stdout).toContain(`webhook http://127.0.0.1:${hook.port}`);
      expect(set.stdout).toMatch(/signed with its own secret; minimum severity info/);
      expect(set.stdout + set.stderr).not.toContain('XXXXsecretpathtoken');
      const row = await f.store.db
        .selectFrom('tenants')
        .selectAll()
        .where('name', '=', 'acme')
        .executeTakeFirstOrThrow();
      expect(JSON.stringify(row)).not.toContain('XXXXsecretpathtoken');
      expect(JSON.stringify(row)).not.toContain(tenantSecret);
      expect(row.notify_target).toBeNull();
      // A malformed target is refused without being echoed.
      writeFileSync(tf, 'hxxps://hooks.example/T/B/leakysecretvalue');
      const bad = await runCli(['tenants', 'set', 'acme', '--notify-target-file', tf], { env: f.env });
      expect(bad.code).toBe(64);
      expect(bad.stderr).toMatch(/neither an http\(s\) URL/);
      expect(bad.stderr).not.toContain('leakysecretvalue');
      writeFileSync(sf, 'not-a-whsec-secret-value');
      const badSecret = await runCli(['tenants', 'set', 'acme', '--notify-secret-file', sf], { env: f.env });
      expect(badSecret.code).toBe(64);
      expect(badSecret.stderr).not.toContain('not-a-whsec-secret-value');
      // notify delivers the tenant's info events to its target, signed with its own secret.
      const acme = row.id;
      await f.store.db
        .insertInto('events')
        .values({
          at: Date.now(),
          kind: 'watch_changed',
          subject_type: 'fleet',
          subject_id: null,
          tenant_id: acme,
          message: 'acme watch changed',
          data_json: null,
        })
        .execute();
      const r = await runCli(['notify', '--json'], { env: f.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('XXXXsecretpathtoken');
      expect(hook.received).toHaveLength(1);
      expect(hook.received[0]!.path).toContain('XXXXsecretpathtoken');
      expect(
        new Webhook(tenantSecret).verify(hook.received[0]!.body, hook.received[0]!.headers as Record<string, string>),
      ).toMatchObject({ message: 'acme watch changed', tenant: 'acme' });
    },
    60_000,
  );

  it.skipIf(dialect.skip)(
    'config and doctor refuse an unparsable webhook URL or a secret not in whsec_ form',
    async () => {
      for (const [k, v] of [
        ['ACCTCTL_NOTIFY_WEBHOOK', 'https://[::1'],
        ['ACCTCTL_NOTIFY_WEBHOOK', 'https://hooks.example.com:99999/x'],
        ['ACCTCTL_NOTIFY_WEBHOOK_SECRET', 'plain-old-shared-secret'],
      ] as const) {
        for (const cmd of [['doctor'], ['notify']]) {
          const r = await runCli(cmd, { env: { ...f.env, ACCTCTL_NOTIFY_WEBHOOK: hook.url, [k]: v } });
          expect(r.code, `${cmd[0]} ${k}=${v}`).toBe(78);
          expect(r.stderr).toContain(k);
          expect(r.stderr).not.toContain(v);
        }
      }
    },
  );
});
