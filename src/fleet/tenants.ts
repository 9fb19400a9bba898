import type { Clock } from '../domain/clock.js';
import { isVerifyMode, validTenantName, VERIFY_MODES } from '../domain/tenants.js';
import { UsageError } from '../errors.js';
import type { Store } from '../store/store.js';
import { ensureTenant, updateTenantSettings } from '../store/tenants.js';

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
