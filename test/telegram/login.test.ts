import bigInt from 'big-integer';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askHidden } from '../../src/commands/support/prompt.js';
import { loginAccount } from '../../src/commands/login.js';
import { FakeClock } from '../../src/domain/clock.js';
import { parseStringSession } from '../../src/domain/stringSession.js';
import { DataError } from '../../src/errors.js';
import { fakePasswordChallenge, gramApi, gramLogin, type FakeHandler } from '../../src/telegram/gramjs.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { makeSession } from '../support/fixtures.js';
import { script } from '../support/gramFixtures.js';
import { boxFor } from '../support/joinHarness.js';

describe('accounts login', () => {
  it('through a real TelegramClient over a fake network: SendCode, the code asked for, SignIn', async () => {
    const Api = gramApi();
    const preset = makeSession(); // the auth key a real connect() would have negotiated
    const s = script({
      'auth.SendCode': {
        result: new Api.auth.SentCode({ type: new Api.auth.SentCodeTypeApp({ length: 5 }), phoneCodeHash: 'hash123' }),
      },
      'auth.SignIn': (req) =>
        req.phoneCode === '12345'
          ? {
              result: new Api.auth.Authorization({
                user: new Api.User({ id: bigInt(42), username: 'alice', accessHash: bigInt(1) }),
              }),
            }
          : { rpcError: [400, 'PHONE_CODE_INVALID'] },
    });
    const asked: string[] = [];
    const r = await gramLogin(
      {
        accountId: -1,
        sessionName: 'x',
        apiId: 1,
        apiHash: '0123456789abcdef0123456789abcdef',
        stringSession: preset,
        proxy: null,
      },
      {
        phone: '+15550001111',
        code: async (viaApp) => {
          asked.push(`code:${viaApp}`);
          return '12345';
        },
        password: async () => {
          asked.push('password');
          return 'never';
        },
        onError: () => {},
      },
      { fakeNetwork: s.handler },
    );
    expect(asked).toEqual(['code:true']);
    expect(s.calls).toEqual(['auth.SendCode', 'auth.SignIn']);
    expect(r).toMatchObject({ userId: '42', username: 'alice' });
    expect(r.stringSession).toBe(preset);
  });

  const SESSION_FOR = (stringSession = '') => ({
    accountId: -1,
    sessionName: 'x',
    apiId: 1,
    apiHash: '0123456789abcdef0123456789abcdef',
    stringSession,
    proxy: null,
  });
  const user = (id: number) => {
    const Api = gramApi();
    return new Api.auth.Authorization({
      user: new Api.User({ id: bigInt(id), username: `u${id}`, accessHash: bigInt(1) }),
    });
  };
  const sentCode = () => {
    const Api = gramApi();
    return new Api.auth.SentCode({ type: new Api.auth.SentCodeTypeSms({ length: 5 }), phoneCodeHash: 'h' });
  };

  it('a phone homed in another data centre: PHONE_MIGRATE_2, then the code is sent and accepted on DC 2', async () => {
    const seen: string[] = [];
    // A fresh login starts on DC 4 (gramjs's default), as the real one does.
    const handler: FakeHandler = (req, at) => {
      seen.push(`${req.className}@${at.dcId}`);
      if (req.className === 'auth.SendCode')
        return at.dcId === 2 ? { result: sentCode() } : { rpcError: [303, 'PHONE_MIGRATE_2'] };
      if (req.className === 'auth.SignIn')
        return at.dcId === 2 ? { result: user(7) } : { rpcError: [303, 'PHONE_MIGRATE_2'] };
      return { rpcError: [401, 'AUTH_KEY_UNREGISTERED'] }; // updates.GetState: not logged in yet
    };
    const r = await gramLogin(
      SESSION_FOR(),
      { phone: '+5511999990000', code: async () => '12345', password: async () => 'x', onError: () => {} },
      { fakeNetwork: handler },
    );
    expect(seen.filter((x) => !x.startsWith('updates.') && !x.startsWith('InvokeWithLayer'))).toEqual([
      'auth.SendCode@4',
      'auth.SendCode@2',
      'auth.SignIn@2',
    ]);
    expect(r.userId).toBe('7');
    const decoded = parseStringSession(r.stringSession);
    expect(decoded.ok && [decoded.value.dcId, decoded.value.serverAddress]).toEqual([2, '149.154.167.51']);
  });

  it('a wrong code is asked again; three wrong codes, or an expired code, end the login with what to do', async () => {
    let n = 0;
    const warned: string[] = [];
    const s = script({
      'auth.SendCode': { result: sentCode() },
      'auth.SignIn': () => (++n === 1 ? { rpcError: [400, 'PHONE_CODE_INVALID'] } : { result: user(8) }),
    });
    const codes: string[] = [];
    const ok = await gramLogin(
      SESSION_FOR(makeSession()),
      {
        phone: '+15550001111',
        code: async () => (codes.push('asked'), codes.length === 1 ? '00000' : '12345'),
        password: async () => 'x',
        onError: (e) => warned.push(e.message),
      },
      { fakeNetwork: s.handler },
    );
    expect(ok.userId).toBe('8');
    expect(codes).toHaveLength(2);
    expect(warned).toEqual(['400: PHONE_CODE_INVALID (caused by auth.SignIn)']);

    const viaAccount = (reply: [number, string]) =>
      loginAccount(
        {
          store: undefined as never, // never reached: the login fails first
          box: undefined as never,
          clock: new FakeClock(),
          login: (session, cb) =>
            gramLogin(session, cb, {
              fakeNetwork: script({ 'auth.SendCode': { result: sentCode() }, 'auth.SignIn': { rpcError: reply } })
                .handler,
            }),
          ask: async () => '11111',
          askHidden: async () => 'x',
          warn: () => {},
        },
        { phone: '+15550001111', apiId: 1, apiHash: '0123456789abcdef0123456789abcdef' },
      );
    const expired = await viaAccount([400, 'PHONE_CODE_EXPIRED']).catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(DataError);
    expect((expired as Error).message).toMatch(/^the login code expired → run `acctctl accounts login` again/);
    const wrong = await viaAccount([400, 'PHONE_CODE_INVALID']).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(DataError);
    expect((wrong as Error).message).toMatch(/^the code was wrong 3 times/);
  });

  it('2FA: the password is asked (with its hint, again after a wrong one) and checked by SRP', async () => {
    let checks = 0;
    const srp: unknown[] = [];
    const s = script({
      'auth.SendCode': { result: sentCode() },
      'auth.SignIn': { rpcError: [401, 'SESSION_PASSWORD_NEEDED'] },
      'account.GetPassword': () => ({ result: fakePasswordChallenge('pet name') }),
      'auth.CheckPassword': (req) => {
        srp.push(req.password);
        return ++checks === 1 ? { rpcError: [400, 'PASSWORD_HASH_INVALID'] } : { result: user(9) };
      },
    });
    const asked: string[] = [];
    const r = await gramLogin(
      SESSION_FOR(makeSession()),
      {
        phone: '+15550001111',
        code: async () => '12345',
        password: async (hint) => (asked.push(`password (hint: ${hint})`), asked.length === 1 ? 'wrong' : 'right'),
        onError: () => {},
      },
      { fakeNetwork: s.handler },
    );
    expect(r.userId).toBe('9');
    expect(asked).toEqual(['password (hint: pet name)', 'password (hint: pet name)']);
    expect(s.calls).toEqual([
      'auth.SendCode',
      'auth.SignIn',
      'account.GetPassword',
      'auth.CheckPassword',
      'account.GetPassword',
      'auth.CheckPassword',
    ]);
    // What went over the wire is an SRP proof, never the password.
    const proof = srp[1] as { srpId: { toString(): string }; A: Buffer; M1: Buffer };
    expect(proof.srpId.toString()).toBe('77');
    expect(proof.M1).toHaveLength(32);
    expect(JSON.stringify(srp)).not.toContain('right');
  });

  it('the 2FA password prompt never echoes what is typed', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d: Buffer) => (shown += d.toString()));
    const answer = askHidden('2FA password: ', { input, output });
    input.write('hunter2-secret');
    input.write('\r');
    expect(await answer).toBe('hunter2-secret');
    expect(shown).toBe('2FA password: \n');
  });
});

