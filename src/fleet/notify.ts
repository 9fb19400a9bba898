import { holderId } from './holder.js';
import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { NotifyConfig } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import { registerSecret } from '../security/redact.js';
import {
  claimDeliveries,
  enqueueDeliveries,
  markDelivered,
  markFailed,
  type ClaimedDelivery,
} from '../store/deliveries.js';
import { listEvents, type EventView } from '../store/events.js';
import type { Store } from '../store/store.js';
import { tenantNotifyTargets } from '../store/tenants.js';
import { scanAlerts } from './alerts.js';

/** A place alerts go. `label` is safe to print (no token, no secret, no URL path or query). */
export type Sink =
  | { key: string; label: string; type: 'webhook'; url: string; secret: string | undefined }
  | { key: string; label: string; type: 'telegram'; chatId: string; botToken: string | undefined; apiUrl: string };

export interface SinkOutcome {
  sink: string;
  label: string;
  delivered: number;
  failed: number;
  error: string | null;
}

export interface NotifyResult {
  alertsRaised: number;
  enqueued: number;
  delivered: number;
  failed: number;
  sinks: SinkOutcome[];
}

export interface NotifyDeps {
  store: Store;
  clock: Clock;
  config: NotifyConfig;
  log: Logger;
  /** Per HTTP request. */
  timeoutMs?: number;
  /** Stop claiming more after this long (what is left goes next run). */
  budgetMs?: number;
}

const CLAIM_BATCH = 200;
const WEBHOOK_CONCURRENCY = 8;
/** Telegram's sendMessage limit is 4096 characters. */
const TELEGRAM_CHUNK = 3800;

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'webhook';
  }
}

/** The configured global sinks and every tenant's notify_target (a webhook URL or a Telegram chat id). */
export async function sinksOf(store: Store, config: NotifyConfig): Promise<{ sinks: Sink[]; problems: string[] }> {
  const sinks: Sink[] = [];
  const problems: string[] = [];
  if (config.webhook) {
    sinks.push({
      key: 'webhook',
      label: `webhook ${origin(config.webhook.url)}`,
      type: 'webhook',
      url: config.webhook.url,
      secret: config.webhook.secret,
    });
  }
  if (config.telegram?.chatId) {
    sinks.push({
      key: 'telegram',
      label: `telegram chat ${config.telegram.chatId}`,
      type: 'telegram',
      chatId: config.telegram.chatId,
      botToken: config.telegram.botToken,
      apiUrl: config.telegramApiUrl,
    });
  }
  const tenants = await tenantNotifyTargets(store);
  for (const t of tenants) {
    const target = (t.notify_target ?? '').trim();
    if (!target) continue;
    const key = `tenant:${t.id}`;
    if (/^https?:\/\//i.test(target)) {
      sinks.push({
        key,
        label: `tenant ${t.name}: webhook ${origin(target)}`,
        type: 'webhook',
        url: target,
        secret: config.webhook?.secret,
      });
    } else if (/^(-?\d+|@\w{4,})$/.test(target)) {
      sinks.push({
        key,
        label: `tenant ${t.name}: telegram chat ${target}`,
        type: 'telegram',
        chatId: target,
        botToken: config.telegram?.botToken,
        apiUrl: config.telegramApiUrl,
      });
    } else {
      problems.push(`tenant ${t.name}: notify target is neither an http(s) URL nor a Telegram chat id`);
    }
  }
  return { sinks, problems };
}

/** Keep-alive connections for one run (node:http is several times faster than fetch here). */
class Poster {
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 16 });
  constructor(private readonly timeoutMs: number) {}

  post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
    const u = new URL(url);
    const secure = u.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(
        u,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= 65_536) chunks.push(c);
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      const timer = setTimeout(() => req.destroy(new TimeoutError()), this.timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

interface BotAnswer {
  ok?: boolean;
  description?: string;
  parameters?: { retry_after?: number };
}

function parseBotAnswer(text: string): BotAnswer | null {
  try {
    const j = JSON.parse(text) as unknown;
    return typeof j === 'object' && j !== null ? (j as BotAnswer) : null;
  } catch {
    return null;
  }
}

class TimeoutError extends Error {
  constructor() {
    super('timed out');
  }
}

function describeFetchError(e: unknown): string {
  if (e instanceof TimeoutError) return 'timed out';
  if (e instanceof Error) {
    // Never the URL: a bot token lives in its path.
    return (e as { code?: string }).code ?? e.message.split('\n')[0]!;
  }
  return String(e);
}

export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

const ICON: Record<string, string> = { critical: '🚨', warning: '⚠️', info: 'ℹ️' };
// eslint-disable-next-line no-control-regex
const clean = (s: string) => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '?');

