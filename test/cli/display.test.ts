import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { baseEnv, runCli, type CliOptions } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';

/**
 * Issue 25, points 11, 13 and 14: what the CLI shows people.
 * - 11: an account whose flood wait / cooldown / block has run out is shown `active` everywhere
 *   (listings, status, metrics, --state filters); --json keeps the stored state beside it.
 * - 13: tables fit a terminal's width (ctx.terminal, injected here), plain aligned columns when piped.
 * - 14: one time format in tables (UTC to the second, README "Tables and times"), relative
 *   times only beside absolute ones, ISO 8601 UTC in --json.
 */

const HOUR = 3_600_000;
const BOX = /[┌┐└┘├┤┬┴┼│]/;
// eslint-disable-next-line no-control-regex
const width = (line: string) => [...line.replace(/\u001b\[[0-9;]*m/g, '')].length;

describe.each(DIALECTS)('effective account states on $name (issue 25, point 11)', ({ skip, createMigrated }) => {
  let t: TestDb;
  let env: Record<string, string>;
  const passedUntil = Date.now() - HOUR;
  const runningUntil = Date.now() + 24 * HOUR;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    const f = await fleetStore(t, 3);
    env = f.env;
    const set = (name: string, state: 'flood_wait' | 'cooldown' | 'blocked', until: number) =>
      f.store.db
        .updateTable('telegram_accounts')
        .set({ state, state_until: until })
        .where('session_name', '=', name)
        .execute();
    await set('acc_00000', 'flood_wait', passedUntil); // its wait has passed: effectively active
    await set('acc_00001', 'cooldown', runningUntil); // still cooling down
    await set('acc_00002', 'blocked', passedUntil); // its block has run out
    await f.store.close();
  });
  afterEach(async () => {
    if (!skip) await t.cleanup();
  });

  interface Item {
    name: string;
    state: string;
    until: string | null;
    storedState: string;
    storedUntil: string | null;
  }
  const items = async (args: string[]): Promise<Item[]> => {
    const r = await runCli(['--json', ...args], { env });
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { items: Item[] }).items;
  };

  it.skipIf(skip)(
    'accounts list, status (--accounts), the --state filters and acctctl_accounts{state} show the effective state; --json keeps the stored one',
    async () => {
      const list = await runCli(['accounts', 'list'], { env });
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(/^\W*acc_00000\W+acme\W+active\W/m);
      expect(list.stdout).toMatch(/^\W*acc_00001\W+acme\W+cooldown\W/m);
      expect(list.stdout).toMatch(/^\W*acc_00002\W+acme\W+active\W/m);
      expect(list.stdout).not.toMatch(/flood_wait|blocked/);

      const iso = (ms: number) => new Date(ms).toISOString();
      expect(await items(['accounts', 'list'])).toEqual([
        expect.objectContaining({
          name: 'acc_00000',
          state: 'active',
          until: null,
          storedState: 'flood_wait',
          storedUntil: iso(passedUntil),
        }),
        expect.objectContaining({
          name: 'acc_00001',
          state: 'cooldown',
          until: iso(runningUntil),
          storedState: 'cooldown',
          storedUntil: iso(runningUntil),
        }),
        expect.objectContaining({ name: 'acc_00002', state: 'active', until: null, storedState: 'blocked' }),
      ]);

      // --state filters the state shown.
      const names = async (state: string) => (await items(['accounts', 'list', '--state', state])).map((i) => i.name);
      expect(await names('active')).toEqual(['acc_00000', 'acc_00002']);
      expect(await names('flood_wait')).toEqual([]);
      expect(await names('blocked')).toEqual([]);
      expect(await names('cooldown')).toEqual(['acc_00001']);
      const filtered = await runCli(['--json', 'status', '--accounts', '--state', 'active'], { env });
      const fs = JSON.parse(filtered.stdout) as { accounts: { list: Item[]; listed: { total: number } } };
      expect(fs.accounts.list.map((a) => a.name)).toEqual(['acc_00000', 'acc_00002']);
      expect(fs.accounts.listed.total).toBe(2);

      // status: the summary, its --json, and the per-account rows.
      const st = await runCli(['status', '--accounts'], { env });
      expect(st.code, st.stderr).toBe(0);
      expect(st.stdout).toMatch(/Telegram accounts: 3 total, 2 healthy .* — active 2, cooldown 1\n/);
      expect(st.stdout).toMatch(/^\W*acc_00000\W+acme\W+active\W/m);
      expect(st.stdout).not.toMatch(/flood_wait|blocked/);
      const sj = JSON.parse((await runCli(['--json', 'status', '--accounts'], { env })).stdout) as {
        accounts: { byState: Record<string, number>; byTenant: { byState: Record<string, number> }[]; list: Item[] };
      };
      expect(sj.accounts.byState).toMatchObject({ active: 2, cooldown: 1, flood_wait: 0, blocked: 0 });
      expect(sj.accounts.byTenant[0]!.byState).toEqual({ active: 2, cooldown: 1 });
      expect(sj.accounts.list[0]).toMatchObject({
        name: 'acc_00000',
        state: 'active',
        until: null,
        storedState: 'flood_wait',
        storedUntil: iso(passedUntil),
      });

      // The metrics.
      const file = join(t.dir, 'acctctl.prom');
      const m = await runCli(['status', '--metrics-file', file], { env });
      expect(m.code, m.stderr).toBe(0);
      const prom = readFileSync(file, 'utf8');
      expect(prom).toMatch(/^acctctl_accounts\{state="active"\} 2$/m);
      expect(prom).toMatch(/^acctctl_accounts\{state="flood_wait"\} 0$/m);
      expect(prom).toMatch(/^acctctl_accounts\{state="blocked"\} 0$/m);
      expect(prom).toMatch(/^acctctl_accounts\{state="cooldown"\} 1$/m);
      expect(prom).toMatch(/^acctctl_tenant_accounts\{tenant="acme",state="active"\} 2$/m);
      expect(prom).not.toMatch(/^acctctl_tenant_accounts\{tenant="acme",state="(flood_wait|blocked)"\} [1-9]/m);

      // recover writes what was shown: the stored state catches up.
      expect((await runCli(['recover'], { env })).code).toBe(0);
      expect((await items(['accounts', 'list'])).map((i) => [i.name, i.storedState])).toEqual([
        ['acc_00000', 'active'],
        ['acc_00001', 'cooldown'],
        ['acc_00002', 'active'],
      ]);
    },
    120_000,
  );
});

