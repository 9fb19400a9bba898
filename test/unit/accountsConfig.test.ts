import { describe, expect, it } from 'vitest';
import { validateAccountsConfig } from '../../src/domain/accountsConfig.js';
import { makeAccounts, makeSession } from '../support/fixtures.js';

describe("the Python SmartJoiner's accounts_config.json", () => {
  it('reports every problem of every row at once, each with its field path, never quoting a secret', () => {
    const [a, b, c] = makeAccounts(3);
    const secretSession = makeSession();
    const r = validateAccountsConfig([
      { ...a, api_id: 'twelve', api_hash: 'not-hex-SECRETVALUE', sesion: 1 },
      { ...b, string_session: secretSession.slice(0, 40), proxy: 'http://u:pw@h:3128', phone: 'call me' },
      { ...c, session_name: a!.session_name, tenant: 'no spaces allowed', proxy: 42 },
      { session_name: 'x' },
      7,
    ]);
    expect(r).toEqual({
      ok: false,
      problems: [
        '[0].api_id: required, a positive integer',
        '[0].api_hash: must be 32 hex characters',
        '[0].sesion: unknown field',
        '[1].string_session: session is truncated: auth key is shorter than 256 bytes',
        '[1].proxy: http:// proxies cannot carry Telegram’s protocol (MTProto) → use a socks5://, socks4:// or mtproxy:// proxy for this account',
        '[1].phone: an international phone number such as +15551234567',
        `[2].session_name: "${a!.session_name}" repeats row 0`,
        '[2].proxy: must be a proxy URL string',
        '[2].tenant: letters, digits, _ . - (up to 64)',
        '[3].api_id: required, a positive integer',
        '[3].api_hash: required, a non-empty string',
        '[3].string_session: required, a non-empty string',
        '[4]: must be an object',
      ],
    });
    if (!r.ok) {
      const text = r.problems.join('\n');
      expect(text).not.toContain('SECRETVALUE');
      expect(text).not.toContain(secretSession.slice(1, 30));
    }
  });

  it('normalises what it accepts: api_id as text, api_hash lower case, phone, blank proxy', () => {
    const [a] = makeAccounts(1);
    const r = validateAccountsConfig([
      {
        ...a,
        api_id: '12345',
        api_hash: a!.api_hash.toUpperCase(),
        phone: '+1 (555) 123-4567',
        proxy: '',
        tenant: null,
      },
    ]);
    if (!r.ok) throw new Error(r.problems.join('; '));
    expect(r.value[0]).toMatchObject({
      apiId: 12345,
      apiHash: a!.api_hash.toLowerCase(),
      phone: '+15551234567',
      proxy: null,
      tenant: null,
    });
  });
});
