import { readFileSync } from 'node:fs';
import { Command, CommanderError, Help, Option } from 'commander';
import type { GlobalFlags } from '../config/config.js';
import { AcctctlError, ExitCode, exitCodeOf } from '../errors.js';
import { LOG_LEVELS } from '../log/logger.js';
import { redact } from '../security/redact.js';
import type { Ctx } from '../commands/support/context.js';
import { jsonText, SCHEMA_VERSION } from '../commands/support/json.js';
import { PIPED, stdoutTerminal, withTerminal, type Terminal } from '../commands/support/terminal.js';
import type { JoinFlags } from '../commands/join.js';
import { addCompletionCommand } from './completion.js';
import { versionText } from './version.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** How long after its work the process may linger before the watchdog ends it. */
const EXIT_GRACE_MS = 3000;
/** What ends a wait for stdout to take a streamed listing's page. */
const STDOUT_DONE = ['drain', 'close', 'error'] as const;

/** Batch commands (cron): each ends by delivering pending alerts, as `notify` does. */
const BATCH_COMMANDS = new Set(['join', 'check', 'refresh-session', 'recover', 'reset-limits']);

type Action = (ctx: Ctx, ...args: never[]) => Promise<void>;

/** Rows a listing shows without --limit/--all (src/cli/listing.ts's DEFAULT_LIMIT, not imported here). */
export const DEFAULT_LIST_LIMIT = 50;

export interface ListCliFlags {
  limit?: string;
  all?: boolean;
  csv?: boolean;
}

