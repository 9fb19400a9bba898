import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
}

/**
 * A loopback webhook receiver: records every POST it accepts; answers `status(request)` (default
 * 200). `onRequest` runs before the answer (a test advances its clock there: a slow receiver in
 * simulated time).
 */
export async function startWebhook(
  opts: {
    status?: (r: Received) => number;
    delayMs?: number;
    onRequest?: (r: Received) => void | Promise<void>;
  } = {},
) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    void readBody(req).then(async (body) => {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      const r = { path: req.url ?? '', headers: req.headers, body };
      await opts.onRequest?.(r);
      const status = opts.status?.(r) ?? 200;
      if (status >= 200 && status < 300) received.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status < 300 ? 'ok' : 'down');
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/hook`, port, received, close: closer(server) };
}

/**
 * A loopback fake of the Telegram Bot API's sendMessage (https://core.telegram.org/bots/api#sendmessage):
 * POST /bot<token>/sendMessage with JSON { chat_id, text }; answers { ok, result } or
 * { ok: false, error_code, description } (401 for a wrong token).
 */
export async function startFakeBotApi(opts: {
  token: string;
  fail?: () => boolean;
  /** Answer this error instead (as the Bot API does: `{ ok: false, error_code, description }`). */
  error?: () => { status: number; description: string } | undefined;
  /** Runs before each answer (a test advances its clock there: a slow Bot API in simulated time). */
  onRequest?: () => void | Promise<void>;
}) {
  const messages: { chatId: string; text: string; body: string; path: string }[] = [];
  let calls = 0;
  const server = createServer((req, res) => {
    void readBody(req).then(async (body) => {
      await opts.onRequest?.();
      calls++;
      const json = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      const m = /^\/bot([^/]+)\/sendMessage$/.exec(req.url ?? '');
      if (!m) return json(404, { ok: false, error_code: 404, description: 'Not Found' });
      if (m[1] !== opts.token) return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
      if (opts.fail?.()) return json(502, { ok: false, error_code: 502, description: 'Bad Gateway' });
      const err = opts.error?.();
      if (err) return json(err.status, { ok: false, error_code: err.status, description: err.description });
      const p = JSON.parse(body) as { chat_id: string | number; text: string };
      messages.push({ chatId: String(p.chat_id), text: p.text, body, path: req.url ?? '' });
      json(200, {
        ok: true,
        result: { message_id: messages.length, chat: { id: p.chat_id }, date: 0, text: p.text },
      });
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    messages,
    calls: () => calls,
    close: closer(server),
  };
}

/** One email the loopback SMTP server accepted. */
export interface ReceivedMail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

/**
 * A loopback SMTP server (the `smtp-server` package, as real relays answer): AUTH PLAIN/LOGIN
 * checked against `user`/`pass` (535 otherwise), no STARTTLS offered (loopback), and
 * `refuse()` answering the DATA with a temporary 451 (a relay that is down for now) or a
 * permanent 554.
 */
export async function startSmtp(opts: {
  user: string;
  pass: string;
  refuse?: () => { code: 451 | 554; message: string } | undefined;
}) {
  const { SMTPServer } = await import('smtp-server');
  const received: ReceivedMail[] = [];
  const attempts = { auth: 0, authFailed: 0, data: 0 };
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, cb) {
      attempts.auth++;
      if (auth.username === opts.user && auth.password === opts.pass) return cb(null, { user: auth.username });
      attempts.authFailed++;
      const e = new Error('Invalid username or password') as Error & { responseCode: number };
      e.responseCode = 535;
      cb(e);
    },
    onData(stream, session, cb) {
      attempts.data++;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const refused = opts.refuse?.();
        if (refused) {
          const e = new Error(refused.message) as Error & { responseCode: number };
          e.responseCode = refused.code;
          return cb(e);
        }
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        cb(null);
      });
    },
  });
  const port = await new Promise<number>((r) =>
    server.listen(0, '127.0.0.1', () => r((server.server.address() as AddressInfo).port)),
  );
  return {
    port,
    received,
    attempts,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A chat and person as Telegram describes them in an update. */
export interface FakeChat {
  id: number;
  type: 'private' | 'group' | 'supergroup';
  username?: string;
}

/**
 * A loopback fake of the Bot API's getUpdates and sendMessage (https://core.telegram.org/bots/api#getupdates),
 * as Telegram behaves: updates get increasing update_ids; getUpdates returns those with
 * update_id ≥ offset (or every unconfirmed one without an offset), at most `limit`, and calling it
 * with an offset confirms (forgets) every update below it; `timeout` is what the caller asked to
 * long-poll (recorded: cron must ask 0). A bot with a webhook answers 409; a wrong token 401.
 * `say()` queues a text message; `post()` any other update (a sticker, an edit).
 */
export async function startFakeBotUpdates(opts: { token: string }) {
  let nextId = 5_000_000 + Math.floor(Math.random() * 1000);
  let messageId = 0;
  const queue: Record<string, unknown>[] = [];
  const getUpdates: { offset?: number; limit?: number; timeout?: number; allowed_updates?: string[] }[] = [];
  const sent: { chatId: string; text: string; replyTo: number | undefined }[] = [];
  // blocked: chat ids whose person blocked the bot (sendMessage: 403, as Telegram answers for good).
  const mode = { webhook: false, sendDown: false, blocked: new Set<string>() };
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const json = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '');
      if (!m) return json(404, { ok: false, error_code: 404, description: 'Not Found' });
      if (m[1] !== opts.token) return json(401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const p = (body ? JSON.parse(body) : {}) as Record<string, unknown>;
      if (m[2] === 'getUpdates') {
        getUpdates.push(p);
        if (mode.webhook) {
          return json(409, {
            ok: false,
            error_code: 409,
            description:
              "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
          });
        }
        const offset = typeof p.offset === 'number' ? p.offset : undefined;
        if (offset !== undefined) {
          while (queue.length && (queue[0]!.update_id as number) < offset) queue.shift();
        }
        const limit = typeof p.limit === 'number' ? Math.min(Math.max(p.limit, 1), 100) : 100;
        return json(200, { ok: true, result: queue.slice(0, limit) });
      }
      if (m[2] === 'sendMessage') {
        if (mode.sendDown) return json(502, { ok: false, error_code: 502, description: 'Bad Gateway' });
        if (mode.blocked.has(String(p.chat_id))) {
          return json(403, { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
        }
        if (typeof p.text !== 'string' || p.text.length === 0 || p.text.length > 4096) {
          return json(400, {
            ok: false,
            error_code: 400,
            description: 'Bad Request: message text is empty or too long',
          });
        }
        sent.push({
          chatId: String(p.chat_id),
          text: p.text,
          replyTo: typeof p.reply_to_message_id === 'number' ? p.reply_to_message_id : undefined,
        });
        return json(200, {
          ok: true,
          result: { message_id: ++messageId, chat: { id: p.chat_id }, date: 0, text: p.text },
        });
      }
      json(404, { ok: false, error_code: 404, description: 'Not Found: method not found' });
    });
  });
  const port = await listen(server);
  const post = (update: Record<string, unknown>): number => {
    const id = nextId++;
    queue.push({ update_id: id, ...update });
    return id;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    getUpdates,
    sent,
    mode,
    /** The update_id the next update gets. */
    nextUpdateId: () => nextId,
    /** What Telegram still holds (not confirmed). */
    pending: () => queue.length,
    post,
    /** A text message from `chat` (a command gets its bot_command entity, as Telegram adds it). Returns its message_id. */
    say(chat: FakeChat, text: string): number {
      const mid = ++messageId;
      const cmd = /^\/\S+/.exec(text);
      post({
        message: {
          message_id: mid,
          from: {
            id: chat.type === 'private' ? chat.id : 777,
            is_bot: false,
            first_name: 'Someone',
            username: chat.username,
          },
          chat:
            chat.type === 'private'
              ? { id: chat.id, type: 'private', username: chat.username }
              : { id: chat.id, type: chat.type, title: 'Ops' },
          date: 1_796_200_000,
          text,
          ...(cmd ? { entities: [{ type: 'bot_command', offset: 0, length: cmd[0].length }] } : {}),
        },
      });
      return mid;
    },
    close: closer(server),
  };
}
