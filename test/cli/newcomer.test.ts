import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertEvent } from '../../src/store/events.js';
import { baseEnv, runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';
import { makeKey } from '../support/fixtures.js';

/** Issue 25: what a newcomer trips over, each promise through the built binary. */
describe.each(DIALECTS)('a newcomer from the shell on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let env: Record<string, string>;
  beforeAll(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 1);
    env = f.env;
    await f.store.writeTx(async (tx) => {
      for (let i = 0; i < 16; i++) {
        await insertEvent(tx, {
          at: 1_000_000 + i * 1000,
          kind: 'account_state',
          subject_type: 'fleet',
          subject_id: null,
          tenant_id: null,
          message: `event ${i}`,
          data_json: null,
        });
      }
    });
    await f.store.close();
    writeFileSync(join(t.dir, 'targets.txt'), '@some_group\n');
    const imp = await runCli(['targets', 'import', join(t.dir, 'targets.txt')], { env });
    expect(imp.code, imp.stderr).toBe(0);
  });
  afterAll(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('1. events: total counts every match, more the rest; --all, --csv, "showing N of M"', async () => {
    const two = await runCli(['--json', 'events', '--limit', '2'], { env });
    expect(two.code, two.stderr).toBe(0);
    const doc = JSON.parse(two.stdout) as { items: { message: string }[]; total: number; more: number };
    expect(doc.items.map((e) => e.message)).toEqual(['event 15', 'event 14']);
    expect(doc).toMatchObject({ total: 16, more: 14 });
    expect(two.stderr).toContain('showing 2 of 16');

    const all = JSON.parse((await runCli(['--json', 'events', '--all'], { env })).stdout) as {
      items: unknown[];
      total: number;
      more: number;
    };
    expect(all).toMatchObject({ total: 16, more: 0 });
    expect(all.items).toHaveLength(16);

    const csv = await runCli(['events', '--csv', '--limit', '3'], { env });
    expect(csv.code, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('at,severity,kind,subject,tenant,message');
    expect(lines.slice(1).map((l) => l.split(',').at(-1))).toEqual(['event 15', 'event 14', 'event 13']);

    const table = await runCli(['events', '--limit', '5'], { env });
    expect(table.stdout).toContain('showing 5 of 16: 11 more');
  });

  it.skipIf(skip)('2. a refused lease says why on stderr; stdout stays empty', async () => {
    const l = await runCli(['lease', '--action', 'message', '--holder', 'first'], { env });
    expect(l.code, l.stderr).toBe(0);
    const none = await runCli(['lease', '--action', 'message'], { env });
    expect(none.code).toBe(75);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^acctctl: no account available: /m);
    expect((await runCli(['release', l.stdout.trim()], { env })).code).toBe(0);
  });

  it.skipIf(skip)('12. join with targets waiting and every account busy says why, and when one is free', async () => {
    const l = await runCli(['lease', '--action', 'message', '--holder', 'busy', '--ttl', '5m'], { env });
    expect(l.code, l.stderr).toBe(0);
    try {
      const j = await runCli(['join'], { env });
      expect(j.code, j.stderr).toBe(0);
      expect(j.stdout).toContain('0 targets claimed');
      expect(j.stdout).toContain(
        'nothing joined: 1 target waiting in niche default, but no account is free for joining now',
      );
      expect(j.stdout).toMatch(/next account free for joining: \S+/);
      expect(j.stdout).not.toContain('nothing to do');
      const js = JSON.parse((await runCli(['--json', 'join', '--dry-run'], { env })).stdout) as { waiting: number };
      expect(js.waiting).toBe(1);
    } finally {
      await runCli(['release', l.stdout.trim()], { env });
    }
  });

  it.skipIf(skip)('5. a typo in a filter is a usage error naming the known values', async () => {
    const cases: [string[], RegExp][] = [
      [['accounts', 'list', '--tenant', 'acmee'], /--tenant "acmee" is unknown → use one of acme/],
      [['events', '--tenant', 'acmee'], /--tenant "acmee" is unknown → use one of acme/],
      [['events', '--kind', 'acount_state'], /--kind "acount_state" is unknown → use one of .*account_state/],
      [['ig', 'list', '--state', 'vaild'], /--state "vaild" is unknown → use one of valid, expired/],
      [['ig', 'list', '--tenant', 'acmee'], /--tenant "acmee" is unknown/],
      [['watch', 'list', '--status', 'fonud'], /--status "fonud" is unknown → use one of found, not_found/],
      [['targets', 'list', '--niche', 'defualt'], /--niche "defualt" is unknown → use one of default/],
      [['join', '--niche', 'defualt'], /--niche "defualt" is unknown → use one of default/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(64);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    // The known values still work.
    expect((await runCli(['events', '--kind', 'account_state', '--tenant', 'acme'], { env })).code).toBe(0);
    expect((await runCli(['accounts', 'list', '--tenant', 'acme'], { env })).code).toBe(0);
  });

  it.skipIf(skip)('3. --fail-under fails when no account is enabled', async () => {
    const d = await runCli(['accounts', 'disable', 'acc_00000'], { env });
    expect(d.code, d.stderr).toBe(0);
    try {
      const r = await runCli(['status', '--fail-under', '60'], { env });
      expect(r.code).toBe(69);
      expect(r.stderr).toContain('no enabled accounts');
      expect((await runCli(['status'], { env })).code).toBe(0);
    } finally {
      await runCli(['accounts', 'enable', 'acc_00000'], { env });
    }
  });
});

describe('a missing store (3) and usage errors (4)', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-newcomer-'));
    env = baseEnv({ ACCTCTL_KEY_FILE: makeKey(dir) });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('3. read-only commands on a missing store exit 66 naming the path, and create nothing', async () => {
    for (const args of [
      ['status'],
      ['status', '--fail-under', '60'],
      ['events'],
      ['accounts', 'list'],
      ['tenants', 'list'],
      ['proxies', 'list'],
      ['targets', 'list'],
      ['ig', 'list'],
      ['watch', 'list'],
      ['apikeys', 'list'],
    ]) {
      const r = await runCli(args, { env, cwd: dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(66);
      expect(r.stderr).toContain(`no store at ${join(dir, 'acctctl.db')}`);
      expect(r.stderr).toContain('acctctl migrate');
      expect(existsSync(join(dir, 'acctctl.db'))).toBe(false);
    }
    const doc = await runCli(['--json', 'doctor'], { env, cwd: dir });
    expect(doc.code).toBe(66);
    expect(doc.stdout).toContain('no store at');
    expect(existsSync(join(dir, 'acctctl.db'))).toBe(false);
    // A command that writes still creates it.
    expect((await runCli(['migrate'], { env, cwd: dir })).code).toBe(0);
    expect((await runCli(['status'], { env, cwd: dir })).code).toBe(0);
  });

  it('4. usage errors: the acctctl: prefix, and with --json the error document on stdout', async () => {
    for (const args of [
      ['--json', 'status', '--bogus'],
      ['--json', 'frobnicate'],
      ['--json', 'lease'],
      ['--json', 'release'],
    ]) {
      const r = await runCli(args, { env, cwd: dir });
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toMatch(/^acctctl: /);
      expect(r.stderr).not.toMatch(/^error:/m);
      const doc = JSON.parse(r.stdout) as { schemaVersion: number; error: { message: string; exitCode: number } };
      expect(doc).toMatchObject({ schemaVersion: 1, error: { exitCode: 64 } });
      expect(doc.error.message).not.toMatch(/^error:/);
    }
    const plain = await runCli(['status', '--bogus'], { env, cwd: dir });
    expect(plain.code).toBe(64);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/^acctctl: unknown option '--bogus'/);
  });
});

describe.each(DIALECTS)('configured and input files on $name (9, 21)', ({ skip, createMigrated }) => {
  let t: TestDb;
  let env: Record<string, string>;
  beforeAll(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 0);
    env = f.env;
    await f.store.close();
  });
  afterAll(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('9. a broken ACCTCTL_API_PROVIDERS file: doctor and check exit 78 naming it', async () => {
    const bad = join(t.dir, 'providers.json');
    writeFileSync(bad, '{ "lookupco": { "url": ');
    for (const file of [bad, join(t.dir, 'no-such-providers.json')]) {
      const e = { ...env, ACCTCTL_API_PROVIDERS: file };
      const d = await runCli(['--json', 'doctor'], { env: e });
      expect(d.code, d.stderr).toBe(78);
      const checks = (JSON.parse(d.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
      expect(checks.find((c) => c.name === 'API providers file')).toMatchObject({ ok: false });
      const c = await runCli(['check'], { env: e });
      expect(c.code, c.stderr).toBe(78);
      expect(c.stderr).toContain(`ACCTCTL_API_PROVIDERS ${file}`);
      expect(c.stderr).not.toContain('nothing was imported');
    }
    const good = join(t.dir, 'good-providers.json');
    writeFileSync(
      good,
      JSON.stringify({
        lookupco: {
          url: 'https://api.lookup.example/v1/instagram/{username}',
          key_header: 'X-API-Key',
          found: { status: 200 },
          not_found: { status: [404] },
        },
      }),
    );
    const ok = await runCli(['--json', 'doctor'], { env: { ...env, ACCTCTL_API_PROVIDERS: good } });
    const checks = (JSON.parse(ok.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
    expect(checks.find((c) => c.name === 'API providers file')).toMatchObject({ ok: true });
  });

  it.skipIf(skip)('8. the metrics file holds per-session series only with --metrics-per-account', async () => {
    const ig = join(t.dir, 'ig.json');
    writeFileSync(ig, JSON.stringify([{ tenant: 'acme', username: 'shop_one', password: 'pw-not-printed' }]));
    const imp = await runCli(['ig', 'import', ig, '--create-tenant'], { env });
    expect(imp.code, imp.stderr).toBe(0);
    const prom = join(t.dir, 'acctctl.prom');
    expect((await runCli(['status', '--metrics-file', prom], { env })).code).toBe(0);
    const aggregate = readFileSync(prom, 'utf8');
    expect(aggregate).not.toContain('username=');
    expect(aggregate).not.toContain('acctctl_instagram_refreshes_30d');
    expect((await runCli(['status', '--metrics-file', prom, '--metrics-per-account'], { env })).code).toBe(0);
    expect(readFileSync(prom, 'utf8')).toContain('acctctl_instagram_refreshes_30d{tenant="acme",username="shop_one"');
  });

  it.skipIf(skip)('21. a missing input file exits 66 naming it', async () => {
    for (const cmd of [
      ['accounts', 'import'],
      ['proxies', 'import'],
      ['targets', 'import'],
      ['ig', 'import'],
      ['watch', 'import'],
      ['apikeys', 'import'],
    ]) {
      const missing = join(t.dir, 'missing-input.json');
      const r = await runCli([...cmd, missing], { env });
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(66);
      expect(r.stderr).toContain(`${missing} does not exist`);
    }
  });
});

describe('21. one duration syntax for every duration flag', () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-durations-'));
    env = baseEnv({ ACCTCTL_KEY_FILE: makeKey(dir), DATABASE_URL: join(dir, 'a.db') });
    expect((await runCli(['migrate'], { env })).code).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('join --max-wait, --flood-threshold and --pending-days take 10m, 1h, 2w as lease --ttl does', async () => {
    for (const args of [
      ['--max-wait', '10m'],
      ['--max-wait', '30'],
      ['--flood-threshold', '10m'],
      ['--flood-threshold', '600'],
      ['--pending-days', '2w'],
      ['--pending-days', '7'],
    ]) {
      const r = await runCli(['join', '--dry-run', ...args], { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    for (const [args, msg] of [
      [['--max-wait', 'soon'], '--max-wait "soon" is not a duration'],
      [['--flood-threshold', '2d'], '--flood-threshold "2d" → give a duration from 0 to 1d'],
      [['--pending-days', '36h'], '--pending-days "36h" → give whole days'],
    ] as const) {
      const r = await runCli(['join', '--dry-run', ...args], { env });
      expect(r.code).toBe(64);
      expect(r.stderr).toContain(msg);
    }
  });
});

describe.each(DIALECTS)('effective limits (18) on $name', ({ skip, create }) => {
  let t: TestDb;
  let env: Record<string, string>;
  beforeAll(async () => {
    if (skip) return;
    t = await create();
    const f = await fleetStore(t, 1);
    env = f.env;
    await f.store.close();
  });
  afterAll(async () => {
    if (!skip) await t.cleanup();
  });

  it.skipIf(skip)('accounts limits NAME / tenants limits NAME without a file show the limits in effect', async () => {
    const show = await runCli(['accounts', 'limits', 'acc_00000'], { env });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('account acc_00000: limits in effect (the defaults)');
    expect(show.stdout).toMatch(/invite\s+30\s+5\s+15/);
    const file = join(t.dir, 'limits.json');
    writeFileSync(file, JSON.stringify({ invite: { per_day: 10 } }));
    expect((await runCli(['tenants', 'limits', 'acme', file], { env })).code).toBe(0);
    const j = JSON.parse((await runCli(['--json', 'accounts', 'limits', 'acc_00000'], { env })).stdout) as {
      limits: { invite: { perDay: number; perHour: number } };
      overrides: { tenant: unknown; account: unknown };
    };
    expect(j.limits.invite).toMatchObject({ perDay: 10, perHour: 5 });
    expect(j.overrides).toEqual({ tenant: { invite: { per_day: 10 } }, account: null });
    const tenant = await runCli(['tenants', 'limits', 'acme'], { env });
    expect(tenant.stdout).toContain('tenant acme: limits in effect (defaults with the tenant’s overrides)');
    const missing = await runCli(['accounts', 'limits', 'nobody'], { env });
    expect(missing.code).toBe(65);
    expect(missing.stderr).toContain('account "nobody" does not exist');
  });
});

describe('15. demo', () => {
  it('reports each step on stderr as it goes, and --keep prints the environment that uses the kept store', async () => {
    const r = await runCli(['demo', '--keep'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^acctctl: demo: ✓ generated key /m);
    expect(r.stderr).toMatch(/^acctctl: demo: ✓ accounts import accounts_config\.example\.json/m);
    const m = /^ {2}export (.+)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const env = Object.fromEntries(m![1]!.split(' ').map((kv) => kv.split('=') as [string, string]));
    expect(Object.keys(env).sort()).toEqual([
      'ACCTCTL_KEY_FILE',
      'ACCTCTL_SANDBOX_STATE',
      'ACCTCTL_TELEGRAM',
      'DATABASE_URL',
    ]);
    try {
      const st = await runCli(['--json', 'status'], { env: baseEnv(env) });
      expect(st.code, st.stderr).toBe(0);
      expect((JSON.parse(st.stdout) as { accounts: { total: number } }).accounts.total).toBeGreaterThan(0);
    } finally {
      rmSync(join(env.DATABASE_URL!, '..'), { recursive: true, force: true });
    }
  }, 320_000);
});
