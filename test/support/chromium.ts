import { findChromium } from '../../src/instagram/chromium.js';

/** Real-browser tests run where a Chromium exists (CI installs Debian's) and say so when skipped. */
export const CHROMIUM = findChromium(process.env.ACCTCTL_CHROMIUM_PATH);
export const HAVE_CHROMIUM = 'path' in CHROMIUM;
if (!HAVE_CHROMIUM) {
  process.stderr.write(
    'NOTE: real-browser tests are SKIPPED: no Chromium (apt-get install -y chromium, or set ACCTCTL_CHROMIUM_PATH). CI installs it.\n',
  );
}
