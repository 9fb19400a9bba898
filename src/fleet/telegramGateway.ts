import type { Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { TelegramGateway } from '../telegram/gateway.js';

/** The real gramjs adapter, or the sandbox; gramjs is imported only when really used. */
export async function telegramGateway(config: Config, clock: Clock): Promise<TelegramGateway> {
  if (config.telegramMode === 'sandbox') {
    const { SandboxTelegram } = await import('../sandbox/telegram.js');
    const { statePath, latencyMs } = config.sandbox;
    return new SandboxTelegram({ clock, statePath, latencyMs });
  }
  const { GramjsGateway } = await import('../telegram/gramjs.js');
  return new GramjsGateway();
}