/** The paging and format flags every listing takes (see src/cli/listing.ts). */
export function listOptions(cmd: Command): Command {
  return cmd
    .option('--limit <n>', `at most N rows; says how many more there are (default: ${DEFAULT_LIST_LIMIT})`)
    .option('--all', 'every row (streamed)')
    .option('--csv', 'CSV instead of a table');
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/**
 * Where a run reads its settings and writes its output. The binary uses the process's own
 * (bin/acctctl.js calls `main(process.argv)`); the in-process test runner (test/support/cli.ts)
 * injects its own, so one test's environment never reaches another's.
 */
export interface CliIO {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** What stdout is (tables fit a terminal, plain when piped); default: process.stdout's, or piped when stdout is injected. */
  terminal?: Terminal;
}

function processIO(io: CliIO): Required<CliIO> {
  return {
    terminal: io.terminal ?? (io.stdout ? PIPED : stdoutTerminal()),
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    stdout: io.stdout ?? ((s) => void process.stdout.write(s)),
    stderr: io.stderr ?? ((s) => void process.stderr.write(s)),
  };
}

function printError(err: unknown, json: boolean, debug: boolean, io: Required<CliIO>): void {
  const code = exitCodeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const details = err instanceof AcctctlError ? [...err.details] : [];
  const lines = [`acctctl: ${message}`, ...details.map((d) => `  - ${d}`)];
  if (debug || !(err instanceof AcctctlError)) {
    let cause: unknown = err instanceof AcctctlError ? err.cause : err;
    while (cause instanceof Error) {
      lines.push(`  caused by: ${debug && cause.stack ? cause.stack : cause.message}`);
      cause = cause.cause;
    }
  }
  io.stderr(redact(lines.join('\n') + '\n'));
  if (json) writeErrorDocument(io, message, code, details);
}

/** The `--json` error document (README "JSON output"). */
function writeErrorDocument(io: Required<CliIO>, message: string, exitCode: number, details: string[]): void {
  io.stdout(redact(JSON.stringify({ schemaVersion: SCHEMA_VERSION, error: { message, exitCode, details } }) + '\n'));
}

/**
 * Build the program. Each action imports its command module only when it runs, so `--version`,
 * `--help` and `status` never load what they do not need (gramjs, Playwright).
 */
export function buildProgram(run: (fn: Action) => (...args: unknown[]) => Promise<void>, io: CliIO = {}): Command {
  const out = processIO(io);
  const program = new Command('acctctl')
    .description('Keeps a fleet of Telegram accounts and Instagram sessions healthy and hands them to work safely.')
    .version(versionText(pkg.version), '-V, --version', 'print the version, git commit, build date and Node version')
    .option(
      '--db <url>',
      'database: a SQLite path, sqlite:PATH or postgres://… (default: ./acctctl.db, env: DATABASE_URL)',
    )
    .option('--json', 'print results as JSON (README "JSON output"; schemas in schemas/)')
    .addOption(
      new Option('--log-level <level>', 'log level (default: info, env: ACCTCTL_LOG_LEVEL)').choices(LOG_LEVELS),
    )
    .option('--log-file <file>', 'also append logs to this file (created mode 0600)')
    .option('--env-file <file>', 'read settings from this file instead of ./.env (env: ACCTCTL_ENV_FILE)')
    .option('--key-file <file>', 'the secret key file (default: ./acctctl.key, env: ACCTCTL_KEY_FILE)')
    .showHelpAfterError('(run with --help for usage)')
    // Every subcommand's --help also lists --json, --db, --log-level, --log-file.
    .configureHelp({
      showGlobalOptions: true,
      // One style of defaults: commander's "(default: …)", unquoted like the hand-written ones.
      optionDescription(option) {
        return Help.prototype.optionDescription.call(this, option).replace(/default: "([^"]*)"/, 'default: $1');
      },
    })
    // Set before the subcommands are added: they copy these settings.
    .exitOverride()
    .configureOutput({
      writeErr: (s) => out.stderr(s),
      writeOut: (s) => out.stdout(s),
      // One error prefix for every error, usage errors included (commander says `error:`).
      outputError: (s, write) => write(s.replace(/^error: /, 'acctctl: ')),
    });

  program
    .command('demo')
    .description(
      'fresh SQLite file and key in a temp dir, example data, then the batch commands in sandbox mode, then status',
    )
    .option('--keep', 'keep the temp dir and print its path')
    .action(run(async (ctx, opts: { keep?: boolean }) => (await import('../commands/demo.js')).demoCli(ctx, opts)));

  program
    .command('migrate')
    .description('bring the database schema up to date')
    .action(run(async (ctx) => (await import('../commands/migrate.js')).migrateCli(ctx)));

  program
    .command('doctor')
    .description('check database, key, Telegram settings and browser; say how to fix each problem')
    .action(run(async (ctx) => (await import('../commands/doctor.js')).doctorCli(ctx)));

  const keys = program.command('keys').description('the secret key that encrypts every stored secret');
  keys
    .command('generate')
    .description('create a new key file (mode 0600); refuses to overwrite')
    .option('--out <file>', 'where to write it (default: --key-file, ACCTCTL_KEY_FILE or ./acctctl.key)')
    .action(run(async (ctx, opts: { out?: string }) => (await import('../commands/keys.js')).generateCli(ctx, opts)));
  keys
    .command('rotate')
    .description('add a new primary key and re-encrypt every secret under it (resumable)')
    .action(run(async (ctx) => (await import('../commands/keys.js')).rotateCli(ctx)));

  const tenants = program.command('tenants').description('owners of resources');
  tenants
    .command('add <name>')
    .description('add a tenant (or change its verify mode)')
    .option(
      '--verify-mode <mode>',
      'api, instagram, proxy, api+instagram, api+proxy, instagram+proxy, api+proxy+instagram',
    )
    .option('--timezone <tz>', 'IANA time zone of its accounts that set none (unset: ACCTCTL_TIMEZONE)')
    .action(
      run(async (ctx, name: string, opts: { verifyMode?: string; timezone?: string }) =>
        (await import('../commands/tenants.js')).addTenantCli(ctx, name, opts),
      ),
    );
  tenants
    .command('set <name>')
    .description(
      'where this tenant’s alerts go (its own target, secret and minimum severity), its accounts’ time zone, its login fallback',
    )
    .option(
      '--notify-target-file <file>',
      'a file holding a webhook URL or a Telegram chat id (empty: none; - reads stdin)',
    )
    .option('--notify-secret-file <file>', 'a file holding this tenant’s whsec_ webhook secret (acctctl notify secret)')
    .option('--notify-min-severity <severity>', 'info, warning or critical ("" for ACCTCTL_NOTIFY_MIN_SEVERITY)')
    .option(
      '--login-fallback <how>',
      'http: log Instagram accounts in over HTTP when Chromium is missing or fails; none: browser only',
    )
    .option('--timezone <tz>', 'IANA time zone of its accounts that set none ("" for ACCTCTL_TIMEZONE)')
    .action(
      run(
        async (
          ctx,
          name: string,
          opts: {
            notifyTargetFile?: string;
            notifySecretFile?: string;
            notifyMinSeverity?: string;
            loginFallback?: string;
            timezone?: string;
          },
        ) => (await import('../commands/tenants.js')).setTenantCli(ctx, name, opts),
      ),
    );
  listOptions(
    tenants
      .command('list')
      .description('list tenants and their resources')
      .option('--tenant <name>', 'only this tenant'),
  ).action(
    run(async (ctx, opts: ListCliFlags & { tenant?: string }) =>
      (await import('../commands/tenants.js')).listTenantsCli(ctx, opts),
    ),
  );

  const proxies = program.command('proxies').description('proxies used by accounts and tenants');
  proxies
    .command('import <file>')
    .description('import proxies: one URL per line, or JSON [{url, tenant?}] (passwords never on argv)')
    .option('--tenant <name>', 'bind the proxies to this tenant')
    .option(CREATE_TENANT, CREATE_TENANT_HELP)
    .option(DRY_RUN, DRY_RUN_HELP)
    .action(
      run(async (ctx, file: string, opts: { tenant?: string; createTenant?: boolean; dryRun?: boolean }) =>
        (await import('../commands/proxies.js')).importProxiesCli(ctx, file, opts),
      ),
    );
  listOptions(
    proxies
      .command('list')
      .description('list proxies (no passwords), with the last check: result, latency, when')
      .option('--tenant <name>', 'only this tenant’s proxies'),
  ).action(
    run(async (ctx, opts: ListCliFlags & { tenant?: string }) =>
      (await import('../commands/proxies.js')).listProxiesCli(ctx, opts),
    ),
  );
  proxies
    .command('check')
    .description(
      'connect through each proxy to what it carries (a Telegram DC, or Instagram for HTTP) and record result and latency; a failed one is dead until a check gets through',
    )
    .option('--tenant <name>', "only this tenant's proxies")
    .action(
      run(async (ctx, opts: { tenant?: string }) =>
        (await import('../commands/proxies.js')).checkProxiesCli(ctx, opts),
      ),
    );

  const accounts = program.command('accounts').description('Telegram accounts');
  accounts
    .command('import <paths...>')
    .description(
      'import accounts_config.json, or Telethon/Pyrogram .session files (or folders of them, each with an optional same-named .json); all or none',
    )
    .option('--tenant <name>', 'tenant for the accounts that name none')
    .option('--fernet-key-file <file>', 'decrypt Fernet-encrypted values exported by the old Python system')
    .option(CREATE_TENANT, CREATE_TENANT_HELP)
    .option(
      '--new',
      'new accounts: their daily join budget ramps up over the first days (3, 6, 10, 15, then the limit)',
    )
    .option(DRY_RUN, DRY_RUN_HELP)
    .action(
      run(
        async (
          ctx,
          paths: string[],
          opts: { tenant?: string; fernetKeyFile?: string; createTenant?: boolean; new?: boolean; dryRun?: boolean },
        ) => (await import('../commands/accounts.js')).importAccountsCli(ctx, paths, opts),
      ),
    );
  accounts
    .command('export [names...]')
    .description(
      'write accounts as Telethon/Pyrogram .session files (+ .json) or Telethon string sessions (0600 files, 0700 dir)',
    )
    .option('--tenant <name>', 'every account of this tenant')
    .option('--all', 'every account')
    .requiredOption('--format <format>', 'telethon, pyrogram or string')
    .requiredOption('--out <dir>', 'directory to write into (made 0700; nothing in it is overwritten)')
    .action(
      run(async (ctx, names: string[], opts: { tenant?: string; all?: boolean; format: string; out: string }) =>
        (await import('../commands/accounts.js')).exportAccountsCli(ctx, names, opts),
      ),
    );
  listOptions(
    accounts
      .command('list')
      .description('list accounts with state, lease and errors')
      .option('--state <state>', 'only accounts in this state now (one whose wait has passed is active)')
      .option('--tenant <name>', 'only this tenant’s accounts'),
  ).action(
    run(async (ctx, opts: ListCliFlags & { state?: string; tenant?: string }) =>
      (await import('../commands/accounts.js')).listAccountsCli(ctx, opts),
    ),
  );
  accounts
    .command('login')
    .description('log an account in interactively (code, 2FA password not echoed) and store its session encrypted')
    .requiredOption('--phone <phone>', 'the account’s phone number, e.g. +15551234567')
    .option('--name <session_name>', 'name for the account (default: tg_<digits>)')
    .option('--tenant <name>', 'tenant that owns it')
    .option('--proxy-id <id>', 'log in through this imported proxy (see proxies list)')
    .action(
      run(async (ctx, opts: { phone: string; name?: string; tenant?: string; proxyId?: string }) =>
        (await import('../commands/login.js')).loginCli(ctx, opts),
      ),
    );
  for (const verb of ['enable', 'disable'] as const) {
    accounts
      .command(`${verb} <name>`)
      .description(`${verb} an account for leasing (its state is kept)`)
      .action(
        run(async (ctx, name: string) => (await import('../commands/accounts.js')).changeAccountCli(ctx, verb, name)),
      );
  }
  accounts
    .command('remove <name>')
    .description('remove an account (its events stay under its name); refused while leased or bound to groups')
    .option('--force', 'remove anyway: its lease ends (the token fails) and its groups are queued for another account')
    .option(DRY_RUN, REMOVE_DRY_RUN_HELP)
    .action(
      run(async (ctx, name: string, opts: { force?: boolean; dryRun?: boolean }) =>
        (await import('../commands/accounts.js')).changeAccountCli(ctx, 'remove', name, opts),
      ),
    );

  accounts
    .command('reactivate <name>')
    .description(
      'a person says the account is fine again (appeal accepted, ban lifted, channels left): active, errors cleared, reason recorded',
    )
    .requiredOption('--reason <text>', 'why it is fine again (kept in the event log)')
    .action(
      run(async (ctx, name: string, opts: { reason: string }) =>
        (await import('../commands/fleet.js')).reactivateCli(ctx, name, opts),
      ),
    );

  accounts
    .command('limits <name> [file]')
    .description('override this account’s limits from a JSON file (see README), or --clear')
    .option('--clear', 'remove the overrides')
    .action(
      run(async (ctx, name: string, file: string | undefined, opts: { clear?: boolean }) =>
        (await import('../commands/fleet.js')).setLimitsCli(ctx, { account: name }, file, opts),
      ),
    );
  tenants
    .command('limits <name> [file]')
    .description('override the limits of this tenant’s accounts from a JSON file (see README), or --clear')
    .option('--clear', 'remove the overrides')
    .action(
      run(async (ctx, name: string, file: string | undefined, opts: { clear?: boolean }) =>
        (await import('../commands/fleet.js')).setLimitsCli(ctx, { tenant: name }, file, opts),
      ),
    );

  const targets = program.command('targets').description('Telegram groups to join');
  targets
    .command('import <file>')
    .description('import links, one per line (@name, t.me/name, t.me/+HASH, t.me/joinchat/HASH, tg://…)')
    .option('--niche <niche>', 'niche for these targets', 'default')
    .option('--tenant <name>', 'whose targets they are (needed when there is more than one tenant)')
    .option(DRY_RUN, DRY_RUN_HELP)
    .action(
      run(async (ctx, file: string, opts: { niche: string; tenant?: string; dryRun?: boolean }) =>
        (await import('../commands/targets.js')).importTargetsCli(ctx, file, opts),
      ),
    );
  listOptions(
    targets
      .command('list')
      .description('list targets')
      .option('--niche <niche>', 'only this niche')
      .option('--status <status>', 'only this status'),
  ).action(
    run(async (ctx, opts: ListCliFlags & { niche?: string; status?: string }) =>
      (await import('../commands/targets.js')).listTargetsCli(ctx, opts),
    ),
  );

  targets
    .command('retry [links...]')
    .description(
      'requeue targets that ended in error (or --status expired, banned), or the ones named, for the next join',
    )
    .option('--niche <niche>', 'only this niche')
    .option('--status <status>', 'only targets in this status: error, expired or banned (default: error and expired)')
    .action(
      run(async (ctx, links: string[], opts: { niche?: string; status?: string }) =>
        (await import('../commands/targets.js')).retryTargetsCli(ctx, links, opts),
      ),
    );

  program
    .command('join')
    .description(
      'join Telegram groups of a niche: one batch, paced per account, then exit saying when the next account frees up',
    )
    .option('--niche <niche>', 'which targets', 'default')
    .option('--batch <n>', 'targets to claim in this run', '5')
    .option('--dry-run', 'show the plan, change nothing')
    .option('--max-wait <duration>', 'wait at most this long for an account to free up (e.g. 90s, 10m)', '0')
    .option(
      '--flood-threshold <duration>',
      'flood waits up to this long (seconds, or e.g. 10m) rest the account (flood_wait), longer ones cool it down for the run; a tenant’s limits may set their own (default: 600, env: ACCTCTL_FLOOD_THRESHOLD)',
    )
    .option(
      '--pending-days <days>',
      'a join request still not approved after this many days (or e.g. 2w) expires (default: 7)',
    )
    .option('--tenant <name>', 'join only this tenant’s targets with its accounts (needed with more than one tenant)')
    .option('--any-tenant', 'with more than one tenant: any tenant’s targets and accounts')
    .action(run(async (ctx, opts: JoinFlags) => (await import('../commands/join.js')).joinCli(ctx, opts)));

  program
    .command('lease')
    .description('lease an eligible account for an action; prints the fencing token (exit 75 when none is free)')
    .requiredOption(
      '--action <action>',
      'join, invite, message or contact; parsing (no quota); or an action declared in a limits file',
    )
    .option('--tenant <name>', 'only this tenant’s accounts (needed with more than one tenant)')
    .option('--any-tenant', 'with more than one tenant: any tenant’s account')
    .option(
      '--channel <channel>',
      'the channel (any target link form): per-channel limits; a joined group goes only to its bound account, after its warm-up',
    )
    .option('--ttl <duration>', 'how long the lease lasts (e.g. 90s, 10m)', '10m')
    .option('--holder <name>', 'who holds it, shown in status (default: cli@HOST:PID)')
    .option('--account <name>', 'this account if it can be had now, else another of its tenant (unless --only)')
    .option('--only', 'with --account: that account or none (exit 75 says why)')
    .action(
      run(
        async (
          ctx,
          opts: {
            action: string;
            tenant?: string;
            anyTenant?: boolean;
            channel?: string;
            ttl: string;
            holder?: string;
            account?: string;
            only?: boolean;
          },
        ) => (await import('../commands/fleet.js')).leaseCli(ctx, opts),
      ),
    );
  program
    .command('release <token>')
    .description('end a lease and record what was done with it')
    .option(
      '--used <action=n>',
      'actions performed, e.g. --used invite=3, or per channel --used invite:@group=2 (repeatable)',
      collect,
      [],
    )
    .option('--channel <channel>', 'a channel the work used (repeatable)', collect, [])
    .option('--success', 'the work succeeded (recorded in an event)')
    .option(
      '--failed',
      'the work failed: recorded in an event, and as a failed attempt (the pause after a failure applies)',
    )
    .action(
      run(
        async (ctx, token: string, opts: { used: string[]; channel: string[]; success?: boolean; failed?: boolean }) =>
          (await import('../commands/fleet.js')).releaseCli(ctx, token, opts),
      ),
    );
  program
    .command('limits')
    .description('the limits leases go by')
    .command('check')
    .description('would a lease succeed now, with which account, or when? Takes nothing (exit 75: not now)')
    .requiredOption('--action <action>', 'join, invite, message, contact, parsing, or a declared action')
    .option('--tenant <name>', 'only this tenant’s accounts (needed with more than one tenant)')
    .option('--any-tenant', 'with more than one tenant: any tenant’s account')
    .option('--channel <channel>', 'the channel (any target link form): per-channel limits and bound groups')
    .option('--account <name>', 'this account if it could be had, else another of its tenant (unless --only)')
    .option('--only', 'with --account: that account or none')
    .action(
      run(
        async (
          ctx,
          opts: {
            action: string;
            tenant?: string;
            anyTenant?: boolean;
            channel?: string;
            account?: string;
            only?: boolean;
          },
        ) => (await import('../commands/fleet.js')).limitsCheckCli(ctx, opts),
      ),
    );
  program
    .command('record <name> <action>')
    .description('record an action an account did outside a lease; its limits count it from now on')
    .option('--channel <channel>', 'the channel it was done in (per-channel limits)')
    .option('--failed', 'a failed attempt (counts for the pause after a failure, not for the counts)')
    .action(
      run(async (ctx, name: string, action: string, opts: { channel?: string; failed?: boolean }) =>
        (await import('../commands/fleet.js')).recordCli(ctx, name, action, opts),
      ),
    );
  program
    .command('renew <token>')
    .description('extend a lease that is still held')
    .option('--ttl <duration>', 'new time to live from now', '10m')
    .action(
      run(async (ctx, token: string, opts: { ttl: string }) =>
        (await import('../commands/fleet.js')).renewCli(ctx, token, opts),
      ),
    );
  program
    .command('report-error <token> <error>')
    .description('apply Telegram’s error (e.g. FLOOD_WAIT_42) to the leased account and end the lease')
    .action(
      run(async (ctx, token: string, error: string) =>
        (await import('../commands/fleet.js')).reportErrorCli(ctx, token, error),
      ),
    );
  program
    .command('reset-limits')
    .description('the daily reset (exactly once per account per day) and action-log pruning')
    .option('--retention-days <days>', 'keep this many days of action log', '30')
    .action(
      run(async (ctx, opts: { retentionDays: string }) =>
        (await import('../commands/fleet.js')).resetLimitsCli(ctx, opts),
      ),
    );
  program
    .command('recover')
    .description('return timed states that are over to active, free expired leases, list accounts that need a person')
    .option(
      '--probe',
      'also ask Telegram (getMe, @SpamBot, channel count) about accounts blocked, frozen, disabled, parked by CHANNELS_TOO_MUCH or with errors, and set their state (never shortening a running flood wait)',
    )
    .option('--account <name>', 'with --probe: only this account, whatever its state')
    .option(
      '--all',
      'with --probe: the whole fleet, paced — each account once a day at its own slot of the day (cron every 10 min)',
    )
    .option('--batch <n>', 'with --probe --all: accounts probed in this run at most (default: 50)')
    .action(
      run(async (ctx, opts: { probe?: boolean; account?: string; all?: boolean; batch?: string }) =>
        (await import('../commands/fleet.js')).recoverCli(ctx, opts),
      ),
    );

  program
    .command('check')
    .description('run each tenant’s due Instagram checks (tenants in parallel, isolated); resume follower fetches')
    .option('--tenant <name>', 'only this tenant')
    .option('--batch <n>', 'due watches per tenant in this run', '100')
    .action(
      run(async (ctx, opts: { tenant?: string; batch: string }) =>
        (await import('../commands/check.js')).checkCli(ctx, opts),
      ),
    );
  const watch = program.command('watch').description('Instagram usernames to check, per tenant');
  watch
    .command('import <file>')
    .description('import JSON [{tenant, username, kind: exists|followers|following}]')
    .option(CREATE_TENANT, CREATE_TENANT_HELP)
    .option(DRY_RUN, DRY_RUN_HELP)
    .action(
      run(async (ctx, file: string, opts: { createTenant?: boolean; dryRun?: boolean }) =>
        (await import('../commands/check.js')).watchImportCli(ctx, file, opts),
      ),
    );
  watch
    .command('followers <user>')
    .description('the latest completed followers/following snapshot, or its diff from the previous one')
    .requiredOption('--tenant <name>', 'the tenant that watches USER')
    .addOption(new Option('--kind <kind>', 'which list').choices(['followers', 'following']).default('followers'))
    .option('--new', 'only those gained since the previous snapshot')
    .option('--lost', 'only those lost since the previous snapshot')
    .option('--csv', 'print CSV (username,id,full_name,is_private)')
    .option('--limit <n>', 'at most N users; says how many more there are (default: every one)')
    .action(
      run(
        async (
          ctx,
          user: string,
          opts: { tenant: string; kind?: string; new?: boolean; lost?: boolean; csv?: boolean; limit?: string },
        ) => (await import('../commands/followers.js')).followersCli(ctx, user, opts),
      ),
    );
  listOptions(
    watch
      .command('list')
      .description('watches with their last result')
      .option('--tenant <name>', 'only this tenant’s watches')
      .option('--status <result>', 'only watches whose last result is this (found, not_found, error, unchecked)'),
  ).action(
    run(async (ctx, opts: ListCliFlags & { tenant?: string; status?: string }) =>
      (await import('../commands/check.js')).watchListCli(ctx, opts),
    ),
  );
  const apikeys = program.command('apikeys').description('API keys of the `api` verify method');
  apikeys
    .command('import <file>')
    .description('import JSON [{tenant, provider, key}] (keys stored encrypted)')
    .option(CREATE_TENANT, CREATE_TENANT_HELP)
    .option(DRY_RUN, DRY_RUN_HELP)
    .action(
      run(async (ctx, file: string, opts: { createTenant?: boolean; dryRun?: boolean }) =>
        (await import('../commands/check.js')).apikeysImportCli(ctx, file, opts),
      ),
    );

  const ig = program.command('ig').description('Instagram login accounts (for check and refresh-session)');
  ig.command('import <file>')
    .description(
      'import JSON [{tenant, username, password, totp_secret?, sessionid?, proxy?, priority?}], all rows or none',
    )
    .option(CREATE_TENANT, CREATE_TENANT_HELP)
    .option(DRY_RUN, DRY_RUN_HELP)
    .action(
      run(async (ctx, file: string, opts: { createTenant?: boolean; dryRun?: boolean }) =>
        (await import('../commands/ig.js')).igImportCli(ctx, file, opts),
      ),
    );
  listOptions(
    ig
      .command('list')
      .description('Instagram accounts: state, session age, last verified, next refresh, failures')
      .option('--state <state>', 'only sessions in this state (valid, expired, refreshing, needs_manual, failed)')
      .option('--tenant <name>', 'only this tenant’s sessions'),
  ).action(
    run(async (ctx, opts: ListCliFlags & { state?: string; tenant?: string }) =>
      (await import('../commands/ig.js')).igListCli(ctx, opts),
    ),
  );
  program
    .command('bot')
    .description('admin commands over the notify bot (Telegram)')
    .command('poll')
    .description(
      'answer /status, /problems, /session USER, /refresh USER from the chats in ACCTCTL_BOT_ADMIN_CHAT_IDS (cron, every minute)',
    )
    .action(run(async (ctx) => (await import('../commands/bot.js')).botPollCli(ctx)));
  program
    .command('refresh-session')
    .description('log Instagram accounts in again with headless Chromium (+TOTP) before their sessions die')
    .option('--account <username>', 'only this account (due or not)')
    .option('--all', 'every account, due or not')
    .action(
      run(async (ctx, opts: { account?: string; all?: boolean }) =>
        (await import('../commands/ig.js')).refreshCli(ctx, opts),
      ),
    );

  program
    .command('events')
    .description('what acctctl learned, newest first: state changes, check results, refreshes, alerts')
    .option('--since <when>', 'only since a duration ago (30m, 12h, 1d, 2w) or an ISO time')
    .option('--kind <kind>', 'only this kind (repeatable, or comma-separated)', collect, [])
    .option('--tenant <name>', 'only this tenant’s events')
    .option('--account <name>', 'only events about this Telegram account or Instagram username')
    .option('--limit <n>', 'at most N rows; says how many more there are (default: 100)')
    .option('--all', 'every row (streamed)')
    .option('--csv', 'CSV instead of a table')
    .action(
      run(async (ctx, opts: ListCliFlags & { since?: string; kind?: string[]; tenant?: string; account?: string }) =>
        (await import('../commands/events.js')).eventsCli(ctx, opts),
      ),
    );
  program
    .command('notify [secret]')
    .description(
      'deliver pending alerts (events ≥ warning) to the webhook, Telegram and tenants’ notify targets; also done after every batch. `notify secret` prints a new whsec_ webhook secret',
    )
    .action(
      run(async (ctx, what: string | undefined) => {
        const m = await import('../commands/notify.js');
        return what === undefined ? m.notifyCli(ctx) : m.notifySecretCli(ctx, what);
      }),
    );

  program
    .command('status')
    .description(
      'fleet summary: accounts by state and tenant, leases, today’s use vs limits, problems, targets, Instagram sessions, check jobs',
    )
    .option('--accounts', 'also list accounts (and Instagram sessions) one per row')
    .option('--state <state>', 'with --accounts: only accounts in this state now (one whose wait has passed is active)')
    .option('--tenant <name>', 'with --accounts: only this tenant’s accounts and sessions')
    .option('--limit <n>', `with --accounts: at most N rows (default: ${DEFAULT_LIST_LIMIT})`)
    .option('--metrics-file <file>', 'write Prometheus metrics here (atomically) for node_exporter; prints one line')
    .option(
      '--metrics-per-account',
      'with --metrics-file: also one series per account and action, and per Instagram session (large)',
    )
    .option('--fail-under <pct>', 'exit 69 when the share of healthy accounts is below PCT')
    .action(
      run(async (ctx, opts: Record<string, string | boolean | undefined>) =>
        (await import('../commands/status.js')).statusCli(ctx, opts),
      ),
    );
  addLifecycleCommands(program, run);
  addRouteCommands(program, run);
  addCompletionCommand(program, out.stdout);
  return program;
}

