import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { completionTree } from '../../src/cli/completion.js';
import { versionText } from '../../src/cli/version.js';
import { openStore } from '../../src/store/store.js';
import { baseEnv, BIN, ROOT, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { snapshot } from '../support/snapshot.js';
import { makeAccounts, makeKey, writeJson } from '../support/fixtures.js';

/** Issue 25, points 15–21: polish a newcomer asked for, each through the built CLI. */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'acctctl-polish-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('17. --version, completion, --env-file, --key-file', () => {
  it('--version: the version alone on the first line, then the commit and date baked in at build, and Node', async () => {
    const r = await runCli(['--version']);
    expect(r.code, r.stderr).toBe(0);
    const [version, commit, built, node] = r.stdout.trimEnd().split('\n');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version).toBe(pkg.version);
    // This checkout is a git work tree: the build baked in a commit of it (HEAD when it was built).
    const baked = /^commit ([0-9a-f]{12})(-dirty)?$/.exec(commit ?? '');
    expect(baked, commit).not.toBeNull();
    expect(
      execFileSync('git', ['cat-file', '-t', baked![1]!], { cwd: ROOT, encoding: 'utf8' }).trim(),
      'a commit of this repository',
    ).toBe('commit');
    expect(built).toMatch(/^built {2}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(node).toBe(`node   ${process.version}`);
  });

  it('--version outside a git checkout, or run from source, says so instead of failing', () => {
    const text = versionText('1.2.3', { commit: null, date: null }, 'v20.0.0');
    expect(text.split('\n')).toEqual([
      '1.2.3',
      'commit unknown (not built from a git checkout)',
      'built  unknown (run from source, not built)',
      'node   v20.0.0',
    ]);
  });

  it('completion bash|zsh|fish: generated from the program tree, every command path and option in it', async () => {
    const program = buildProgram(() => async () => {});
    const nodes = completionTree(program);
    expect(nodes.map((n) => n.path)).toEqual(expect.arrayContaining(['accounts list', 'completion', 'ig proxy']));
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await runCli(['completion', shell]);
      expect(r.code, r.stderr).toBe(0);
      for (const n of nodes) {
        for (const c of n.subcommands) expect(r.stdout, `${shell}: ${n.path} ${c.name}`).toContain(c.name);
        for (const o of n.options)
          for (const f of o.flags) expect(r.stdout, `${shell}: ${f}`).toContain(f.replace(/^--?/, ''));
      }
    }
    const bad = await runCli(['completion', 'tcsh']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('bash, zsh, fish');
  });

  it('the bash script completes subcommands and options where they belong (run in bash)', async () => {
    const script = join(dir, 'acctctl.bash');
    writeFileSync(script, (await runCli(['completion', 'bash'])).stdout);
    const complete = (line: string): string[] => {
      const words = line.split(' ');
      const out = execFileSync(
        'bash',
        [
          '-c',
          `source ${script}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _acctctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      return out.split('\n').filter(Boolean);
    };
    expect(complete('acctctl acc')).toEqual(['accounts']);
    expect(complete('acctctl accounts l')).toEqual(['list', 'login', 'limits']);
    expect(complete('acctctl --db x.db accounts list --')).toEqual(
      expect.arrayContaining(['--limit', '--all', '--csv', '--state', '--tenant', '--db', '--json']),
    );
    // The value of an option is not a command: `--db accounts` still completes top-level commands.
    expect(complete('acctctl --db accounts st')).toEqual(['status']);
  });

  it('--env-file FILE and ACCTCTL_ENV_FILE: settings from that file, paths relative to it, no cd needed', async () => {
    const home = join(dir, 'opt');
    mkdirSync(home, { recursive: true });
    makeKey(home);
    writeFileSync(join(home, 'acctctl.env'), 'DATABASE_URL=fleet.db\nACCTCTL_KEY_FILE=acctctl.key\n', { mode: 0o600 });
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    const m = await runCli(['--json', '--env-file', join(home, 'acctctl.env'), 'migrate'], { cwd: elsewhere });
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toContain(join(home, 'fleet.db'));
    const viaEnv = await runCli(['--json', 'doctor'], {
      cwd: elsewhere,
      env: baseEnv({ ACCTCTL_ENV_FILE: join(home, 'acctctl.env') }),
    });
    expect(viaEnv.stdout).toContain(join(home, 'fleet.db'));
    expect(viaEnv.stdout).toContain(join(home, 'acctctl.key'));
    // The environment still wins over the file, and the flag over the environment.
    const envWins = await runCli(['--json', 'migrate'], {
      cwd: elsewhere,
      env: baseEnv({ ACCTCTL_ENV_FILE: join(home, 'acctctl.env'), DATABASE_URL: join(elsewhere, 'other.db') }),
    });
    expect(envWins.code, envWins.stderr).toBe(0);
    expect(envWins.stdout).toContain(join(elsewhere, 'other.db'));
  });

  it('a missing env file is an error naming it (66), from the flag or the environment', async () => {
    const gone = join(dir, 'no-such.env');
    const flag = await runCli(['--env-file', gone, 'status']);
    expect(flag.code).toBe(66);
    expect(flag.stderr).toContain(`env file ${gone} (--env-file) does not exist`);
    const env = await runCli(['status'], { env: baseEnv({ ACCTCTL_ENV_FILE: gone }) });
    expect(env.code).toBe(66);
    expect(env.stderr).toContain(`env file ${gone} (ACCTCTL_ENV_FILE) does not exist`);
  });

  it('the installed binary (run by its #! line) gets --env-file itself: Node 20 does not take it first', () => {
    const gone = join(dir, 'missing-for-node.env');
    // Node 20 reads an --env-file after the script too and exits 9 on a missing file (nodejs/node#54232).
    const r = spawnSync(BIN, ['--env-file', gone, 'status'], { env: baseEnv(), encoding: 'utf8' });
    expect(r.stderr).toContain(`env file ${gone} (--env-file) does not exist`);
    expect(r.status).toBe(66);
  });

  it('--key-file FILE wins over ACCTCTL_KEY_FILE', async () => {
    const d = join(dir, 'keyflag');
    mkdirSync(d, { recursive: true });
    const r = await runCli(['--json', '--key-file', 'flag.key', 'keys', 'generate'], {
      env: baseEnv({ ACCTCTL_KEY_FILE: join(d, 'env.key') }),
      cwd: d,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(d, 'flag.key'))).toBe(true);
    expect(existsSync(join(d, 'env.key'))).toBe(false);
  });
});

describe('15. demo', () => {
  it('says each step as it starts, before its result', async () => {
    const r = await runCli(['demo'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    const started = (what: string) => lines.findIndex((l) => l.startsWith(`acctctl: demo: → ${what}`));
    const finished = (what: string) => lines.findIndex((l) => l.startsWith(`acctctl: demo: ✓ ${what}`));
    expect(started('keys generate')).toBe(0);
    for (const [start, done] of [
      ['keys generate', 'generated key'],
      ['accounts import', 'accounts import'],
      ['join --niche demo', 'join --niche demo'],
      ['check', 'check'],
      ['recover', 'recover'],
    ] as const) {
      expect(started(start), start).toBeGreaterThanOrEqual(0);
      expect(started(start), start).toBeLessThan(finished(done));
    }
  }, 320_000);
});

describe.each(DIALECTS)('16, 19: imports on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let env: Record<string, string>;
  let files: Record<string, string[]>;
  /** Every row of every table (test/support/snapshot.ts), to prove a dry run left them alone. */
  const dump = async (): Promise<string> => {
    const s = await openStore(t.target);
    try {
      return await snapshot(s);
    } finally {
      await s.close();
    }
  };
  beforeAll(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 1);
    env = f.env;
    await f.store.close();
    writeFileSync(join(t.dir, 'proxies.txt'), 'socks5://u:proxy-pw-1@10.0.0.1:1080\n');
    writeFileSync(join(t.dir, 'targets.txt'), '@group_one\nt.me/group_two\n');
    files = {
      accounts: ['accounts', 'import', writeJson(t.dir, 'a.json', makeAccounts(2, { tenant: 'acme' }))],
      proxies: ['proxies', 'import', join(t.dir, 'proxies.txt'), '--tenant', 'acme'],
      targets: ['targets', 'import', join(t.dir, 'targets.txt')],
      ig: ['ig', 'import', writeJson(t.dir, 'ig.json', [{ tenant: 'acme', username: 'ig_one', password: 'pw-ig' }])],
      watch: [
        'watch',
        'import',
        writeJson(t.dir, 'w.json', [{ tenant: 'acme', username: 'some_brand', kind: 'exists' }]),
      ],
      apikeys: [
        'apikeys',
        'import',
        writeJson(t.dir, 'k.json', [{ tenant: 'acme', provider: 'lookup', key: 'first-secret-key-123' }]),
      ],
    };
  });
  afterAll(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)(
    '--dry-run on every import: every check made, what it would do said, the database unchanged',
    async () => {
      const before = await dump();
      for (const [name, args] of Object.entries(files)) {
        const r = await runCli([...args, '--dry-run'], { env });
        expect(r.code, `${name}: ${r.stderr}`).toBe(0);
        expect(r.stdout, name).toMatch(
          /^dry run: would import \d+ [\w ]+ \(\d+ new, \d+ (updated|unchanged)\)[^\n]*; nothing was written/,
        );
        expect(await dump(), name).toBe(before);
      }
      // A dry run refuses what the import would refuse (here a tenant that does not exist), with its code.
      const bad = await runCli(
        [
          'watch',
          'import',
          writeJson(t.dir, 'w2.json', [{ tenant: 'nobody', username: 'x', kind: 'exists' }]),
          '--dry-run',
        ],
        { env },
      );
      expect(bad.code).toBe(65);
      expect(bad.stderr).toContain('tenant "nobody" does not exist');
      expect(await dump()).toBe(before);
    },
  );

  it.skipIf(skip)('every import says what it did in one wording', async () => {
    for (const [name, args] of Object.entries(files)) {
      const r = await runCli(args, { env });
      expect(r.code, `${name}: ${r.stderr}`).toBe(0);
      expect(r.stdout, name).toMatch(/^imported \d+ [\w ]+ \(\d+ new, \d+ (updated|unchanged)\)/);
    }
    const again = await runCli(files.targets!, { env });
    expect(again.stdout).toMatch(/^imported 2 targets \(0 new, 2 unchanged\) into niche default/);
    const proxy = await runCli(files.proxies!, { env });
    expect(proxy.stdout).toMatch(/^imported 1 proxy \(0 new, 1 updated\)/);
  });

  it.skipIf(skip)('proxies, tenants and apikeys list page and filter like every listing', async () => {
    writeFileSync(join(t.dir, 'more-proxies.txt'), 'socks5://v:pw-2@10.0.0.2:1080\nhttp://10.0.0.3:3128\n');
    expect((await runCli(['proxies', 'import', join(t.dir, 'more-proxies.txt')], { env })).code).toBe(0);
    expect((await runCli(['tenants', 'add', 'globex'], { env })).code).toBe(0);
    const keys = writeJson(t.dir, 'k2.json', [{ tenant: 'globex', provider: 'lookup', key: 'globex-secret-key-1' }]);
    expect((await runCli(['apikeys', 'import', keys], { env })).code).toBe(0);
    type Doc = { items: { tenant?: string | null; name?: string }[]; total: number; more: number };
    const doc = async (...args: string[]): Promise<Doc> => {
      const r = await runCli(['--json', ...args], { env });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Doc;
    };
    for (const [list, total, acme] of [
      ['proxies', 3, 1],
      ['tenants', 2, 1],
      ['apikeys', 2, 1],
    ] as const) {
      expect(await doc(list, 'list')).toMatchObject({ total, more: 0 });
      const one = await doc(list, 'list', '--limit', '1');
      expect(one.items).toHaveLength(1);
      expect(one).toMatchObject({ total, more: total - 1 });
      expect((await doc(list, 'list', '--all')).items).toHaveLength(total);
      const mine = await doc(list, 'list', '--tenant', 'acme');
      expect(mine.total, list).toBe(acme);
      expect(
        mine.items.every((i) => (i.tenant ?? i.name) === 'acme'),
        list,
      ).toBe(true);
      const unknown = await runCli([list, 'list', '--tenant', 'acmee'], { env });
      expect(unknown.code, list).toBe(64);
      expect(unknown.stderr).toContain('--tenant "acmee" is unknown → use one of acme, globex');
      const csv = await runCli([list, 'list', '--csv', '--limit', '1'], { env });
      expect(csv.code, csv.stderr).toBe(0);
      expect(csv.stdout.trim().split('\n'), list).toHaveLength(2);
      const table = await runCli([list, 'list', '--limit', '1'], { env });
      expect(table.stdout).toContain(
        `showing 1 of ${total}: ${total - 1} more → --limit N or --all, or narrow with --tenant`,
      );
    }
  });

  it.skipIf(skip)('a removal previews with --dry-run: what would go and what uses it, nothing changed', async () => {
    const before = await dump();
    const refused = await runCli(['tenants', 'remove', 'acme', '--dry-run'], { env });
    expect(refused.code).toBe(65);
    expect(refused.stderr).toMatch(/tenant "acme" is in use: it has .*; nothing was removed/);
    const forced = await runCli(['tenants', 'remove', 'acme', '--force', '--dry-run'], { env });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(
      /^dry run: nothing was changed; without --dry-run this would be done:\nremoved tenant acme with /,
    );
    const account = await runCli(['accounts', 'remove', 'acc_00001', '--dry-run'], { env });
    expect(account.code, account.stderr).toBe(0);
    expect(account.stdout).toContain('account acc_00001: removed');
    const proxies = (
      JSON.parse((await runCli(['--json', 'proxies', 'list'], { env })).stdout) as { items: { id: number }[] }
    ).items;
    const p = await runCli(['proxies', 'remove', String(proxies[0]!.id), '--force', '--dry-run'], { env });
    expect(p.code, p.stderr).toBe(0);
    expect(await dump()).toBe(before);
  });

  it.skipIf(skip)(
    'counts read right ("1 account needs a person"), and failures share the acctctl: prefix',
    async () => {
      const s = await openStore(t.target);
      await s.db
        .updateTable('telegram_accounts')
        .set({ state: 'banned' })
        .where('session_name', '=', 'acc_00000')
        .execute();
      await s.close();
      const st = await runCli(['status'], { env });
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toContain('(1 account needs a person)');
      const under = await runCli(['status', '--fail-under', '100'], { env });
      expect(under.code).toBe(69);
      expect(under.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^acctctl: healthy accounts \d+% are below/),
      ]);
    },
  );
});
