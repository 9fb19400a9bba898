import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { BIN, ROOT } from '../support/cli.js';

/**
 * Every line of crontab.example, run the way cron runs it: `env -i` with only the variables the
 * file sets (SHELL, PATH) plus HOME/LOGNAME, through /bin/sh, from an install laid out as the README
 * says (acctctl under /opt/acctctl, logs in /var/log/acctctl) — here in a temp dir, on SQLite, in
 * sandbox mode. A line that works mails nothing (empty stderr); a failing one mails one line.
 */
const crontab = readFileSync(join(ROOT, 'crontab.example'), 'utf8');
const vars = Object.fromEntries(
  crontab
    .split('\n')
    .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);
const jobs = crontab
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#') && !/^[A-Z_]+=/.test(l))
  .map((l) => {
    const f = l.trim().split(/\s+/);
    return { schedule: f.slice(0, 5).join(' '), command: f.slice(5).join(' ') };
  });

describe('crontab.example under cron’s bare environment', () => {
  let dir: string;
  let app: string;
  let logs: string;
  let prom: string;
  const localise = (cmd: string) =>
    cmd
      .replaceAll('/opt/acctctl', app)
      .replaceAll('/var/log/acctctl', logs)
      .replaceAll('/var/lib/node_exporter/textfile', prom);
  const cron = (command: string) =>
    spawnSync(
      'env',
      [
        '-i',
        `SHELL=${vars.SHELL}`,
        `PATH=${vars.PATH}`,
        `HOME=${app}`,
        'LOGNAME=acctctl',
        '/bin/sh',
        '-c',
        // cron's own umask (022), whatever this test process has.
        `umask 022; ${localise(command)}`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
  const acctctl = (args: string) => cron(`cd /opt/acctctl && ./node_modules/.bin/acctctl ${args}`);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-cron-'));
    app = join(dir, 'opt-acctctl');
    logs = join(dir, 'var-log-acctctl');
    prom = join(dir, 'textfile');
    // The install as the README describes it: acctctl in /opt/acctctl/node_modules, the log dir made.
    mkdirSync(join(app, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(BIN, join(app, 'node_modules', '.bin', 'acctctl'));
    mkdirSync(logs, { recursive: true });
    mkdirSync(prom, { recursive: true });
    writeFileSync(
      join(app, '.env'),
      [
        `DATABASE_URL=${join(app, 'acctctl.db')}`,
        `ACCTCTL_KEY_FILE=${join(app, 'acctctl.key')}`,
        'ACCTCTL_TELEGRAM=sandbox',
        // Nothing leaves the machine: Instagram is a dead loopback port.
        'ACCTCTL_INSTAGRAM_URL=http://127.0.0.1:9',
        `ACCTCTL_PROFILE_DIR=${join(app, 'profiles')}`,
      ].join('\n') + '\n',
      { mode: 0o600 },
    );
    writeFileSync(join(app, 'groups.txt'), '@crypto_one\n@crypto_two\n');
    for (const args of [
      'keys generate',
      `accounts import ${join(ROOT, 'accounts_config.example.json')} --create-tenant`,
      'targets import groups.txt --niche crypto --tenant acme',
    ]) {
      const r = acctctl(args);
      expect(r.status, `${args}: ${r.stderr}`).toBe(0);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has jobs, each using the installed binary by path (never npx)', () => {
    expect(vars.PATH).toBe('/usr/local/bin:/usr/bin:/bin');
    expect(jobs.length).toBeGreaterThanOrEqual(8);
    for (const j of jobs) {
      expect(j.command).not.toMatch(/\bnpx\b/);
      expect(j.command).toMatch(/\.\/node_modules\/\.bin\/acctctl /);
    }
  });

  it.each(jobs)('$schedule $command', (j) => {
    const r = cron(j.command);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe(''); // nothing for cron to mail
    const log = /2>>([^\s;]+)/.exec(j.command)?.[1];
    if (log) {
      expect(existsSync(localise(log))).toBe(true);
      // The log file the redirection created is private (umask 077 on the line), whatever cron's umask.
      expect(statSync(localise(log)).mode & 0o777, log).toBe(0o600);
    }
  });

  it('the metrics file was written', () => {
    expect(readFileSync(join(prom, 'acctctl.prom'), 'utf8')).toMatch(/^acctctl_accounts_healthy_ratio 1$/m);
    // node_exporter (another user) reads it.
    expect(statSync(join(prom, 'acctctl.prom')).mode & 0o777).toBe(0o644);
  });

  it('a failing job mails one line: the batch lines, doctor and status --fail-under', async () => {
    const byName = (word: string) => jobs.find((j) => j.command.includes(` ${word}`))!;
    // Batch job with an unusable database: one line, pointing at the log.
    const env = readFileSync(join(app, '.env'), 'utf8');
    writeFileSync(join(app, '.env'), env.replace(/^DATABASE_URL=.*$/m, 'DATABASE_URL=postgres://nobody@127.0.0.1:9/x'));
    try {
      const r = cron(byName('join').command);
      expect(r.status).toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([
        `acctctl join failed (exit 69): see ${localise('/var/log/acctctl/join.log')}`,
      ]);
      expect(readFileSync(localise('/var/log/acctctl/join.log'), 'utf8')).toContain('cannot connect');
    } finally {
      writeFileSync(join(app, '.env'), env);
    }
    // doctor without its key: exit 78 and one line naming the failed check.
    const key = readFileSync(join(app, 'acctctl.key'));
    unlinkSync(join(app, 'acctctl.key'));
    try {
      const d = cron(byName('doctor').command);
      expect(d.status).toBe(78);
      const lines = d.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/doctor: 1 problem \(secret key\) → run `acctctl doctor` for the fixes/);
    } finally {
      writeFileSync(join(app, 'acctctl.key'), key, { mode: 0o600 });
    }
    // status under --fail-under with every account banned: exit 69 and one line.
    const store = await openStore({ kind: 'sqlite', path: join(app, 'acctctl.db') });
    await store.db.updateTable('telegram_accounts').set({ state: 'banned' }).execute();
    await store.close();
    const s = cron(byName('status').command);
    expect(s.status).toBe(69);
    const lines = s.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/healthy accounts 0% are below --fail-under 60%/);
  });
});
