import type { Clock } from '../domain/clock.js';
import { count } from '../domain/plural.js';
import { scrubStoredError } from '../domain/text.js';
import { ConfigError, TempFailError, UnavailableError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { registerSecret } from '../security/redact.js';
import { advanceBotOffset, botEvent, botOffset, markIgRefreshDue } from '../store/bot.js';
import { listIg, type IgRow } from '../store/igAccounts.js';
import { acquireLock, releaseLock } from '../store/locks.js';
import type { Store } from '../store/store.js';
import { holderId } from './holder.js';
import { status, type StatusReport } from './status.js';

/**
 * `acctctl bot poll` (cron, every minute): the original system's admin commands over the
 * Telegram bot. It reads the Bot API's getUpdates from the stored offset (long-poll timeout 0:
 * it returns at once), answers the chats in ACCTCTL_BOT_ADMIN_CHAT_IDS, and ignores (and
 * records) every other chat. It knows four commands and never runs anything else.
 *
 * The offset moves past an update only after it was handled (answered, or recorded as a
 * stranger's): a crash in between repeats that one update on the next run — at least once,
 * never lost. Every command is safe to repeat (/refresh marks a session due again).
 */
export const BOT_COMMANDS = ['/status', '/problems', '/session USER [TENANT]', '/refresh USER [TENANT]'] as const;

export const BOT_HELP =
  'acctctl bot. Commands:\n' +
  '/status — the fleet in short\n' +
  '/problems — what needs a person\n' +
  '/session USER [TENANT] — one Instagram session\n' +
  '/refresh USER [TENANT] — log that session in at the next refresh-session run';

/** Updates read per run (the Bot API's maximum). */
const UPDATES_PER_RUN = 100;
/** Telegram's sendMessage limit is 4096 characters. */
const ANSWER_MAX = 3800;
const LOCK_TTL_MS = 2 * 60_000;

export interface BotDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  /** The notify bot's token (ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN): a secret, only ever in the request path. */
  token: string;
  /** Bot API base URL (ACCTCTL_NOTIFY_TELEGRAM_API_URL; tests point it at a loopback fake). */
  apiUrl: string;
  /** ACCTCTL_BOT_ADMIN_CHAT_IDS. */
  adminChatIds: readonly string[];
  timeZone: string;
  igRate?: { requests: number; windowMs: number };
  /** Per Bot API request. */
  timeoutMs?: number;
}

export interface BotPollResult {
  /** Updates read this run. */
  updates: number;
  /** Commands from admin chats answered. */
  answered: number;
  /** Messages from chats not in ACCTCTL_BOT_ADMIN_CHAT_IDS: recorded as events, not answered. */
  ignored: number;
  /** The next update_id asked for. */
  offset: number;
}

interface Update {
  update_id: number;
  message?: {
    message_id: number;
    chat?: { id: number | string; type?: string };
    from?: { id?: number; username?: string };
    text?: string;
  };
}

interface BotAnswer<T> {
  ok?: boolean;
  result?: T;
  description?: string;
  error_code?: number;
  parameters?: { retry_after?: number };
}

