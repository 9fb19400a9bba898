import { Argument, type Command } from 'commander';
import { jsonText } from '../commands/support/json.js';

/**
 * `acctctl completion bash|zsh|fish`: a completion script generated from the program's own
 * command tree (every command, subcommand and option as commander knows them), so it stays true
 * as commands are added.
 */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

interface Node {
  /** The command path below `acctctl`, e.g. "accounts list" ("" for acctctl itself). */
  path: string;
  subcommands: { name: string; description: string }[];
  options: { flags: string[]; description: string; takesValue: boolean }[];
}

/** Every command of the tree, with what may follow it. Global options go with every node. */
export function completionTree(program: Command): Node[] {
  const nodes: Node[] = [];
  const walk = (cmd: Command, path: string, inherited: Node['options']): void => {
    const own = cmd.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: [o.long, o.short].filter((f): f is string => f !== undefined),
        description: o.description,
        takesValue: o.required || o.optional,
      }));
    const options = [...own, ...inherited, { flags: ['--help', '-h'], description: 'show help', takesValue: false }];
    nodes.push({
      path,
      subcommands: cmd.commands.map((c) => ({ name: c.name(), description: c.description() })),
      options,
    });
    const passed = path === '' ? own.filter((o) => !o.flags.includes('--version')) : inherited;
    for (const c of cmd.commands) walk(c, path === '' ? c.name() : `${path} ${c.name()}`, passed);
  };
  walk(program, '', []);
  return nodes;
}

const words = (n: Node): string[] => [...n.subcommands.map((c) => c.name), ...n.options.flatMap((o) => o.flags)];
/** Options that take a value: the word after them is that value, not a command. */
const valued = (nodes: Node[]): string[] => [
  ...new Set(nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags))),
];
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function bash(nodes: Node[]): string {
  const paths = nodes.filter((n) => n.path !== '').map((n) => n.path);
  return [
    '# acctctl completion for bash: eval "$(acctctl completion bash)" in ~/.bashrc',
    '_acctctl() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" cmdpath="" w i skip=0',
    '  for ((i = 1; i < COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    if ((skip)); then skip=0; continue; fi',
    '    case "$w" in',
    `      ${valued(nodes).join('|')}) skip=1; continue ;;`,
    '      -*) continue ;;',
    '    esac',
    '    case "$cmdpath${cmdpath:+ }$w" in',
    `      ${paths.map((p) => `"${p}"`).join('|')}) cmdpath="$cmdpath\${cmdpath:+ }$w" ;;`,
    '    esac',
    '  done',
    '  local words=""',
    '  case "$cmdpath" in',
    ...nodes.map((n) => `    "${n.path}") words=${sq(words(n).join(' '))} ;;`),
    '  esac',
    '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
    '}',
    'complete -o default -F _acctctl acctctl',
    '',
  ].join('\n');
}

function zsh(nodes: Node[]): string {
  const paths = nodes.filter((n) => n.path !== '').map((n) => n.path);
  const described = (n: Node): string[] => [
    ...n.subcommands.map((c) => `${c.name.replace(/:/g, '\\:')}:${c.description.replace(/\s+/g, ' ')}`),
    ...n.options.flatMap((o) => o.flags.map((f) => `${f}:${o.description.replace(/\s+/g, ' ')}`)),
  ];
  return [
    '#compdef acctctl',
    '# acctctl completion for zsh: eval "$(acctctl completion zsh)" in ~/.zshrc (after compinit)',
    '_acctctl() {',
    '  local cmdpath="" w i skip=0',
    '  for ((i = 2; i < CURRENT; i++)); do',
    '    w=${words[i]}',
    '    if ((skip)); then skip=0; continue; fi',
    '    case "$w" in',
    `      (${valued(nodes).join('|')}) skip=1; continue ;;`,
    '      (-*) continue ;;',
    '    esac',
    '    case "$cmdpath${cmdpath:+ }$w" in',
    `      (${paths.map((p) => `"${p}"`).join('|')}) cmdpath="$cmdpath\${cmdpath:+ }$w" ;;`,
    '    esac',
    '  done',
    '  local -a candidates',
    '  case "$cmdpath" in',
    ...nodes.map((n) => `    ("${n.path}") candidates=(${described(n).map(sq).join(' ')}) ;;`),
    '  esac',
    "  _describe 'acctctl' candidates",
    '}',
    'compdef _acctctl acctctl',
    '',
  ].join('\n');
}

function fish(nodes: Node[]): string {
  const paths = nodes.filter((n) => n.path !== '').map((n) => n.path);
  const lines = [
    '# acctctl completion for fish: acctctl completion fish > ~/.config/fish/completions/acctctl.fish',
    '# __acctctl_at PATH: the command line so far names exactly this command (options skipped).',
    'function __acctctl_at',
    '    set -l words (commandline -opc)',
    '    set -l cmdpath ""',
    '    set -l skip 0',
    '    for w in $words[2..-1]',
    '        if test $skip -eq 1',
    '            set skip 0',
    '            continue',
    '        end',
    '        switch $w',
    `            case ${valued(nodes).join(' ')}`,
    '                set skip 1',
    '                continue',
    "            case '-*'",
    '                continue',
    '        end',
    '        set -l next (string trim -- "$cmdpath $w")',
    `        if contains -- $next ${paths.map(sq).join(' ')}`,
    '            set cmdpath $next',
    '        end',
    '    end',
    '    test "$cmdpath" = "$argv[1]"',
    'end',
    'complete -c acctctl -f',
  ];
  for (const n of nodes) {
    const when = `-n '__acctctl_at "${n.path}"'`;
    for (const c of n.subcommands) lines.push(`complete -c acctctl ${when} -a ${sq(c.name)} -d ${sq(c.description)}`);
    for (const o of n.options) {
      const long = o.flags.find((f) => f.startsWith('--'));
      const short = o.flags.find((f) => !f.startsWith('--'));
      lines.push(
        `complete -c acctctl ${when}${long ? ` -l ${long.slice(2)}` : ''}${short ? ` -s ${short.slice(1)}` : ''}${o.takesValue ? ' -r' : ''} -d ${sq(o.description)}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

export function completionScript(program: Command, shell: Shell): string {
  const nodes = completionTree(program);
  return shell === 'bash' ? bash(nodes) : shell === 'zsh' ? zsh(nodes) : fish(nodes);
}

/** Added last, so the script it prints knows every other command (and itself). */
export function addCompletionCommand(program: Command, write: (text: string) => void): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish), generated from these commands')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(SHELLS))
    .action((shell: Shell, _opts: unknown, cmd: Command) => {
      const script = completionScript(program, shell);
      // With --json, the script in a document (README "JSON output"), like every command's result.
      write(cmd.optsWithGlobals<{ json?: boolean }>().json ? jsonText({ shell, script }) : script);
    });
}
