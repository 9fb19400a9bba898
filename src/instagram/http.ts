import { request as httpRequest, type Agent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import type { ProxySpec } from '../domain/proxyUrl.js';
import { UnavailableError } from '../errors.js';

/**
 * HTTP for checks: through the given proxy (HTTP or SOCKS5/4) when there is one, and then only
 * through it — a proxy that is down is an error, never a reason to go direct.
 */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/**
 * A request that got no answer: the proxy failed, the network failed, or the host was too slow.
 * A needed service is unavailable (69); the message says what failed and how to fix it.
 */
export class HttpError extends UnavailableError {
  constructor(
    message: string,
    readonly kind: 'proxy' | 'network' | 'timeout',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const NETWORK_FIX = 'check the network; the next run tries again';
const PROXY_FIX = 'check the proxy (`acctctl proxies list`) or give the tenant another one; the next run tries again';

const require = createRequire(import.meta.url);
const agents = new Map<string, Agent>();

function proxyUrl(p: ProxySpec): string {
  const auth = p.username
    ? `${encodeURIComponent(p.username)}${p.password ? ':' + encodeURIComponent(p.password) : ''}@`
    : '';
  const host = p.host.includes(':') ? `[${p.host}]` : p.host;
  if (p.scheme === 'http') return `http://${auth}${host}:${p.port}`;
  if (p.scheme === 'socks5') return `socks5h://${auth}${host}:${p.port}`;
  if (p.scheme === 'socks4') return `socks4a://${auth}${host}:${p.port}`;
  throw new HttpError('an MTProxy cannot carry HTTP → give this tenant an http:// or socks5:// proxy', 'proxy');
}

function agentFor(p: ProxySpec, secure: boolean): Agent {
  const url = proxyUrl(p);
  const key = `${secure ? 's' : 'p'}|${url}`;
  let a = agents.get(key);
  if (!a) {
    if (p.scheme === 'http') {
      a = secure
        ? new (require('https-proxy-agent') as typeof import('https-proxy-agent')).HttpsProxyAgent(url)
        : new (require('http-proxy-agent') as typeof import('http-proxy-agent')).HttpProxyAgent(url);
    } else {
      a = new (require('socks-proxy-agent') as typeof import('socks-proxy-agent')).SocksProxyAgent(url);
    }
    agents.set(key, a);
  }
  return a;
}

export function httpGet(
  url: string,
  opts: { headers?: Record<string, string>; proxy?: ProxySpec | null; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  return httpSend('GET', url, opts);
}

/** A request with a body (a form post: refresh-session's HTTP login), otherwise as httpGet. */
export function httpSend(
  method: 'GET' | 'POST',
  url: string,
  opts: { headers?: Record<string, string>; body?: string; proxy?: ProxySpec | null; timeoutMs?: number } = {},
): Promise<HttpResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const agent = opts.proxy ? agentFor(opts.proxy, secure) : undefined;
  const body = opts.body === undefined ? undefined : Buffer.from(opts.body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      u,
      {
        method,
        headers: {
          accept: 'application/json',
          ...opts.headers,
          ...(body ? { 'content-length': String(body.length) } : {}),
        },
        ...(agent ? { agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = undefined;
          try {
            json = text ? (JSON.parse(text) as unknown) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', (e) =>
          reject(new HttpError(`reading ${u.host}: ${e.message} → ${NETWORK_FIX}`, 'network', { cause: e })),
        );
      },
    );
    req.setTimeout(opts.timeoutMs ?? 15_000, () =>
      req.destroy(new HttpError(`no answer from ${u.host} in time → ${NETWORK_FIX}`, 'timeout')),
    );
    req.on('error', (e) =>
      reject(
        e instanceof HttpError
          ? e
          : new HttpError(
              opts.proxy
                ? `the proxy ${opts.proxy.host}:${opts.proxy.port} failed (${e.message}) → ${PROXY_FIX}`
                : `cannot reach ${u.host} (${e.message}) → ${NETWORK_FIX}`,
              opts.proxy ? 'proxy' : 'network',
              { cause: e },
            ),
      ),
    );
    req.end(body);
  });
}
