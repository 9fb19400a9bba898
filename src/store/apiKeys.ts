import { DataError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import { rememberRemoved } from './removed.js';
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

/** API keys matching `apikeys list --tenant T` (the listing's total). */
export async function countApiKeys(store: Store, filter: { tenant?: string | undefined } = {}): Promise<number> {
  let q = store.db
    .selectFrom('api_keys as k')
    .innerJoin('tenants as t', 't.id', 'k.tenant_id')
    .select((eb) => eb.fn.countAll().as('n'));
  if (filter.tenant !== undefined) q = q.where('t.name', '=', filter.tenant);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** API keys by tenant, provider and id (never the key); a page of them with `page`. */
export async function listApiKeys(
  store: Store,
  filter: { tenant?: string | undefined } = {},
  page?: { offset: number; limit: number },
): Promise<ApiKeyRow[]> {
  let q = store.db
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
    .orderBy('k.id');
  if (filter.tenant !== undefined) q = q.where('t.name', '=', filter.tenant);
  if (page) q = q.limit(page.limit).offset(page.offset);
  const rows = await q.execute();
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
    await rememberRemoved(
      tx,
      rows.map((r) => ({
        subject_type: 'api_key',
        subject_id: r.id,
        name: `${r.provider} key ${r.id}`,
        tenant_id: r.tenant_id,
        tenant_name: r.tenant,
        removed_at: opts.now,
      })),
    );
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
          subject_id: r.id,
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

/**
 * API keys, each sealed to its row, all rows or none. A key is one tenant's: the same key for the
 * same tenant and provider again (a re-import) updates that row (healthy again, its error
 * cleared) instead of adding a second row that shares its quota; a key another tenant holds is
 * refused (DataError, 65, naming the tenants, never the key).
 */
export async function addApiKeys(
  store: Store,
  box: SecretBox,
  rows: { tenant: string; provider: string; key: string }[],
  opts: { createTenants: boolean; now: number },
): Promise<{ imported: number; updated: number; tenantsCreated: string[] }> {
  const { now } = opts;
  return sealingTx(store, box, async (tx) => {
    const tenants = await resolveTenants(
      tx,
      rows.map((r) => r.tenant),
      { create: opts.createTenants, now },
    );
    // Keys are sealed with a fresh nonce each: compare what they open to.
    const held = new Map<string, { id: number; tenantId: number; tenant: string; provider: string }>();
    const existing = await tx
      .selectFrom('api_keys as k')
      .innerJoin('tenants as t', 't.id', 'k.tenant_id')
      .select(['k.id', 'k.tenant_id', 't.name as tenant', 'k.provider', 'k.key_enc'])
      .execute();
    for (const k of existing) {
      const key = box.open(k.key_enc, { table: 'api_keys', column: 'key_enc', rowId: k.id });
      held.set(key, { id: k.id, tenantId: k.tenant_id, tenant: k.tenant, provider: k.provider });
    }
    const problems: string[] = [];
    const plan: { row: (typeof rows)[number]; tenantId: number; updateId: number | null }[] = [];
    rows.forEach((r, i) => {
      const tenantId = tenants.ids.get(r.tenant)!;
      const h = held.get(r.key);
      if (h && h.tenantId !== tenantId) {
        problems.push(
          `[${i}]: this key is already tenant ${h.tenant}'s (API key ${h.id}); a key belongs to one tenant`,
        );
      } else if (h && h.provider !== r.provider) {
        problems.push(`[${i}]: this key is already imported for provider ${h.provider} (API key ${h.id})`);
      } else {
        plan.push({ row: r, tenantId, updateId: h?.id ?? null });
        if (!h) held.set(r.key, { id: -1, tenantId, tenant: r.tenant, provider: r.provider });
      }
    });
    if (problems.length) {
      throw new DataError(
        `${problems.length === 1 ? 'a key is' : `${problems.length} keys are`} held by another tenant or provider; nothing was imported → remove those rows, or remove the key from the other tenant first (\`acctctl apikeys remove ID\`)`,
        { details: problems },
      );
    }
    let updated = 0;
    let imported = 0;
    for (const { row: r, tenantId, updateId } of plan) {
      if (updateId !== null) {
        if (updateId > 0) {
          await tx
            .updateTable('api_keys')
            .set({ healthy: 1, quota_reset_at: null, last_error: null })
            .where('id', '=', updateId)
            .execute();
          updated++;
        }
        continue;
      }
      const id = (
        await tx
          .insertInto('api_keys')
          .values({
            tenant_id: tenantId,
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
      imported++;
    }
    return { imported, updated, tenantsCreated: tenants.created };
  });
}