export function telegramText(events: EventView[]): string[] {
  const lines = events.map(
    (e) =>
      `${ICON[e.severity] ?? ''} ${e.severity.toUpperCase()} ${e.kind}${e.tenant ? ` · ${clean(e.tenant)}` : ''}\n` +
      `${clean(e.message)}\n${e.at}`,
  );
  const chunks: string[] = [];
  let cur = events.length > 1 ? `acctctl: ${events.length} alerts` : '';
  for (const l of lines) {
    const item = l.length > TELEGRAM_CHUNK ? l.slice(0, TELEGRAM_CHUNK) + '…' : l;
    if (cur && cur.length + item.length + 2 > TELEGRAM_CHUNK) {
      chunks.push(cur);
      cur = '';
    }
    cur = cur ? `${cur}\n\n${item}` : item;
  }
  if (cur) chunks.push(cur);
  return chunks;
}

/** Deliver one batch to one sink; returns the ids delivered and the failure, if any. */
async function deliver(
  sink: Sink,
  items: { d: ClaimedDelivery; e: EventView }[],
  poster: Poster,
): Promise<{ ok: number[]; failed: ClaimedDelivery[]; error: string | null; retryAfterMs?: number }> {
  const ok: number[] = [];
  const failed: ClaimedDelivery[] = [];
  let error: string | null = null;
  let retryAfterMs: number | undefined;
  if (sink.type === 'webhook') {
    let next = 0;
    const worker = async () => {
      while (next < items.length) {
        const it = items[next++]!;
        if (error !== null) {
          failed.push(it.d);
          continue;
        }
        const body = JSON.stringify(it.e);
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'user-agent': 'acctctl',
          'x-acctctl-event-id': String(it.e.id),
        };
        if (sink.secret) headers['x-acctctl-signature'] = signBody(body, sink.secret);
        try {
          const r = await poster.post(sink.url, body, headers);
          if (r.status >= 200 && r.status < 300) ok.push(it.d.id);
          else {
            error = `HTTP ${r.status}`;
            failed.push(it.d);
          }
        } catch (e) {
          error = describeFetchError(e);
          failed.push(it.d);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(WEBHOOK_CONCURRENCY, items.length) }, worker));
    return { ok, failed, error };
  }
  if (!sink.botToken) {
    return {
      ok,
      failed: items.map((i) => i.d),
      error: 'no bot token → set ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN',
    };
  }
  // Telegram: one message for the whole batch (split only at Telegram's size limit).
  const chunks: { d: ClaimedDelivery; e: EventView }[][] = [];
  let cur: { d: ClaimedDelivery; e: EventView }[] = [];
  let len = 0;
  for (const it of items) {
    const l = it.e.message.length + it.e.kind.length + 80;
    if (cur.length && len + l > TELEGRAM_CHUNK) {
      chunks.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(it);
    len += l;
  }
  if (cur.length) chunks.push(cur);
  for (const chunk of chunks) {
    if (error !== null) {
      failed.push(...chunk.map((c) => c.d));
      continue;
    }
    const texts = telegramText(chunk.map((c) => c.e));
    try {
      for (const text of texts) {
        // The token is in the path, as the Bot API wants; it never reaches a log or an error.
        const r = await poster.post(
          `${sink.apiUrl}/bot${sink.botToken}/sendMessage`,
          JSON.stringify({ chat_id: sink.chatId, text, disable_web_page_preview: true }),
          { 'content-type': 'application/json' },
        );
        const j = parseBotAnswer(r.text);
        if (r.status !== 200 || j?.ok !== true) {
          if (j?.parameters?.retry_after) retryAfterMs = j.parameters.retry_after * 1000;
          throw new Error(`Bot API ${r.status}${j?.description ? `: ${j.description.slice(0, 200)}` : ''}`);
        }
      }
      ok.push(...chunk.map((c) => c.d.id));
    } catch (e) {
      error = e instanceof Error && e.message.startsWith('Bot API') ? e.message : describeFetchError(e);
      failed.push(...chunk.map((c) => c.d));
    }
  }
  return { ok, failed, error, ...(retryAfterMs ? { retryAfterMs } : {}) };
}

