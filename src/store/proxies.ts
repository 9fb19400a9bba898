import type { Kysely } from 'kysely';
import { proxyDisplay, type ProxySpec } from '../domain/proxyUrl.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** A stored proxy with its secrets decrypted (null when the row is gone). */
export async function loadProxy(store: Store, box: SecretBox, id: number): Promise<ProxySpec | null> {
  const p = await store.db.selectFrom('proxies').selectAll().where('id', '=', id).executeTakeFirst();
  if (!p) return null;
  const spec: ProxySpec = { scheme: p.scheme as ProxySpec['scheme'], host: p.host, port: p.port };
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