const CREATE_TENANT = '--create-tenant';
const CREATE_TENANT_HELP = 'create tenants the file (or --tenant) names that do not exist yet (default: refuse them)';
const DRY_RUN = '--dry-run';
const DRY_RUN_HELP = 'validate only: every check of the import is made, then rolled back (the database is unchanged)';
const REMOVE_DRY_RUN_HELP =
  'preview: what would be removed and what uses it (with --force: what it would end); nothing is changed';
const FORCE_HELP = 'remove it even though it is in use (what uses it is said without --force)';

/** list/remove for everything that can be imported (issue 15), added to the existing command groups. */
function addLifecycleCommands(program: Command, run: (fn: Action) => (...args: unknown[]) => Promise<void>): void {
  const group = (name: string): Command => {
    const g = program.commands.find((c) => c.name() === name);
    if (!g) throw new Error(`no command group ${name}`);
    return g;
  };
  group('keys')
    .command('remove <keyId>')
    .description('remove an old key from the key file once no stored secret needs it (see doctor); never the primary')
    .action(run(async (ctx, keyId: string) => (await import('../commands/keysRemove.js')).removeKeyCli(ctx, keyId)));
  group('tenants')
    .command('remove <name>')
    .description('remove a tenant; refused while it owns anything unless --force')
    .option('--force', 'also remove its proxies, Instagram accounts, API keys and watches (Telegram accounts are kept)')
    .option(DRY_RUN, REMOVE_DRY_RUN_HELP)
    .action(
      run(async (ctx, name: string, opts: { force?: boolean; dryRun?: boolean }) =>
        (await import('../commands/tenants.js')).removeTenantCli(ctx, name, opts),
      ),
    );
  group('proxies')
    .command('remove <id...>')
    .description('remove proxies by id (see proxies list); refused while accounts use them unless --force')
    .option('--force', 'remove anyway: Telegram accounts that used them are disabled (never left to go direct)')
    .option(DRY_RUN, REMOVE_DRY_RUN_HELP)
    .action(
      run(async (ctx, ids: string[], opts: { force?: boolean; dryRun?: boolean }) =>
        (await import('../commands/proxies.js')).removeProxiesCli(ctx, ids, opts),
      ),
    );
  group('targets')
    .command('remove <link...>')
    .description('remove join targets; refused while a join is trying one or it is bound to an account, unless --force')
    .option('--force', FORCE_HELP)
    .option(DRY_RUN, REMOVE_DRY_RUN_HELP)
    .action(
      run(async (ctx, links: string[], opts: { force?: boolean; dryRun?: boolean }) =>
        (await import('../commands/targets.js')).removeTargetsCli(ctx, links, opts),
      ),
    );
  group('ig')
    .command('remove <username>')
    .description('remove an Instagram login account and its stored secrets; refused while a login or fetch uses it')
    .option('--tenant <name>', 'the tenant, when the username is in several')
    .option('--force', FORCE_HELP)
    .option(DRY_RUN, REMOVE_DRY_RUN_HELP)
    .action(
      run(async (ctx, username: string, opts: { tenant?: string; force?: boolean; dryRun?: boolean }) =>
        (await import('../commands/ig.js')).igRemoveCli(ctx, username, opts),
      ),
    );
  group('watch')
    .command('remove <username>')
    .description('stop watching a username (every kind, or --kind); its fetches and follower snapshots go with it')
    .option('--tenant <name>', 'the tenant, when several watch it')
    .option('--kind <kind>', 'only this kind: exists, followers or following')
    .option('--force', FORCE_HELP)
    .option(DRY_RUN, REMOVE_DRY_RUN_HELP)
    .action(
      run(async (ctx, username: string, opts: { tenant?: string; kind?: string; force?: boolean; dryRun?: boolean }) =>
        (await import('../commands/check.js')).watchRemoveCli(ctx, username, opts),
      ),
    );
  const apikeys = group('apikeys');
  listOptions(
    apikeys
      .command('list')
      .description('API keys: tenant, provider, health, quota reset (never the key)')
      .option('--tenant <name>', 'only this tenant’s keys'),
  ).action(
    run(async (ctx, opts: ListCliFlags & { tenant?: string }) =>
      (await import('../commands/check.js')).apikeysListCli(ctx, opts),
    ),
  );
  apikeys
    .command('remove <id...>')
    .description('remove API keys by id (see apikeys list); refused for a tenant’s last key in api mode unless --force')
    .option('--force', FORCE_HELP)
    .option(DRY_RUN, REMOVE_DRY_RUN_HELP)
    .action(
      run(async (ctx, ids: string[], opts: { force?: boolean; dryRun?: boolean }) =>
        (await import('../commands/check.js')).apikeysRemoveCli(ctx, ids, opts),
      ),
    );
}

