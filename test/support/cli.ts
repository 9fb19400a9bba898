import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/acctctl.js', import.meta.url));
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The bundle bin/acctctl.js loads (`npm test` builds it first). */
export const BUNDLE = new URL('../../dist/cli-bundle/main.js', import.meta.url).href;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
  timeoutMs?: number;
  /**
   * What the CLI's stdout is (tables fit a terminal, plain when piped): in process only, since a
   * spawned binary's stdout is always a pipe here. Default: piped.
   */
  terminal?: { isTTY: boolean; columns: number | null };
}

/**
 * The environment a CLI subprocess gets: only what it needs, never the caller's DATABASE_URL or keys.
 * These runs go by the wall clock, so pacing (active hours, the day's spread) is off unless a test
 * turns it on (`ACCTCTL_PACING: 'on'`): what they prove about limits holds at any hour.
 */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    NO_COLOR: '1',
    ACCTCTL_PACING: 'off',
  };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/**
 * Run the built binary, `node bin/acctctl.js ARGS`, in a child process: its own pid, environment,
 * exit and signals. For what only a process shows (concurrent runs, kill -9, exit and EPIPE
 * handling, lazy loading) and to prove the binary for each command.
 */
export function spawnCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // `node -- BIN`, as the binary's #! line runs it: Node 20 would otherwise read acctctl's own
    // `--env-file FILE` itself (bin/acctctl.js).
    const child = spawn(process.execPath, ['--', BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: opts.env ?? baseEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

interface Bundle {
  main(
    argv: string[],
    io: {
      env: Record<string, string>;
      cwd: string;
      stdout(s: string): void;
      stderr(s: string): void;
      terminal?: { isTTY: boolean; columns: number | null };
    },
  ): Promise<number>;
  forgetSecrets(): void;
}

/** The binary's code as built (vitest.config.ts leaves dist/ to Node's own loader, untransformed). */
const nativeImport = (url: string): Promise<unknown> => import(/* @vite-ignore */ url);
let bundle: Promise<Bundle> | undefined;
let running = false;

/*
 * The CLI's colours are decided once, when its output module loads, from this process's
 * environment; every runCli environment says NO_COLOR=1 (baseEnv), so this process does too.
 */
if (!process.env.NO_COLOR) process.env.NO_COLOR = '1';

/**
 * Run a command in this process through the entry the binary calls (`main(argv)` of the built
 * bundle), with the given environment and working directory injected and stdout/stderr captured.
 * Each run starts with no secrets registered for redaction, as a new process does. Runs one at a
 * time: the caller awaits it (runCli sends overlapping runs to spawnCli).
 */
export async function runCliInProcess(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  if (running) throw new Error('runCliInProcess: another in-process run is still going → await it, or use spawnCli');
  running = true;
  const before = process.cwd();
  try {
    const b = await (bundle ??= nativeImport(BUNDLE) as Promise<Bundle>);
    const cwd = opts.cwd ?? ROOT;
    // Relative paths in arguments (`accounts import a.json`) are read from the working directory.
    process.chdir(cwd);
    let stdout = '';
    let stderr = '';
    b.forgetSecrets();
    const code = await b.main([process.execPath, BIN, ...args], {
      env: opts.env ?? baseEnv(),
      cwd,
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      ...(opts.terminal ? { terminal: opts.terminal } : {}),
    });
    return { code, signal: null, stdout, stderr };
  } finally {
    process.chdir(before);
    running = false;
  }
}

/** ACCTCTL_TEST_CLI=spawn: every runCli through the binary (slower; proves nothing in-process hides). */
const ALWAYS_SPAWN = process.env.ACCTCTL_TEST_CLI === 'spawn';

function inProcessPossible(opts: CliOptions): boolean {
  if (ALWAYS_SPAWN || running) return false; // overlapping runs are separate processes
  if (opts.stdin) return false; // prompts read the process's stdin
  const env = opts.env ?? baseEnv();
  if (!env.NO_COLOR || env.FORCE_COLOR !== undefined) return false; // colours: see above
  try {
    process.chdir(process.cwd()); // worker threads may not change directory
    return true;
  } catch {
    return false;
  }
}

/**
 * Run a CLI command: in this process (runCliInProcess) when it can be, otherwise through the
 * binary (spawnCli): when another run is in flight (concurrent runs must be separate processes),
 * when there is stdin to give, when the environment asks for colours, or under
 * ACCTCTL_TEST_CLI=spawn. `signal` is always null in process; `timeoutMs` only applies to a spawn.
 */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const ip = inProcessPossible(opts);
  if (opts.terminal && !ip)
    return Promise.reject(new Error('runCli: a terminal can only be injected in process → await other runs first'));
  return ip ? runCliInProcess(args, opts) : spawnCli(args, opts);
}
