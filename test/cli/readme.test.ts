import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { loadConfig } from '../../src/config/config.js';
import { DEFAULT_FLOOD_THRESHOLD_SECONDS, PEER_FLOOD_BLOCK_MS } from '../../src/domain/accountStates.js';
import { ACTIONS, DEFAULT_LIMITS, parseLimitsOverride } from '../../src/domain/limits.js';
import { parseProviders } from '../../src/domain/providers.js';
import { ExitCode } from '../../src/errors.js';
import { baseEnv, ROOT, runCli } from '../support/cli.js';

/**
 * The README is the operator's whole manual. These checks keep it honest against the code: every
 * environment variable, every subcommand and flag, every exit code, its table of contents, and the
 * example input files (each is fed to the parser or command that reads it). It must also stand
 * alone: no pointer to files outside the repository or to the old system's design notes.
 */
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** `## JSON output` is written on another branch (issue 15, item 3); it is in the contents already. */
const PENDING_SECTIONS = new Set<string>();

function filesUnder(dir: string, ext: RegExp): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'dist') out.push(...filesUnder(p, ext));
    } else if (ext.test(e.name)) out.push(p);
  }
  return out;
}

/** `ACCTCTL_*` names in a text; a name ending in `_` is a prefix (`ACCTCTL_NOTIFY_*`), not a variable. */
function envNames(text: string): Set<string> {
  return new Set([...text.matchAll(/ACCTCTL_[A-Z0-9_]+/g)].map((m) => m[0]).filter((n) => !n.endsWith('_')));
}

const namesIn = (files: string[]) => {
  const out = new Map<string, string>();
  for (const f of files)
    for (const n of envNames(readFileSync(f, 'utf8'))) if (!out.has(n)) out.set(n, relative(ROOT, f));
  return out;
};

