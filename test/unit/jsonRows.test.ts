import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseJsonFile, readJsonRows } from '../../src/config/inputFiles.js';
import { accountsSourceOfRows, validateAccountsConfig } from '../../src/domain/accountsConfig.js';
import { makeAccounts } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'acctctl-jsonrows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string | Buffer) => {
  const p = join(dir, `f${n++}.json`);
  writeFileSync(p, text);
  return p;
};
const all = (r: ReturnType<typeof readJsonRows>) => {
  if (!('rows' in r)) throw new Error('expected rows read one at a time');
  return Array.from({ length: r.rows.length }, (_, i) => r.rows.get(i));
};
const messageOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a throw');
};

describe('readJsonRows: an array of objects read a row at a time', () => {
  it('finds each object whatever its strings, escapes, nesting and whitespace hold', () => {
    const text = ' \n[ {"a":"x}\\"]{,", "b":[1,{"c":[2,"]"]}], "u":"é✓ \\\\"} ,\r\n\t{"d":null,"e":{}}\n,{}]\n ';
    expect(all(readJsonRows(file(text)))).toEqual(JSON.parse(text));
    expect(all(readJsonRows(file('[ ]')))).toEqual([]);
  });

  it('parses anything else whole, as JSON.parse does', () => {
    for (const text of ['{"a":1}', '[1, {}]', '[{}, "x"]', '"s"']) {
      const p = file(text);
      const r = readJsonRows(p);
      if ('rows' in r) throw new Error(`${text} should be parsed whole`);
      expect(r.data).toEqual(JSON.parse(text));
    }
  });

  it('reports a syntax error anywhere with the message the whole-file parse gives', () => {
    for (const text of [
      '[{"a":1}, {"b": tru}]',
      '[{"a":1}] x',
      '[{"a":1},]',
      '[{"a":"unterminated}]',
      '[{"a":1}',
      '\ufeff[{}]',
    ]) {
      const p = file(text);
      const want = messageOf(() => parseJsonFile(p, text));
      expect(messageOf(() => all(readJsonRows(p)))).toBe(want);
    }
  });

  it('gives validation the same rows, chunk by chunk, as the whole file', () => {
    const data = makeAccounts(7, { tenant: 'acme', withProxy: true });
    const r = readJsonRows(file(JSON.stringify(data, null, 2)));
    if (!('rows' in r)) throw new Error('expected rows');
    const src = accountsSourceOfRows(r.rows);
    const whole = validateAccountsConfig(data);
    if (!src.ok || !whole.ok) throw new Error('fixture should validate');
    expect(src.value.count).toBe(7);
    expect(src.value.tenants).toEqual(['acme']);
    const chunks = [...src.value.chunks(3)];
    expect(chunks.map((c) => c.length)).toEqual([3, 3, 1]);
    expect(chunks.flat()).toEqual(whole.value);
  });
});
