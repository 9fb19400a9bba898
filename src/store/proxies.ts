import type { Kysely } from 'kysely';
import { proxyDisplay, type ProxySpec } from '../domain/proxyUrl.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Database } from './schema.js';

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