class BotApi {
  constructor(
    private readonly token: string,
    private readonly apiUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async call<T>(method: string, body: unknown): Promise<T> {
    let res: Response;
    try {
      // The token is in the path, as the Bot API wants; no error below ever quotes the URL.
      res = await fetch(`${this.apiUrl}/bot${this.token}/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'manual',
      });
    } catch (e) {
      const code =
        (e as { cause?: { code?: string } }).cause?.code ??
        (e instanceof Error && e.name === 'TimeoutError' ? 'timed out' : 'network error');
      throw new UnavailableError(`the Bot API is unreachable (${method}: ${code}) → bot poll tries again next minute`);
    }
    const text = await res.text();
    let j: BotAnswer<T> | null = null;
    try {
      j = JSON.parse(text) as BotAnswer<T>;
    } catch {
      j = null;
    }
    if (res.status === 200 && j?.ok === true) return j.result as T;
    const what = scrubStoredError(`${res.status}${j?.description ? ` ${j.description.slice(0, 200)}` : ''}`);
    if (res.status === 401 || res.status === 404) {
      throw new ConfigError(`the Bot API refused the bot token (${what}) → check ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN`);
    }
    if (res.status === 409) {
      throw new UnavailableError(
        `the Bot API will not give updates (${what}) → the bot has a webhook set (remove it with deleteWebhook) or another program polls it`,
      );
    }
    // 400/403 (the person blocked the bot, the chat is gone, a bad request): the same call fails
    // the same way next minute; 429 and 5xx pass.
    if (res.status === 400 || res.status === 403) throw new BotRefusedError(method, what);
    throw new UnavailableError(`the Bot API answered ${method} with ${what} → bot poll tries again next minute`);
  }
}

/** The Bot API refused a call for good (400/403): retrying it would only block the updates after it. */
class BotRefusedError extends UnavailableError {
  constructor(method: string, what: string) {
    super(`the Bot API refused ${method} (${what})`);
  }
}

/** "/session@acct_bot  Brand_IG acme" → { command: '/session', args: ['Brand_IG', 'acme'] } */
export function parseCommand(text: string): { command: string; args: string[] } | null {
  const words = text.trim().split(/\s+/);
  const first = words[0] ?? '';
  if (!first.startsWith('/')) return null;
  return { command: first.replace(/@\w+$/, '').toLowerCase(), args: words.slice(1) };
}

const byState = (m: Record<string, number>) =>
  Object.entries(m)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`)
    .join(', ') || 'none';

export function statusText(r: StatusReport): string {
  const a = r.accounts;
  const failing = r.alerts.sinks.filter((s) => s.failing > 0 || s.dead > 0);
  return [
    `Telegram accounts: ${a.total} (${a.healthy} healthy, ${a.healthyPct}%; ${a.leased} leased) — ${byState(a.byState)}`,
    `Instagram sessions: ${r.instagram.total} — ${byState(r.instagram.byState)}`,
    `Need a person: ${count(r.problems.needPersonTotal, 'Telegram account')}, ${count(r.problems.igNeedPerson, 'Instagram session')}`,
    `Check jobs: ${byState(r.checkJobs.byStatus)}`,
    failing.length
      ? `Alert sinks failing: ${failing.map((s) => `${s.sink} (${s.pending} pending)`).join(', ')}`
      : 'Alert sinks: nothing failing',
  ].join('\n');
}

function sessionLine(s: IgRow, now: number): string {
  const ago = (t: number | null) => (t === null ? 'never' : `${Math.round((now - t) / 60_000)} min ago`);
  return [
    `${s.tenant}/${s.username}: ${s.state}${s.disabledAt !== null ? ' (disabled)' : ''}`,
    `  session age: ${s.sessionAgeMs === null ? '—' : `${Math.floor(s.sessionAgeMs / 3_600_000)} h`}; last verified ${ago(s.lastVerifiedAt)}; last used ${ago(s.lastUsedAt)}`,
    `  next refresh: ${s.nextRefreshAt === null ? '—' : new Date(s.nextRefreshAt).toISOString()}; failures ${s.failures}`,
    ...(s.lastError ? [`  last error: ${s.lastError}`] : []),
  ].join('\n');
}

async function problemsText(deps: BotDeps, r: StatusReport): Promise<string> {
  const now = deps.clock.now();
  const lines: string[] = [];
  for (const g of r.problems.needPerson) {
    lines.push(`Telegram: ${g.count} ${g.state}${g.reason ? ` (${g.reason})` : ''}`);
  }
  for (const state of ['needs_manual', 'failed', 'expired']) {
    for (const s of await listIg(deps.store, now, { state, limit: 10 })) {
      lines.push(`Instagram: ${s.tenant}/${s.username} ${state}${s.lastError ? ` (${s.lastError})` : ''}`);
    }
  }
  for (const s of r.alerts.sinks.filter((x) => x.failing > 0 || x.dead > 0)) {
    lines.push(`Alert sink ${s.sink}: ${s.pending} pending, last error ${s.lastError ?? 'unknown'}`);
  }
  return lines.length ? lines.join('\n') : 'Nothing needs a person.';
}

async function answer(deps: BotDeps, text: string, chatId: string): Promise<string> {
  const c = parseCommand(text);
  const report = () => status({ store: deps.store, clock: deps.clock, timeZone: deps.timeZone, igRate: deps.igRate });
  switch (c?.command) {
    case '/status':
      return statusText(await report());
    case '/problems':
      return problemsText(deps, await report());
    case '/session': {
      const [username, tenant] = c.args;
      if (!username) return 'Usage: /session USER [TENANT]';
      const rows = (await listIg(deps.store, deps.clock.now(), { username, tenant })).slice(0, 10);
      return rows.length
        ? rows.map((s) => sessionLine(s, deps.clock.now())).join('\n\n')
        : `No Instagram account ${username}${tenant ? ` in tenant ${tenant}` : ''}.`;
    }
    case '/refresh': {
      const [username, tenant] = c.args;
      if (!username) return 'Usage: /refresh USER [TENANT]';
      const r = await markIgRefreshDue(deps.store, { username, tenant }, deps.clock.now(), `the bot (chat ${chatId})`);
      switch (r.outcome) {
        case 'marked':
          return `${r.tenant}/${r.username}: due now — the next refresh-session run logs it in.`;
        case 'needs_person':
          return `${r.tenant}/${r.username} is ${r.state}: it needs a person (solve it in a browser, then ig import new details); nothing marked.`;
        case 'disabled':
          return `${r.tenant}/${r.username} is disabled: acctctl ig enable ${r.username} --tenant ${r.tenant} first; nothing marked.`;
        case 'ambiguous':
          return `${username} is in tenants ${r.tenants.join(', ')}: say which, /refresh ${username} TENANT`;
        case 'none':
          return `No Instagram account ${username}${tenant ? ` in tenant ${tenant}` : ''}.`;
      }
      return BOT_HELP;
    }
    default:
      return BOT_HELP;
  }
}

/** One run of `bot poll`: read the updates after the stored offset, handle each, move the offset past it. */
export async function pollBot(deps: BotDeps): Promise<BotPollResult> {
  const { store, clock, log } = deps;
  registerSecret(deps.token);
  const api = new BotApi(deps.token, deps.apiUrl, deps.timeoutMs ?? 10_000);
  const admins = new Set(deps.adminChatIds.map(String));
  const holder = holderId('bot-poll', { unique: true });
  const token = await acquireLock(store, 'bot-poll', holder, LOCK_TTL_MS, clock.now());
  if (token === null) throw new TempFailError('another bot poll is running → this run did nothing; cron runs it again');
  try {
    const offset = await botOffset(store);
    const updates = await api.call<Update[]>('getUpdates', {
      ...(offset > 0 ? { offset } : {}),
      limit: UPDATES_PER_RUN,
      // Cron-shaped: no long poll, the call returns at once with what is waiting.
      timeout: 0,
      allowed_updates: ['message'],
    });
    const result: BotPollResult = { updates: updates.length, answered: 0, ignored: 0, offset };
    for (const u of [...updates].sort((a, b) => a.update_id - b.update_id)) {
      if (u.update_id < offset) continue;
      const m = u.message;
      const chatId = m?.chat?.id === undefined ? null : String(m.chat.id);
      if (m && chatId !== null && typeof m.text === 'string') {
        if (admins.has(chatId)) {
          const reply = (await answer(deps, m.text, chatId)).slice(0, ANSWER_MAX);
          const command = parseCommand(m.text)?.command ?? '(text)';
          try {
            await api.call('sendMessage', {
              chat_id: m.chat!.id,
              text: reply,
              reply_to_message_id: m.message_id,
              // The command deleted meanwhile: answer anyway rather than fail with 400.
              allow_sending_without_reply: true,
              disable_web_page_preview: true,
            });
            result.answered++;
            log.info('bot command answered', { chat: chatId, command });
          } catch (e) {
            // Refused for good (e.g. the admin blocked the bot): logged and passed, never retried
            // forever — the updates after it would wait behind it on every run.
            if (!(e instanceof BotRefusedError)) throw e;
            log.warn('bot answer refused by the Bot API; the command is passed', {
              chat: chatId,
              command,
              why: e.message,
            });
          }
        } else {
          // A stranger: never answered (the bot does not even say it exists), recorded for the operator.
          const command = (parseCommand(m.text)?.command ?? '(text)').slice(0, 40);
          await botEvent(store, {
            at: clock.now(),
            kind: 'bot_stranger',
            subject_type: 'fleet',
            subject_id: null,
            tenant_id: null,
            message: `the bot ignored ${command} from chat ${chatId}${m.from?.username ? ` (@${m.from.username})` : ''}: not in ACCTCTL_BOT_ADMIN_CHAT_IDS`,
            data_json: JSON.stringify({ chatId, fromId: m.from?.id ?? null, command }),
          });
          log.warn('bot message from a chat not in ACCTCTL_BOT_ADMIN_CHAT_IDS ignored', { chat: chatId, command });
          result.ignored++;
        }
      }
      // Only now, after handling: a crash before this line repeats this update, never loses it.
      await advanceBotOffset(store, u.update_id + 1);
      result.offset = u.update_id + 1;
    }
    return result;
  } finally {
    await releaseLock(store, 'bot-poll', token);
  }
}
