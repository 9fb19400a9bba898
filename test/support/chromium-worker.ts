// Launches acctctl's Chromium the way a login does and keeps it open (so a test can SIGKILL this
// process mid-"login"). Bundled by test/support/chromium.ts; run with TMPDIR set by the test.
import { launchChromium } from '../../src/instagram/browser.js';

await launchChromium({ chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH });
process.stdout.write('ready\n');
setInterval(() => {}, 1000);