/**
 * `acctctl notify` (and the end of every batch): raise the alerts whose condition began, queue
 * the alert-worthy events for every sink, and deliver what is due. A failing sink is skipped for
 * the rest of the run and retried with back-off on later runs; nothing here throws for a sink.
 */
export async function notify(deps: NotifyDeps): Promise<NotifyResult> {
  const { store, clock, config, log } = deps;
  registerSecret(config.telegram?.botToken);
  registerSecret(config.webhook?.secret);
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const started = clock.now();
  const budgetMs = deps.budgetMs ?? 60_000;
  const alertsRaised = await scanAlerts(store, clock.now());
  const { sinks, problems } = await sinksOf(store, config);
  for (const p of problems) log.warn(p);
  const result: NotifyResult = { alertsRaised, enqueued: 0, delivered: 0, failed: 0, sinks: [] };
  if (sinks.length === 0) return result;
  result.enqueued = await enqueueDeliveries(store, {
    now: clock.now(),
    minSeverity: config.minSeverity,
    globalSinks: sinks.filter((s) => !s.key.startsWith('tenant:')).map((s) => s.key),
    tenantSinks: sinks.some((s) => s.key.startsWith('tenant:')),
  });
  const holder = holderId('notify', { unique: true });
  const outcome = new Map<string, SinkOutcome>(
    sinks.map((s) => [s.key, { sink: s.key, label: s.label, delivered: 0, failed: 0, error: null }]),
  );
  const live = new Set(sinks.map((s) => s.key));
  const poster = new Poster(timeoutMs);
  try {
    const byKey = new Map(sinks.map((s) => [s.key, s]));
    while (live.size > 0 && clock.now() - started < budgetMs) {
      const claimed = await claimDeliveries(store, {
        holder,
        now: clock.now(),
        sinks: [...live],
        limit: CLAIM_BATCH,
      });
      if (claimed.length === 0) break;
      const events = new Map(
        (await listEvents(store, { ids: [...new Set(claimed.map((c) => c.event_id))] })).map((e) => [e.id, e]),
      );
      const groups = new Map<string, { d: ClaimedDelivery; e: EventView }[]>();
      const orphans: ClaimedDelivery[] = [];
      for (const d of claimed) {
        const e = events.get(d.event_id);
        if (!e) orphans.push(d);
        else groups.set(d.sink, [...(groups.get(d.sink) ?? []), { d, e }]);
      }
      if (orphans.length)
        await markDelivered(
          store,
          holder,
          orphans.map((o) => o.id),
          clock.now(),
        );
      await Promise.all(
        [...groups].map(async ([key, items]) => {
          const sink = byKey.get(key)!;
          const r = await deliver(sink, items, poster);
          const now = clock.now();
          await markDelivered(store, holder, r.ok, now);
          const o = outcome.get(key)!;
          o.delivered += r.ok.length;
          if (r.failed.length) {
            await markFailed(store, holder, r.failed, r.error ?? 'failed', now, r.retryAfterMs);
            o.failed += r.failed.length;
            o.error = r.error;
            // A sink that fails is left alone for the rest of this run: it never holds up the batch.
            live.delete(key);
            log.warn('alert delivery failed; retried on a later run', { sink: sink.label, error: r.error });
          }
        }),
      );
    }
  } finally {
    poster.close();
  }
  result.sinks = [...outcome.values()];
  result.delivered = result.sinks.reduce((a, s) => a + s.delivered, 0);
  result.failed = result.sinks.reduce((a, s) => a + s.failed, 0);
  if (result.delivered || result.failed) {
    log.info('alerts delivered', { delivered: result.delivered, failed: result.failed });
  }
  return result;
}
