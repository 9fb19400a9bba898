import type { FakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import type { SecretBox } from '../../src/security/secretBox.js';
import type { Store } from '../../src/store/store.js';

/** An Instagram login account with a live session at the fake, stored as ig import would. */
export async function addIgSession(
  store: Store,
  box: SecretBox,
  ig: FakeInstagram,
  opts: { tenant: string; username: string; priority?: number; state?: string },
): Promise<{ id: number; sid: string }> {
  const sid = ig.grantSession(opts.username);
  const tid = (
    await store.db.selectFrom('tenants').select('id').where('name', '=', opts.tenant).executeTakeFirstOrThrow()
  ).id;
  const id = (
    await store.db
      .insertInto('ig_accounts')
      .values({
        tenant_id: tid,
        username: opts.username,
        password_enc: null,
        totp_secret_enc: null,
        sessionid_enc: null,
        cookies_enc: null,
        proxy_id: null,
        state: opts.state ?? 'valid',
        priority: opts.priority ?? 0,
        session_created_at: null,
        last_verified_at: null,
        next_refresh_at: null,
        last_error: null,
        created_at: 0,
        updated_at: 0,
        rate_limited_until: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow()
  ).id;
  await store.db
    .updateTable('ig_accounts')
    .set({ sessionid_enc: box.seal(sid, { table: 'ig_accounts', column: 'sessionid_enc', rowId: id }) })
    .where('id', '=', id)
    .execute();
  return { id, sid };
}