/** GitHub's anchor for a heading: lower case, punctuation dropped (not `-` or `_`), spaces → `-`. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text of a section, from its heading to the next heading of the same or a higher level. */
function section(md: string, heading: string): string {
  const lines = md.split('\n');
  const start = lines.findIndex((l) => l.replace(/^#+ /, '') === heading && /^#+ /.test(l));
  if (start < 0) throw new Error(`README has no heading "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  let end = lines.length;
  let fence = false;
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i]!.startsWith('```')) fence = !fence;
    const m = /^(#+) /.exec(lines[i]!);
    if (!fence && m && m[1]!.length <= level) {
      end = i;
      break;
    }
  }
  return lines.slice(start + 1, end).join('\n');
}

/** The fenced code blocks of a text, in order, with their info string. */
function codeBlocks(md: string, lang?: string): string[] {
  return [...md.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((m) => !lang || m[1] === lang).map((m) => m[2]!);
}

/** Headings outside code blocks. */
function headings(md: string): { level: number; text: string }[] {
  const out: { level: number; text: string }[] = [];
  let fence = false;
  for (const l of md.split('\n')) {
    if (l.startsWith('```')) fence = !fence;
    const m = /^(#+) (.*)$/.exec(l);
    if (!fence && m) out.push({ level: m[1]!.length, text: m[2]! });
  }
  return out;
}

/** Every command path of a commander program (`['accounts', 'login']`) with its long options. */
function commandTree(cmd: Command, path: string[] = []): { path: string[]; options: string[] }[] {
  const out: { path: string[]; options: string[] }[] = [];
  for (const c of cmd.commands) {
    const p = [...path, c.name()];
    if (c.commands.length > 0) out.push(...commandTree(c, p));
    else out.push({ path: p, options: c.options.map((o) => o.long).filter((o): o is string => o !== undefined) });
  }
  return out;
}

/** Command names listed under "Commands:" in a `--help` output (commander's own `help` left out). */
function helpCommands(help: string): string[] {
  const i = help.indexOf('\nCommands:\n');
  if (i < 0) return [];
  const names: string[] = [];
  for (const line of help.slice(i + '\nCommands:\n'.length).split('\n')) {
    if (line.trim() === '') break;
    const m = /^ {2}([a-z][\w-]*)/.exec(line);
    if (m && m[1] !== 'help') names.push(m[1]!);
  }
  return names;
}

describe('README: the whole manual, true to the code', () => {
  it('stands alone: no pointer to files outside the repository or to the old design notes', () => {
    for (const banned of [/DESIGN\.md/i, /seed 0\d/i, /seeds?\//i, /\.\.\/shared/, /\/work\//]) {
      expect(README, `README mentions ${banned}`).not.toMatch(banned);
    }
  });

  it('names every ACCTCTL_* variable the code reads, and only those', () => {
    const src = namesIn(filesUnder(join(ROOT, 'src'), /\.ts$/));
    const documented = envNames(README);
    const missing = [...src.keys()].filter((n) => !documented.has(n));
    expect(
      missing,
      `used in src/ but not in the README (first file: ${missing.map((n) => src.get(n)).join(', ')})`,
    ).toEqual([]);
    // The README may also name the variables the tests and CI read (ACCTCTL_TEST_POSTGRES_URL).
    const known = new Set([
      ...src.keys(),
      ...namesIn(filesUnder(join(ROOT, 'test'), /\.(ts|mjs|cjs|js)$/)).keys(),
      ...namesIn(filesUnder(join(ROOT, '.ci'), /./)).keys(),
    ]);
    expect(
      [...documented].filter((n) => !known.has(n)),
      'in the README but read by nothing',
    ).toEqual([]);
  });

  it('documents every setting of the configuration schema (DATABASE_URL, TELEGRAM_API_ID, …) in the Configuration table', () => {
    const config = readFileSync(join(ROOT, 'src/config/config.ts'), 'utf8');
    const settings = [...config.matchAll(/^ {2}([A-Z][A-Z0-9_]+): setting\(/gm)].map((m) => m[1]!);
    expect(settings.length).toBeGreaterThan(20);
    const table = section(README, 'Configuration');
    expect(settings.filter((s) => !table.includes(`\`${s}\``) && !table.includes(`${s}\``))).toEqual([]);
  });

  it('mentions every subcommand in the Commands table, and every flag somewhere', () => {
    const tree = commandTree(buildProgram(() => async () => {}));
    expect(tree.length).toBeGreaterThan(40);
    const rows = section(README, 'Commands')
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split(' | ')[0]!);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const missing = tree
      .filter(({ path }) => {
        const [first, second] = path;
        if (second === undefined) return !rows.some((r) => new RegExp(`\`${esc(first!)}[ \`]`).test(r));
        return !rows.some(
          (r) => r.includes(`\`${first} `) && new RegExp(`\`(${esc(first!)} )?${esc(second)}[ \`]`).test(r),
        );
      })
      .map(({ path }) => path.join(' '));
    expect(missing, 'subcommands missing from the README Commands table').toEqual([]);
    const flags = new Set(tree.flatMap((t) => t.options));
    expect([...flags].filter((f) => !new RegExp(`${f}(?![\\w-])`).test(README))).toEqual([]);
  });

  it('the built CLI has exactly the commands of the program the README was checked against', async () => {
    const program = buildProgram(() => async () => {});
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(helpCommands(top.stdout).sort()).toEqual(program.commands.map((c) => c.name()).sort());
    for (const group of program.commands.filter((c) => c.commands.length > 0)) {
      const r = await runCli([group.name(), '--help']);
      expect(helpCommands(r.stdout).sort(), `acctctl ${group.name()} --help`).toEqual(
        group.commands.map((c) => c.name()).sort(),
      );
    }
    for (const o of program.options) if (o.long && o.long !== '--version') expect(top.stdout).toContain(o.long);
  });

  it('shows only crontab lines that are in crontab.example, never a bare npx', () => {
    const crontab = readFileSync(join(ROOT, 'crontab.example'), 'utf8').split('\n');
    const shown = codeBlocks(README)
      .flatMap((b) => b.split('\n'))
      .filter((l) => /^(\S+\s+){4}\S+\s+cd \//.test(l));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((l) => !crontab.includes(l))).toEqual([]);
    expect(crontab.filter((l) => !l.startsWith('#') && /\bnpx\b/.test(l))).toEqual([]);
  });

  it('has every exit code of src/errors.ts in its exit-code table, and no other', () => {
    const codes = section(README, 'Exit codes (sysexits)')
      .split('\n')
      .map((l) => /^\| (\d+) \|/.exec(l)?.[1])
      .filter((c): c is string => c !== undefined)
      .map(Number);
    expect([...codes].sort((a, b) => a - b)).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it('has a table of contents naming every section, whose links (and every other # link) lead to a heading', () => {
    const toc = section(README, 'Contents');
    const tocAnchors = new Set([...toc.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!));
    const hs = headings(README);
    const sections = hs.filter((h) => h.level === 2 && h.text !== 'Contents').map((h) => slug(h.text));
    expect(
      sections.filter((s) => !tocAnchors.has(s)),
      'sections missing from Contents',
    ).toEqual([]);
    const anchors = new Set(hs.map((h) => slug(h.text)));
    const links = [...README.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(25);
    expect(
      links.filter((a) => !anchors.has(a) && !PENDING_SECTIONS.has(a)),
      'links to no heading',
    ).toEqual([]);
  });

  it('its limits-override and API-providers examples are accepted by their parsers', () => {
    const limits = codeBlocks(
      section(README, 'Limits overrides (`tenants limits NAME FILE`, `accounts limits NAME FILE`)'),
      'json',
    );
    expect(limits).toHaveLength(1);
    expect(parseLimitsOverride(JSON.parse(limits[0]!))).toMatchObject({ ok: true });
    const providers = codeBlocks(section(README, 'API providers (`ACCTCTL_API_PROVIDERS`)'), 'json');
    expect(providers).toHaveLength(1);
    const p = parseProviders(JSON.parse(providers[0]!));
    expect(p.ok && [...p.value.keys()]).toEqual(['lookupco']);
  });

  it('the defaults it states are the code’s', () => {
    const empty = mkdtempSync(join(tmpdir(), 'acctctl-readme-defaults-'));
    let c: ReturnType<typeof loadConfig>;
    try {
      c = loadConfig({}, {}, empty);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const config = section(README, 'Configuration');
    const row = (name: string) => config.split('\n').find((l) => l.startsWith(`| \`${name}\``)) ?? '';
    expect(row('ACCTCTL_IG_RATE')).toContain(`| \`${c.igRate.requests}/${c.igRate.windowMs / 1000}\` |`);
    expect(row('ACCTCTL_CHECK_CONCURRENCY')).toContain(`| \`${c.checkConcurrency}\` |`);
    expect(row('ACCTCTL_NOTIFY_MIN_SEVERITY')).toContain(`| \`${c.notify.minSeverity}\` |`);
    expect(row('ACCTCTL_TIMEZONE')).toContain(`| \`${c.timeZone}\` |`);
    expect(row('ACCTCTL_INSTAGRAM_URL')).toContain(`| \`${c.instagramUrl}\` |`);
    expect(row('ACCTCTL_NOTIFY_TELEGRAM_API_URL')).toContain(`| \`${c.notify.telegramApiUrl}\` |`);
    const r = c.retention;
    expect(row('ACCTCTL_RETENTION_EVENTS_DAYS')).toContain(`| \`${r.eventsDays}\` |`);
    expect(row('ACCTCTL_RETENTION_DELIVERIES_DAYS')).toContain(`| \`${r.deliveriesDays}\` |`);
    expect(row('ACCTCTL_RETENTION_IG_REQUESTS_DAYS')).toContain(`| \`${r.igRequestsDays}\` |`);
    expect(row('ACCTCTL_RETENTION_SNAPSHOTS_DAYS')).toContain(`| \`${r.snapshotsDays}\` |`);
    expect(row('ACCTCTL_FLOOD_THRESHOLD')).toContain(`| \`${DEFAULT_FLOOD_THRESHOLD_SECONDS}\` |`);
    const defaults = section(README, 'Defaults');
    expect(defaults).toContain(
      `| ${r.eventsDays} / ${r.deliveriesDays} / ${r.igRequestsDays} / ${r.snapshotsDays} days |`,
    );
    expect(defaults).toContain(`| \`PEER_FLOOD\` | \`blocked\` for ${PEER_FLOOD_BLOCK_MS / 3_600_000} h |`);
    // The limits table: per day, per hour and per channel of every action.
    const limits = section(README, 'Leases and limits');
    for (const a of ACTIONS) {
      const l = DEFAULT_LIMITS[a];
      expect(limits, a).toContain(`| ${a} | ${l.perDay} | ${l.perHour} | ${l.perChannelPerDay ?? '–'} |`);
    }
  });
});

describe('README: its example input files are accepted by the commands that read them', () => {
  let dir: string;
  let env: Record<string, string>;
  const run = async (args: string[]) => {
    const r = await runCli(args, { env, cwd: dir });
    expect(r.code, `acctctl ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r;
  };
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return name;
  };
  const example = (heading: string, lang: string, i = 0) => {
    const blocks = codeBlocks(section(README, heading), lang);
    expect(blocks.length, `${heading}: \`\`\`${lang} blocks`).toBeGreaterThan(i);
    return blocks[i]!;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-readme-'));
    env = baseEnv({ ACCTCTL_KEY_FILE: join(dir, 'acctctl.key'), DATABASE_URL: join(dir, 'acctctl.db') });
    await run(['keys', 'generate']);
    await run(['tenants', 'add', 'acme']);
    await run(['tenants', 'add', 'globex']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('proxies (a text file and JSON), targets, watches, API keys, Instagram accounts, limits', async () => {
    const proxies = example('Proxies (`proxies import`)', 'text');
    expect((await run(['proxies', 'import', file('proxies.txt', proxies), '--tenant', 'acme'])).stdout).toMatch(/4/);
    await run(['proxies', 'import', file('proxies.json', example('Proxies (`proxies import`)', 'json'))]);
    const targets = example('Targets (`targets import`)', 'text');
    const t = await run([
      '--json',
      'targets',
      'import',
      file('groups.txt', targets),
      '--niche',
      'crypto',
      '--tenant',
      'acme',
    ]);
    expect(t.stdout).toBeTruthy();
    await run(['watch', 'import', file('watches.json', example('Watches (`watch import`)', 'json'))]);
    await run(['apikeys', 'import', file('keys.json', example('API keys (`apikeys import`)', 'json'))]);
    await run(['ig', 'import', file('ig.json', example('Instagram accounts (`ig import`)', 'json'))]);
    const limits = example('Limits overrides (`tenants limits NAME FILE`, `accounts limits NAME FILE`)', 'json');
    await run(['tenants', 'limits', 'acme', file('limits.json', limits)]);
    // The example key file layout: what keys generate wrote is one base64 key on one line.
    const key = readFileSync(join(dir, 'acctctl.key'), 'utf8');
    expect(key.split('\n').filter((l) => l.trim() && !l.startsWith('#'))).toHaveLength(1);
    expect(statSync(join(dir, 'acctctl.key')).mode & 0o777).toBe(0o600);
  });

  it('the .env example is a valid configuration', () => {
    const d = mkdtempSync(join(tmpdir(), 'acctctl-readme-env-'));
    try {
      writeFileSync(join(d, '.env'), example('Configuration', 'sh'));
      const c = loadConfig({}, {}, d);
      expect(c.db.kind).toBe('postgres');
      expect(c.timeZone).toBe('Europe/Moscow');
      expect(c.notify.telegram?.chatId).toBe('-1001234567890');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('README: the promises of issue 25 (metrics, listings)', () => {
  const metricsParagraph = (): string => {
    const s = section(README, 'Status, listings and metrics');
    const start = s.indexOf('**Metrics**');
    return s.slice(start, s.indexOf('\n\n', start));
  };

  it('lists every series the metrics file holds, and which come only with --metrics-per-account', async () => {
    const { METRIC_NAMES, PER_ACCOUNT_METRIC, PER_SESSION_METRICS } = await import('../../src/fleet/status.js');
    const text = metricsParagraph();
    const named = new Set([...text.matchAll(/`(acctctl_[a-z_0-9]+)/g)].map((m) => m[1]!));
    const per = text.slice(text.indexOf('One series per account'));
    for (const m of METRIC_NAMES) expect(named.has(m), m).toBe(true);
    for (const m of [PER_ACCOUNT_METRIC, ...PER_SESSION_METRICS]) expect(per, m).toContain(`\`${m}{`);
    const all = new Set<string>([...METRIC_NAMES, PER_ACCOUNT_METRIC, ...PER_SESSION_METRICS]);
    expect([...named].filter((n) => !all.has(n))).toEqual([]);
    // The crontab says so too.
    expect(readFileSync(join(ROOT, 'crontab.example'), 'utf8')).toContain(
      'per-Instagram-session series only with --metrics-per-account',
    );
  });

  it('names every listing (a command with --limit, --all and --csv) in its Listings paragraph', () => {
    const tree = commandTree(buildProgram(() => async () => {}));
    const listings = tree.filter(({ options }) => ['--limit', '--all', '--csv'].every((o) => options.includes(o)));
    expect(listings.map((l) => l.path.join(' '))).toContain('events');
    const s = section(README, 'Status, listings and metrics');
    const start = s.indexOf('**Listings**');
    const para = s.slice(start, s.indexOf('\n\n', start));
    for (const { path } of listings) expect(para, path.join(' ')).toContain(`\`${path.join(' ')}\``);
  });
});

describe('README: effective states, tables and times (issue 25, points 11, 13, 14)', () => {
  it('shows the table time format fmtTime writes, and a relative time only as fmtWhen writes it', async () => {
    const { fmtTime, fmtWhen } = await import('../../src/commands/support/output.js');
    const s = section(README, 'Status, listings and metrics').replace(/\s+/g, ' ');
    const at = Date.parse('2026-12-01T22:30:45Z');
    expect(s).toContain(`\`${fmtTime(at)}\``);
    expect(s).toContain(`\`${fmtWhen(at, at - 2 * 86_400_000)}\``);
    expect(s).toContain('UTC to the second');
    expect(s).toContain('plain aligned columns');
  });

  it('names the stored state beside the effective one in --json, as the accounts list and status schemas have it', async () => {
    const { JSON_SCHEMAS } = await import('../../src/commands/support/schemas.js');
    const json = section(README, 'JSON output');
    for (const key of ['storedState', 'storedUntil']) {
      expect(json).toContain(`\`${key}\``);
      expect(JSON.stringify(JSON_SCHEMAS['accounts list'])).toContain(`"${key}"`);
      expect(JSON.stringify(JSON_SCHEMAS.status)).toContain(`"${key}"`);
    }
  });
});

describe('README: Getting started for real runs as written (issue 25, point 6)', () => {
  it('every step exits 0 in a fresh directory holding only the shipped example', async () => {
    const { spawnSync } = await import('node:child_process');
    const { copyFileSync } = await import('node:fs');
    const m = /<!-- getting-started[\s\S]*?-->\s*```sh\n([\s\S]*?)```/.exec(README);
    expect(m, 'a ```sh block after <!-- getting-started -->').not.toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'acctctl-getting-started-'));
    try {
      copyFileSync(join(ROOT, 'accounts_config.example.json'), join(dir, 'accounts_config.example.json'));
      const bin = join(ROOT, 'bin', 'acctctl.js');
      // `npx acctctl` is the built binary of this checkout; each step must succeed (set -e).
      const script = `set -e\nnpx() { [ "$1" = acctctl ] && shift; node ${JSON.stringify(bin)} "$@"; }\n${m![1]!}`;
      const r = spawnSync('bash', ['-c', script], { cwd: dir, env: baseEnv(), encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/imported 3 accounts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('README: the library example says what a project needs (issue 25, point 7)', () => {
  it('ESM-only, the tsc --init changes `await using` needs on Node 20, a key file to import, and the consumer test applies them', () => {
    const s = section(README, 'Use from another service');
    expect(s).toContain('ESM-only');
    expect(s).toContain('"type": "module"');
    expect(s).toContain('`"target"` to `"es2022"`');
    expect(s).toContain('"lib": ["es2022", "esnext.disposable", "dom"]');
    expect(s).toMatch(/key file to exist/);
    expect(s).toContain('`"types": ["node"]`');
    const consumer = readFileSync(join(ROOT, 'test/consumer/run.mjs'), 'utf8');
    expect(consumer).toContain("run(tsc, ['--init']");
    expect(consumer).toContain('"lib": ["es2022", "esnext.disposable", "dom"]');
  });
});
