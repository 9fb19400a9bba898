import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ctx } from './support/context.js';
import { c, fmtTime } from './support/output.js';
import { DEFAULT_CHECK_CONCURRENCY, DEFAULT_IG_RATE, type Config } from '../config/config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log/logger.js';
import { SecretBox } from '../security/secretBox.js';
import { openStore } from '../store/store.js';
import { markSandboxStore } from '../store/storeMode.js';
import { importAccounts, parseAccountsFile } from '../fleet/accounts.js';
import { readInputFile } from '../config/inputFiles.js';
import { generateKeyFile } from '../security/keyFiles.js';
import { importProxies, parseProxyFile } from '../fleet/proxies.js';
import { status, type StatusReport } from '../fleet/status.js';
import { renderStatus, statusJson } from './support/statusView.js';
import { AccountManager } from '../fleet/accountManager.js';
import { SessionRefresher } from '../fleet/refresh.js';
import { findChromium } from '../instagram/chromium.js';
import type { Store } from '../store/store.js';
import { Checker } from '../fleet/checkRun.js';
import { importIg, importWatches } from '../fleet/checkImports.js';
import { join as runJoin } from '../fleet/join.js';
import { addTenant } from '../fleet/tenants.js';
import { importTargets, parseTargetsFile } from '../fleet/targets.js';
import { count } from '../domain/plural.js';

export const EXAMPLE_ACCOUNTS = fileURLToPath(new URL('../../accounts_config.example.json', import.meta.url));

const DEMO_TARGETS = `# demo targets: public groups, invite links and one of each link form
# (in the sandbox, names with "missing" do not exist and "approval" groups need an admin's approval)
@missing_demo_group
@acctctl_demo_news
@approval_demo_group
https://t.me/acctctl_demo_chat
t.me/+AbCdEfGhIjKlMnOp
https://t.me/joinchat/QrStUvWxYz012345
tg://resolve?domain=acctctl_demo_market
tg://join?invite=ZyXwVuTsRqPoNmLk
`;
const DEMO_PROXIES = `# demo proxies for tenant globex (loopback, never contacted by the demo)
socks5://demo:demo-password@127.0.0.1:1081
http://127.0.0.1:3128
`;

export interface DemoResult {
  dir: string;
  kept: boolean;
  steps: string[];
  status: StatusReport;
}

/**
 * A fresh SQLite file and key in a temp dir, the example data, then status. Needs no network;
 * never touches the operator's own database or key.
 */
