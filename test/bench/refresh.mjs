// npm run bench:refresh — Instagram logins in real headless Chromium against the loopback fake,
// which behaves like the real site (SPA: XHR login and XHR 2FA with client-side navigation, the
// cookie-consent dialog, the onetap and notifications prompts): wall time per login through the
// SPA flow — from nothing ("fresh": a new device, no state) and with the account's stored state
// restored into a fresh context ("restored"; its session dead, so a full login) — with
// human-paced typing (40–160 ms a key), and the peak memory: Node's max RSS and the whole process
// tree's RSS (Chromium included), sampled every 50 ms.
import { execFileSync } from 'node:child_process';
import { playwrightLogin } from '../../dist/instagram/browser.js';
import { startFakeInstagram } from '../../dist/sandbox/fakeInstagram.js';
import { totpCode } from '../../dist/instagram/totp.js';

const N = Number(process.env.BENCH_LOGINS ?? 10);
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const ig = await startFakeInstagram({
  variant: 'spa',
  consent: true,
  users: { bench: { password: 'pw', totpSecret: SECRET } },
});

function treeRssKb() {
  const out = execFileSync('ps', ['-eo', 'pid=,ppid=,rss='], { encoding: 'utf8' });
  const rows = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const kids = new Map();
  for (const [pid, ppid] of rows) kids.set(ppid, [...(kids.get(ppid) ?? []), pid]);
  const rss = new Map(rows.map(([pid, , r]) => [pid, r]));
  let total = 0;
  const stack = [process.pid];
  while (stack.length) {
    const p = stack.pop();
    total += rss.get(p) ?? 0;
    stack.push(...(kids.get(p) ?? []));
  }
  return total;
}
let peakTree = 0;
const sampler = setInterval(() => (peakTree = Math.max(peakTree, treeRssKb())), 50);

const times = { fresh: [], restored: [] };
let state = null;
let device = null;
for (let i = 0; i < N; i++) {
  for (const kind of ['fresh', 'restored']) {
    const t0 = performance.now();
    const r = await playwrightLogin({
      baseUrl: ig.url,
      username: 'bench',
      password: 'pw',
      totp: (t) => totpCode(SECRET, t),
      proxy: null,
      ...(kind === 'restored' ? { storageState: state, device } : { deviceSeed: i }),
      chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
    });
    times[kind].push(performance.now() - t0);
    if (r.kind !== 'ok' || !r.verified || r.decidedBy !== 'xhr')
      throw new Error(`login ${i} ${kind}: ${JSON.stringify(r)}`);
    // Instagram ends the session, so the next "restored" login is a full login from the stored state.
    ig.expire(r.sessionid);
    state = r.state;
    device = r.device;
  }
}
clearInterval(sampler);
await ig.close();
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const max = (a) => Math.max(...a);
console.log(
  `refresh bench: ${N} logins each through the SPA flow (consent dialog, XHR login, TOTP by XHR, prompts), headless Chromium, loopback fake Instagram`,
);
for (const k of ['fresh', 'restored'])
  console.log(
    `${k.padEnd(8)} state: median ${(med(times[k]) / 1000).toFixed(2)} s, max ${(max(times[k]) / 1000).toFixed(2)} s per login`,
  );
console.log(
  `peak memory: node max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; process tree incl. Chromium ${(peakTree / 1024).toFixed(0)} MiB`,
);