describe.each(DIALECTS)('accounts login stores the session encrypted on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 0);

  it.skipIf(skip)('asks the code in the open and the password hidden, then stores only ciphertext', async () => {
    const session = makeSession();
    const prompts: string[] = [];
    const box = boxFor(f.env);
    const r = await loginAccount(
      {
        store: f.store,
        box,
        clock: new FakeClock(),
        login: async (_s, cb) => {
          await cb.code(true);
          await cb.password('pet name');
          return { stringSession: session, userId: '7', username: null };
        },
        ask: async (q) => (prompts.push(`ask ${q}`), '11111'),
        askHidden: async (q) => (prompts.push(`hidden ${q}`), 'pw'),
        warn: () => {},
      },
      { phone: '+1 555 000 2222', tenant: 'acme', apiId: 5, apiHash: '0123456789ABCDEF0123456789abcdef' },
    );
    expect(r).toEqual({ account: 'tg_15550002222', userId: '7', username: null, created: true, reactivated: false });
    expect(prompts).toEqual([
      'ask Code Telegram sent to your Telegram app: ',
      'hidden 2FA password (hint: pet name): ',
    ]);
    const row = await f.store.db.selectFrom('telegram_accounts').selectAll().executeTakeFirstOrThrow();
    expect(row.string_session_enc).not.toContain(session.slice(1, 40));
    expect(
      box.open(row.string_session_enc, { table: 'telegram_accounts', column: 'string_session_enc', rowId: row.id }),
    ).toBe(session);
    expect(row.phone).toBe('+15550002222');
  });
});