export async function demo(
  deps: { clock: Clock; log: Logger; config: Config; progress?: (line: string) => void },
  opts: { keep: boolean },
): Promise<DemoResult> {
  const dir = mkdtempSync(join(tmpdir(), 'acctctl-demo-'));
  // Each step is reported as it is done (the whole demo can take a minute with a browser login).
  const steps = progressList(deps.progress);
  const begin = (what: string): void => deps.progress?.(`demo: → ${what} …`);
  try {
    begin('keys generate');
    const keyFile = join(dir, 'acctctl.key');
    const key = generateKeyFile(keyFile);
    steps.push(`generated key ${key.keyId} in ${keyFile}`);
    const box = SecretBox.fromKeys({ keyFile, secretKeyEnv: undefined });
    begin('migrate: a fresh SQLite store');
    const store = await openStore({ kind: 'sqlite', path: join(dir, 'acctctl.db') });
    try {
      await markSandboxStore(store.db);
      steps.push(`created and migrated ${store.description} (a sandbox store: Telegram is simulated)`);
      begin('accounts import accounts_config.example.json');
      const accounts = parseAccountsFile(EXAMPLE_ACCOUNTS, readInputFile(EXAMPLE_ACCOUNTS));
      const a = await importAccounts({ store, box, clock: deps.clock }, accounts);
      steps.push(
        `accounts import accounts_config.example.json: ${count(a.created.length, 'account')}, tenants ${a.tenantsCreated.join(', ')}`,
      );
      begin('tenants add acme');
      const t = await addTenant({ store, clock: deps.clock }, { name: 'acme', verifyMode: 'api+instagram' });
      steps.push(`tenants add acme --verify-mode ${t.verifyMode}`);
      begin('proxies import proxies.txt --tenant globex');
      const proxiesFile = join(dir, 'proxies.txt');
      writeFileSync(proxiesFile, DEMO_PROXIES, { mode: 0o600 });
      const p = await importProxies(
        { store, box, clock: deps.clock },
        parseProxyFile(proxiesFile, DEMO_PROXIES, 'globex'),
      );
      steps.push(`proxies import proxies.txt --tenant globex: ${count(p.created, 'proxy', 'proxies')}`);
      begin('targets import targets.txt --niche demo');
      const targetsFile = join(dir, 'targets.txt');
      writeFileSync(targetsFile, DEMO_TARGETS);
      const tg = await importTargets({ store, clock: deps.clock }, parseTargetsFile(targetsFile, DEMO_TARGETS), 'demo');
      steps.push(`targets import targets.txt --niche demo: ${count(tg.added, 'target')}`);
      begin('join --niche demo (sandbox Telegram)');
      const { SandboxTelegram } = await import('../sandbox/telegram.js');
      const sandbox = new SandboxTelegram({ clock: deps.clock, statePath: join(dir, 'sandbox.db') });
      try {
        const j = await runJoin(
          { store, clock: deps.clock, gateway: sandbox, box, log: deps.log, sleep: async () => {} },
          { niche: 'demo', batch: 10, dryRun: false, maxWaitMs: 0, timeZone: deps.config.timeZone },
        );
        steps.push(
          `join --niche demo (SIMULATED: sandbox Telegram): ${
            Object.entries(j.counts)
              .filter(([, n]) => n > 0)
              .map(([k, n]) => `${k} ${n}`)
              .join(', ') || 'nothing to do'
          }; next account free for joining ${j.nextFreeAt ? fmtTime(j.nextFreeAt) : 'never'}`,
        );
      } finally {
        await sandbox.closeAll();
      }
      await demoInstagram({
        steps,
        begin,
        store,
        box,
        clock: deps.clock,
        log: deps.log,
        dir,
        chromiumPath: deps.config.chromiumPath,
        playwrightBrowsersPath: deps.config.playwrightBrowsersPath,
      });
      begin('recover');
      const fleet = new AccountManager({ store, clock: deps.clock, timeZone: deps.config.timeZone });
      const rec = await fleet.recover();
      steps.push(
        `recover: ${rec.reactivated.length} returned to active, ${count(rec.needsPerson.length, 'account')} ${rec.needsPerson.length === 1 ? 'needs' : 'need'} a person`,
      );
      begin('reset-limits');
      const reset = await fleet.resetLimits();
      steps.push(`reset-limits: ${count(reset.accountsReset, 'account')} reset for ${reset.day}`);
      begin('status');
      const report = await status({ store, clock: deps.clock, timeZone: deps.config.timeZone });
      return { dir, kept: opts.keep, steps, status: report };
    } finally {
      await store.close();
    }
  } finally {
    if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Instagram against a loopback fake: refresh-session in headless Chromium when one is present
 * (else the session is imported as if exported from a browser), then a check batch.
 */
async function demoInstagram(deps: {
  steps: string[];
  begin: (what: string) => void;
  store: Store;
  box: SecretBox;
  clock: Clock;
  log: Logger;
  dir: string;
  chromiumPath: string | undefined;
  playwrightBrowsersPath: string | undefined;
}): Promise<void> {
  const { steps, begin } = deps;
  const chromium = findChromium(deps.chromiumPath, deps.playwrightBrowsersPath);
  const demoSecret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP'; // demo only: the fake's account
  const { startFakeInstagram } = await import('../sandbox/fakeInstagram.js');
  // The fake behaves like the real site: an SPA whose login and 2FA go by XHR, behind the
  // cookie-consent dialog, with the "Save your login info?" and notifications prompts after.
  const ig = await startFakeInstagram({
    variant: 'spa',
    consent: true,
    users: { demo_ig: { password: 'demo-password', totpSecret: demoSecret } },
    profiles: { acctctl_demo_brand: { id: '4242', followers: 60 }, acctctl_demo_shop: { id: '4343', followers: 5 } },
  });
  try {
    const haveBrowser = 'path' in chromium;
    begin(
      haveBrowser
        ? 'refresh-session --account demo_ig (headless Chromium against a loopback fake Instagram; may take a minute)'
        : 'ig import: a demo Instagram session (no Chromium found)',
    );
    await importIg({ store: deps.store, box: deps.box, clock: deps.clock }, [
      {
        tenant: 'initech',
        username: 'demo_ig',
        password: 'demo-password',
        totpSecret: demoSecret,
        sessionid: haveBrowser ? null : ig.grantSession('demo_ig'),
        proxy: null,
        priority: 0,
      },
    ]);
    if (haveBrowser) {
      const { playwrightLogin } = await import('../instagram/browser.js');
      const refresher = new SessionRefresher({
        store: deps.store,
        box: deps.box,
        clock: deps.clock,
        log: deps.log,
        login: playwrightLogin,
        instagramUrl: ig.url,
        chromiumPath: chromium.path,
      });
      const [r] = await refresher.refresh({ account: 'demo_ig' });
      steps.push(
        `refresh-session --account demo_ig (headless Chromium, SPA login past the cookie dialog: XHR login, TOTP by XHR, prompts dismissed; state stored encrypted; loopback fake Instagram): ${r?.status ?? 'not run'}`,
      );
    } else {
      steps.push(
        `refresh-session skipped: ${chromium.problem} (${chromium.fix}); the demo session was imported instead`,
      );
    }
    begin('tenants add initech; watch import');
    await addTenant({ store: deps.store, clock: deps.clock }, { name: 'initech', verifyMode: 'instagram' });
    const w = await importWatches({ store: deps.store, clock: deps.clock }, [
      { tenant: 'initech', username: 'acctctl_demo_brand', kind: 'exists' },
      { tenant: 'initech', username: 'acctctl_demo_gone', kind: 'exists' },
      { tenant: 'initech', username: 'acctctl_demo_brand', kind: 'followers' },
      { tenant: 'acme', username: 'acctctl_demo_shop', kind: 'exists' },
    ]);
    steps.push(`tenants add initech --verify-mode instagram; watch import: ${count(w.added, 'watch', 'watches')}`);
    begin('check (loopback fake Instagram)');
    const res = await new Checker({
      store: deps.store,
      box: deps.box,
      clock: deps.clock,
      log: deps.log,
      instagramUrl: ig.url,
      providers: new Map(),
      rate: DEFAULT_IG_RATE,
      concurrency: DEFAULT_CHECK_CONCURRENCY,
    }).run();
    const ini = res.find((r) => r.tenant === 'initech');
    const acme = res.find((r) => r.tenant === 'acme');
    steps.push(
      `check (loopback fake Instagram): initech ${ini ? `found ${ini.found}, not found ${ini.notFound}, errors ${ini.errors}, follower jobs completed ${ini.jobs.completed} (${ini.jobs.fetched} fetched)` : 'not run'}; acme ${acme?.skipped ? `skipped (${acme.skipped})` : 'checked'}`,
    );
  } finally {
    await ig.close();
  }
}

/** A list of steps that also reports each one as it is added. */
function progressList(progress: ((line: string) => void) | undefined): string[] {
  const steps: string[] = [];
  const push = steps.push.bind(steps);
  steps.push = (...items: string[]) => {
    for (const i of items) progress?.(`demo: ✓ ${i}`);
    return push(...items);
  };
  return steps;
}

/** The environment that points acctctl at a kept demo store (sandbox Telegram, its key). */
export function keptEnvironment(dir: string): Record<string, string> {
  return {
    DATABASE_URL: join(dir, 'acctctl.db'),
    ACCTCTL_KEY_FILE: join(dir, 'acctctl.key'),
    ACCTCTL_TELEGRAM: 'sandbox',
    ACCTCTL_SANDBOX_STATE: join(dir, 'sandbox.db'),
  };
}

/** A value as one shell word: as it is when it is plain, else single-quoted. */
function shellWord(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

export function renderDemo(r: DemoResult): string {
  const env = keptEnvironment(r.dir);
  return [
    c.bold('acctctl demo') + ` (${r.kept ? `kept in ${r.dir}` : 'temp dir removed; --keep keeps it'})`,
    ...r.steps.map((s) => `  ✓ ${s}`),
    '',
    renderStatus(r.status),
    ...(r.kept
      ? [
          '',
          'to use the kept store:',
          `  export ${Object.entries(env)
            .map(([k, v]) => `${k}=${shellWord(v)}`)
            .join(' ')}`,
        ]
      : []),
  ].join('\n');
}

export async function demoCli(ctx: Ctx, opts: { keep?: boolean }): Promise<void> {
  const r = await demo(
    { clock: ctx.clock, log: ctx.log, config: ctx.config, progress: (line) => ctx.note(line) },
    { keep: opts.keep ?? false },
  );
  ctx.emit({ ...r, status: statusJson(r.status), env: r.kept ? keptEnvironment(r.dir) : null }, () => renderDemo(r));
}
