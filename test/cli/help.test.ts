import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from '../support/cli.js';

/** Global options (given before or after the subcommand) are listed in every subcommand's --help. */
const GLOBAL = ['--db <url>', '--json', '--log-level <level>', '--log-file <file>'];

function allCommands(): Command[] {
  const out: Command[] = [];
  const walk = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      out.push(sub);
      walk(sub);
    }
  };
  walk(buildProgram(() => async () => {}));
  return out;
}

describe('--help of every subcommand', () => {
  it('lists the global options under "Global Options"', () => {
    const commands = allCommands();
    expect(commands.length).toBeGreaterThan(40);
    for (const cmd of commands) {
      const help = cmd.helpInformation();
      const global = help.slice(help.indexOf('Global Options:'));
      expect(help, cmd.name()).toContain('Global Options:');
      for (const opt of GLOBAL) expect(global, `${cmd.name()} --help: ${opt}`).toContain(opt);
    }
  });

  it('the built CLI shows them too', async () => {
    const r = await runCli(['watch', 'list', '--help']);
    expect(r.code).toBe(0);
    const global = r.stdout.slice(r.stdout.indexOf('Global Options:'));
    expect(r.stdout).toContain('Global Options:');
    for (const opt of GLOBAL) expect(global).toContain(opt);
  });
});
