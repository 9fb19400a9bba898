import { holderId } from './holder.js';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { NotifyConfig } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import { SEVERITIES, type Severity } from '../domain/events.js';
import { scrubStoredError } from '../domain/text.js';
import { isWebhookUrl, signWebhook, targetLabel, TELEGRAM_CHAT_ID } from '../domain/webhooks.js';
import type { Logger } from '../log/logger.js';
import { registerSecret, urlCredentials } from '../security/redact.js';
import { parseSmtpUrl, type SmtpTarget } from '../domain/smtpUrl.js';
import { defaultSender, emailText, openMailer, type Mailer } from './email.js';
import type { SecretBox } from '../security/secretBox.js';
import {
  claimDeliveries,
  DELIVERY_LEASE_MS,
  enqueueDeliveries,
  markDelivered,
  markFailed,
  releaseClaims,
  renewClaims,
  tenantSinkKey,
  type ClaimedDelivery,
} from '../store/deliveries.js';
import { listEvents, type EventView } from '../store/events.js';
import type { Store } from '../store/store.js';
import { sealLegacyTenantTarget, tenantNotifyTargets } from '../store/tenants.js';
import { scanAlerts } from './alerts.js';

/** A place alerts go. `label` is safe to print (no token, no secret, no URL path or query). */
export type Sink = {
  key: string;
  label: string;
  minSeverity: Severity;
  tenantId?: number | undefined;
} & (
  | { type: 'webhook'; url: string; secret: string | undefined }
  | { type: 'telegram'; chatId: string; botToken: string | undefined; apiUrl: string }
  | { type: 'email'; target: SmtpTarget; to: string[]; from: string }
);

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
  /** The time budget ran out with deliveries still due: the next run sends them. */
  budgetSpent: boolean;
  sinks: SinkOutcome[];
}

export interface NotifyDeps {
  store: Store;
  clock: Clock;
  config: NotifyConfig;
  log: Logger;
  /** Opens tenants' encrypted targets and secrets; without it tenant sinks are skipped (and said so). */
  box?: SecretBox | undefined;
  /** Per HTTP request. */
  timeoutMs?: number;
  /** Stop claiming after this long (what is left goes next run). */
  budgetMs?: number;
  /** Claims last this long unless renewed (tests shorten it). */
  leaseMs?: number;
}

/** A run stops claiming after this long; what is left waits for the next run (README "Alerts"). */
export const NOTIFY_BUDGET_MS = 60_000;
/** Sends in flight to one webhook at a time. */
export const WEBHOOK_CONCURRENCY = 4;
/** Sinks served at a time (so at most 16 sends in flight). */
const SINKS_AT_ONCE = 4;
/** Alerts claimed at once for one Telegram message (each chunk is marked as soon as it is sent). */
const TELEGRAM_BATCH = 40;
/** Alerts claimed at once for one email (one message per claim). */
const EMAIL_BATCH = 40;
/** Telegram's sendMessage limit is 4096 characters. */
const TELEGRAM_CHUNK = 3800;

const isSeverity = (s: string | null): s is Severity => s !== null && (SEVERITIES as readonly string[]).includes(s);