/** `accounts proxy` and `ig proxy`: a person gives an account its one route (issue 20 §2, issue 21 item 6). */
function addRouteCommands(program: Command, run: (fn: Action) => (...args: unknown[]) => Promise<void>): void {
  const group = (name: string): Command => program.commands.find((c) => c.name() === name)!;
  group('accounts')
    .command('proxy <name> [proxyId]')
    .description(
      'give a Telegram account its proxy (id from proxies list), or --direct; the way back after its proxy was removed',
    )
    .option('--direct', 'send without a proxy, from this host (recorded as an event)')
    .action(
      run(async (ctx, name: string, proxyId: string | undefined, opts: { direct?: boolean }) =>
        (await import('../commands/proxies.js')).accountProxyCli(ctx, name, proxyId, opts),
      ),
    );
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    group('ig')
      .command(`${verb} <username>`)
      .description(
        disabled
          ? 'take Instagram credentials out of use: check and refresh-session leave them alone (state kept)'
          : 'put disabled Instagram credentials back in use',
      )
      .requiredOption('--tenant <name>', 'the tenant the account belongs to')
      .action(
        run(async (ctx, username: string, opts: { tenant: string }) =>
          (await import('../commands/ig.js')).igUseCli(ctx, disabled, username, opts),
        ),
      );
  }
  group('ig')
    .command('proxy <username> [proxyId]')
    .description(
      'move an Instagram account to a proxy (id from proxies list) for good, or --direct; recorded as an event',
    )
    .requiredOption('--tenant <name>', 'the tenant the account belongs to')
    .option('--direct', 'send without a proxy, from this host')
    .action(
      run(async (ctx, username: string, proxyId: string | undefined, opts: { tenant: string; direct?: boolean }) =>
        (await import('../commands/proxies.js')).igProxyCli(ctx, username, proxyId, opts),
      ),
    );
}

