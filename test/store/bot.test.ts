import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { addTenant } from '../../src/fleet/tenants.js';
import { BOT_HELP, pollBot } from '../../src/fleet/bot.js';
import { ConfigError, UnavailableError } from '../../src/errors.js';
import { silentLogger } from '../../src/log/logger.js';
import { advanceBotOffset, botOffset } from '../../src/store/bot.js';
import { igLoginRows } from '../../src/store/igAccounts.js';
import type { Store } from '../../src/store/store.js';
import { DIALECTS } from '../support/dialects.js';
import { startFakeBotUpdates, type FakeChat } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';

const T0 = Date.parse('2026-12-02T09:00:00Z');
const HOUR = 3_600_000;
const TOKEN = '987654:AAFakeAdminBotToken_for_tests';
const ADMIN: FakeChat = { id: 1111, type: 'private', username: 'operator' };
const OPS_GROUP: FakeChat = { id: -1001234567890, type: 'supergroup' };
const STRANGER: FakeChat = { id: 6666, type: 'private', username: 'curious' };

async function igAccount(store: Store, tenant: string, username: string, extra: Record<string, unknown> = {}) {
  const tid = (await store.db.selectFrom('tenants').select('id').where('name', '=', tenant).executeTakeFirstOrThrow())
    .id;
  return (
    await store.db
      .insertInto('ig_accounts')
      .values({
        tenant_id: tid,
        username,
        password_enc: 'sealed',
        totp_secret_enc: null,
        sessionid_enc: null,
        cookies_enc: null,
        proxy_id: null,
        state: 'valid',
        session_created_at: T0 - 10 * HOUR,
        last_verified_at: T0 - HOUR,
        next_refresh_at: T0 + 40 * HOUR,
        last_error: null,
        created_at: T0 - 100 * HOUR,
        updated_at: T0,
        rate_limited_until: null,
        ...extra,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
}

/** Issue 26 item 3: admin commands over the bot, cron-shaped, against a loopback fake Bot API. */
describe.each(DIALECTS)('bot poll on $name', (dialect) => {
  const f = useFleetStore(dialect, 3);
  let bot: Awaited<ReturnType<typeof startFakeBotUpdates>>;
  let clock: FakeClock;
  beforeAll(async () => {
    bot = await startFakeBotUpdates({ token: TOKEN });
  });
  afterAll(async () => bot.close());
  beforeEach(async () => {
    if (dialect.skip) return;
    // Each test's store is new: it starts where the bot's stream is now (earlier tests' updates are theirs).
    await advanceBotOffset(f.store, bot.nextUpdateId());
    bot.getUpdates.length = 0;
    bot.sent.length = 0;
    bot.mode.webhook = false;
    bot.mode.sendDown = false;
    bot.mode.blocked.clear();
    clock = new FakeClock(T0);
  });
  const deps = (over: { token?: string } = {}) => ({
    store: f.store,
    clock,
    log: silentLogger,
    token: over.token ?? TOKEN,
    apiUrl: bot.url,
    adminChatIds: [String(ADMIN.id), String(OPS_GROUP.id)],
    timeZone: 'UTC',
    timeoutMs: 10_000,
  });
  const poll = () => pollBot(deps());
  const answersTo = (chat: FakeChat) => bot.sent.filter((m) => m.chatId === String(chat.id)).map((m) => m.text);

  it.skipIf(dialect.skip)(
    '/status answered (as a reply), getUpdates asked with timeout 0 from the stored offset; nothing is answered twice',
    async () => {
      const mid = bot.say(ADMIN, '/status');
      const r1 = await poll();
      expect(r1).toMatchObject({ updates: 1, answered: 1, ignored: 0 });
      expect(bot.sent).toHaveLength(1);
      expect(bot.sent[0]).toMatchObject({ chatId: '1111', replyTo: mid });
      expect(bot.sent[0]!.text).toMatch(/^Telegram accounts: 3 \(3 healthy, 100%/);
      expect(bot.sent[0]!.text).toContain('Instagram sessions: 0');
      // Cron-shaped: no long poll.
      expect(bot.getUpdates.every((g) => g.timeout === 0)).toBe(true);
      expect(bot.getUpdates[0]!.allowed_updates).toEqual(['message']);
      const offset = await botOffset(f.store);
      expect(offset).toBe(r1.offset);
      // The next minute: asked from the stored offset, and the old command is not answered again.
      const r2 = await poll();
      expect(r2).toMatchObject({ updates: 0, answered: 0, offset });
      expect(bot.getUpdates.at(-1)!.offset).toBe(offset);
      expect(bot.sent).toHaveLength(1);
      // A group the operator listed: /status@botname works there too.
      bot.say(OPS_GROUP, '/status@acct_bot');
      expect((await poll()).answered).toBe(1);
      expect(answersTo(OPS_GROUP)[0]).toMatch(/^Telegram accounts: 3/);
    },
  );

  it.skipIf(dialect.skip)(
    "a stranger's /refresh is not answered and changes nothing; it is recorded as an event",
    async () => {
      await addTenant({ store: f.store, clock }, { name: 'acme', verifyMode: 'instagram' });
      const id = await igAccount(f.store, 'acme', 'brand_ig');
      bot.say(STRANGER, '/refresh brand_ig');
      bot.say(STRANGER, 'hello?');
      const r = await poll();
      expect(r).toMatchObject({ updates: 2, answered: 0, ignored: 2 });
      expect(bot.sent).toEqual([]);
      const acc = await f.store.db
        .selectFrom('ig_accounts')
        .select('next_refresh_at')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(acc.next_refresh_at).toBe(T0 + 40 * HOUR);
      const events = await f.store.db.selectFrom('events').select(['kind', 'message']).orderBy('id').execute();
      expect(events.map((e) => e.kind)).toEqual(['bot_stranger', 'bot_stranger']);
      expect(events[0]!.message).toBe(
        'the bot ignored /refresh from chat 6666 (@curious): not in ACCTCTL_BOT_ADMIN_CHAT_IDS',
      );
      // Its updates were consumed: the next run does not see them again.
      expect((await poll()).updates).toBe(0);
      expect(bot.pending()).toBe(0);
    },
  );

  it.skipIf(dialect.skip)(
    '/refresh USER marks the session due now (the next refresh-session logs it in); /session shows it; /problems; anything else gets the help',
    async () => {
      await addTenant({ store: f.store, clock }, { name: 'acme', verifyMode: 'instagram' });
      const id = await igAccount(f.store, 'acme', 'brand_ig', { last_used_at: T0 - 2 * 60_000 });
      await igAccount(f.store, 'acme', 'stuck_ig', { state: 'needs_manual', last_error: 'checkpoint_required' });
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ state: 'frozen', state_reason: 'FROZEN_METHOD_INVALID' })
        .where('session_name', '=', 'acc_00001')
        .execute();
      // Not due before.
      expect((await igLoginRows(f.store, { due: T0 })).map((r) => r.username)).toEqual([]);
      bot.say(ADMIN, '/refresh Brand_IG');
      bot.say(ADMIN, '/refresh stuck_ig');
      bot.say(ADMIN, '/session brand_ig');
      bot.say(ADMIN, '/problems');
      bot.say(ADMIN, '/exec rm -rf /');
      bot.say(ADMIN, 'just text');
      bot.post({ message: { message_id: 99, chat: { id: ADMIN.id, type: 'private' }, date: 0, sticker: {} } });
      const r = await poll();
      expect(r).toMatchObject({ updates: 7, answered: 6, ignored: 0 });
      const [refresh, stuck, session, problems, exec, text] = answersTo(ADMIN);
      expect(refresh).toBe('acme/brand_ig: due now — the next refresh-session run logs it in.');
      expect((await igLoginRows(f.store, { due: T0 })).map((x) => x.id)).toEqual([id]);
      expect(stuck).toMatch(/^acme\/stuck_ig is needs_manual: it needs a person/);
      expect(session).toMatch(/^acme\/brand_ig: valid\n/);
      expect(session).toContain('last used 2 min ago');
      expect(problems).toContain('Telegram: 1 frozen (FROZEN_METHOD_INVALID)');
      expect(problems).toContain('Instagram: acme/stuck_ig needs_manual (checkpoint_required)');
      expect(exec).toBe(BOT_HELP);
      expect(text).toBe(BOT_HELP);
      const requested = await f.store.db
        .selectFrom('events')
        .select('message')
        .where('kind', '=', 'ig_refresh_requested')
        .execute();
      expect(requested).toEqual([
        { message: 'acme/brand_ig: refresh requested by the bot (chat 1111); the next refresh-session logs it in' },
      ]);
    },
  );

  it.skipIf(dialect.skip)(
    'an answer that cannot be sent leaves its update for the next run (never lost); what was handled is not repeated',
    async () => {
      bot.say(STRANGER, '/status');
      bot.mode.sendDown = true;
      bot.say(ADMIN, '/status');
      const before = await botOffset(f.store);
      await expect(poll()).rejects.toBeInstanceOf(UnavailableError);
      // The stranger's update was handled (recorded): the offset moved past it, not past the admin's.
      expect(await botOffset(f.store)).toBe(before + 1);
      bot.mode.sendDown = false;
      const r = await poll();
      expect(r).toMatchObject({ updates: 1, answered: 1, ignored: 0 });
      expect(answersTo(ADMIN)).toHaveLength(1);
      expect(
        await f.store.db.selectFrom('events').select('id').where('kind', '=', 'bot_stranger').execute(),
      ).toHaveLength(1);
    },
  );

  it.skipIf(dialect.skip)(
    'an answer refused for good (the admin blocked the bot) is passed: it never holds up the updates after it',
    async () => {
      bot.mode.blocked.add(String(ADMIN.id));
      bot.say(ADMIN, '/status');
      bot.say(OPS_GROUP, '/status');
      const before = await botOffset(f.store);
      const r = await poll();
      expect(r).toMatchObject({ updates: 2, answered: 1 });
      expect(answersTo(OPS_GROUP)).toHaveLength(1);
      expect(await botOffset(f.store)).toBe(before + 2);
      // The next run does not try the refused answer again.
      expect(await poll()).toMatchObject({ updates: 0, answered: 0 });
    },
  );

  it.skipIf(dialect.skip)('a webhook on the bot, or a wrong token: a clear error, never the token', async () => {
    bot.mode.webhook = true;
    const e = await poll().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnavailableError);
    expect((e as Error).message).toMatch(/deleteWebhook/);
    expect((e as Error).message).not.toContain(TOKEN);
    bot.mode.webhook = false;
    const wrong = await pollBot(deps({ token: '987654:AAWrongToken_xyz' })).catch((x: unknown) => x);
    expect(wrong).toBeInstanceOf(ConfigError);
    expect((wrong as Error).message).toMatch(/ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN/);
    expect((wrong as Error).message).not.toContain('AAWrongToken');
  });
});
