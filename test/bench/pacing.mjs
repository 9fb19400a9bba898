// npm run bench:pacing — 7 simulated days, 30 accounts in 5 time zones sharing 10 proxies (3 each),
// cron every 10 minutes running `recover`, `reset-limits` and `join --batch 50` — the same code as
// the CLI, in process, with an injected clock and the sandbox Telegram. Measures how human the
// pattern is (README "Benchmarks"): joins outside active hours, the share of each local day's joins
// in its first 3 active hours, the variation of gaps between an account's joins, joins achieved vs
// the limits' maximum, limit violations, and the most joins through one proxy in any 10 minutes.
// BENCH_PACING=off runs the same week without pacing (limits only) for comparison.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as pjoin } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openStore, AccountManager, FakeClock, DEFAULT_LIMITS } from 'acctctl';
import { join } from '../../dist/fleet/join.js';
import { importAccounts, parseAccountsFile } from '../../dist/fleet/accounts.js';
import { importTargets, parseTargetsFile } from '../../dist/fleet/targets.js';
import { generateKeyFile } from '../../dist/security/keyFiles.js';
import { encodeStringSession } from '../../dist/domain/stringSession.js';
import { loadKeyRing } from '../../dist/security/keyring.js';
import { SecretBox } from '../../dist/security/secretBox.js';
import { SandboxTelegram } from '../../dist/sandbox/telegram.js';
import { silentLogger } from '../../dist/log/logger.js';
import { localDay } from '../../dist/domain/calendar.js';
import { activeSegments, DEFAULT_ACTIVE_HOURS, DEFAULT_PROXY_PACING, isActive } from '../../dist/domain/pacing.js';

const ZONES = ['America/New_York', 'Europe/London', 'Europe/Moscow', 'Asia/Kolkata', 'Asia/Tokyo'];
const ACCOUNTS = 30;
const PROXIES = 10;
const TARGETS = 6000;
const DAYS = 7;
const TICK = 10 * 60_000;
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const START = Date.parse('2026-11-02T00:00:00Z');
const PACING =
  process.env.BENCH_PACING === 'off' ? null : { activeHours: DEFAULT_ACTIVE_HOURS, proxy: DEFAULT_PROXY_PACING };
const hours = DEFAULT_ACTIVE_HOURS;
const dir = mkdtempSync(pjoin(tmpdir(), 'acctctl-benchpacing-'));

async function run() {
  const keyFile = pjoin(dir, 'k.key');
  generateKeyFile(keyFile);
  const box = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
  const store = await openStore(pjoin(dir, 'pacing.db'));
  const clock = new FakeClock(START);
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
    session_name: `pace_${String(i).padStart(2, '0')}`,
    api_id: 1,
    api_hash: randomBytes(16).toString('hex'),
    string_session: encodeStringSession({
      dcId: 2,
      serverAddress: '149.154.167.51',
      port: 443,
      authKey: randomBytes(256),
    }),
    timezone: ZONES[i % ZONES.length],
    // Three accounts per exit IP, of different time zones.
    proxy: `socks5://10.0.0.${Math.floor(i / 3) + 1}:1080`,
  }));
  await importAccounts({ store, box, clock }, parseAccountsFile('b', JSON.stringify(accounts)));
  const groups = Array.from({ length: TARGETS }, (_, i) => `@pace_g${i}`);
  await importTargets({ store, clock }, parseTargetsFile('t', groups.join('\n')), 'bench');
  const sandbox = new SandboxTelegram({ clock, statePath: pjoin(dir, 'sandbox.db') });
  const fleet = new AccountManager({ store, clock, pacing: PACING });
  const t0 = performance.now();
  for (let t = START; t < START + DAYS * DAY; t += TICK) {
    clock.set(t);
    await fleet.recover();
    await fleet.resetLimits();
    await join(
      { store, clock, gateway: sandbox, box, log: silentLogger, sleep: async (ms) => clock.advance(ms) },
      { niche: 'bench', batch: 50, dryRun: false, maxWaitMs: 0, timeZone: 'UTC', pacing: PACING },
    );
  }
  const wall = (performance.now() - t0) / 1000;
  const rows = await store.db
    .selectFrom('action_log as l')
    .innerJoin('telegram_accounts as a', 'a.id', 'l.account_id')
    .select(['l.account_id', 'l.at', 'l.ok', 'a.timezone', 'a.proxy_id'])
    .where('l.action', '=', 'join')
    .orderBy('l.account_id')
    .orderBy('l.at')
    .execute();
  await sandbox.closeAll();
  await store.close();
  return { rows, wall };
}