/** Run acctctl with `argv` (process.argv form). Returns the exit code; the caller exits. */
export async function main(argv: string[], cliIO: CliIO = {}): Promise<number> {
  const io = processIO(cliIO);
  let exitCode: number = ExitCode.OK;
  let jsonOut = argv.includes('--json');
  let debug = false;
  const run =
    (fn: Action) =>
    async (...args: unknown[]): Promise<void> => {
      const cmd = args[args.length - 1] as Command;
      const flags = cmd.optsWithGlobals<GlobalFlags>();
      // Loaded here, not at the top: `--version` and `--help` need none of it.
      const [{ loadConfig }, { createLogger }, { systemClock }] = await Promise.all([
        import('../config/config.js'),
        import('../log/logger.js'),
        import('../domain/clock.js'),
      ]);
      const config = loadConfig(flags, io.env, io.cwd);
      jsonOut = config.json;
      debug = config.logLevel === 'debug';
      const log = createLogger({ level: config.logLevel, file: config.logFile, stderr: io.stderr });
      const ctx: Ctx = {
        config,
        log,
        clock: systemClock,
        terminal: io.terminal,
        setExitCode: (code) => {
          exitCode = code;
        },
        emit: (data, human) => {
          io.stdout(redact(config.json ? jsonText(data) : human(data) + '\n'));
        },
        out: (text) => {
          io.stdout(redact(text));
        },
        note: (text) => {
          io.stderr(redact(`acctctl: ${text}\n`));
        },
        drain: () =>
          process.stdout.writableNeedDrain
            ? new Promise<void>((r) => {
                const done = () => {
                  for (const e of STDOUT_DONE) process.stdout.off(e, done);
                  r();
                };
                for (const e of STDOUT_DONE) process.stdout.on(e, done);
              })
            : Promise.resolve(),
      };
      log.debug('command start', { command: cmd.name(), db: config.db.kind });
      try {
        // Every table the command renders fits ctx.terminal (output.ts reads it from this scope).
        await withTerminal(ctx.terminal, () =>
          (fn as (ctx: Ctx, ...a: unknown[]) => Promise<void>)(ctx, ...args.slice(0, -1)),
        );
        // Every batch ends by delivering pending alerts (never changing the batch's outcome).
        if (BATCH_COMMANDS.has(cmd.name()) && !(cmd.opts() as { dryRun?: boolean }).dryRun) {
          await (await import('../commands/notify.js')).notifyAfterBatch(ctx);
        }
      } finally {
        log.debug('command end', { command: cmd.name() });
        log.close();
      }
    };
  const program = buildProgram(run, cliIO);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return ExitCode.OK;
      // With --json a usage error is an error document on stdout too (stderr already has the text).
      if (jsonOut) writeErrorDocument(io, err.message.replace(/^error: /, ''), ExitCode.USAGE, []);
      return ExitCode.USAGE;
    }
    // A locked or corrupt store is not a bug: say so with its exit code (75, 65).
    const { storeErrorOf } = await import('../store/dialects.js');
    const typed = storeErrorOf(err) ?? err;
    printError(typed, jsonOut, debug, io);
    exitCode = exitCodeOf(typed);
  }
  return exitCode;
}

/** A fresh redaction list for the next in-process run (see CliIO); the binary never needs it. */
export { forgetSecrets } from '../security/redact.js';

/** Arm a watchdog that ends the process if a stray handle keeps it alive after the work is done. */
export function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}
