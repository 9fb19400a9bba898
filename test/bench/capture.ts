/**
 * How often each way of capturing the login/2FA answers holds against the fake Instagram's
 * three navigation styles (README "Instagram login"). Usage:
 *   npx esbuild test/bench/capture.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=test/bench/.capture.mjs && node test/bench/.capture.mjs [RUNS] [METHODS]
 */
import { launchChromium, playwrightLogin, type CaptureMethod } from '../../src/instagram/browser.js';
import { NAV_STYLES, startFakeInstagram } from '../../src/sandbox/fakeInstagram.js';
import { totpCode } from '../../src/instagram/totp.js';

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const runs = Number(process.argv[2] ?? 10);
const methods = (process.argv[3]?.split(',') ?? ['event', 'route', 'response-stage']) as CaptureMethod[];
const browser = await launchChromium({ chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH });
const ig = await startFakeInstagram({
  variant: 'spa',
  navDelayMs: 150,
  users: { alice: { password: 'pw-alice', pk: '111' }, bob: { password: 'pw-bob', totpSecret: SECRET, pk: '222' } },
});
for (const method of methods) {
  for (const nav of NAV_STYLES) {
    ig.setNavStyle(nav);
    for (const who of ['alice', 'bob'] as const) {
      let ok = 0;
      let byXhr = 0;
      const errors = new Map<string, number>();
      for (let i = 0; i < runs; i++) {
        const r = await playwrightLogin({
          baseUrl: ig.url,
          username: who,
          password: `pw-${who}`,
          totp: (t) => totpCode(SECRET, t),
          proxy: null,
          chromiumPath: undefined,
          browser,
          keyDelayMs: () => 0,
          capture: method,
          timeoutMs: 15_000,
        });
        if (r.kind === 'ok') ok++;
        else errors.set(`${r.kind}: ${'message' in r ? r.message.slice(0, 70) : ''}`, (errors.get(r.kind) ?? 0) + 1);
        if (r.kind === 'ok' && r.decidedBy === 'xhr') byXhr++;
      }
      console.log(
        `${method.padEnd(15)} nav=${nav.padEnd(6)} ${who === 'bob' ? '2FA  ' : 'login'}: ${ok}/${runs} logged in, ${byXhr}/${runs} decided by the captured answer` +
          (errors.size ? `  ${JSON.stringify([...errors])}` : ''),
      );
    }
  }
}
await ig.close();
await browser.close();
