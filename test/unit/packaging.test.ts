import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

/** Issue 25, point 20: what a checkout keeps out of git, and what the package ships. */
describe('packaging', () => {
  it('.gitignore covers the files with secrets or fleet data the README has you create', () => {
    const names = ['accounts_config.json', 'tg_1.session', 'proxies.txt', 'groups.txt', 'acctctl-0.1.0.tgz'];
    const ignored = execFileSync('git', ['check-ignore', '--no-index', ...names], { cwd: ROOT, encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(ignored.sort()).toEqual([...names].sort());
  });

  it('the package ships contrib/ (the Grafana dashboard the README points to)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files).toContain('contrib');
  });
});
