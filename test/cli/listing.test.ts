import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMIT,
  listSpec,
  renderRows,
  TABLE_MAX_ROWS,
  type Column,
} from '../../src/commands/support/listing.js';
import { DEFAULT_LIST_LIMIT } from '../../src/cli/main.js';
import { table } from '../../src/commands/support/output.js';
import { withTerminal } from '../../src/commands/support/terminal.js';
import { BIN, runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';

const NOW = Date.parse('2026-11-23T10:00:00Z');
const N = 3000;

/** `n` accounts straight into the store: every 10th banned (with a comma and quotes in its error), tenants a/b. */
async function bulkAccounts(f: ReturnType<typeof useFleetStore>, n: number): Promise<void> {
  const db = f.store.db;
  await db
    .insertInto('tenants')
    .values([
      { name: 'a', created_at: NOW },
      { name: 'b', created_at: NOW },
    ])
    .execute();
  const ids = Object.fromEntries(
    (await db.selectFrom('tenants').select(['id', 'name']).execute()).map((t) => [t.name, t.id]),
  );
  for (let i = 0; i < n; i += 500) {
    await db
      .insertInto('telegram_accounts')
      .values(
        Array.from({ length: Math.min(500, n - i) }, (_, k) => {
          const j = i + k;
          return {
            session_name: `acc_${String(j).padStart(6, '0')}`,
            tenant_id: j % 2 === 0 ? ids.a! : ids.b!,
            api_id: 1,
            api_hash_enc: 'x',
            string_session_enc: 'x',
            created_at: NOW,
            updated_at: NOW,
            state: j % 10 === 0 ? ('banned' as const) : ('active' as const),
            last_error: j % 10 === 0 ? 'PHONE_NUMBER_BANNED, "said" Telegram' : null,
          };
        }),
      )
      .execute();
  }
}

/** `acctctl ARGS | head -n 1` through a real shell pipe: acctctl's exit status, its stderr, head's line. */
function pipeToHead(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; first: string }> {
  return new Promise((resolve, reject) => {
    const sh = spawn('bash', ['-c', '"$0" "$@" | head -n 1; exit "${PIPESTATUS[0]}"', process.execPath, BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let first = '';
    sh.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    sh.stdout.on('data', (d: Buffer) => (first += d.toString()));
    sh.on('error', reject);
    sh.on('close', (code) => resolve({ code, stderr, first }));
  });
}

/** The rows of a listing's JSON envelope ({ schemaVersion, items, total, more }). */
function items<T>(stdout: string): T[] {
  return (JSON.parse(stdout) as { items: T[] }).items;
}

describe.each(DIALECTS)('listings on $name', (dialect) => {
  const f = useFleetStore(dialect, 0);

  it.skipIf(dialect.skip)(
    'accounts list: default 50 and how many more, filters, --limit, --all streamed, --csv, --json',
    async () => {
      await bulkAccounts(f, N);
      const { env } = f;
      const first = await runCli(['accounts', 'list'], { env });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('acc_000049');
      expect(first.stdout).not.toContain('acc_000050');
      expect(first.stdout).toContain(`showing 50 of ${N}: ${N - 50} more → --limit N or --all`);

      const banned = await runCli(['--json', 'accounts', 'list', '--state', 'banned', '--tenant', 'b', '--all'], {
        env,
      });
      const rows = items<{ name: string; state: string; tenant: string }>(banned.stdout);
      // j % 10 === 0 is always even: tenant b has no banned account; tenant a has N / 10.
      expect(rows).toEqual([]);
      const bannedA = items<{ name: string; state: string; tenant: string }>(
        (await runCli(['--json', 'accounts', 'list', '--state', 'banned', '--tenant', 'a', '--limit', '7'], { env }))
          .stdout,
      );
      expect(bannedA.map((r) => r.name)).toEqual(
        [0, 10, 20, 30, 40, 50, 60].map((j) => `acc_${String(j).padStart(6, '0')}`),
      );
      expect(bannedA.every((r) => r.state === 'banned' && r.tenant === 'a')).toBe(true);

      const json = await runCli(['--json', 'accounts', 'list', '--limit', '3'], { env });
      // The listing envelope: the rows shown, how many match, how many more.
      const doc = JSON.parse(json.stdout) as { schemaVersion: number; items: unknown[]; total: number; more: number };
      expect(doc).toMatchObject({ schemaVersion: 1, total: N, more: N - 3 });
      expect(doc.items).toHaveLength(3);
      expect(json.stderr).toContain(`showing 3 of ${N}: ${N - 3} more`);

      // --all past the table threshold: plain aligned columns, every row, in name order.
      const all = await runCli(['accounts', 'list', '--all'], { env });
      expect(all.code, all.stderr).toBe(0);
      const lines = all.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(N + 2);
      expect(lines[0]).toMatch(/^account\s+tenant\s+state\s+until\s+enabled/);
      expect(lines[1]).toMatch(/^-+ {2}-+/);
      expect(lines[2]!.startsWith('acc_000000  a ')).toBe(true);
      expect(lines[N + 1]!.startsWith(`acc_${String(N - 1).padStart(6, '0')}  b `)).toBe(true);
      // Aligned: the state column starts at the same offset on every row.
      const stateAt = lines[0]!.indexOf('state');
      for (const l of lines.slice(2)) expect(l.slice(stateAt, stateAt + 6)).toMatch(/^(banned|active)/);
      expect(all.stdout).not.toContain('more →');

      const csv = await runCli(['accounts', 'list', '--all', '--csv'], { env });
      const csvLines = csv.stdout.trimEnd().split('\n');
      expect(csvLines).toHaveLength(N + 1);
      expect(csvLines[0]).toBe(
        'account,tenant,state,until,enabled,lease,proxy,device,time zone,last used,errors,last error',
      );
      expect(csvLines[1]).toBe('acc_000000,a,banned,,yes,,,,UTC,,0,"PHONE_NUMBER_BANNED, ""said"" Telegram"');
      expect(csvLines[2]).toBe('acc_000001,b,active,,yes,,,,UTC,,0,');

      for (const bad of [
        ['accounts', 'list', '--limit', '0'],
        ['accounts', 'list', '--limit', 'many'],
        ['accounts', 'list', '--all', '--limit', '5'],
        ['--json', 'accounts', 'list', '--csv'],
        ['accounts', 'list', '--state', 'sleepy'],
      ]) {
        expect((await runCli(bad, { env })).code, bad.join(' ')).toBe(64);
      }

      // A reader that goes away: no stack trace, exit 0 (a real pipe into head).
      for (const args of [
        ['accounts', 'list', '--all', '--csv'],
        ['accounts', 'list', '--all'],
        ['--json', 'accounts', 'list', '--all'],
      ]) {
        const p = await pipeToHead(args, env);
        expect(p.code, `${args.join(' ')}: ${p.stderr}`).toBe(0);
        expect(p.stderr).toBe('');
        expect(p.first.length).toBeGreaterThan(0);
      }
    },
  );

  it.skipIf(dialect.skip)('targets, ig and watch lists filter and page the same way', async () => {
    const { store, env } = f;
    await store.db.insertInto('tenants').values({ name: 'acme', created_at: NOW }).execute();
    const tenant = (await store.db.selectFrom('tenants').select('id').executeTakeFirstOrThrow()).id;
    await store.db
      .insertInto('targets')
      .values(
        Array.from({ length: 120 }, (_, i) => ({
          ref: `@group_${i}`,
          kind: 'username' as const,
          value: `group_${i}`,
          niche: i % 3 === 0 ? 'crypto' : 'news',
          status: i % 4 === 0 ? ('error' as const) : ('new' as const),
          created_at: NOW,
          updated_at: NOW,
        })),
      )
      .execute();
    const t = await runCli(['--json', 'targets', 'list', '--niche', 'crypto', '--status', 'error', '--all'], { env });
    const tr = items<{ ref: string; niche: string; status: string }>(t.stdout);
    expect(tr.map((r) => r.ref)).toEqual(
      Array.from({ length: 120 }, (_, i) => i)
        .filter((i) => i % 12 === 0)
        .map((i) => `@group_${i}`),
    );
    const page = await runCli(['targets', 'list', '--limit', '5'], { env });
    expect(page.stdout).toContain('@group_4');
    expect(page.stdout).not.toContain('@group_5 ');
    expect(page.stdout).toContain('showing 5 of 120: 115 more');
    expect((await runCli(['targets', 'list', '--csv', '--all'], { env })).stdout.trimEnd().split('\n')).toHaveLength(
      121,
    );

    await store.db
      .insertInto('ig_accounts')
      .values(
        Array.from({ length: 60 }, (_, i) => ({
          tenant_id: tenant,
          username: `ig_${String(i).padStart(3, '0')}`,
          state: i % 5 === 0 ? 'needs_manual' : 'valid',
          created_at: NOW,
          updated_at: NOW,
        })),
      )
      .execute();
    const ig = items<{ username: string }>(
      (await runCli(['--json', 'ig', 'list', '--state', 'needs_manual', '--all'], { env })).stdout,
    );
    expect(ig.map((r) => r.username)).toEqual([
      'ig_000',
      'ig_005',
      'ig_010',
      'ig_015',
      'ig_020',
      'ig_025',
      'ig_030',
      'ig_035',
      'ig_040',
      'ig_045',
      'ig_050',
      'ig_055',
    ]);
    const igPage = await runCli(['ig', 'list'], { env });
    expect(igPage.stdout).toContain('ig_049');
    expect(igPage.stdout).not.toContain('ig_050');
    expect(igPage.stdout).toContain('showing 50 of 60: 10 more');

    await store.db
      .insertInto('watches')
      .values(
        Array.from({ length: 30 }, (_, i) => ({
          tenant_id: tenant,
          username: `w_${String(i).padStart(2, '0')}`,
          kind: 'exists',
          last_result: i < 10 ? null : i < 20 ? 'found' : 'not_found',
          created_at: NOW,
        })),
      )
      .execute();
    const unchecked = items<{ username: string; lastResult: string | null }>(
      (await runCli(['--json', 'watch', 'list', '--status', 'unchecked', '--limit', '4'], { env })).stdout,
    );
    expect(unchecked).toEqual(
      ['w_00', 'w_01', 'w_02', 'w_03'].map(
        (u) => expect.objectContaining({ username: u, lastResult: null }) as unknown,
      ),
    );
    const found = await runCli(['watch', 'list', '--status', 'found', '--tenant', 'acme', '--csv'], { env });
    expect(found.stdout.trimEnd().split('\n')).toHaveLength(11);
    // A tenant that does not exist is a usage error naming the known ones (issue 25), not "no watches match".
    const nobody = await runCli(['watch', 'list', '--tenant', 'nobody'], { env });
    expect(nobody.code).toBe(64);
    expect(nobody.stderr).toContain('--tenant "nobody" is unknown → use one of acme');
    expect((await runCli(['watch', 'list', '--status', 'error', '--tenant', 'acme'], { env })).stdout).toContain(
      'no watches match',
    );
  });
});

describe('the listing renderer', () => {
  const cols: Column<{ a: string; b: number | null }>[] = [
    { head: 'name', value: (r) => r.a },
    { head: 'n', value: (r) => r.b },
    { head: 'last', value: () => 'z' },
  ];
  it('the help text states the default the helper applies', () => {
    expect(DEFAULT_LIST_LIMIT).toBe(DEFAULT_LIMIT);
    expect(listSpec({}, false)).toEqual({ limit: DEFAULT_LIMIT, format: 'table' });
    expect(listSpec({ all: true, csv: true }, false)).toEqual({ limit: null, format: 'csv' });
    expect(listSpec({ limit: '7' }, true)).toEqual({ limit: 7, format: 'json' });
  });

  it('uses a table up to the threshold and aligned plain columns past it', () => {
    // Piped (no terminal): the same plain aligned columns either way, never a box.
    const small = renderRows(cols, [{ a: 'x', b: 1 }]);
    expect(small).toBe('name  n  last\n----  -  ----\nx     1  z');
    // On a terminal: a light rule under the heading.
    const tty = withTerminal({ isTTY: true, columns: 80 }, () => renderRows(cols, [{ a: 'x', b: 1 }]));
    expect(tty).toBe('name  n  last\n────  ─  ────\nx     1  z');
    const many = Array.from({ length: TABLE_MAX_ROWS + 1 }, (_, i) => ({
      a: 'r'.repeat(1 + (i % 5)),
      b: i % 3 ? i : null,
    }));
    const plain = renderRows(cols, many).split('\n');
    expect(plain[0]).toBe('name   n    last');
    expect(plain[1]).toBe('-----  ---  ----');
    expect(plain[2]).toBe('r           z');
    expect(plain[3]).toBe('rr     1    z');
    expect(plain).toHaveLength(TABLE_MAX_ROWS + 3);
  });

  it('on a terminal: wraps the widest column first, then drops the lowest priority (rightmost of equals) and says so', () => {
    const head = [{ head: 'name', priority: 100 }, 'detail', { head: 'extra', priority: 10 }];
    const rows = [['alpha', 'one two three four five six seven eight nine ten', 'x'.repeat(14)]];
    // 40 columns: everything fits once `detail` wraps (at word boundaries).
    const t40 = table(head, rows, { isTTY: true, columns: 40 }).split('\n');
    expect(t40.every((l) => l.length <= 40)).toBe(true);
    expect(t40[0]).toMatch(/^name\s+detail\s+extra$/);
    expect(t40[2]).toMatch(/^alpha {2}one two three\s+x{14}$/);
    expect(t40.slice(3).every((l) => l.startsWith(' '.repeat(7)))).toBe(true);
    // 25 columns: `extra` (lowest priority) goes, and a line says so.
    const t25 = table(head, rows, { isTTY: true, columns: 25 }).split('\n');
    expect(t25.every((l) => l.length <= 25)).toBe(true);
    expect(t25[0]).toMatch(/^name\s+detail$/);
    expect(t25.join(' ')).toMatch(/\(not shown at 25 columns: extra/);
    // Piped: nothing wrapped or dropped.
    expect(table(head, rows).split('\n')[2]).toBe(`alpha  ${rows[0]![1]}  ${rows[0]![2]}`);
  });
});
