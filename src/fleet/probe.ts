import { classifyError } from '../domain/accountStates.js';
import type { Clock } from '../domain/clock.js';
import { readSpamBot } from '../domain/spamBot.js';
import type { Logger } from '../log/logger.js';
import type { SecretBox } from '../security/secretBox.js';
import type { AccountState } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { TelegramCallError, type TelegramGateway } from '../telegram/gateway.js';
import { ConfigError } from '../errors.js';
import { assertKeysPresent, loadSession } from './sessions.js';

export type ProbeVerdict =
  'fine' | 'spam_restricted' | 'frozen' | 'banned' | 'unauthorized' | 'unreachable' | 'unknown';

export interface ProbeResult {
  account: string;
  verdict: ProbeVerdict;
  state: AccountState;
  until: number | null;
  detail: string | null;
}

const DEFAULT_RESTRICTION_MS = 24 * 3_600_000;

/**
 * recover --probe: for accounts with errors or in `blocked`, connect, getMe, ask @SpamBot, and
 * set the state from what Telegram says (fine → active; restricted → blocked until the date;
 * frozen; banned; unauthorized → disabled). Network trouble changes nothing.
 */
export async function probeAccounts(deps: {
  store: Store;
  box: SecretBox;
  clock: Clock;
  gateway: TelegramGateway;
  log: Logger;
}): Promise<ProbeResult[]> {
  const { store, clock } = deps;
  await assertKeysPresent(store, deps.box);
  const accounts = await store.db
    .selectFrom('telegram_accounts')
    .select(['id', 'session_name', 'state', 'state_until'])
    .where('enabled', '=', 1)
    .where((eb) => eb.or([eb('error_count', '>', 0), eb('state', '=', 'blocked')]))
    .where('state', 'not in', ['banned'])
    .where((eb) => eb.or([eb('lease_holder', 'is', null), eb('lease_expires_at', '<=', clock.now())]))
    .orderBy('session_name')
    .execute();
  const out: ProbeResult[] = [];
  for (const a of accounts) {
    let verdict: ProbeVerdict;
    let state: AccountState = a.state;
    let until: number | null = a.state_until;
    let detail: string | null = null;
    try {
      const client = await deps.gateway.client(await loadSession(store, deps.box, a.id));
      await client.getMe();
      const answer = await client.askSpamBot();
      const v = readSpamBot(answer);
      detail = answer.slice(0, 200);
      if (v.kind === 'fine') [verdict, state, until] = ['fine', 'active', null];
      else if (v.kind === 'frozen') [verdict, state, until] = ['frozen', 'frozen', null];
      else if (v.kind === 'restricted')
        [verdict, state, until] = ['spam_restricted', 'blocked', v.until ?? clock.now() + DEFAULT_RESTRICTION_MS];
      else verdict = 'unknown';
    } catch (e) {
      if (e instanceof ConfigError) throw e; // a key missing here, not the account's state
      const err =
        e instanceof TelegramCallError
          ? { errorMessage: e.errorMessage, code: e.code, seconds: e.seconds, message: e.message }
          : { message: e instanceof Error ? e.message : String(e) };
      const o = classifyError(err);
      detail = o.code;
      if (o.state === 'banned') [verdict, state, until] = ['banned', 'banned', null];
      else if (o.state === 'disabled') [verdict, state, until] = ['unauthorized', 'disabled', null];
      else if (o.state === 'frozen') [verdict, state, until] = ['frozen', 'frozen', null];
      else verdict = 'unreachable';
    }
    const now = clock.now();
    if (verdict !== 'unreachable' && verdict !== 'unknown') {
      await store.writeTx(async (tx) => {
        await tx
          .updateTable('telegram_accounts')
          .set({
            state,
            state_until: until,
            state_reason: `probe: ${verdict}`,
            updated_at: now,
            ...(verdict === 'fine' ? { error_count: 0, last_error: null } : { last_error: detail }),
          })
          .where('id', '=', a.id)
          .execute();
        await tx
          .insertInto('events')
          .values({
            at: now,
            kind: 'account_probe',
            subject_type: 'telegram_account',
            subject_id: a.id,
            tenant_id: null,
            message: `${a.session_name}: probe says ${verdict} → ${state}`,
            data_json: JSON.stringify({ verdict, from: a.state, to: state, until }),
          })
          .execute();
      });
    }
    deps.log.info('probed', { account: a.session_name, verdict, state });
    out.push({ account: a.session_name, verdict, state, until, detail });
  }
  return out;
}
