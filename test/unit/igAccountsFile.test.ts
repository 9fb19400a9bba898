import { describe, expect, it } from 'vitest';
import { validateIgAccounts } from '../../src/domain/igAccountsFile.js';

/** Stands in for otplib's check: secrets shorter than 26 base32 characters are refused. */
const checkTotp = async (s: string) => (s.length < 26 ? 'too short' : null);

describe('the Instagram import file', () => {
  it('reads good rows, normalising username and TOTP secret, defaults applied', async () => {
    const r = await validateIgAccounts(
      [
        {
          tenant: 'acme',
          username: ' @Bob.X ',
          password: 'pw',
          totp_secret: 'jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp',
        },
        {
          tenant: 'acme',
          username: 'carol',
          password: 'pw2',
          proxy: 'http://u:p@127.0.0.1:3128',
          priority: 2,
          sessionid: '',
        },
      ],
      checkTotp,
    );
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.value).toEqual([
      {
        tenant: 'acme',
        username: 'bob.x',
        password: 'pw',
        totpSecret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
        sessionid: null,
        proxy: null,
        priority: 0,
      },
      {
        tenant: 'acme',
        username: 'carol',
        password: 'pw2',
        totpSecret: null,
        sessionid: null,
        proxy: { scheme: 'http', host: '127.0.0.1', port: 3128, username: 'u', password: 'p' },
        priority: 2,
      },
    ]);
  });

  it('reports every problem of every row at once, in file order, never quoting a secret', async () => {
    const r = await validateIgAccounts(
      [
        { tenant: 'acme', username: 'bob', password: 'hunter2-secret', totp_secret: 'ABC', colour: 'red' },
        'nope',
        { username: 'bob!', password: '', proxy: 'socks5://u:hunter2-secret@h:1080', priority: 1.5 },
        { tenant: 'acme', username: 'BOB', password: 'x', proxy: 'mtproxy://00112233445566778899aabbccddeeff@h:443' },
        { tenant: 'bad tenant!', username: 'dave', password: 'x', sessionid: 'abc', totp_secret: 7 },
      ],
      checkTotp,
    );
    expect(r).toEqual({
      ok: false,
      problems: [
        '[0].totp_secret: too short',
        '[0].colour: unknown field',
        '[1]: must be an object',
        '[2].tenant: required, a tenant name',
        '[2].username: an Instagram username (letters, digits, . and _, up to 30)',
        '[2].password: a non-empty string',
        '[2].proxy: Chromium cannot authenticate to a SOCKS5 proxy → use an http:// proxy with a password, or SOCKS5 without one',
        '[2].priority: a whole number from -1000000 to 1000000',
        '[3].proxy: a browser needs an http:// or socks5:// proxy',
        '[3].username: "bob" repeats an earlier row',
        '[4].tenant: a tenant name',
        '[4].totp_secret: must be the base32 secret as a string',
        "[4].sessionid: must look like <user id>%3A… (the sessionid cookie's value)",
      ],
    });
    if (!r.ok) expect(r.problems.join('\n')).not.toContain('hunter2');
    expect(await validateIgAccounts({}, checkTotp)).toEqual({
      ok: false,
      problems: ['(top level): must be a JSON array of Instagram accounts'],
    });
    expect(await validateIgAccounts([], checkTotp)).toEqual({
      ok: false,
      problems: ['(top level): the file holds no accounts'],
    });
  });
});