/** The configured global sinks and every tenant's target (a webhook URL or a Telegram chat id). */
export async function sinksOf(
  store: Store,
  config: NotifyConfig,
  box?: SecretBox,
): Promise<{ sinks: Sink[]; problems: string[] }> {
  const sinks: Sink[] = [];
  const problems: string[] = [];
  if (config.webhook) {
    sinks.push({
      key: 'webhook',
      label: `webhook ${targetLabel(config.webhook.url)}`,
      type: 'webhook',
      url: config.webhook.url,
      secret: config.webhook.secret,
      minSeverity: config.minSeverity,
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
      minSeverity: config.minSeverity,
    });
  }
  const smtp = config.email ? parseSmtpUrl(config.email.smtpUrl) : undefined;
  if (config.email && smtp) {
    sinks.push({
      key: 'email',
      label: `email to ${config.email.to.join(', ')} via ${smtp.label}`,
      type: 'email',
      target: smtp,
      to: config.email.to,
      from: config.email.from ?? defaultSender(config.email.smtpUrl),
      minSeverity: config.email.minSeverity,
    });
  }
  for (const t of await tenantNotifyTargets(store)) {
    let target = (t.notify_target ?? '').trim();
    let secret: string | undefined;
    try {
      if (t.notify_target_enc) {
        if (!box) {
          problems.push(`tenant ${t.name}: its notify target is encrypted and no key is loaded → set ACCTCTL_KEY_FILE`);
          continue;
        }
        target = box.open(t.notify_target_enc, { table: 'tenants', column: 'notify_target_enc', rowId: t.id }).trim();
      } else if (box && target) {
        // A target older versions stored in plain text is sealed on first sight.
        await sealLegacyTenantTarget(store, t.id, target, (v) =>
          box.seal(v, { table: 'tenants', column: 'notify_target_enc', rowId: t.id }),
        );
      }
      if (t.notify_secret_enc && box) {
        secret = box.open(t.notify_secret_enc, { table: 'tenants', column: 'notify_secret_enc', rowId: t.id });
      }
    } catch (e) {
      problems.push(`tenant ${t.name}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    registerSecret(target);
    const key = tenantSinkKey(t.id);
    const minSeverity = isSeverity(t.notify_min_severity) ? t.notify_min_severity : config.minSeverity;
    if (isWebhookUrl(target)) {
      sinks.push({
        key,
        label: `tenant ${t.name}: webhook ${targetLabel(target)}`,
        type: 'webhook',
        url: target,
        secret,
        minSeverity,
        tenantId: t.id,
      });
      if (!secret) {
        problems.push(
          `tenant ${t.name}: its webhook is sent unsigned → give it its own secret: acctctl tenants set ${t.name} --notify-secret-file F`,
        );
      }
    } else if (TELEGRAM_CHAT_ID.test(target)) {
      if (!config.telegram?.botToken) {
        problems.push(
          `tenant ${t.name}: its target is a Telegram chat and no bot token is set → set ACCTCTL_NOTIFY_TELEGRAM_BOT_TOKEN`,
        );
        continue;
      }
      sinks.push({
        key,
        label: `tenant ${t.name}: telegram chat ${target}`,
        type: 'telegram',
        chatId: target,
        botToken: config.telegram.botToken,
        apiUrl: config.telegramApiUrl,
        minSeverity,
        tenantId: t.id,
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

  post(
    url: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<{ status: number; text: string; retryAfter: string | undefined }> {
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
            const ra = res.headers['retry-after'];
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(chunks).toString('utf8'),
              retryAfter: Array.isArray(ra) ? ra[0] : ra,
            });
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

/** The message id a receiver dedupes on: one per delivery (event and sink), the same on every retry. */
export function webhookId(d: { id: number; event_id: number }): string {
  return `msg_${d.event_id}_${d.id}`;
}

/** The headers of one Standard Webhooks message (signed when the sink has a secret). */
export function webhookHeaders(
  id: string,
  timestampSeconds: number,
  body: string,
  secret: string | undefined,
): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'acctctl',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
  };
  if (secret) h['webhook-signature'] = signWebhook(secret, id, timestampSeconds, body);
  return h;
}

/**
 * What one send came to. `sinkDown`: the endpoint as a whole failed (unreachable, timeout, 5xx,
 * 429, a redirect) and the run leaves the sink alone; otherwise only this delivery was refused.
 */
type SendOutcome = { ok: true } | { ok: false; error: string; sinkDown: boolean; retryAfterMs?: number | undefined };

function retryAfterMs(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 6 * 3600) * 1000 : undefined;
}

async function sendWebhook(
  sink: Extract<Sink, { type: 'webhook' }>,
  d: ClaimedDelivery,
  e: EventView,
  poster: Poster,
  nowMs: number,
): Promise<SendOutcome> {
  const body = JSON.stringify(e);
  const headers = webhookHeaders(webhookId(d), Math.floor(nowMs / 1000), body, sink.secret);
  try {
    const r = await poster.post(sink.url, body, headers);
    if (r.status >= 200 && r.status < 300) return { ok: true };
    const down = r.status >= 500 || r.status === 429 || r.status === 408 || r.status < 400;
    return { ok: false, error: `HTTP ${r.status}`, sinkDown: down, retryAfterMs: retryAfterMs(r.retryAfter) };
  } catch (err) {
    return { ok: false, error: describeFetchError(err), sinkDown: true };
  }
}

async function sendTelegram(
  sink: Extract<Sink, { type: 'telegram' }>,
  events: EventView[],
  poster: Poster,
): Promise<SendOutcome> {
  try {
    for (const text of telegramText(events)) {
      // The token is in the path, as the Bot API wants; it never reaches a log or a stored error.
      const r = await poster.post(
        `${sink.apiUrl}/bot${sink.botToken ?? ''}/sendMessage`,
        JSON.stringify({ chat_id: sink.chatId, text, disable_web_page_preview: true }),
        { 'content-type': 'application/json' },
      );
      const j = parseBotAnswer(r.text);
      if (r.status !== 200 || j?.ok !== true) {
        const error = scrubStoredError(
          `Bot API ${r.status}${j?.description ? `: ${j.description.slice(0, 300)}` : ''}`,
        );
        const down = r.status >= 500 || r.status === 429 || r.status === 401 || r.status === 404 || r.status < 400;
        return { ok: false, error, sinkDown: down, retryAfterMs: retryAfterMs(j?.parameters?.retry_after) };
      }
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describeFetchError(err), sinkDown: true };
  }
}

/** Run `tasks` with at most `n` at a time. */
async function pool<T>(items: T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

/**
 * `acctctl notify` (and the end of every batch): raise the alerts whose condition began, queue
 * the alert-worthy events for every sink (each sink by its own progress), and deliver what is due.
 *
 * Each delivery is on its own: a worker claims one delivery, sends it, and marks it sent at once;
 * a refused delivery backs off alone and counts an attempt of its own; a sink that is down is left
 * alone for the rest of the run (what it had claimed and not sent is given back, no attempt
 * counted). Claims are renewed while the run works. When the time budget is spent the run stops
 * claiming and the rest waits for the next run. Nothing here throws for a sink.
 */
export async function notify(deps: NotifyDeps): Promise<NotifyResult> {
  const { store, clock, config, log } = deps;
  registerSecret(config.telegram?.botToken);
  registerSecret(config.webhook?.secret);
  for (const c of urlCredentials(config.email?.smtpUrl ?? '')) registerSecret(c);
  const timeoutMs = deps.timeoutMs ?? 10_000;
  const leaseMs = deps.leaseMs ?? DELIVERY_LEASE_MS;
  const started = clock.now();
  const budgetMs = deps.budgetMs ?? NOTIFY_BUDGET_MS;
  const alertsRaised = await scanAlerts(store, clock.now());
  const { sinks, problems } = await sinksOf(store, config, deps.box);
  for (const p of problems) log.warn(p);
  const result: NotifyResult = { alertsRaised, enqueued: 0, delivered: 0, failed: 0, budgetSpent: false, sinks: [] };
  if (sinks.length === 0) return result;
  result.enqueued = await enqueueDeliveries(store, {
    now: clock.now(),
    sinks: sinks.map((s) => ({ key: s.key, minSeverity: s.minSeverity, tenantId: s.tenantId })),
  });
  const holder = holderId('notify', { unique: true });
  const poster = new Poster(timeoutMs);
  const budgetLeft = () => {
    const left = clock.now() - started < budgetMs;
    if (!left) result.budgetSpent = true;
    return left;
  };
  let renewedAt = clock.now();
  const renew = async () => {
    if (clock.now() - renewedAt < leaseMs / 3) return;
    renewedAt = clock.now();
    await renewClaims(store, holder, clock.now(), leaseMs);
  };
  const claim = (sink: Sink, limit: number) =>
    claimDeliveries(store, { holder, now: clock.now(), sink: sink.key, limit, leaseMs });

  const serve = async (sink: Sink): Promise<SinkOutcome> => {
    const o: SinkOutcome = { sink: sink.key, label: sink.label, delivered: 0, failed: 0, error: null };
    let down = false;
    const failed = async (ds: ClaimedDelivery[], r: Extract<SendOutcome, { ok: false }>) => {
      await markFailed(store, holder, ds, r.error, clock.now(), r.retryAfterMs);
      o.failed += ds.length;
      o.error = r.error;
      if (r.sinkDown && !down) {
        down = true;
        log.warn('alert delivery failed; the sink is left alone for the rest of this run, retried on a later run', {
          sink: sink.label,
          error: r.error,
        });
      }
    };
    if (sink.type === 'webhook') {
      const worker = async () => {
        while (!down && budgetLeft()) {
          const [d] = await claim(sink, 1);
          if (!d) return;
          const [e] = await listEvents(store, { ids: [d.event_id] });
          const r: SendOutcome = e ? await sendWebhook(sink, d, e, poster, clock.now()) : { ok: true };
          if (r.ok) {
            await markDelivered(store, holder, [d.id], clock.now());
            if (e) o.delivered++;
          } else await failed([d], r);
          await renew();
        }
      };
      await Promise.all(Array.from({ length: WEBHOOK_CONCURRENCY }, worker));
      return o;
    }
    // Telegram: many alerts in one message (split only at Telegram's size limit); email: one
    // message per claim.
    let mailer: Mailer | undefined;
    const sendChunk = async (events: EventView[], ds: ClaimedDelivery[]): Promise<SendOutcome> => {
      if (sink.type === 'telegram') return sendTelegram(sink, events, poster);
      if (sink.type !== 'email') return { ok: true };
      mailer ??= await openMailer(sink.target, timeoutMs);
      const { subject, text } = emailText(events);
      return mailer.send({
        from: sink.from,
        to: sink.to,
        subject,
        text,
        messageId: `<acctctl.${ds[0]!.id}.${ds.length}.${ds[ds.length - 1]!.id}@acctctl.invalid>`,
        date: new Date(clock.now()),
      });
    };
    const chunkLimit = sink.type === 'email' ? Number.POSITIVE_INFINITY : TELEGRAM_CHUNK;
    try {
      while (!down && budgetLeft()) {
        const claimed = await claim(sink, sink.type === 'email' ? EMAIL_BATCH : TELEGRAM_BATCH);
        if (claimed.length === 0) break;
        const events = new Map(
          (await listEvents(store, { ids: [...new Set(claimed.map((c) => c.event_id))] })).map((e) => [e.id, e]),
        );
        const orphans = claimed.filter((d) => !events.has(d.event_id)).map((d) => d.id);
        if (orphans.length) await markDelivered(store, holder, orphans, clock.now());
        const chunks: { d: ClaimedDelivery; e: EventView }[][] = [];
        let cur: { d: ClaimedDelivery; e: EventView }[] = [];
        let len = 0;
        for (const d of claimed) {
          const e = events.get(d.event_id);
          if (!e) continue;
          const l = e.message.length + e.kind.length + (e.tenant?.length ?? 0) + 80;
          if (cur.length && len + l > chunkLimit) {
            chunks.push(cur);
            cur = [];
            len = 0;
          }
          cur.push({ d, e });
          len += l;
        }
        if (cur.length) chunks.push(cur);
        for (const [i, chunk] of chunks.entries()) {
          if (down || (i > 0 && !budgetLeft())) {
            await releaseClaims(
              store,
              holder,
              chunks.slice(i).flatMap((c) => c.map((x) => x.d.id)),
            );
            break;
          }
          const r = await sendChunk(
            chunk.map((c) => c.e),
            chunk.map((c) => c.d),
          );
          if (r.ok) {
            await markDelivered(
              store,
              holder,
              chunk.map((c) => c.d.id),
              clock.now(),
            );
            o.delivered += chunk.length;
          } else
            await failed(
              chunk.map((c) => c.d),
              r,
            );
          await renew();
        }
      }
    } finally {
      mailer?.close();
    }
    return o;
  };

  const outcomes = new Map<string, SinkOutcome>();
  try {
    await pool(sinks, SINKS_AT_ONCE, async (sink) => {
      outcomes.set(sink.key, await serve(sink));
    });
  } finally {
    poster.close();
  }
  result.sinks = sinks.map((s) => outcomes.get(s.key)!);
  result.delivered = result.sinks.reduce((a, s) => a + s.delivered, 0);
  result.failed = result.sinks.reduce((a, s) => a + s.failed, 0);
  if (result.delivered || result.failed) {
    log.info('alerts delivered', { delivered: result.delivered, failed: result.failed });
  }
  if (result.budgetSpent) log.info('notify time budget spent; the rest is sent by the next run', { budgetMs });
  return result;
}