function measure(rows) {
  const L = DEFAULT_LIMITS.join;
  const ok = rows.filter((r) => r.ok === 1);
  const byAcc = new Map();
  for (const r of ok) byAcc.set(r.account_id, [...(byAcc.get(r.account_id) ?? []), r]);
  let outside = 0;
  let first3 = 0;
  let violations = 0;
  const cvs = [];
  for (const list of byAcc.values()) {
    const tz = list[0].timezone;
    const days = new Map();
    for (const r of list) {
      if (!isActive(r.at, tz, hours)) outside++;
      const d = localDay(r.at, tz);
      days.set(d, [...(days.get(d) ?? []), r.at]);
    }
    const gaps = [];
    for (const ats of days.values()) {
      const start = activeSegments(ats[0], tz, hours)[0][0];
      first3 += ats.filter((a) => a >= start && a < start + 3 * HOUR).length;
      if (ats.length > L.perDay) violations += ats.length - L.perDay;
      for (let i = 1; i < ats.length; i++) gaps.push(ats[i] - ats[i - 1]);
    }
    for (let i = 0; i < list.length; i++) {
      const inHour = list.filter((x) => x.at > list[i].at - HOUR && x.at <= list[i].at).length;
      if (inHour > L.perHour) violations++;
      if (i > 0 && list[i].at - list[i - 1].at < L.gapMs[0]) violations++;
    }
    if (gaps.length > 1) {
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
      cvs.push(sd / mean);
    }
  }
  // Per proxy: the most joins in any 10-minute window.
  const byProxy = new Map();
  for (const r of ok) byProxy.set(r.proxy_id, [...(byProxy.get(r.proxy_id) ?? []), r.at]);
  let proxyMax = 0;
  for (const ats of byProxy.values()) {
    ats.sort((a, b) => a - b);
    for (let i = 0, j = 0; i < ats.length; i++) {
      while (ats[i] - ats[j] >= 10 * MIN) j++;
      proxyMax = Math.max(proxyMax, i - j + 1);
    }
  }
  const max = ACCOUNTS * L.perDay * DAYS;
  const cv = cvs.length ? cvs.reduce((a, b) => a + b, 0) / cvs.length : 0;
  return { joins: ok.length, outside, first3Share: ok.length ? first3 / ok.length : 0, cv, max, violations, proxyMax };
}

const { rows, wall } = await run();
const m = measure(rows);
const pct = (x) => `${(100 * x).toFixed(1)}%`;
console.log(
  `bench:pacing — ${ACCOUNTS} accounts in ${ZONES.length} time zones (${ZONES.join(', ')}), ${PROXIES} proxies (3 accounts each), ` +
    `${DAYS} simulated days, cron every 10 min, pacing ${PACING ? `on (active hours 09:00-23:00 local, per proxy ≤ ${DEFAULT_PROXY_PACING.perHour}/h, ≥ ${DEFAULT_PROXY_PACING.gapMs / MIN} min apart)` : 'off (limits only)'}`,
);
console.log(`  joins outside active hours:                 ${m.outside}   (goal 0)`);
console.log(
  `  share of a local day's joins in its first 3 active hours: ${pct(m.first3Share)}   (goal ≤ 40%; even spread ~21%)`,
);
console.log(`  coefficient of variation of an account's gaps (mean over accounts): ${m.cv.toFixed(2)}   (goal ≥ 0.25)`);
console.log(
  `  joins achieved vs the limits' maximum:      ${m.joins} / ${m.max} = ${pct(m.joins / m.max)}   (goal ≥ 60%)`,
);
console.log(`  limit violations (per day by local day, per hour, gap): ${m.violations}   (goal 0)`);
console.log(`  per-proxy maximum joins in any 10 minutes:  ${m.proxyMax}`);
console.log(`  wall ${wall.toFixed(1)} s`);
rmSync(dir, { recursive: true, force: true });
