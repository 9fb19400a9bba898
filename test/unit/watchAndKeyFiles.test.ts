import { describe, expect, it } from 'vitest';
import { parseApiKeys } from '../../src/domain/files/apiKeys.js';
import { parseWatches } from '../../src/domain/files/watches.js';

describe('the watches file', () => {
  it('reads rows (kind defaults to exists, usernames normalised) and reports every problem with its path', () => {
    expect(
      parseWatches([
        { tenant: 'acme', username: ' @Bob ' },
        { tenant: 'acme', username: 'c', kind: 'followers' },
      ]),
    ).toEqual({
      ok: true,
      value: [
        { tenant: 'acme', username: 'bob', kind: 'exists' },
        { tenant: 'acme', username: 'c', kind: 'followers' },
      ],
    });
    expect(
      parseWatches([{ tenant: 'a b', username: 'x!', kind: 'likes', extra: 1 }, { username: 'ok' }, null]),
    ).toEqual({
      ok: false,
      problems: [
        '[0].tenant: required, a tenant name',
        '[0].username: required, an Instagram username',
        '[0].kind: one of exists, followers, following',
        '[0].extra: unknown field',
        '[1].tenant: required, a tenant name',
        '[2]: must be an object {tenant, username, kind}',
      ],
    });
    expect(parseWatches([])).toEqual({ ok: false, problems: ['(top level): the file holds no watches'] });
    expect(parseWatches({})).toEqual({
      ok: false,
      problems: ['(top level): must be a JSON array of {tenant, username, kind}'],
    });
  });
});

describe('the API keys file', () => {
  it('reads rows and reports every problem with its path, never the key', () => {
    expect(parseApiKeys([{ tenant: 'acme', provider: 'lookupco', key: 'k-12345678' }])).toEqual({
      ok: true,
      value: [{ tenant: 'acme', provider: 'lookupco', key: 'k-12345678' }],
    });
    const r = parseApiKeys([{ tenant: 'acme', provider: 'bad provider', key: 'short7!' }, { key: 'secret-key-value' }]);
    expect(r).toEqual({
      ok: false,
      problems: [
        "[0].provider: required, the provider's name in ACCTCTL_API_PROVIDERS",
        '[0].key: required, the API key (8+ characters)',
        '[1].tenant: required, a tenant name',
        "[1].provider: required, the provider's name in ACCTCTL_API_PROVIDERS",
      ],
    });
    if (!r.ok) expect(r.problems.join(' ')).not.toMatch(/short7|secret-key-value/);
  });
});
