import type { Ctx } from './support/context.js';
import { withStore } from './support/context.js';
import { ConfigError } from '../errors.js';
import { pollBot, type BotPollResult } from '../fleet/bot.js';

export function renderBotPoll(r: BotPollResult): string {
  return `updates: ${r.updates}; answered: ${r.answered}; ignored (not an admin chat): ${r.ignored}; next offset ${r.offset}`;
}

/** `acctctl bot poll` (cron, every minute): answer the admin chats' commands. */
export async function botPollCli(ctx: Ctx): Promise<void> {
  const token = ctx.config.notify.telegram?.botToken;
  const admins = ctx.config.botAdminChatIds ?? [];
  const missing = [
    token ? null : 'ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN (the bot, from @BotFather)',
    admins.length ? null : 'ACCTCTL_BOT_ADMIN_CHAT_IDS (the chats it answers)',
  ].filter((x): x is string => x !== null);
  if (missing.length)
    throw new ConfigError(`bot poll needs ${missing.join(' and ')} → set it in the environment or .env`);
  await withStore(ctx, async (store) =>
    ctx.emit(
      await pollBot({
        store,
        clock: ctx.clock,
        log: ctx.log,
        token: token!,
        apiUrl: ctx.config.notify.telegramApiUrl,
        adminChatIds: admins,
        timeZone: ctx.config.timeZone,
        igRate: ctx.config.igRate,
      }),
      renderBotPoll,
    ),
  );
}
