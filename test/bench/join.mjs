// npm run bench:join — 50 accounts, 2,000 targets, 7 simulated days of cron ticks on the sandbox
// Telegram, in simulated time. Reports joins achieved as a share of what the limits allow while
// work remained, limit violations found in the action log, flood waits caused, and the same
// week under the Python SmartJoiner's policy (one account at a time, first available, sleeping inside the run,
// 5 targets every 2 hours) as the baseline.
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

const ACCOUNTS = 50;
const TARGETS = Number(process.env.BENCH_TARGETS ?? 2000);
const DAYS = 7;
const TICK = 10 * 60_000;
const DAY = 86_400_000;
const START = Date.parse('2026-11-02T00:00:00Z');
const dir = mkdtempSync(pjoin(tmpdir(), 'acctctl-benchjoin-'));

const groups = Array.from({ length: TARGETS }, (_, i) =>
  i % 40 === 7 ? `@missing_g${i}` : i % 50 === 9 ? `@approval_g${i}` : `@bench_g${i}`,
);

async function ours() {
  const keyFile = pjoin(dir, 'k.key');
  generateKeyFile(keyFile);
  const box = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));
  const store = await openStore(pjoin(dir, 'ours.db'));
  const clock = new FakeClock(START);
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
    session_name: `bench_${i}`,
    api_id: 1,
    api_hash: randomBytes(16).toString('hex'),
    string_session: encodeStringSession({
      dcId: 2,
      serverAddress: '149.154.167.51',
      port: 443,
      authKey: randomBytes(256),
    }),
  }));
  await importAccounts({ store, box, clock }, parseAccountsFile('b', JSON.stringify(accounts)));
  await importTargets({ store, clock }, parseTargetsFile('t', groups.join('\n')), 'bench');
  const sandbox = new SandboxTelegram({ clock, statePath: pjoin(dir, 'ours-sandbox.db') });
  const fleet = new AccountManager({ store, clock });
  const perDay = [];
  let lastDay = -1;
  const t0 = performance.now();
  for (let t = START; t < START + DAYS * DAY; t += TICK) {
    clock.set(t);
    const day = Math.floor((t - START) / DAY);
    if (day !== lastDay) {
      await fleet.resetLimits();
      lastDay = day;
      const left = Number(
        (
          await store.db
            .selectFrom('targets')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('status', '=', 'new')
            .executeTakeFirst()
        ).n,
      );
      perDay.push({ day, joins: 0, startQueue: left });
    }
    await fleet.recover();
    const s = await join(
      { store, clock, gateway: sandbox, box, log: silentLogger, sleep: async (ms) => clock.advance(ms) },
      { niche: 'bench', batch: 50, dryRun: false, maxWaitMs: 0, timeZone: 'UTC' },
    );
    perDay[day].joins += s.counts.joined + s.counts.pending_approval;
  }
  const wall = (performance.now() - t0) / 1000;
  // Violations, from the action log: per day, per sliding hour, gap after success / failure.
  const log = await store.db
    .selectFrom('action_log')
    .select(['account_id', 'at', 'ok'])
    .where('action', '=', 'join')
    .orderBy('account_id')
    .orderBy('at')
    .execute();
  const L = DEFAULT_LIMITS.join;
  let violations = 0;
  const byAcc = new Map();
  for (const r of log) byAcc.set(r.account_id, [...(byAcc.get(r.account_id) ?? []), r]);
  for (const list of byAcc.values()) {
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      const ok = list.filter((x) => x.ok);
      const sameDay = ok.filter(
        (x) => Math.floor((x.at - START) / DAY) === Math.floor((r.at - START) / DAY) && x.at <= r.at,
      ).length;
      const hour = ok.filter((x) => x.at > r.at - 3_600_000 && x.at <= r.at).length;
      if (r.ok && (sameDay > L.perDay || hour > L.perHour)) violations++;
      if (i > 0) {
        const prev = list[i - 1];
        const minGap = prev.ok ? L.gapMs[0] : L.gapAfterFailureMs;
        if (r.at - prev.at < minGap) violations++;
      }
    }
  }
  const capacityPerDay = ACCOUNTS * L.perDay;
  const busyDays = perDay.filter((d) => d.startQueue >= capacityPerDay);
  const share = busyDays.reduce((a, d) => a + d.joins, 0) / (busyDays.length * capacityPerDay);
  const total = perDay.reduce((a, d) => a + d.joins, 0);
  const flood = sandbox.floodWaits;
  await sandbox.closeAll();
  await store.close();
  return { perDay, share, busyDays: busyDays.length, violations, flood, total, wall, capacityPerDay };
}

async function baseline() {
  // The Python SmartJoiner: every 2 hours, 5 targets; one account at a time (first available), sleeping
  // 5–10 min after a success and 60 s after a failure inside the run; flood ≤ 600 s → wait it out.
  const clock = new FakeClock(START);
  const sandbox = new SandboxTelegram({ clock, statePath: pjoin(dir, 'base-sandbox.db') });
  const next = new Array(ACCOUNTS).fill(0);
  let cursor = 0;
  let joins = 0;
  const rnd = (i) => 5 * 60_000 + ((i * 7919) % (5 * 60_000));
  for (let t = START; t < START + DAYS * DAY; t += 2 * 3_600_000) {
    clock.set(t);
    for (let k = 0; k < 5 && cursor < groups.length; k++) {
      const a = next.findIndex((n) => n <= clock.now());
      if (a < 0) break;
      const g = groups[cursor++];
      const client = await sandbox.client({
        accountId: a,
        sessionName: `base_${a}`,
        apiId: 1,
        apiHash: 'x',
        stringSession: 'x',
        proxy: null,
      });
      try {
        const r = await client.join(
          g.startsWith('@') ? { kind: 'username', username: g.slice(1) } : { kind: 'invite', hash: g.slice(1) },
        );
        if (r.kind !== 'already_member') joins++;
        next[a] = clock.now() + rnd(cursor);
        clock.advance(rnd(cursor));
      } catch (e) {
        if (e.errorMessage === 'FLOOD' && e.seconds <= 600) clock.advance(e.seconds * 1000);
        else if (e.errorMessage === 'FLOOD') next[a] = clock.now() + e.seconds * 1000;
        clock.advance(60_000);
      }
    }
  }
  const flood = sandbox.floodWaits;
  await sandbox.closeAll();
  return { joins, flood };
}

const a = await ours();
const b = await baseline();
console.log(
  `join bench: ${ACCOUNTS} accounts, ${TARGETS} targets, ${DAYS} simulated days, a cron tick every ${TICK / 60000} min (wall ${a.wall.toFixed(1)} s)`,
);
console.log(
  `per day (joins / queue at start): ${a.perDay.map((d) => `d${d.day + 1} ${d.joins}/${d.startQueue}`).join(', ')}`,
);
console.log(
  `joins as a share of what the limits allow on days with enough work (${a.busyDays} day(s), ${a.capacityPerDay}/day): ${(a.share * 100).toFixed(1)}%`,
);
console.log(
  `limit violations in the action log: ${a.violations}; flood waits caused: ${a.flood}; joins in the week: ${a.total}`,
);
console.log(
  `Python SmartJoiner baseline (5 targets / 2 h, one account at a time, sleeping in the run): ${b.joins} joins, ${b.flood} flood waits`,
);
console.log(`ratio acctctl / baseline: ${(a.total / b.joins).toFixed(1)}x`);
rmSync(dir, { recursive: true, force: true });
