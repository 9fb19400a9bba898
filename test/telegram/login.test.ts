import bigInt from 'big-integer';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { askHidden } from '../../src/cli/prompt.js';
import { loginAccount } from '../../src/commands/login.js';
import { FakeClock } from '../../src/domain/clock.js';
import { gramApi, gramLogin } from '../../src/telegram/gramjs.js';
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
