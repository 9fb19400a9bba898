// npm run bench:refresh — Instagram logins in real headless Chromium against the loopback fake:
// wall time per login (a fresh profile each time, and again with the profile kept) and the peak
// memory: Node's max RSS and the whole process tree's RSS (Chromium included), sampled every 50 ms.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playwrightLogin } from '../../dist/instagram/browser.js';
import { startFakeInstagram } from '../../dist/instagram/fakeInstagram.js';
import { totpCode } from '../../dist/instagram/totp.js';

const N = Number(process.env.BENCH_LOGINS ?? 10);
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const dir = mkdtempSync(join(tmpdir(), 'acctctl-benchrefresh-'));
const ig = await startFakeInstagram({ users: { bench: { password: 'pw', totpSecret: SECRET } } });

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

const times = { fresh: [], kept: [] };
for (let i = 0; i < N; i++) {
  for (const kind of ['fresh', 'kept']) {
    const profileDir = join(dir, kind === 'fresh' ? `p${i}` : 'kept');
    const t0 = performance.now();
    const r = await playwrightLogin({
      baseUrl: ig.url,
      username: 'bench',
      password: 'pw',
      totp: (t) => totpCode(SECRET, t),
      proxy: null,
      profileDir,
      chromiumPath: process.env.ACCTCTL_CHROMIUM_PATH,
    });
    times[kind].push(performance.now() - t0);
    if (r.kind !== 'ok' || !r.verified) throw new Error(`login ${i} ${kind}: ${JSON.stringify(r)}`);
  }
}
clearInterval(sampler);
await ig.close();
rmSync(dir, { recursive: true, force: true });
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const max = (a) => Math.max(...a);
console.log(`refresh bench: ${N} logins each with 2FA (TOTP), headless Chromium, loopback fake Instagram`);
for (const k of ['fresh', 'kept'])
  console.log(
    `${k.padEnd(6)} profile: median ${(med(times[k]) / 1000).toFixed(2)} s, max ${(max(times[k]) / 1000).toFixed(2)} s per login`,
  );
console.log(
  `peak memory: node max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB; process tree incl. Chromium ${(peakTree / 1024).toFixed(0)} MiB`,
);
