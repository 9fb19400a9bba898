import { describe, expect, it } from 'vitest';
import { FOLLOWERS_CSV_HEAD, followerCsvLine, plainFollowers } from '../../src/commands/followers.js';
import { writeListing, type Column } from '../../src/commands/support/listing.js';
import { c, csvCell, csvLine, paint, table } from '../../src/commands/support/output.js';
import type { FollowerView } from '../../src/store/followers.js';

const user = (full_name: string, username = 'u'): FollowerView =>
  ({ username, id: '42', full_name, is_private: false }) as FollowerView;

describe('exports are safe to open', () => {
  it('CSV cells that a spreadsheet would run as a formula are prefixed with a quote (OWASP)', () => {
    for (const f of ['=HYPERLINK("http://evil","x")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) {
      expect(csvCell(f).replace(/^"/, '')).toMatch(/^'/);
    }
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('=cmd|"/c calc"!A1')).toBe(`"'=cmd|""/c calc""!A1"`);
    expect(csvCell('Anna Smith')).toBe('Anna Smith');
    expect(csvCell(-5)).toBe('-5'); // numbers are numbers
    expect(csvCell('a,b')).toBe('"a,b"');
  });

  it('control characters from data are escaped in CSV (colour codes included)', () => {
    const hostile = 'x\u001b[8mhidden\u001b[0m\r\n\u0007\u202eevil';
    const line = csvLine(['name', hostile]);
    // eslint-disable-next-line no-control-regex
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(line).toBe('name,x\\x1b[8mhidden\\x1b[0m\\r\\n\\x07\\u202eevil');
  });

  it('watch followers --csv', () => {
    const csv = [
      FOLLOWERS_CSV_HEAD,
      ...[user('=HYPERLINK("http://x")'), user('@admin\u001b]0;t\u0007'), user('plain')].map(followerCsvLine),
    ].join('\n');
    expect(csv.split('\n')).toEqual([
      'username,id,full_name,is_private',
      `u,42,"'=HYPERLINK(""http://x"")",false`,
      "u,42,'@admin\\x1b]0;t\\x07,false",
      'u,42,plain,false',
    ]);
  });

  it('the plain follower listing (past 500 rows) escapes control bytes too', () => {
    const lines = plainFollowers([user('x\u001b[8mhidden\u001b]0;t\u0007\r\n\u202e', 'a\tb')]);
    expect(lines).toEqual(['a\\tb\t42\tx\\x1b[8mhidden\\x1b]0;t\\x07\\r\\n\\u202e\t']);
  });

  it('every listing --csv goes through the same cell', async () => {
    const columns: Column<{ n: string }>[] = [{ head: 'name', value: (r) => r.n }];
    let out = '';
    await writeListing(
      { write: (t) => (out += t), note: () => {} },
      { limit: null, format: 'csv' },
      {
        columns,
        total: 2,
        rows: (async function* () {
          yield [{ n: '-1+2' }, { n: 'a\u001b[2Jb' }];
        })(),
        empty: '',
      },
    );
    expect(out).toBe("name\n'-1+2\na\\x1b[2Jb\n");
  });

  it('with colour on, every colour code from data is escaped (ours too: ESC[31m in a name is shown, not obeyed); ours pass', () => {
    const level = c.level;
    c.level = 1;
    try {
      const out = table(
        ['name', 'state'],
        [
          ['\u001b[31mred\u001b[39m', paint(c.red, 'banned')],
          ['a\u001b[8mhidden\u001b[28m', paint(c.green, 'x\u001b[7my')],
        ],
      );
      // Data: shown escaped, whatever the code.
      expect(out).toContain('\\x1b[31mred\\x1b[39m');
      expect(out).toContain('a\\x1b[8mhidden\\x1b[28m');
      expect(out).not.toContain('\u001b[8m');
      // Ours: the colour goes on after the text was escaped.
      expect(out).toContain(c.red('banned'));
      expect(out).toContain(c.green('x\\x1b[7my'));
    } finally {
      c.level = level;
    }
  });
});
