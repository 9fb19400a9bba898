import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { ConfigError } from '../errors.js';
import { pollBot, type BotPollResult } from '../fleet/bot.js';

export type BotPollOutput = BotPollResult & { enabled: boolean };

export function renderBotPoll(r: BotPollOutput): string {
  if (!r.enabled) return 'the admin bot is off: ACCTCTL_BOT_ADMIN_CHAT_IDS is not set (nothing read)';
  return `updates: ${r.updates}; answered: ${r.answered}; ignored (not an admin chat): ${r.ignored}; next offset ${r.offset}`;
}

/**
 * `acctctl bot poll` (cron, every minute): answer the admin chats' commands. Without
 * ACCTCTL_BOT_ADMIN_CHAT_IDS the bot is off and the run does nothing (exit 0, as `notify` with no
 * sink), so the crontab line is harmless until it is configured; admin chats without a bot token
 * are a configuration error (78).
 */
export async function botPollCli(ctx: Ctx): Promise<void> {
  const token = ctx.config.notify.telegram?.botToken;
  const admins = ctx.config.botAdminChatIds ?? [];
  if (admins.length === 0) {
    ctx.emit<BotPollOutput>({ enabled: false, updates: 0, answered: 0, ignored: 0, offset: 0 }, renderBotPoll);
    return;
  }
  if (!token) {
    throw new ConfigError(
      'ACCTCTL_BOT_ADMIN_CHAT_IDS is set but the bot has no token → set ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN (from @BotFather)',
    );
  }
  await withStore(ctx, async (store) =>
    ctx.emit<BotPollOutput>(
      {
        enabled: true,
        ...(await pollBot({
          store,
          clock: ctx.clock,
          log: ctx.log,
          token,
          apiUrl: ctx.config.notify.telegramApiUrl,
          adminChatIds: admins,
          timeZone: ctx.config.timeZone,
          igRate: ctx.config.igRate,
        })),
      },
      renderBotPoll,
    ),
  );
}
