import { describe, expect, it } from 'vitest';
import { parseProviders, readProvider } from '../../src/domain/providers.js';

const good = {
  url: 'https://api.lookup.example/v1/instagram/{username}',
  key_header: 'X-API-Key',
  found: { status: 200, path: 'data.exists', equals: true },
  not_found: { status: [404] },
};

describe('the API providers file (ACCTCTL_API_PROVIDERS)', () => {
  it('reads a good file, with quota statuses defaulting to 429', () => {
    const r = parseProviders({ lookupco: good });
    if (!r.ok) throw new Error(r.problems.join('; '));
    const p = r.value.get('lookupco')!;
    expect(p).toEqual({
      name: 'lookupco',
      url: good.url,
      keyHeader: 'X-API-Key',
      found: { status: [200], path: 'data.exists', equals: true },
      notFound: { status: [404] },
      quotaStatus: [429],
    });
    expect(readProvider(p, 200, { data: { exists: true } })).toBe('found');
    expect(readProvider(p, 404, null)).toBe('not_found');
    expect(readProvider(p, 429, null)).toBe('quota');
  });

  it('reports every problem at once, each with its path', () => {
    const r = parseProviders({
      lookupco: { ...good, url: 'ftp://x', found: { status: 'ok', path: 7 }, quota_status: 429, extra: true },
      other: { key_header: 'has space', not_found: 404 },
      third: 'nope',
    });
    expect(r).toEqual({
      ok: false,
      problems: [
        'lookupco.url: an http(s) URL containing {username}',
        'lookupco.found.status: an HTTP status or a list of them',
        'lookupco.found.path: a dotted path such as data.exists',
        'lookupco.quota_status: a list of HTTP statuses',
        'lookupco.extra: unknown field',
        'other.url: required, an http(s) URL containing {username}',
        'other.key_header: the header that carries the key',
        'other.found: required, the rule for "the account exists": { "status": … }',
        'other.not_found: must be an object with "status"',
        'third: must be an object with url, key_header, found and not_found',
      ],
    });
    expect(parseProviders([good])).toEqual({ ok: false, problems: ['(top level): an object keyed by provider name'] });
  });
});
