import type { Ctx } from './support/context.js';
import { secretBox, withStore } from './support/context.js';
import { ask, askHidden } from './support/prompt.js';
import type { Clock } from '../domain/clock.js';
import type { ProxySpec } from '../domain/proxyUrl.js';
import { HTTP_PROXY_FOR_TELEGRAM } from '../domain/accountsConfig.js';
import { parseStringSession } from '../domain/stringSession.js';
import { ConfigError, DataError, TempFailError, UsageError } from '../errors.js';
import type { SecretBox } from '../security/secretBox.js';
import type { Store } from '../store/store.js';
import { loadProxy } from '../store/proxies.js';
import { TelegramCallError, type AccountSession } from '../telegram/gateway.js';
import type { LoginCallbacks } from '../telegram/gramjs.js';
import { importAccounts } from '../fleet/accounts.js';
import { tenantIdByName } from '../store/tenants.js';
import { accountDeviceByName, setAccountProxy } from '../store/accounts.js';
import { chooseDevice, parseStoredDevice } from '../domain/device.js';

export interface LoginDeps {
  store: Store;
  box: SecretBox;
  clock: Clock;
  login: (
    session: AccountSession,
    cb: LoginCallbacks,
  ) => Promise<{ stringSession: string; userId: string; username: string | null }>;
  ask: (q: string) => Promise<string>;
  askHidden: (q: string) => Promise<string>;
  warn: (msg: string) => void;
}

export interface LoginOptions {
  phone: string;
  name?: string | undefined;
  tenant?: string | undefined;
  proxyId?: number | undefined;
  apiId: number;
  apiHash: string;
}

/** Log an account in (code, then 2FA password if set) and store its string session encrypted. */
export async function loginAccount(
  deps: LoginDeps,
  opts: LoginOptions,
): Promise<{ account: string; userId: string; username: string | null; created: boolean; reactivated: boolean }> {
  const phone = '+' + opts.phone.replace(/[\s()+-]/g, '');
  if (!/^\+[1-9]\d{6,14}$/.test(phone))
    throw new UsageError(`--phone "${opts.phone}" → an international number such as +15551234567`);
  const name = opts.name ?? `tg_${phone.slice(1)}`;
  let proxy: ProxySpec | null = null;
  if (opts.proxyId !== undefined) {
    proxy = await loadProxy(deps.store, deps.box, opts.proxyId);
    if (!proxy) throw new DataError(`no proxy with id ${opts.proxyId} → see \`acctctl proxies list\``);
    if (proxy.scheme === 'http') throw new DataError(`proxy ${opts.proxyId}: ${HTTP_PROXY_FOR_TELEGRAM}`);
  }
  // The device the account keeps, sent at login already: a named (existing) account's stored one,
  // else the one import stores for a new name.
  const stored = opts.name === undefined ? null : parseStoredDevice(await accountDeviceByName(deps.store, name));
  const device = stored ?? chooseDevice(name);
  const r = await loginOrExplain(() =>
    deps.login(
      { accountId: -1, sessionName: name, apiId: opts.apiId, apiHash: opts.apiHash, stringSession: '', proxy, device },
      {
        phone,
        code: (viaApp) => deps.ask(`Code Telegram sent ${viaApp ? 'to your Telegram app' : 'by SMS'}: `),
        password: (hint) => deps.askHidden(`2FA password${hint ? ` (hint: ${hint})` : ''}: `),
        onError: (e) => deps.warn(`Telegram: ${e.message}`),
      },
    ),
  );
  const decoded = parseStringSession(r.stringSession);
  if (!decoded.ok)
    throw new DataError(`Telegram returned a session acctctl cannot use (${decoded.problems.join('; ')}) → try again`);
  const res = await importAccounts({ store: deps.store, box: deps.box, clock: deps.clock }, [
    {
      sessionName: name,
      apiId: opts.apiId,
      apiHash: opts.apiHash.toLowerCase(),
      stringSession: r.stringSession,
      session: decoded.value,
      proxy,
      tenant: opts.tenant ?? null,
      phone,
      device: null,
    },
  ]);
  if (proxy && opts.proxyId !== undefined) {
    // importAccounts upserts the proxy by URL; keep the operator's chosen row.
    await setAccountProxy(deps.store, name, opts.proxyId);
  }
  return {
    account: name,
    userId: r.userId,
    username: r.username,
    created: res.created.length === 1,
    reactivated: res.reactivated.length === 1,
  };
}

