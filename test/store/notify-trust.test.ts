import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { NotifyConfig } from '../../src/config/config.js';
import { FakeClock } from '../../src/domain/clock.js';
import { addTenant, setTenantNotifySettings } from '../../src/fleet/tenants.js';
import { notify, WEBHOOK_CONCURRENCY, type NotifyDeps } from '../../src/fleet/notify.js';
import { silentLogger } from '../../src/log/logger.js';
import { MAX_ATTEMPTS, sinkHealth } from '../../src/store/deliveries.js';
import type { EventView } from '../../src/store/events.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS } from '../support/dialects.js';
import { startFakeBotApi, startWebhook, type Received } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';

const HOUR = 3_600_000;
const TOKEN = '123456789:AAHfakeBotTokenForTheseTests_0123456';
const SECRET = 'whsec_' + Buffer.from('operator-secret-of-thirty-two-b!').toString('base64');
const TENANT_SECRET = 'whsec_' + Buffer.from('acme-tenant-own-secret-32-bytes!').toString('base64');

async function addEvents(
  store: Store,
  n: number,
  at: number,
  extra: { kind?: string; tenant_id?: number | null } = {},
): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) => ({
    at: at + i,
    kind: extra.kind ?? 'account_needs_person',
    subject_type: 'fleet',
    subject_id: null,
    tenant_id: extra.tenant_id ?? null,
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

const eventOf = (r: Received) => JSON.parse(r.body) as EventView;

describe.each(DIALECTS)('alerts you can trust on $name', (dialect) => {
  const f = useFleetStore(dialect, 1);
  let bot: Awaited<ReturnType<typeof startFakeBotApi>>;
  let botError: { status: number; description: string } | undefined;
  beforeAll(async () => {
    bot = await startFakeBotApi({ token: TOKEN, error: () => botError });
  });
  afterAll(async () => bot.close());

  const config = (over: Partial<NotifyConfig> = {}): NotifyConfig => ({
    minSeverity: 'warning',
    webhook: undefined,
    telegram: undefined,
    telegramApiUrl: bot.url,
    ...over,
  });
  const run = (clock: FakeClock, over: Partial<NotifyConfig>, extra: Partial<NotifyDeps> = {}) =>
    notify({ store: f.store, clock, config: config(over), log: silentLogger, timeoutMs: 5000, ...extra });

  it.skipIf(dialect.skip)(
    'Standard Webhooks: the package verifies each message; a tenant has its own secret; a retry keeps its webhook-id',
    async () => {
      const clock = new FakeClock(Date.now()); // the package checks the timestamp against the real time
      let refuseFirst = true;
      const hook = await startWebhook({
        status: () => {
          if (refuseFirst) {
            refuseFirst = false;
            return 503;
          }
          return 200;
        },
        onRequest: (r) => void seen.push(r),
      });
      const seen: Received[] = [];
      try {
        const box = boxFor(f.env);
        await addTenant({ store: f.store, clock }, { name: 'acme' });
        await setTenantNotifySettings({ store: f.store, box }, 'acme', {
          target: { value: `${hook.url}?tenant=acme`, from: 'test' },
          secret: { value: TENANT_SECRET, from: 'test' },
        });
        const acme = (
          await f.store.db.selectFrom('tenants').select('id').where('name', '=', 'acme').executeTakeFirstOrThrow()
        ).id;
        await addEvents(f.store, 1, clock.now(), { tenant_id: acme });
        const cfg = { webhook: { url: hook.url, secret: SECRET } };
        const r1 = await run(clock, cfg, { box });
        expect(r1.failed).toBe(1); // the first POST was refused (503)
        clock.advance(2 * 60_000);
        await run(clock, cfg, { box });
        expect(hook.received).toHaveLength(2);
        const global = hook.received.find((r) => !r.path.includes('tenant='))!;
        const tenant = hook.received.find((r) => r.path.includes('tenant=acme'))!;
        // The package verifies each with its receiver's secret, and only with it.
        expect(new Webhook(SECRET).verify(global.body, global.headers as Record<string, string>)).toMatchObject({
          kind: 'account_needs_person',
        });
        expect(new Webhook(TENANT_SECRET).verify(tenant.body, tenant.headers as Record<string, string>)).toMatchObject({
          tenant: 'acme',
        });
        expect(() => new Webhook(SECRET).verify(tenant.body, tenant.headers as Record<string, string>)).toThrow(
          /No matching signature/,
        );
        expect(() => new Webhook(TENANT_SECRET).verify(global.body, global.headers as Record<string, string>)).toThrow(
          /No matching signature/,
        );
        // A replay with another timestamp, or another body under the same id, does not verify.
        const forged = { ...global.headers, 'webhook-timestamp': String(Math.floor(Date.now() / 1000) + 60) };
        expect(() => new Webhook(SECRET).verify(global.body, forged as unknown as Record<string, string>)).toThrow();
        expect(() =>
          new Webhook(SECRET).verify(
            global.body.replace('event #0', 'event #9'),
            global.headers as Record<string, string>,
          ),
        ).toThrow();
        // The refused first attempt and its retry carry the same webhook-id (receivers dedupe on it).
        const ids = seen.map((r) => `${eventOf(r).id}|${r.path}|${String(r.headers['webhook-id'])}`);
        expect(seen).toHaveLength(3);
        expect(new Set(ids).size).toBe(2);
        expect(String(global.headers['webhook-id'])).toMatch(/^msg_\w+$/);
        // The tenant's target and secret are sealed: not in the row in plain text.
        const row = await f.store.db.selectFrom('tenants').selectAll().where('id', '=', acme).executeTakeFirstOrThrow();
        expect(JSON.stringify(row)).not.toContain(hook.url);
        expect(JSON.stringify(row)).not.toContain(TENANT_SECRET);
        expect(row.notify_target_label).toBe(`webhook http://127.0.0.1:${hook.port}`);
      } finally {
        await hook.close();
      }
    },
  );

  it.skipIf(dialect.skip)(
    'one event always refused (HTTP 400) among 400: every other arrives exactly once over simulated days',
    async () => {
      const clock = new FakeClock(Date.parse('2026-12-01T09:00:00Z'));
      const n = 400;
      let refusals = 0;
      const hook = await startWebhook({
        status: (r) => {
          if (eventOf(r).message === 'event #137') {
            refusals++;
            return 400;
          }
          return 200;
        },
      });
      try {
        await addEvents(f.store, n, clock.now());
        // Quick runs first (the 20 runs in a row), then one an hour for five days.
        for (let i = 0; i < 20; i++) {
          await run(clock, { webhook: { url: hook.url, secret: SECRET } });
          clock.advance(1_000);
        }
        // The refused one held back nothing: every other event is there already, once.
        expect(new Set(hook.received.map((r) => eventOf(r).id)).size).toBe(n - 1);
        expect(hook.received).toHaveLength(n - 1);
        for (let h = 0; h < 5 * 24; h++) {
          clock.advance(HOUR);
          await run(clock, { webhook: { url: hook.url, secret: SECRET } });
        }
        const got = hook.received.map((r) => eventOf(r).message);
        expect(got).toHaveLength(n - 1);
        expect(new Set(got).size).toBe(n - 1);
        expect(got).not.toContain('event #137');
        const rows = await f.store.db.selectFrom('deliveries').select(['status', 'attempts']).execute();
        expect(rows.filter((r) => r.status === 'delivered')).toHaveLength(n - 1);
        // Only the refused one is given up, after its own MAX_ATTEMPTS tries (each tried once per back-off).
        expect(rows.filter((r) => r.status !== 'delivered')).toEqual([{ status: 'dead', attempts: MAX_ATTEMPTS }]);
        expect(refusals).toBe(MAX_ATTEMPTS);
        expect((await sinkHealth(f.store)).map((h) => [h.sink, h.dead, h.pending, h.lastError])).toEqual([
          ['webhook', 1, 0, 'HTTP 400'],
        ]);
      } finally {
        await hook.close();
      }
    },
  );

  it.skipIf(dialect.skip)(
    'a 9 s receiver: overlapping runs send nothing twice; a run stops claiming when its budget is spent',
    async () => {
      const t0 = Date.parse('2026-12-01T09:00:00Z');
      const clock = new FakeClock(t0);
      const n = 120;
      const runs: Promise<Awaited<ReturnType<typeof run>>>[] = [];
      let requests = 0;
      let third = false;
      const cfg = () => ({ webhook: { url: hook.url, secret: SECRET } });
      const start = () => runs.push(run(clock, cfg()));
      const hook = await startWebhook({
        onRequest: (r) => {
          // Each answer comes 9 s (simulated) after the request was sent (under the 10 s timeout);
          // requests sent together overlap, as they do on a real network.
          const end = Number(r.headers['webhook-timestamp']) * 1000 + 9_000;
          if (clock.now() < end) clock.advance(end - clock.now());
          requests++;
          // A second run starts while the first works; a third once the first's claims (2 min) would have run out.
          if (requests === 3) start();
          if (!third && clock.now() >= t0 + 125_000) {
            third = true;
            start();
          }
        },
      });
      try {
        await addEvents(f.store, n, clock.now());
        start();
        for (let i = 0; i < runs.length; i++) await runs[i];
        const first = await runs[0]!;
        // The first run stopped claiming after its 60 s budget: what it had in flight, then no more.
        expect(first.budgetSpent).toBe(true);
        expect(first.delivered).toBeLessThanOrEqual((60 / 9 + 2) * WEBHOOK_CONCURRENCY);
        // Later runs deliver the rest.
        for (let i = 0; i < 40 && hook.received.length < n; i++) {
          clock.advance(60_000);
          await run(clock, cfg());
        }
        const ids = hook.received.map((r) => String(r.headers['webhook-id']));
        expect(new Set(ids).size).toBe(n);
        expect(ids).toHaveLength(n);
        expect(new Set(hook.received.map((r) => eventOf(r).id)).size).toBe(n);
      } finally {
        await hook.close();
      }
    },
  );

  it.skipIf(dialect.skip)('claims are renewed while a run works: a long Telegram batch is not taken over', async () => {
    const clock = new FakeClock(Date.parse('2026-12-01T09:00:00Z'));
    const runs: Promise<unknown>[] = [];
    let messages = 0;
    const slowBot = await startFakeBotApi({
      token: TOKEN,
      onRequest: () => {
        clock.advance(9_000); // one message at a time: each answer 9 s later
        if (++messages === 3) runs.push(go());
      },
    });
    // Claims last 20 s unless renewed; a batch of long alerts needs many 9 s messages.
    const go = () =>
      notify({
        store: f.store,
        clock,
        config: config({ telegram: { botToken: TOKEN, chatId: '-1001234' }, telegramApiUrl: slowBot.url }),
        log: silentLogger,
        timeoutMs: 5000,
        leaseMs: 20_000,
      });
    try {
      const rows = Array.from({ length: 30 }, (_, i) => ({
        at: clock.now() + i,
        kind: 'ig_refresh_failed',
        subject_type: 'fleet',
        subject_id: null,
        tenant_id: null,
        message: `alert ${i}: ${'x'.repeat(1500)}`,
        data_json: null,
      }));
      await f.store.db.insertInto('events').values(rows).execute();
      runs.push(go());
      for (let i = 0; i < runs.length; i++) await runs[i];
      for (let i = 0; i < 10; i++) {
        clock.advance(60_000);
        await go(); // the budget stops each run; later runs send the rest
      }
      const seen = slowBot.messages.flatMap((m) => [...m.text.matchAll(/alert (\d+):/g)].map((x) => Number(x[1])));
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    } finally {
      await slowBot.close();
    }
  });

  it.skipIf(dialect.skip)(
    'each sink keeps its own progress: a run that knows fewer sinks never makes another miss events',
    async () => {
      const clock = new FakeClock(Date.parse('2026-12-01T09:00:00Z'));
      const hook = await startWebhook();
      try {
        await addEvents(f.store, 3, clock.now() - 2 * HOUR);
        // A host (or cron line) without the Telegram settings runs notify, twice over an hour.
        await run(clock, { webhook: { url: hook.url, secret: SECRET } });
        clock.advance(HOUR);
        await run(clock, { webhook: { url: hook.url, secret: SECRET } });
        expect(hook.received).toHaveLength(3);
        // The host that knows the Telegram sink runs later: the events are still due for it.
        const r = await run(clock, {
          webhook: { url: hook.url, secret: SECRET },
          telegram: { botToken: TOKEN, chatId: '-1001234' },
        });
        expect(r.sinks.find((s) => s.sink === 'telegram')).toMatchObject({ delivered: 3 });
        expect(bot.messages.at(-1)!.text).toMatch(/event #0[\s\S]*event #1[\s\S]*event #2/);
        expect(hook.received).toHaveLength(3);
      } finally {
        await hook.close();
      }
    },
  );

  it.skipIf(dialect.skip)(
    'a Bot API error quoting the token is stored and shown redacted, its control bytes escaped',
    async () => {
      const clock = new FakeClock(Date.parse('2026-12-01T09:00:00Z'));
      botError = {
        status: 400,
        description: `Bad Request: chat not found for /bot${TOKEN}/sendMessage \u001b[2J\u001b]0;pwned\u0007 token ${TOKEN}`,
      };
      try {
        await addEvents(f.store, 1, clock.now());
        const r = await run(clock, { telegram: { botToken: TOKEN, chatId: '-1001234' } });
        expect(r.failed).toBe(1);
        const stored = await f.store.db.selectFrom('deliveries').select('last_error').executeTakeFirstOrThrow();
        const health = await sinkHealth(f.store);
        for (const text of [stored.last_error!, health[0]!.lastError!, JSON.stringify(r), JSON.stringify(health)]) {
          expect(text).not.toContain(TOKEN);
          expect(text).not.toContain(TOKEN.split(':')[1]);
          // eslint-disable-next-line no-control-regex
          expect(text).not.toMatch(/[\u0000-\u001f\u007f]/);
        }
        expect(stored.last_error).toMatch(
          /^Bot API 400: Bad Request: chat not found for \/bot\[redacted\]\/sendMessage \\x1b\[2J/,
        );
        // A row an older version stored raw is shown scrubbed too.
        await f.store.db
          .updateTable('deliveries')
          .set({ last_error: `Bot API 404: /bot${TOKEN}/x \u001b[8m` })
          .execute();
        const old = (await sinkHealth(f.store))[0]!.lastError!;
        expect(old).not.toContain(TOKEN);
        expect(old).toContain('\\x1b[8m');
      } finally {
        botError = undefined;
      }
    },
  );

  it.skipIf(dialect.skip)(
    'a tenant gets its own stream: its minimum severity info brings its watches’ results; the operator’s stays warning',
    async () => {
      const clock = new FakeClock(Date.parse('2026-12-01T09:00:00Z'));
      const hook = await startWebhook();
      try {
        const box = boxFor(f.env);
        await addTenant({ store: f.store, clock }, { name: 'acme' });
        await addTenant({ store: f.store, clock }, { name: 'globex' });
        for (const [name, sev] of [
          ['acme', 'info'],
          ['globex', undefined],
        ] as const) {
          await setTenantNotifySettings({ store: f.store, box }, name, {
            target: { value: `${hook.url}?tenant=${name}`, from: 'test' },
            ...(sev ? { minSeverity: sev } : {}),
          });
        }
        const ids = Object.fromEntries(
          (await f.store.db.selectFrom('tenants').select(['id', 'name']).execute()).map((t) => [t.name, t.id]),
        );
        await addEvents(f.store, 2, clock.now(), { kind: 'watch_changed', tenant_id: ids.acme });
        await addEvents(f.store, 1, clock.now(), { kind: 'watch_changed', tenant_id: ids.globex });
        await run(clock, { webhook: { url: `${hook.url}?operator`, secret: SECRET } }, { box });
        const to = (who: string) => hook.received.filter((r) => r.path.endsWith(who)).map((r) => eventOf(r));
        expect(to('tenant=acme').map((e) => e.kind)).toEqual(['watch_changed', 'watch_changed']);
        expect(to('tenant=globex')).toEqual([]);
        expect(to('?operator')).toEqual([]);
        // Back to the global minimum: nothing more of info.
        await setTenantNotifySettings({ store: f.store, box }, 'acme', { minSeverity: '' });
        await addEvents(f.store, 1, clock.now() + 10, { kind: 'watch_changed', tenant_id: ids.acme });
        await run(clock, {}, { box });
        expect(to('tenant=acme')).toHaveLength(2);
      } finally {
        await hook.close();
      }
    },
  );
});
