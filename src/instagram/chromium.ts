import { accessSync, constants } from 'node:fs';

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

/** The browser refresh-session would launch, or why there is none. Never downloads anything. */
export function findChromium(configured: string | undefined): { path: string } | { problem: string; fix: string } {
  if (configured !== undefined) {
    return executable(configured)
      ? { path: configured }
      : {
          problem: `ACCTCTL_CHROMIUM_PATH=${configured} is not an executable file`,
          fix: 'point ACCTCTL_CHROMIUM_PATH at a Chromium binary, or unset it',
        };
  }
  const found = CHROMIUM_CANDIDATES.find(executable);
  return found
    ? { path: found }
    : {
        problem: 'no Chromium found for refresh-session',
        fix: 'install one (Debian: `apt-get install -y chromium`) or set ACCTCTL_CHROMIUM_PATH',
      };
}
