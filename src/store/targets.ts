import { DataError } from '../errors.js';
import type { Store } from './store.js';

export interface TargetRemoval {
  removed: string[];
}

/**
 * Remove join targets by key (`@name` or `+HASH`, see domain/links targetKey), all or none. A
 * target in use — a join run is trying it now, or it is joined / pending approval and bound to an
 * account (the binding is what keeps a second account from joining it) — is refused (DataError,
 * 65, naming the account) unless `force`.
 */
export async function removeTargets(
  store: Store,
  refs: readonly string[],
  opts: { force: boolean; now: number },
): Promise<TargetRemoval> {
  return store.writeTx(async (tx) => {
    const rows = await tx
      .selectFrom('targets as t')
      .leftJoin('telegram_accounts as a', 'a.id', 't.account_id')
      .select(['t.id', 't.ref', 't.status', 't.lease_holder', 't.lease_expires_at', 'a.session_name as account'])
      .where('t.ref', 'in', refs.length ? [...refs] : [''])
      .execute();
    const missing = refs.filter((r) => !rows.some((x) => x.ref === r));
    if (missing.length) {
      throw new DataError(`no target ${missing.join(', ')}; nothing was removed → see \`acctctl targets list\``);
    }
    const problems: string[] = [];
    for (const r of rows) {
      if (r.lease_holder !== null && (r.lease_expires_at ?? 0) > opts.now) {
        problems.push(
          `${r.ref}: a join run is trying it now (${r.lease_holder}${r.account ? `, account ${r.account}` : ''})`,
        );
      } else if ((r.status === 'joined' || r.status === 'pending_approval') && r.account) {
        problems.push(`${r.ref}: ${r.status}, bound to account ${r.account}`);
      }
    }
    if (problems.length && !opts.force) {
      throw new DataError(
        `${problems.length === 1 ? 'a target is' : `${problems.length} targets are`} in use; nothing was removed → ` +
          `wait for the join run, or pass --force (forgetting a binding lets another account join the group if it is imported again)`,
        { details: problems },
      );
    }
    await tx
      .deleteFrom('targets')
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    return { removed: rows.map((r) => r.ref).sort() };
  });
}
