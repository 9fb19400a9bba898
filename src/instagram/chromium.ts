import { accessSync, constants, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where acctctl looks for a Chromium when ACCTCTL_CHROMIUM_PATH is not set (Debian's first). */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A Chromium that `npx playwright install chromium` put in Playwright's cache, if any (newest
 * first): `browsersPath` (config's PLAYWRIGHT_BROWSERS_PATH), else Playwright's default cache.
 */
export function playwrightChromium(browsersPath?: string): string | undefined {
  const root = browsersPath ?? join(homedir(), '.cache', 'ms-playwright');
  let dirs: string[];
  try {
    dirs = readdirSync(root)
      .filter((d) => /^chromium-\d+$/.test(d))
      .sort((a, b) => Number(b.slice(9)) - Number(a.slice(9)));
  } catch {
    return undefined;
  }
  for (const d of dirs) {
    for (const sub of ['chrome-linux64/chrome', 'chrome-linux/chrome']) {
      const p = join(root, d, sub);
      if (executable(p)) return p;
    }
  }
  return undefined;
}

/**
 * The browser refresh-session would launch: ACCTCTL_CHROMIUM_PATH, else Playwright's own if one
 * was installed, else the system's (Debian: /usr/bin/chromium); or why there is none. Never
 * downloads anything.
 */
export function findChromium(
  configured: string | undefined,
  browsersPath?: string,
): { path: string } | { problem: string; fix: string } {
  if (configured !== undefined) {
    return executable(configured)
      ? { path: configured }
      : {
          problem: `ACCTCTL_CHROMIUM_PATH=${configured} is not an executable file`,
          fix: 'point ACCTCTL_CHROMIUM_PATH at a Chromium binary, or unset it',
        };
  }
  const found = playwrightChromium(browsersPath) ?? CHROMIUM_CANDIDATES.find(executable);
  return found
    ? { path: found }
    : {
        problem: 'no Chromium found for refresh-session',
        fix: 'install one (Debian: `apt-get install -y chromium`) or set ACCTCTL_CHROMIUM_PATH',
      };
}
