import { classifyError } from '../domain/accountStates.js';
import type { Clock } from '../domain/clock.js';
import type { TargetRef } from '../domain/links.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Store } from '../store/store.js';
import { TelegramCallError, type TelegramGateway } from '../telegram/gateway.js';
import type { AccountManager } from './accountManager.js';
import { loadSession } from './sessions.js';
import { PENDING_RECHECK_MS, WARMUP_MS } from './targets.js';

export const DEFAULT_PENDING_EXPIRY_DAYS = 7;
const DAY = 24 * 3_600_000;

export type RecheckOutcome = 'approved' | 'pending' | 'expired' | 'error' | 'banned' | 'not_checked';

export interface RecheckResult {
  target: string;
  account: string;
  outcome: RecheckOutcome;
  detail: string | null;
}

/**
 * Join requests that wait for an admin (`pending_approval`) are asked about again on a schedule,
 * by the account that sent them: `messages.CheckChatInvite` answering `ChatInviteAlready` (or the
 * channel no longer marked `left`) means approved → `joined`, still bound, warm-up starts now.
 * Still pending `expiryDays` after the request → `expired`, with the reason. Each due target is
 * taken by one run only (its next check time is moved first, atomically).
 */
export async function recheckPending(
  deps: { store: Store; clock: Clock; gateway: TelegramGateway; box: SecretBox; log: Logger; fleet: AccountManager },
  opts: { niche: string; limit: number; holder: string; ttlMs: number; expiryDays?: number | undefined },
): Promise<RecheckResult[]> {
  const { store, clock, fleet, log } = deps;
  const expiryMs = (opts.expiryDays ?? DEFAULT_PENDING_EXPIRY_DAYS) * DAY;
  const now0 = clock.now();
  const due = await store.db
    .selectFrom('targets as t')
    .innerJoin('telegram_accounts as a', 'a.id', 't.account_id')
    .select(['t.id', 't.ref', 't.kind', 't.value', 't.account_id', 't.requested_at', 't.updated_at', 'a.session_name'])
    .where('t.niche', '=', opts.niche)
    .where('t.status', '=', 'pending_approval')
    .where((eb) => eb.or([eb('t.next_attempt_at', 'is', null), eb('t.next_attempt_at', '<=', now0)]))
    .orderBy('t.next_attempt_at')
    .orderBy('t.id')
    .limit(opts.limit)
    .execute();
  const out: RecheckResult[] = [];
  for (const t of due) {
    const now = clock.now();
    const requestedAt = t.requested_at ?? t.updated_at;
    const tooOld = now - requestedAt >= expiryMs;
    // Take it: only the run that moves its next check time asks Telegram.
    const took = await store.db
      .updateTable('targets')
      .set({ next_attempt_at: now + PENDING_RECHECK_MS, updated_at: now })
      .where('id', '=', t.id)
      .where('status', '=', 'pending_approval')
      .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', now)]))
      .executeTakeFirst();
    if (Number(took.numUpdatedRows) !== 1) continue;
    const expire = async (why: string) => {
      await store.db
        .updateTable('targets')
        .set({ status: 'expired', error_message: why, next_attempt_at: null, updated_at: clock.now() })
        .where('id', '=', t.id)
        .where('status', '=', 'pending_approval')
        .execute();
      out.push({ target: t.ref, account: t.session_name, outcome: 'expired', detail: why });
    };
    const expiredWhy = `join request not approved within ${Math.round(expiryMs / DAY)} day(s) (sent ${new Date(requestedAt).toISOString()})`;
    const lease = await fleet.lease({
      action: 'join',
      holder: opts.holder,
      ttlMs: opts.ttlMs,
      accountId: t.account_id!,
    });
    if (!lease.ok) {
      if (tooOld) await expire(expiredWhy);
      else
        out.push({
          target: t.ref,
          account: t.session_name,
          outcome: 'not_checked',
          detail: 'its account is not free now',
        });
      continue;
    }
    const ref: TargetRef =
      t.kind === 'invite' ? { kind: 'invite', hash: t.value } : { kind: 'username', username: t.value };
    try {
      const client = await deps.gateway.client(await loadSession(store, deps.box, t.account_id!));
      const state = await client.checkJoin(ref);
      if (state === 'member') {
        await fleet.release(lease.lease.token, {
          inTx: async (tx, now) => {
            await tx
              .updateTable('targets')
              .set({
                status: 'joined',
                joined_at: now,
                warmup_ends_at: now + WARMUP_MS,
                next_attempt_at: null,
                error_message: null,
                updated_at: now,
              })
              .where('id', '=', t.id)
              .where('status', '=', 'pending_approval')
              .execute();
          },
        });
        out.push({ target: t.ref, account: t.session_name, outcome: 'approved', detail: null });
        log.info('join request approved', { target: t.ref, account: t.session_name });
        continue;
      }
      await fleet.release(lease.lease.token);
      if (tooOld) await expire(expiredWhy);
      else out.push({ target: t.ref, account: t.session_name, outcome: 'pending', detail: null });
    } catch (e) {
      const err =
        e instanceof TelegramCallError
          ? { errorMessage: e.errorMessage, code: e.code, seconds: e.seconds, message: e.message }
          : { message: e instanceof Error ? e.message : String(e) };
      const outcome = classifyError(err);
      await fleet.reportError(lease.lease.token, err, async (tx, now) => {
        if (outcome.target !== 'error' && outcome.target !== 'banned') return;
        await tx
          .updateTable('targets')
          .set({ status: outcome.target, error_message: outcome.code, next_attempt_at: null, updated_at: now })
          .where('id', '=', t.id)
          .where('status', '=', 'pending_approval')
          .execute();
      });
      out.push({
        target: t.ref,
        account: t.session_name,
        outcome: outcome.target === 'error' || outcome.target === 'banned' ? outcome.target : 'not_checked',
        detail: outcome.code,
      });
    }
  }
  return out;
}