/** Telegram's answers during a login, as "what is wrong → how to fix it". */
async function loginOrExplain<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    // A TelegramConnectError is already "cannot reach Telegram → check the network…" (69).
    if (!(e instanceof TelegramCallError)) throw e;
    const again = 'run `acctctl accounts login` again';
    const m = e.errorMessage;
    if (m === 'PHONE_CODE_EXPIRED')
      throw new DataError(`the login code expired → ${again} and type the newest code at once`, { cause: e });
    if (m === 'PHONE_CODE_INVALID')
      throw new DataError(`the code was wrong 3 times → ${again} and type the code Telegram sent`, { cause: e });
    if (m === 'PASSWORD_HASH_INVALID')
      throw new DataError(`the 2FA password was wrong 3 times → ${again} with the account's cloud password`, {
        cause: e,
      });
    if (m === 'PHONE_NUMBER_INVALID' || m === 'PHONE_NUMBER_UNOCCUPIED')
      throw new UsageError(`Telegram does not know this phone number (${m}) → check --phone`, { cause: e });
    if (m === 'PHONE_NUMBER_BANNED')
      throw new DataError('Telegram has banned this phone number → it cannot log in', { cause: e });
    if (m === 'FLOOD' || m.startsWith('FLOOD_WAIT'))
      throw new TempFailError(
        `Telegram asks to wait ${e.seconds ?? '?'} s before the next login attempt → try again after that`,
        { cause: e },
      );
    throw new DataError(`Telegram refused the login (${m}) → ${again}`, { cause: e });
  }
}

export async function loginCli(
  ctx: Ctx,
  opts: { phone: string; name?: string; tenant?: string; proxyId?: string },
): Promise<void> {
  if (ctx.config.telegramMode === 'sandbox') {
    throw new UsageError(
      'accounts login talks to the real Telegram → unset ACCTCTL_TELEGRAM (or import sessions with accounts import)',
    );
  }
  if (ctx.config.telegramApiId === undefined || ctx.config.telegramApiHash === undefined) {
    throw new ConfigError(
      'accounts login needs TELEGRAM_API_ID and TELEGRAM_API_HASH → get them at https://my.telegram.org and put them in .env',
    );
  }
  const proxyId = opts.proxyId === undefined ? undefined : Number(opts.proxyId);
  if (proxyId !== undefined && !Number.isInteger(proxyId))
    throw new UsageError('--proxy-id must be a proxy id from `acctctl proxies list`');
  const box = secretBox(ctx);
  const { gramLogin } = await import('../telegram/gramjs.js');
  await withStore(ctx, async (store) => {
    // An unknown tenant is refused before anyone types a code (as every import refuses it).
    if (opts.tenant !== undefined) await tenantIdByName(store, opts.tenant);
    ctx.emit(
      await loginAccount(
        {
          store,
          box,
          clock: ctx.clock,
          login: (s, cb) => gramLogin(s, cb),
          ask: (q) => ask(q),
          askHidden: (q) => askHidden(q),
          warn: (m) => ctx.log.warn(m),
        },
        {
          phone: opts.phone,
          name: opts.name,
          tenant: opts.tenant,
          proxyId,
          apiId: ctx.config.telegramApiId!,
          apiHash: ctx.config.telegramApiHash!,
        },
      ),
      (r) =>
        `${r.created ? 'added' : 'updated'} account ${r.account} (Telegram user ${r.userId}${r.username ? ` @${r.username}` : ''}); its session is stored encrypted` +
        (r.reactivated ? '; it was disabled and is active again' : ''),
    );
  });
}