/** The demo's store (accounts, targets, an Instagram session, watches, events) for the display tests. */
function useDemoStore(): { env: Record<string, string>; dir: string; demoOut: string } {
  const s = { env: {} as Record<string, string>, dir: '', demoOut: '' };
  beforeAll(async () => {
    const demo = await runCli(['demo', '--keep'], { env: baseEnv({ ACCTCTL_CHROMIUM_PATH: '/nonexistent/chromium' }) });
    expect(demo.code, demo.stderr).toBe(0);
    s.demoOut = demo.stdout;
    const db = /DATABASE_URL=(\S+)/.exec(demo.stdout)![1]!;
    s.dir = db.replace(/\/acctctl\.db$/, '');
    s.env = baseEnv({
      DATABASE_URL: db,
      ACCTCTL_KEY_FILE: join(s.dir, 'acctctl.key'),
      ACCTCTL_TELEGRAM: 'sandbox',
      ACCTCTL_SANDBOX_STATE: join(s.dir, 'sandbox.db'),
      ACCTCTL_CHROMIUM_PATH: '/nonexistent/chromium',
    });
    // Events: a lease that hit a flood wait, and the account disabled and enabled again.
    const lease = await runCli(['lease', '--action', 'message', '--any-tenant'], { env: s.env, cwd: s.dir });
    expect(lease.code, lease.stderr).toBe(0);
    const err = await runCli(['report-error', lease.stdout.trim(), 'FLOOD_WAIT_42'], { env: s.env, cwd: s.dir });
    expect(err.code, err.stderr).toBe(0);
    for (const verb of ['disable', 'enable'])
      expect((await runCli(['accounts', verb, 'demo_alice'], { env: s.env, cwd: s.dir })).code).toBe(0);
  }, 180_000);
  afterAll(() => {
    if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  });
  return s;
}

