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
