import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from '../../src/instagram/browser.js';
import { findChromium } from '../../src/instagram/chromium.js';

/** Real-browser tests run where a Chromium exists (CI installs Debian's) and say so when skipped. */
export const CHROMIUM = findChromium(process.env.ACCTCTL_CHROMIUM_PATH);
export const HAVE_CHROMIUM = 'path' in CHROMIUM;
if (!HAVE_CHROMIUM) {
  process.stderr.write(
    'NOTE: real-browser tests are SKIPPED: no Chromium (apt-get install -y chromium, or set ACCTCTL_CHROMIUM_PATH). CI installs it.\n',
  );
}

/**
 * One Chromium for a whole test file (each login still gets a fresh context): launched in
 * beforeAll, closed in afterAll. Call inside a describe.
 */
export function sharedChromium(): () => Browser {
  let browser: Browser | null = null;
  beforeAll(async () => {
    if (HAVE_CHROMIUM) browser = await launchChromium({ chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH });
  });
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('no shared Chromium (HAVE_CHROMIUM is false)');
    return browser;
  };
}

/** A node process that launches acctctl's Chromium and keeps it open until killed. */
export async function chromiumHolder(tmp: string): Promise<ChildProcess> {
  const out = join(process.cwd(), 'node_modules', '.cache', 'acctctl-test', 'chromium-worker.mjs');
  await build({
    entryPoints: [join(process.cwd(), 'test', 'support', 'chromium-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: out,
    logLevel: 'error',
  });
  const child = spawn(process.execPath, [out], {
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`the Chromium holder exited (${code})`)));
  });
  return child;
}

/**
 * The waits after a successful login, shortened for tests: the prompts the fake shows are still
 * answered while time is left, and a login whose page never leaves /accounts/login/ (a restored
 * session) stops looking after 1.5 s instead of 6 s. Outcomes never depend on them (the session
 * cookie is set before); the "typing speed" test keeps the real defaults.
 */
export const TEST_SETTLE = { budgetMs: 1_500, latePromptMs: 50 } as const;
