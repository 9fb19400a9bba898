import type { Clock } from '../domain/clock.js';
import { isVerifyMode, validTenantName, VERIFY_MODES } from '../domain/tenants.js';
import { UsageError } from '../errors.js';
import type { Store } from '../store/store.js';
import { ensureTenant, someTenantNames, updateTenantSettings } from '../store/tenants.js';

export interface TenantAddResult {
  name: string;
  verifyMode: string;
  created: boolean;
}

/** `tenants add`: create a tenant, or change its verify mode and notify target. */
export async function addTenant(
  deps: { store: Store; clock: Clock },
  input: { name: string; verifyMode?: string | undefined; notifyTarget?: string | undefined },
): Promise<TenantAddResult> {
  const target = input.notifyTarget?.trim();
  if (target !== undefined && target !== '' && !/^https?:\/\/\S+$/i.test(target) && !/^(-?\d+|@\w{4,})$/.test(target)) {
    throw new UsageError(
      `--notify-target "${target}" → give a webhook URL (https://…) or a Telegram chat id (-100…, @channel); "" removes it`,
    );
  }
  if (!validTenantName(input.name)) {
    throw new UsageError(`tenant name "${input.name}" is not allowed → use letters, digits, _ . - (up to 64)`);
  }
  if (input.verifyMode !== undefined && !isVerifyMode(input.verifyMode)) {
    throw new UsageError(`--verify-mode "${input.verifyMode}" is unknown → use one of ${VERIFY_MODES.join(', ')}`);
  }
  return deps.store.writeTx(async (tx) => {
    const { id, created } = await ensureTenant(tx, input.name, deps.clock.now());
    const verifyMode = await updateTenantSettings(tx, id, {
      verifyMode: input.verifyMode,
      notifyTarget: target === undefined ? undefined : target === '' ? null : target,
    });
    return { name: input.name, verifyMode, created };
  });
}

/**
 * Tenants are walls: with more than one tenant, a command that hands out accounts or owns targets
 * (`lease`, `join`, `targets import`) must say whose — `--tenant NAME`, or where that makes sense
 * an explicit `--any-tenant`. The tenant to use (undefined: any, or the only one there is).
 */
export async function tenantScope(
  store: Store,
  opts: { tenant?: string | undefined; anyTenant?: boolean | undefined; command: string; anyAllowed: boolean },
): Promise<string | undefined> {
  if (opts.tenant !== undefined && opts.anyTenant) {
    throw new UsageError(`${opts.command}: --tenant and --any-tenant exclude each other → give one of them`);
  }
  if (opts.tenant !== undefined || opts.anyTenant) return opts.tenant;
  const names = await someTenantNames(store, 4);
  if (names.length > 1) {
    const shown = `${names.slice(0, 3).join(', ')}${names.length > 3 ? ', …' : ''}`;
    throw new UsageError(
      `there is more than one tenant (${shown}): \`${opts.command}\` must say whose → add --tenant NAME` +
        (opts.anyAllowed ? ", or --any-tenant to take any tenant's accounts" : ''),
    );
  }
  return undefined;
}
