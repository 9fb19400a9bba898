import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { proxyDisplay, type ProxySpec } from '../domain/proxyUrl.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** A stored proxy with its secrets decrypted (null when the row is gone). */
export async function loadProxy(store: Store, box: SecretBox, id: number): Promise<ProxySpec | null> {
  const p = await store.db.selectFrom('proxies').selectAll().where('id', '=', id).executeTakeFirst();
  if (!p) return null;
  const spec: ProxySpec = { id: p.id, scheme: p.scheme as ProxySpec['scheme'], host: p.host, port: p.port };
  if (p.username) spec.username = p.username;
  if (p.password_enc)
    spec.password = box.open(p.password_enc, { table: 'proxies', column: 'password_enc', rowId: p.id });
  if (p.secret_enc) spec.secret = box.open(p.secret_enc, { table: 'proxies', column: 'secret_enc', rowId: p.id });
  return spec;
}

/** Insert or update a proxy (identified by tenant + URL without password); its secrets sealed to its row. */
export async function upsertProxy(
  tx: Kysely<Database>,
  box: SecretBox,
  spec: ProxySpec,
  tenantId: number | null,
  now: number,
): Promise<{ id: number; created: boolean }> {
  const urlKey = `${tenantId ?? '-'}|${proxyDisplay(spec)}`;
  const existing = await tx.selectFrom('proxies').select('id').where('url_key', '=', urlKey).executeTakeFirst();
  const id =
    existing?.id ??
    (
      await tx
        .insertInto('proxies')
        .values({
          tenant_id: tenantId,
          url_key: urlKey,
          scheme: spec.scheme,
          host: spec.host,
          port: spec.port,
          username: spec.username ?? null,
          password_enc: null,
          secret_enc: null,
          last_checked_at: null,
          last_error: null,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  await tx
    .updateTable('proxies')
    .set({
      password_enc:
        spec.password === undefined
          ? null
          : box.seal(spec.password, { table: 'proxies', column: 'password_enc', rowId: id }),
      secret_enc:
        spec.secret === undefined ? null : box.seal(spec.secret, { table: 'proxies', column: 'secret_enc', rowId: id }),
    })
    .where('id', '=', id)
    .execute();
  return { id, created: existing === undefined };
}

/** Failures in a row after which a proxy is marked unhealthy (and not used until recover retries it). */
export const PROXY_MAX_FAILURES = 3;

/**
 * Record what a proxy did: a failure counts (unhealthy after PROXY_MAX_FAILURES in a row), a
 * success clears the count. Nothing is recorded for proxies that did not come from the store.
 */
export async function markProxy(
  store: Store,
  proxy: ProxySpec | null,
  ok: boolean,
  now: number,
  error?: string,
): Promise<void> {
  if (!proxy?.id) return;
  if (ok) {
    await store.db
      .updateTable('proxies')
      .set({ fail_count: 0, healthy: 1, last_checked_at: now, last_error: null })
      .where('id', '=', proxy.id)
      .where('fail_count', '>', 0)
      .execute();
    return;
  }
  await store.db
    .updateTable('proxies')
    .set((eb) => ({
      fail_count: eb('fail_count', '+', 1),
      healthy: eb
        .case()
        .when('fail_count', '>=', PROXY_MAX_FAILURES - 1)
        .then(0)
        .else(eb.ref('healthy'))
        .end(),
      last_checked_at: now,
      last_error: (error ?? 'failed').slice(0, 200),
    }))
    .where('id', '=', proxy.id)
    .execute();
}

/** How a stored proxy is shown (no password or secret), from its columns; null when there is none. */
export function proxyLabel(r: {
  scheme: string | null;
  host: string | null;
  port: number | null;
  username?: string | null;
}): string | null {
  if (!r.scheme || !r.host || !r.port) return null;
  return proxyDisplay({
    scheme: r.scheme as ProxySpec['scheme'],
    host: r.host,
    port: r.port,
    ...(r.username ? { username: r.username } : {}),
  });
}

/** How an Instagram account reaches Instagram: its one identity (issue 9). */
export type IgRoute = { kind: 'direct' } | { kind: 'proxy'; proxy: ProxySpec } | { kind: 'blocked'; why: string };

/** Whether both Chromium and Node can use a proxy: HTTP(S), or SOCKS5 without a password. */
function browserUsable(p: { scheme: string; password_enc: string | null }): boolean {
  return p.scheme === 'http' || (p.scheme === 'socks5' && p.password_enc === null);
}

function rank(igAccountId: number, proxyId: number): number {
  return Number.parseInt(createHash('sha256').update(`${igAccountId}:${proxyId}`).digest('hex').slice(0, 12), 16);
}

/**
 * The one proxy an Instagram account uses, for refresh-session's browser and for check's HTTP
 * alike: its own, else one of its tenant's (the same one every time while it stays usable:
 * highest rendezvous rank among the usable ones). A proxy is configured but none is usable
 * (down, or only MTProxy, or SOCKS5 with a password Chromium cannot send) → blocked, saying why:
 * the account then sends nothing, never direct. No proxy configured at all → direct.
 */
export async function igRoute(store: Store, box: SecretBox, igAccountId: number): Promise<IgRoute> {
  const a = await store.db
    .selectFrom('ig_accounts')
    .select(['tenant_id', 'proxy_id'])
    .where('id', '=', igAccountId)
    .executeTakeFirst();
  if (!a) return { kind: 'blocked', why: 'the Instagram account no longer exists' };
  const cols = ['id', 'scheme', 'host', 'port', 'healthy', 'password_enc'] as const;
  if (a.proxy_id !== null) {
    const p = await store.db.selectFrom('proxies').select(cols).where('id', '=', a.proxy_id).executeTakeFirst();
    if (!p) return { kind: 'blocked', why: 'its proxy is gone → ig import it again with a proxy' };
    if (!browserUsable(p))
      return {
        kind: 'blocked',
        why: `its ${p.scheme} proxy cannot carry a browser → give it an http:// proxy, or SOCKS5 without a password`,
      };
    if (p.healthy !== 1) return { kind: 'blocked', why: `its proxy ${p.host}:${p.port} is down (recover retries it)` };
    const spec = await loadProxy(store, box, p.id);
    return spec ? { kind: 'proxy', proxy: spec } : { kind: 'blocked', why: 'its proxy is gone' };
  }
  const all = await store.db.selectFrom('proxies').select(cols).where('tenant_id', '=', a.tenant_id).execute();
  if (all.length === 0) return { kind: 'direct' };
  const usable = all.filter((p) => browserUsable(p) && p.healthy === 1);
  if (usable.length === 0) {
    const kinds = all.filter((p) => browserUsable(p));
    return {
      kind: 'blocked',
      why:
        kinds.length === 0
          ? `its tenant's only proxies are ${[...new Set(all.map((p) => p.scheme))].join('/')}, which cannot carry Instagram traffic → add an http:// or socks5:// proxy (proxies import --tenant)`
          : `its tenant's proxies are all down (recover retries them)`,
    };
  }
  const best = usable.reduce((x, y) => (rank(igAccountId, y.id) > rank(igAccountId, x.id) ? y : x));
  const spec = await loadProxy(store, box, best.id);
  return spec ? { kind: 'proxy', proxy: spec } : { kind: 'blocked', why: 'its proxy is gone' };
}
