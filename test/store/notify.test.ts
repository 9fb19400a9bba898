import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addTenant, setTenantNotifySettings } from '../../src/fleet/tenants.js';
import type { NotifyConfig } from '../../src/config/config.js';
import { FakeClock } from '../../src/domain/clock.js';
import { ALERT_RULES, alertFleetHealth, scanAlerts } from '../../src/fleet/alerts.js';
import { notify } from '../../src/fleet/notify.js';
import { SessionRefresher } from '../../src/fleet/refresh.js';
import type { BrowserLogin } from '../../src/instagram/browser.js';
import { silentLogger } from '../../src/log/logger.js';
import { sinkHealth } from '../../src/store/deliveries.js';
import { listEvents, type EventView } from '../../src/store/events.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS } from '../support/dialects.js';
import { startFakeBotApi, startWebhook } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';
import { boxFor } from '../support/joinHarness.js';

const T0 = Date.parse('2026-12-01T09:00:00Z');
const HOUR = 3_600_000;
const TOKEN = '123456:AAFakeBotTokenForTests_xyz';
const SECRET = 'whsec_' + Buffer.from('webhook-hmac-secret-for-tests-32').toString('base64');

async function igAccount(store: Store, tenant: string, username: string, extra: Record<string, unknown> = {}) {
  const tid = (await store.db.selectFrom('tenants').select('id').where('name', '=', tenant).executeTakeFirstOrThrow())
    .id;
  return (
    await store.db
      .insertInto('ig_accounts')
      .values({
        tenant_id: tid,
        username,
        password_enc: null,
        totp_secret_enc: null,
        sessionid_enc: null,
        cookies_enc: null,
        proxy_id: null,
        state: 'valid',
        session_created_at: T0,
        last_verified_at: T0,
        next_refresh_at: T0 + 48 * HOUR,
        last_error: null,
        created_at: T0 - 10 * 24 * HOUR,
        updated_at: T0,
        rate_limited_until: null,
        ...extra,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
}

describe.each(DIALECTS)('alerts and their delivery on $name', (dialect) => {
  const f = useFleetStore(dialect, 2);
  let hook: Awaited<ReturnType<typeof startWebhook>>;
  let bot: Awaited<ReturnType<typeof startFakeBotApi>>;
  let hookStatus = 200;
  let botDown = false;
  let clock: FakeClock;
  beforeAll(async () => {
    hook = await startWebhook({ status: () => hookStatus });
    bot = await startFakeBotApi({ token: TOKEN, fail: () => botDown });
  });
  afterAll(async () => {
    await hook.close();
    await bot.close();
  });
  beforeEach(() => {
    hook.received.length = 0;
    bot.messages.length = 0;
    hookStatus = 200;
    botDown = false;
    clock = new FakeClock(T0);
  });
  const config = (over: Partial<NotifyConfig> = {}): NotifyConfig => ({
    minSeverity: 'warning',
    webhook: { url: hook.url, secret: SECRET },
    telegram: { botToken: TOKEN, chatId: '-1001234' },
    telegramApiUrl: bot.url,
    ...over,
  });
  const run = (over: Partial<NotifyConfig> = {}) =>
    notify({ store: f.store, clock, config: config(over), log: silentLogger, timeoutMs: 5000 });

  /** A refresh-session login that meets a checkpoint: the real refresher writes the event. */
  const checkpoint = async (username = 'brand_ig') => {
    const box = boxFor(f.env);
    const id = await igAccount(f.store, 'acme', username);
    await f.store.db
      .updateTable('ig_accounts')
      .set({ password_enc: box.seal('pw-123456', { table: 'ig_accounts', column: 'password_enc', rowId: id }) })
      .where('id', '=', id)
      .execute();
    const login: BrowserLogin = () => Promise.resolve({ kind: 'checkpoint', url: 'https://ig.example/challenge/1/' });
    const r = await new SessionRefresher({
      store: f.store,
      box,
      clock,
      log: silentLogger,
      login,
      instagramUrl: 'http://127.0.0.1:9',
      chromiumPath: undefined,
      legacyProfileRoot: join(f.t.dir, 'profiles'),
    }).refreshOne(id);
    expect(r.status).toBe('needs_manual');
    return id;
  };
  const hookEvents = () => hook.received.map((r) => JSON.parse(r.body) as EventView);

  it.skipIf(dialect.skip)(
    'a checkpoint reaches the webhook (signed) and the Bot API once; info events stay in the store',
    async () => {
      await checkpoint();
      const r1 = await run();
      expect(r1.delivered).toBe(2);
      // Run again, and again later: nothing is delivered twice, the scan raises nothing new.
      clock.advance(HOUR);
      const r2 = await run();
      expect(r2).toMatchObject({ alertsRaised: 0, delivered: 0, failed: 0 });
      const got = hookEvents();
      expect(got).toHaveLength(1);
      expect(got[0]).toMatchObject({
        kind: 'ig_needs_manual',
        severity: 'critical',
        subject: { type: 'ig_account', name: 'brand_ig' },
        tenant: 'acme',
      });
      expect(got[0]!.message).toMatch(/checkpoint/);
      // Same object as `events --json`.
      const [stored] = await listEvents(f.store, { kinds: ['ig_needs_manual'] });
      expect(got[0]).toEqual(JSON.parse(JSON.stringify(stored)));
      // Standard Webhooks: HMAC-SHA256 of "id.timestamp.body" with the whsec_ secret, as the package computes it.
      const req = hook.received[0]!;
      const ts = Number(req.headers['webhook-timestamp']);
      expect(ts).toBe(Math.floor(T0 / 1000));
      const expected = new Webhook(SECRET).sign(String(req.headers['webhook-id']), new Date(ts * 1000), req.body);
      expect(req.headers['webhook-signature']).toBe(expected);
      expect(req.body).not.toContain(SECRET);
      // Telegram: one message to the configured chat; the token only in the Bot API path.
      expect(bot.messages).toHaveLength(1);
      expect(bot.messages[0]).toMatchObject({ chatId: '-1001234' });
      expect(bot.messages[0]!.text).toMatch(/CRITICAL ig_needs_manual/);
      expect(bot.messages[0]!.body).not.toContain(TOKEN);
      expect(bot.messages[0]!.text).not.toContain(SECRET);
      // Delivery state is per event and sink.
      const rows = await f.store.db.selectFrom('deliveries').select(['sink', 'status']).orderBy('sink').execute();
      expect(rows).toEqual([
        { sink: 'telegram', status: 'delivered' },
        { sink: 'webhook', status: 'delivered' },
      ]);
      // An info event (a refresh that worked) is not delivered at the default minimum.
      await f.store.db
        .insertInto('events')
        .values({
          at: clock.now(),
          kind: 'ig_refreshed',
          subject_type: 'ig_account',
          subject_id: null,
          tenant_id: null,
          message: 'fine',
          data_json: null,
        })
        .execute();
      expect((await run()).delivered).toBe(0);
      expect((await run({ minSeverity: 'info' })).delivered).toBe(2);
    },
  );

  it.skipIf(dialect.skip)('a sink that is down gets the event on a later run, after its back-off', async () => {
    await checkpoint();
    hookStatus = 503;
    botDown = true;
    const r1 = await run();
    expect(r1).toMatchObject({ delivered: 0, failed: 2 });
    expect(hook.received).toHaveLength(0);
    const health = await sinkHealth(f.store);
    expect(health.map((h) => [h.sink, h.failing])).toEqual([
      ['telegram', 1],
      ['webhook', 1],
    ]);
    expect(health.find((h) => h.sink === 'webhook')!.lastError).toBe('HTTP 503');
    expect(health.find((h) => h.sink === 'telegram')!.lastError).toMatch(/Bot API 502/);
    expect(JSON.stringify(health)).not.toContain(TOKEN);
    hookStatus = 200;
    botDown = false;
    // Before the back-off is over nothing is tried again.
    expect((await run()).delivered).toBe(0);
    clock.advance(2 * 60_000);
    const r3 = await run();
    expect(r3).toMatchObject({ delivered: 2, failed: 0 });
    expect(hookEvents().map((e) => e.kind)).toEqual(['ig_needs_manual']);
    expect(bot.messages).toHaveLength(1);
    expect(await sinkHealth(f.store)).toEqual([]);
  });

  it.skipIf(dialect.skip)('a closed port never holds up the run; the other sink still gets it', async () => {
    await checkpoint();
    const r = await run({ webhook: { url: 'http://127.0.0.1:9/closed', secret: undefined } });
    expect(r.sinks.find((s) => s.sink === 'webhook')).toMatchObject({ delivered: 0, failed: 1 });
    expect(r.sinks.find((s) => s.sink === 'telegram')).toMatchObject({ delivered: 1, failed: 0 });
  });

  it.skipIf(dialect.skip)('tenant routing: each tenant’s notify target gets only its events', async () => {
    const box = boxFor(f.env);
    const target = (value: string) => ({ target: { value, from: 'test' } });
    await addTenant({ store: f.store, clock }, { name: 'acme' });
    await setTenantNotifySettings({ store: f.store, box }, 'acme', target(hook.url + '?tenant=acme'));
    await addTenant({ store: f.store, clock }, { name: 'globex' });
    await setTenantNotifySettings({ store: f.store, box }, 'globex', target('-100777'));
    await addTenant({ store: f.store, clock }, { name: 'quiet' });
    await checkpoint('acme_ig'); // acme (via the Instagram account's tenant)
    const g = await f.store.db
      .selectFrom('tenants')
      .select('id')
      .where('name', '=', 'globex')
      .executeTakeFirstOrThrow();
    await igAccount(f.store, 'globex', 'globex_ig', { state: 'failed', last_error: 'wrong password' });
    await igAccount(f.store, 'quiet', 'quiet_ig', { state: 'needs_manual', last_error: 'challenge' });
    expect(g.id).toBeGreaterThan(0);
    const r = await notify({
      store: f.store,
      clock,
      config: config({ webhook: undefined, telegram: { botToken: TOKEN, chatId: undefined } }),
      log: silentLogger,
      box,
      timeoutMs: 5000,
    });
    expect(r.alertsRaised).toBe(2); // the scan: globex's and quiet's accounts need a person
    const acme = hook.received
      .filter((x) => x.path.includes('tenant=acme'))
      .map((x) => JSON.parse(x.body) as EventView);
    expect(acme.map((e) => [e.tenant, e.subject.name])).toEqual([['acme', 'acme_ig']]);
    expect(bot.messages.map((m) => m.chatId)).toEqual(['-100777']);
    expect(bot.messages[0]!.text).toMatch(/globex_ig/);
    expect(bot.messages[0]!.text).not.toMatch(/acme_ig|quiet_ig/);
  });

  it.skipIf(dialect.skip)('many events go to Telegram as one message per run', async () => {
    for (let i = 0; i < 12; i++) {
      await f.store.db
        .insertInto('events')
        .values({
          at: clock.now(),
          kind: 'ig_refresh_failed',
          subject_type: 'ig_account',
          subject_id: null,
          tenant_id: null,
          message: `try ${i} failed`,
          data_json: null,
        })
        .execute();
    }
    const r = await run({ webhook: undefined });
    expect(r.delivered).toBe(12);
    expect(bot.messages).toHaveLength(1);
    expect(bot.messages[0]!.text).toMatch(/^acctctl: 12 alerts/);
    for (let i = 0; i < 12; i++) expect(bot.messages[0]!.text).toContain(`try ${i} failed`);
  });

  it.skipIf(dialect.skip)('the alert conditions are raised once while they last, and again next time', async () => {
    const stale = await igAccount(f.store, 'acme', 'stale_ig', {
      state: 'expired',
      session_created_at: T0 - 25 * HOUR,
    });
    await igAccount(f.store, 'acme', 'young_ig', { state: 'expired', session_created_at: T0 - 2 * HOUR });
    const old = await igAccount(f.store, 'acme', 'old_ig', { session_created_at: T0 - 5 * 24 * HOUR - 1 });
    for (let i = 0; i < ALERT_RULES.reactiveBurst.count; i++) {
      await f.store.db
        .insertInto('ig_session_log')
        .values({ ig_account_id: old, what: 'reactive', at: T0 - i * 10 * 60_000, ok: 1 })
        .execute();
    }
    await f.store.db
      .updateTable('telegram_accounts')
      .set({ state: 'frozen' })
      .where('session_name', '=', 'acc_00001')
      .execute();
    expect(await scanAlerts(f.store, clock.now())).toBe(4);
    expect(await scanAlerts(f.store, clock.now())).toBe(0);
    const kinds = (await listEvents(f.store, {})).map((e) => `${e.kind}:${e.subject.name}:${e.severity}`).sort();
    expect(kinds).toEqual([
      'account_needs_person:acc_00001:critical',
      'ig_reactive_burst:old_ig:warning',
      'ig_session_old:old_ig:warning',
      'ig_session_stale:stale_ig:critical',
    ]);
    // An hour on, the burst is over; the stale session was refreshed; then it goes stale again.
    clock.advance(HOUR);
    await f.store.db
      .updateTable('ig_accounts')
      .set({ state: 'valid', session_created_at: clock.now() })
      .where('id', '=', stale)
      .execute();
    expect(await scanAlerts(f.store, clock.now())).toBe(0);
    await f.store.db.updateTable('ig_accounts').set({ state: 'expired' }).where('id', '=', stale).execute();
    clock.advance(25 * HOUR);
    expect(await scanAlerts(f.store, clock.now())).toBe(2); // stale again, and young_ig is now stale too
    // Healthy share below --fail-under: once, until it recovers.
    expect(await alertFleetHealth(f.store, clock.now(), 40, 80)).toBe(true);
    expect(await alertFleetHealth(f.store, clock.now(), 40, 80)).toBe(false);
    expect(await alertFleetHealth(f.store, clock.now(), 90, 80)).toBe(false);
    expect(await alertFleetHealth(f.store, clock.now(), 40, 80)).toBe(true);
    expect((await listEvents(f.store, { kinds: ['fleet_unhealthy'] })).map((e) => e.severity)).toEqual([
      'critical',
      'critical',
    ]);
  });
});