/** Every command that prints a table (or a summary with tables) on the demo's store. */
const TABLE_COMMANDS: string[][] = [
  ['doctor'],
  ['events'],
  ['status'],
  ['status', '--accounts'],
  ['accounts', 'list'],
  ['tenants', 'list'],
  ['proxies', 'list'],
  ['targets', 'list'],
  ['ig', 'list'],
  ['watch', 'list'],
  ['apikeys', 'list'],
  ['watch', 'followers', 'acctctl_demo_brand', '--tenant', 'initech'],
  ['join', '--niche', 'demo', '--any-tenant', '--dry-run'],
  ['recover', '--probe'],
  ['accounts', 'limits', 'demo_alice'],
  ['tenants', 'limits', 'acme'],
  ['check'],
];

describe('on the demo store', () => {
  const demo = useDemoStore();

  describe('tables: fitted on a terminal, plain when piped (issue 25, point 13)', () => {
    const run = (args: string[], opts: Partial<CliOptions> = {}) =>
      runCli(args, { env: demo.env, cwd: demo.dir, ...opts });
    const tty = (columns: number) => ({ terminal: { isTTY: true, columns } });

    it('on a 100-column terminal every line of every command fits, with a light rule under the heading and no box', async () => {
      for (const args of TABLE_COMMANDS) {
        const r = await run(args, tty(100));
        expect(r.stdout, args.join(' ')).not.toBe('');
        // Table lines (columns are two spaces apart); a sentence is left to the terminal to wrap.
        const wide = r.stdout.split('\n').filter((l) => l.trim().includes('  ') && width(l) > 100);
        expect(wide, `${args.join(' ')}: lines wider than 100 columns`).toEqual([]);
        expect(r.stdout, args.join(' ')).not.toMatch(BOX);
      }
      // doctor (≈230 columns before) keeps all four columns at 100, wrapped.
      const doctor = (await run(['doctor'], tty(100))).stdout.split('\n');
      expect(doctor[0]).toMatch(/^check\s+result\s+detail\s+fix$/);
      expect(doctor[1]).toMatch(/^─+( {2}─+){3}$/);
    }, 180_000);

    it('a narrow terminal drops the columns a table ranks lowest, and says which', async () => {
      const r = await run(['accounts', 'list'], tty(60));
      const lines = r.stdout.split('\n');
      r.stdout = r.stdout.replace(/\n(?!\S+\s{2})/g, ' '); // the note, wrapped to 60 columns, read as one line
      expect(lines.filter((l) => width(l) > 60)).toEqual([]);
      expect(lines[0]).toMatch(/^account\s+tenant\s+state\b/);
      expect(lines[0]).not.toMatch(/\b(lease|proxy|device|time zone|last used)\b/);
      expect(r.stdout).toMatch(
        /\(not shown at 60 columns: lease, proxy, device, time zone, last used[^)]* → a wider terminal, or pipe the output\)/,
      );
    }, 60_000);

    it('piped: plain aligned columns, an ASCII rule, nothing wrapped or left out', async () => {
      for (const args of TABLE_COMMANDS) {
        const r = await run(args);
        expect(r.stdout, args.join(' ')).not.toMatch(BOX);
        expect(r.stdout, args.join(' ')).not.toContain('─');
        expect(r.stdout, args.join(' ')).not.toContain('not shown at');
      }
      // Each event's whole message is on its own row, as --json has it.
      const events = (await run(['events'])).stdout.split('\n');
      expect(events[0]).toMatch(/^at\s{2,}severity\s{2,}kind\s{2,}subject\s{2,}tenant\s{2,}message$/);
      expect(events[1]).toMatch(/^-+( {2}-+){5}$/);
      const json = JSON.parse((await run(['--json', 'events'])).stdout) as {
        items: { kind: string; message: string }[];
      };
      expect(json.items.length).toBeGreaterThanOrEqual(3);
      for (const e of json.items)
        expect(
          events.some((l) => l.includes(e.kind) && l.endsWith(e.message)),
          e.message,
        ).toBe(true);
      // doctor: every check on one line, all four columns.
      const doc = await run(['--json', 'doctor']);
      const checks = (JSON.parse(doc.stdout) as { checks: { name: string; detail: string }[] }).checks;
      const human = (await run(['doctor'])).stdout.split('\n');
      for (const k of checks)
        expect(
          human.some((l) => l.startsWith(k.name) && l.includes(k.detail)),
          k.name,
        ).toBe(true);
    }, 180_000);
  });

  describe('times: one format per context (issue 25, point 14)', () => {
    const run = (args: string[]) => runCli(args, { env: demo.env, cwd: demo.dir });
    const ABS = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`;
    const REL = String.raw`(?:in \d+[smhd]|\d+[smhd] ago)`;

    /** What is wrong with the times in a human output: other formats, and relative times on their own. */
    const timeProblems = (text: string): string[] => {
      const out: string[] = [];
      for (const m of text.matchAll(/\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?(\.\d+)?Z?/g)) out.push(`ISO "T" form: ${m[0]}`);
      for (const m of text.matchAll(/\d\d:\d\d:\d\d\.\d{3}/g)) out.push(`milliseconds: ${m[0]}`);
      // A time of day without its date.
      for (const m of text.matchAll(new RegExp(String.raw`(?<!\d{4}-\d\d-\d\d )\b\d\d:\d\d:\d\dZ`, 'g')))
        out.push(`time without date: ${m[0]}`);
      // A relative time only in parentheses right after an absolute one.
      const rest = text.replace(new RegExp(`${ABS} \\(${REL}\\)`, 'g'), '');
      for (const m of rest.matchAll(new RegExp(String.raw`\b${REL}\b`, 'g'))) out.push(`relative alone: ${m[0]}`);
      return out;
    };

    it('tables and messages: UTC to the second, relative times only beside absolute ones', async () => {
      expect(timeProblems(demo.demoOut), 'demo').toEqual([]);
      expect(demo.demoOut).toMatch(new RegExp(`next account free for joining (${ABS}|never)`));
      for (const args of TABLE_COMMANDS) {
        const r = await run(args);
        expect(timeProblems(r.stdout), args.join(' ')).toEqual([]);
      }
      // ig list: when the session was last verified, with how long ago beside it.
      const ig = (await run(['ig', 'list'])).stdout;
      expect(ig).toMatch(new RegExp(`demo_ig .*${ABS} \\(\\d+[smhd] ago\\)`));
    }, 180_000);

    it('the events table shows each --json time (ISO 8601 UTC) in the table format', async () => {
      const json = JSON.parse((await run(['--json', 'events'])).stdout) as { items: { at: string }[] };
      // The rows (boxed or not): each begins with its time.
      const rows = (await run(['events'])).stdout.split('\n').filter((l) => /^\W*\d{4}-/.test(l));
      expect(rows).toHaveLength(json.items.length);
      json.items.forEach((e, i) => {
        expect(e.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        expect(rows[i]!.replace(/^\W*/, '').startsWith(e.at.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') + ' ')).toBe(
          true,
        );
      });
    }, 60_000);
  });
});
