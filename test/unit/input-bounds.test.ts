import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEventsOptions } from '../../src/commands/events.js';
import { loadProviders, parseApiKeyFile, parseWatchFile } from '../../src/commands/check.js';
import { parseIgFile } from '../../src/commands/ig.js';
import { parseJsonFile } from '../../src/config/inputFiles.js';
import { parseInstant } from '../../src/domain/duration.js';
import { openAccountsFile, parseAccountsFile } from '../../src/fleet/accounts.js';
import { parseProxyFile } from '../../src/fleet/proxies.js';
import { makeAccounts } from '../support/fixtures.js';

/** Issue 21 §7: values that parse but mean something else are refused, saying what is wrong. */
const NOW = Date.parse('2026-12-01T12:00:00Z');
const dir = mkdtempSync(join(tmpdir(), 'acctctl-bounds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
}

describe('events --since', () => {
  it('a date that is not in the calendar is refused, not rolled over (2026-02-30 is not March 2)', () => {
    expect(problemOf(() => parseEventsOptions({ since: '2026-02-30' }, NOW))).toMatch(
      /--since "2026-02-30" → .*2026-02-30 is not a date in the calendar/,
    );
    expect(problemOf(() => parseEventsOptions({ since: '2026-02-29T10:00Z' }, NOW))).toMatch(/not a date/);
    expect(problemOf(() => parseEventsOptions({ since: '2026-13-01' }, NOW))).toMatch(/not a date/);
    expect(problemOf(() => parseEventsOptions({ since: '2026-12-01T24:30Z' }, NOW))).toMatch(/not a time of day/);
    expect(parseEventsOptions({ since: '2028-02-29' }, NOW).sinceMs).toBe(Date.parse('2028-02-29T00:00:00Z'));
  });

  it('a time of day without an offset is refused (it would be read in the host TZ); with one it is exact', () => {
    expect(problemOf(() => parseEventsOptions({ since: '2026-12-01T08:00' }, NOW))).toMatch(
      /--since "2026-12-01T08:00" → .*needs its offset/,
    );
    expect(problemOf(() => parseEventsOptions({ since: '2026-12-01T08:00:00.000' }, NOW))).toMatch(/offset/);
    expect(parseEventsOptions({ since: '2026-12-01T08:00Z' }, NOW).sinceMs).toBe(Date.parse('2026-12-01T08:00:00Z'));
    expect(parseEventsOptions({ since: '2026-12-01T11:00+03:00' }, NOW).sinceMs).toBe(
      Date.parse('2026-12-01T08:00:00Z'),
    );
    expect(parseInstant('2026-12-01T08:00:00.250-0130')).toEqual({ ms: Date.parse('2026-12-01T09:30:00.250Z') });
    expect(parseInstant('2026-12-01T08:00+15:00')).toEqual({ problem: expect.stringMatching(/not a UTC offset/) });
  });

  it('a duration longer than ten years is refused with the range', () => {
    expect(parseEventsOptions({ since: '2w' }, NOW).sinceMs).toBe(NOW - 14 * 86_400_000);
    expect(problemOf(() => parseEventsOptions({ since: '9007199254740991' }, NOW))).toMatch(/longer than ten years/);
    expect(problemOf(() => parseEventsOptions({ since: '3651d' }, NOW))).toMatch(/longer than ten years/);
  });
});

describe('ig import priority', () => {
  it('outside -1,000,000…1,000,000 is refused with the range (it imported on SQLite and exited 70 on Postgres)', async () => {
    const file = (priority: number) =>
      JSON.stringify([{ tenant: 'acme', username: 'alice', password: 'pw-alice', priority }]);
    await expect(parseIgFile('ig.json', file(3_000_000_000))).rejects.toMatchObject({
      exitCode: 65,
      details: ['[0].priority: a whole number from -1000000 to 1000000'],
    });
    await expect(parseIgFile('ig.json', file(-1_000_001))).rejects.toMatchObject({ exitCode: 65 });
    expect((await parseIgFile('ig.json', file(1_000_000)))[0]!.priority).toBe(1_000_000);
  });
});

describe('duplicate and __proto__ keys in input JSON', () => {
  const dupe =
    /key "(tenant|api_id|per_day|__proto__|username|provider|key|name)" (appears twice in one object|on line \d+ is not allowed)/;

  it('are refused in every input file, naming the key and the line; nothing is read', async () => {
    const accounts = makeAccounts(2);
    const accText = JSON.stringify(accounts, null, 2).replace(
      '"api_id": 100000,',
      '"api_id": 100000, "api_id": 100009,',
    );
    expect(problemOf(() => parseAccountsFile('accounts_config.json', accText))).toMatch(dupe);
    const accPath = join(dir, 'accounts_config.json');
    writeFileSync(accPath, accText);
    expect(problemOf(() => openAccountsFile(accPath))).toMatch(/\[0\] key "api_id" appears twice in one object/);
    writeFileSync(
      accPath,
      JSON.stringify(accounts).replace('{"session_name"', '{"__proto__": {"x": 1}, "session_name"'),
    );
    expect(problemOf(() => openAccountsFile(accPath))).toMatch(/key "__proto__" on line 1 is not allowed/);

    const ig = '[{"tenant": "acme", "username": "alice", "username": "mallory", "password": "pw-alice"}]';
    await expect(parseIgFile('ig.json', ig)).rejects.toThrow(/key "username" appears twice in one object \(line 1\)/);
    expect(problemOf(() => parseJsonFile('limits.json', '{"invite": {"per_day": 5,\n "per_day": 500}}'))).toMatch(
      /limits.json: key "per_day" appears twice in one object \(line 2\)/,
    );
    expect(
      problemOf(() => parseWatchFile('w.json', '[{"tenant":"a","username":"b","__proto__":{"kind":"x"}}]')),
    ).toMatch(dupe);
    expect(problemOf(() => parseApiKeyFile('k.json', '[{"tenant":"a","provider":"p","key":"k1","key":"k2"}]'))).toMatch(
      dupe,
    );
    expect(problemOf(() => parseProxyFile('p.json', '[{"tenant":"a","tenant":"b","url":"http://h:1"}]', null))).toMatch(
      dupe,
    );
    const prov = join(dir, 'providers.json');
    writeFileSync(prov, '{"lookupco": {"url": "http://x", "url": "http://y"}}');
    expect(problemOf(() => loadProviders(prov))).toMatch(/key "url" appears twice in one object/);
    // Escaped spellings are the same key.
    expect(problemOf(() => parseJsonFile('x.json', '{"__pro\\u0074o__": 1}'))).toMatch(
      /"__proto__" on line 1 is not allowed/,
    );
    expect(problemOf(() => parseJsonFile('x.json', '{"a": 1, "\\u0061": 2}'))).toMatch(/"a" appears twice/);
  });

  it('the same key in different objects, and keys that only look alike, are fine', () => {
    expect(
      parseJsonFile('ok.json', '[{"a": 1, "b": {"a": 2}}, {"a": 3, "s": "\\"a\\": \\"a\\"", "proto": "__proto__"}]'),
    ).toEqual([
      { a: 1, b: { a: 2 } },
      { a: 3, s: '"a": "a"', proto: '__proto__' },
    ]);
  });
});
