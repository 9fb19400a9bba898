import { classifyError } from '../domain/accountStates.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Store } from '../store/store.js';
import { dueRechecks, settlePending, takeRecheck } from '../store/targetClaims.js';
import { TelegramCallError, type TelegramGateway } from '../telegram/gateway.js';
import type { AccountManager } from './accountManager.js';
import { loadSession } from './sessions.js';
import { count } from '../domain/plural.js';

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
  const due = await dueRechecks(store, { niche: opts.niche, limit: opts.limit, now: now0 });
  const out: RecheckResult[] = [];
  for (const t of due) {
    const now = clock.now();
    const requestedAt = t.requestedAt;
    const tooOld = now - requestedAt >= expiryMs;
    // Take it: only the run that moves its next check time asks Telegram.
    if (!(await takeRecheck(store, t.id, now))) continue;
    const expire = async (why: string) => {
      await settlePending(store.db, t.id, { status: 'expired', why }, clock.now());
      out.push({ target: t.ref, account: t.account, outcome: 'expired', detail: why });
    };
    const expiredWhy = `join request not approved within ${count(Math.round(expiryMs / DAY), 'day')} (sent ${new Date(requestedAt).toISOString()})`;
    const lease = await fleet.lease({
      action: 'join',
      holder: opts.holder,
      ttlMs: opts.ttlMs,
      accountId: t.accountId,
    });
    if (!lease.ok) {
      if (tooOld) await expire(expiredWhy);
      else
        out.push({
          target: t.ref,
          account: t.account,
          outcome: 'not_checked',
          detail: 'its account is not free now',
        });
      continue;
    }
    try {
      const client = await deps.gateway.client(await loadSession(store, deps.box, t.accountId));
      const state = await client.checkJoin(t.target);
      if (state === 'member') {
        await fleet.release(lease.lease.token, {
          inTx: async (tx, now) => {
            await settlePending(tx, t.id, { status: 'joined' }, now);
          },
        });
        out.push({ target: t.ref, account: t.account, outcome: 'approved', detail: null });
        log.info('join request approved', { target: t.ref, account: t.account });
        continue;
      }
      await fleet.release(lease.lease.token);
      if (tooOld) await expire(expiredWhy);
      else out.push({ target: t.ref, account: t.account, outcome: 'pending', detail: null });
    } catch (e) {
      const err =
        e instanceof TelegramCallError
          ? { errorMessage: e.errorMessage, code: e.code, seconds: e.seconds, message: e.message }
          : { message: e instanceof Error ? e.message : String(e) };
      const outcome = classifyError(err);
      await fleet.reportError(lease.lease.token, err, async (tx, now) => {
        if (outcome.target !== 'error' && outcome.target !== 'banned') return;
        await settlePending(tx, t.id, { status: outcome.target, why: outcome.code }, now);
      });
      out.push({
        target: t.ref,
        account: t.account,
        outcome: outcome.target === 'error' || outcome.target === 'banned' ? outcome.target : 'not_checked',
        detail: outcome.code,
      });
    }
  }
  return out;
}
