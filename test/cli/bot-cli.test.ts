import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSON_SCHEMAS } from '../../src/commands/support/schemas.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { startFakeBotUpdates } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';

const TOKEN = '24680:AACliBotTokenNeverPrinted_123';

/** Issue 26 item 3 from the shell: `acctctl bot poll` as cron runs it. */
describe.each(DIALECTS)('bot poll from the CLI on $name', (dialect) => {
  const f = useFleetStore(dialect, 2);
  let bot: Awaited<ReturnType<typeof startFakeBotUpdates>>;
  beforeAll(async () => {
    bot = await startFakeBotUpdates({ token: TOKEN });
  });
  afterAll(async () => bot.close());

  it.skipIf(dialect.skip)(
    "answers the admin chat, ignores a stranger's command (logged), never prints the token; off without admin chats",
    async () => {
      const env = {
        ...f.env,
        ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN: TOKEN,
        ACCTCTL_NOTIFY_TELEGRAM_API_URL: bot.url,
        ACCTCTL_BOT_ADMIN_CHAT_IDS: '1111, -100222',
        ACCTCTL_LOG_LEVEL: 'debug',
      };
      // This store starts where the fake's stream is now (another dialect's run used it before).
      await f.store.db
        .insertInto('settings')
        .values({ name: 'bot.offset', value: String(bot.nextUpdateId()) })
        .execute();
      bot.sent.length = 0;
      bot.say({ id: 9999, type: 'private', username: 'stranger' }, '/refresh someone');
      bot.say({ id: 1111, type: 'private' }, '/status');
      const r = await runCli(['bot', 'poll', '--json'], { env });
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as unknown;
      expect(v.safeParse(JSON_SCHEMAS['bot poll']!, doc).success).toBe(true);
      expect(doc).toMatchObject({ enabled: true, updates: 2, answered: 1, ignored: 1 });
      expect(bot.sent.map((m) => m.chatId)).toEqual(['1111']);
      expect(bot.sent[0]!.text).toMatch(/^Telegram accounts: 2/);
      expect(r.stderr).toMatch(/bot message from a chat not in ACCTCTL_BOT_ADMIN_CHAT_IDS ignored.*9999/);
      expect(bot.getUpdates.at(-1)!.timeout).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);

      const again = await runCli(['bot', 'poll'], { env });
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^updates: 0; answered: 0; ignored \(not an admin chat\): 0/);

      // Off: no admin chats, nothing read.
      const calls = bot.getUpdates.length;
      const off = await runCli(['bot', 'poll'], { env: { ...env, ACCTCTL_BOT_ADMIN_CHAT_IDS: '' } });
      expect(off.code).toBe(0);
      expect(off.stdout).toContain('the admin bot is off');
      expect(bot.getUpdates.length).toBe(calls);
      // Admin chats without a token, or chat ids that are not numbers: 78, naming the setting.
      const noToken = await runCli(['bot', 'poll'], { env: { ...env, ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN: '' } });
      expect(noToken.code).toBe(78);
      expect(noToken.stderr).toContain('set ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN');
      const bad = await runCli(['bot', 'poll'], { env: { ...env, ACCTCTL_BOT_ADMIN_CHAT_IDS: '@ops' } });
      expect(bad.code).toBe(78);
      expect(bad.stderr).toContain('ACCTCTL_BOT_ADMIN_CHAT_IDS: must be numeric Telegram chat ids');
    },
  );
});
