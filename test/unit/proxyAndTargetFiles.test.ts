import { describe, expect, it } from 'vitest';
import { parseProxies } from '../../src/domain/files/proxies.js';
import { parseTargets } from '../../src/domain/files/targets.js';

describe('proxies file schema', () => {
  it('reads lines and JSON, with the default tenant where a row names none', () => {
    const lines = parseProxies('socks5://127.0.0.1:1080  # office\n\nhttp://10.0.0.2:3128\n', undefined, 'acme');
    expect(lines.ok && lines.value.map((p) => [p.spec.host, p.tenant])).toEqual([
      ['127.0.0.1', 'acme'],
      ['10.0.0.2', 'acme'],
    ]);
    const json = parseProxies(
      '',
      [{ url: 'socks5://u:pw@10.0.0.9:1080', tenant: 'beta' }, 'http://10.0.0.2:3128'],
      null,
    );
    expect(json.ok && json.value.map((p) => [p.spec.host, p.tenant])).toEqual([
      ['10.0.0.9', 'beta'],
      ['10.0.0.2', null],
    ]);
  });

  it('reports every problem at once with its place, never the URL (it may hold a password)', () => {
    const r = parseProxies(
      '',
      [5, { url: 'bogus-secretpw', foo: 1 }, { tenant: 'a' }, { url: 'socks5://1.2.3.4:1', tenant: 'Bad Name' }],
      null,
    );
    expect(r).toEqual({
      ok: false,
      problems: [
        '[0]: must be a URL string or {url, tenant}',
        '[1].url: proxy URL must look like scheme://host:port',
        '[1].foo: unknown field',
        '[2].url: required, a proxy URL',
        '[3].tenant: must be a tenant name',
      ],
    });
    expect(JSON.stringify(r)).not.toContain('secretpw');
    expect(parseProxies('socks5://127.0.0.1:1080\nsocks9://x:1\n', undefined, null)).toEqual({
      ok: false,
      problems: ['line 2: unsupported proxy scheme; use socks5, socks4, http or mtproxy'],
    });
    expect(parseProxies('# nothing\n', undefined, null)).toEqual({ ok: false, problems: ['(file): no proxies found'] });
    expect(parseProxies('', { url: 'x' }, null)).toEqual({
      ok: false,
      problems: ['(top level): must be a JSON array'],
    });
  });
});

describe('targets file schema', () => {
  it('reads one link per line, skips comments, counts a group once', () => {
    const r = parseTargets('@good_group # first\nhttps://t.me/good_group\n\nt.me/+AbCdEfGh123\n');
    expect(r.ok && r.value.length).toBe(2);
  });

  it('names every bad line', () => {
    const r = parseTargets('@good_group\nhttps://example.com/group\nt.me/ab\n');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems.map((p) => p.split(':')[0])).toEqual(['line 2', 'line 3']);
    expect(parseTargets('# none\n')).toEqual({ ok: false, problems: ['(file): no links found'] });
  });
});
