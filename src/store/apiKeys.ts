import { DataError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import { sealingTx } from './secrets.js';
import type { Store } from './store.js';
import { resolveTenants } from './tenants.js';

/** An API key as `apikeys list` shows it: never the key itself. */
export interface ApiKeyRow {
  id: number;
  tenant: string;
  provider: string;
  healthy: boolean;
  quotaUsed: number;
  quotaResetAt: number | null;
  lastError: string | null;
  createdAt: number;
}

export async function listApiKeys(store: Store): Promise<ApiKeyRow[]> {
  const rows = await store.db
    .selectFrom('api_keys as k')
    .innerJoin('tenants as t', 't.id', 'k.tenant_id')
    .select([
      'k.id',
      't.name as tenant',
      'k.provider',
      'k.healthy',
      'k.quota_used',
      'k.quota_reset_at',
      'k.last_error',
      'k.created_at',
    ])
    .orderBy('t.name')
    .orderBy('k.provider')
    .orderBy('k.id')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant,
    provider: r.provider,
    healthy: r.healthy === 1,
    quotaUsed: r.quota_used,
    quotaResetAt: r.quota_reset_at,
    lastError: r.last_error,
    createdAt: r.created_at,
  }));
}

/**
 * Remove API keys by id, all or none. The last key of a tenant whose verify mode includes `api`
 * is in use (its `api` checks would stop) and is refused (DataError, 65) unless `force`.
 */
export async function removeApiKeys(
  store: Store,
  ids: readonly number[],
  opts: { force: boolean; now: number },
): Promise<{ removed: { id: number; tenant: string; provider: string }[] }> {
  return store.writeTx(async (tx) => {
    const rows = await tx
      .selectFrom('api_keys as k')
      .innerJoin('tenants as t', 't.id', 'k.tenant_id')
      .select(['k.id', 'k.tenant_id', 't.name as tenant', 't.verify_mode', 'k.provider'])
      .where('k.id', 'in', ids.length ? [...ids] : [-1])
      .execute();
    const missing = ids.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) {
      throw new DataError(
        `no API key with id ${missing.join(', ')}; nothing was removed → see \`acctctl apikeys list\``,
      );
    }
    const problems: string[] = [];
    for (const tenantId of new Set(rows.map((r) => r.tenant_id))) {
      const first = rows.find((r) => r.tenant_id === tenantId)!;
      if (!first.verify_mode.split('+').includes('api')) continue;
      const left = await tx
        .selectFrom('api_keys')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('id', 'not in', [...ids])
        .executeTakeFirst();
      if (!left) {
        problems.push(
          `tenant ${first.tenant} (verify mode ${first.verify_mode}) would have no API key left for its api checks`,
        );
      }
    }
    if (problems.length && !opts.force) {
      throw new DataError(
        `API key in use; nothing was removed → import another key for the tenant first, change its verify mode, or pass --force`,
        { details: problems },
      );
    }
    await tx
      .deleteFrom('api_keys')
      .where('id', 'in', [...ids])
      .execute();
    await tx
      .insertInto('events')
      .values(
        rows.map((r) => ({
          at: opts.now,
          kind: 'api_key_removed',
          subject_type: 'api_key',
          subject_id: null,
          tenant_id: r.tenant_id,
          message: `API key ${r.id} (${r.provider}) of tenant ${r.tenant}: removed by operator`,
          data_json: null,
        })),
      )
      .execute();
    return { removed: rows.map((r) => ({ id: r.id, tenant: r.tenant, provider: r.provider })) };
  });
}

/** How long a key answered "out of quota" rests before it is tried again. */
export const QUOTA_REST_MS = 3_600_000;

/**
 * A tenant's API keys `check` may use now, least used first: the healthy ones, and those resting
 * for quota whose reset time has passed (they come back on their own).
 */
export async function usableApiKeys(
  store: Store,
  tenantId: number,
  now: number,
): Promise<{ id: number; provider: string; key_enc: string; healthy: number }[]> {
  return store.db
    .selectFrom('api_keys')
    .select(['id', 'provider', 'key_enc', 'healthy'])
    .where('tenant_id', '=', tenantId)
    .where((eb) =>
      eb.or([eb('healthy', '=', 1), eb.and([eb('quota_reset_at', 'is not', null), eb('quota_reset_at', '<=', now)])]),
    )
    .orderBy('quota_used')
    .orderBy('id')
    .execute();
}

/**
 * One request made with a key. Out of quota → it rests until `now + QUOTA_REST_MS`. Any other
 * answer from a key that was resting → it is healthy again and its count starts over.
 */
export async function recordApiKeyUse(
  store: Store,
  key: { id: number; healthy: number },
  outcome: { quota: boolean; status: number },
  now: number,
): Promise<void> {
  if (outcome.quota) {
    await store.db
      .updateTable('api_keys')
      .set((eb) => ({
        quota_used: eb('quota_used', '+', 1),
        healthy: 0,
        quota_reset_at: now + QUOTA_REST_MS,
        last_error: `quota (${outcome.status})`,
      }))
      .where('id', '=', key.id)
      .execute();
  } else if (key.healthy !== 1) {
    await store.db
      .updateTable('api_keys')
      .set({ quota_used: 1, healthy: 1, quota_reset_at: null, last_error: null })
      .where('id', '=', key.id)
      .execute();
  } else {
    await store.db
      .updateTable('api_keys')
      .set((eb) => ({ quota_used: eb('quota_used', '+', 1) }))
      .where('id', '=', key.id)
      .execute();
  }
}

/** New API keys, each sealed to its row. All rows or none. */
export async function addApiKeys(
  store: Store,
  box: SecretBox,
  rows: { tenant: string; provider: string; key: string }[],
  opts: { createTenants: boolean; now: number },
): Promise<{ imported: number; tenantsCreated: string[] }> {
  const { now } = opts;
  return sealingTx(store, box, async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.map((r) => r.tenant),
      { create: opts.createTenants, now },
    );
    for (const r of rows) {
      const t = { id: tenants.ids.get(r.tenant)! };
      const id = (
        await tx
          .insertInto('api_keys')
          .values({
            tenant_id: t.id,
            provider: r.provider,
            key_enc: '',
            quota_reset_at: null,
            last_error: null,
            created_at: now,
          })
          .returning('id')
          .executeTakeFirstOrThrow()
      ).id;
      await tx
        .updateTable('api_keys')
        .set({ key_enc: box.seal(r.key, { table: 'api_keys', column: 'key_enc', rowId: id }) })
        .where('id', '=', id)
        .execute();
    }
    return { imported: rows.length, tenantsCreated: tenants.created };
  });
}
