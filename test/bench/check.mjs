// npm run bench:check — (1) 20 tenants × 50 watches against the loopback fake Instagram with 50 ms
// latency: wall time of one check run as a ratio to the slowest single tenant run alone (same
// run, same data). (2) A 10,000-follower fetch in simulated time, a cron tick every minute: the
// share of the configured request budget (200 per 11 min) used while the job ran, and the number
// of window violations found in the request log.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, FakeClock } from 'acctctl';
import { Checker } from '../../dist/fleet/checkRun.js';
import { importWatches } from '../../dist/fleet/checkImports.js';
import { addTenant } from '../../dist/fleet/tenants.js';
import { generateKeyFile } from '../../dist/security/keyFiles.js';
import { loadKeyRing } from '../../dist/security/keyring.js';
import { SecretBox } from '../../dist/security/secretBox.js';
import { startFakeInstagram } from '../../dist/sandbox/fakeInstagram.js';
import { silentLogger } from '../../dist/log/logger.js';

const TENANTS = 20;
const WATCHES = 50;
const dir = mkdtempSync(join(tmpdir(), 'acctctl-benchcheck-'));
const keyFile = join(dir, 'k.key');
generateKeyFile(keyFile);
const box = new SecretBox(loadKeyRing({ keyFile, secretKeyEnv: undefined }));

async function setup(name, igOpts) {
  const ig = await startFakeInstagram(igOpts);
  const store = await openStore(join(dir, `${name}.db`));
  return { ig, store };
}
async function addSession(store, ig, tenant, username, clock) {
  const tid = (await store.db.selectFrom('tenants').select('id').where('name', '=', tenant).executeTakeFirst()).id;
  const id = (
    await store.db
      .insertInto('ig_accounts')
      .values({
        tenant_id: tid,
        username,
        password_enc: null,
        totp_secret_enc: null,
        sessionid_enc: null,
        cookies_enc: null,
        proxy_id: null,
        state: 'valid',
        priority: 0,
        session_created_at: clock.now(),
        last_verified_at: null,
        next_refresh_at: null,
        last_error: null,
        created_at: 0,
        updated_at: 0,
        rate_limited_until: null,
      })
      .returning('id')
      .executeTakeFirst()
  ).id;
  await store.db
    .updateTable('ig_accounts')
    .set({
      sessionid_enc: box.seal(ig.grantSession(username), { table: 'ig_accounts', column: 'sessionid_enc', rowId: id }),
    })
    .where('id', '=', id)
    .execute();
  return id;
}

// (1) parallel tenants
{
  const users = Object.fromEntries(
    Array.from({ length: TENANTS }, (_, i) => [`s${i}`, { password: 'x', pk: String(100 + i) }]),
  );
  const profiles = Object.fromEntries(Array.from({ length: WATCHES }, (_, i) => [`u${i}`, { id: String(1000 + i) }]));
  const { ig, store } = await setup('parallel', { users, profiles, latencyMs: 50 });
  const clock = new FakeClock(Date.parse('2026-11-23T10:00:00Z'));
  for (let t = 0; t < TENANTS; t++) {
    await addTenant({ store, clock }, { name: `t${t}`, verifyMode: 'instagram' });
    await addSession(store, ig, `t${t}`, `s${t}`, clock);
    await importWatches(
      { store, clock },
      Array.from({ length: WATCHES }, (_, i) => ({
        tenant: `t${t}`,
        username: i % 5 === 0 ? `missing${i}` : `u${i}`,
        kind: 'exists',
      })),
    );
  }
  const checker = new Checker({
    store,
    box,
    clock,
    log: silentLogger,
    instagramUrl: ig.url,
    providers: new Map(),
    rate: { requests: 1000, windowMs: 660_000 },
    concurrency: 32,
  });
  const reset = () => store.db.updateTable('watches').set({ next_check_at: clock.now(), last_result: null }).execute();
  const singles = [];
  for (let t = 0; t < TENANTS; t++) {
    await reset();
    const t0 = performance.now();
    await checker.run({ tenant: `t${t}` });
    singles.push(performance.now() - t0);
  }
  await reset();
  const t0 = performance.now();
  const all = await checker.run();
  const wall = performance.now() - t0;
  const slowest = Math.max(...singles);
  const checked = all.reduce((a, r) => a + r.checked, 0);
  console.log(
    `check bench (1): ${TENANTS} tenants × ${WATCHES} watches, 50 ms latency: all tenants ${(wall / 1000).toFixed(2)} s, slowest single tenant alone ${(slowest / 1000).toFixed(2)} s → ratio ${(wall / slowest).toFixed(2)}× (${checked} checks, ${all.reduce((a, r) => a + r.errors, 0)} errors)`,
  );
  await store.close();
  await ig.close();
}

// (2) a 10,000-follower fetch in simulated time
{
  const clock = new FakeClock(Date.parse('2026-11-23T10:00:00Z'));
  const { ig, store } = await setup('fetch', {
    users: { s: { password: 'x', pk: '5' } },
    profiles: { big: { id: '99', followers: 10_000 } },
    now: () => clock.now(),
  });
  await addTenant({ store, clock }, { name: 'f', verifyMode: 'instagram' });
  const sid = await addSession(store, ig, 'f', 's', clock);
  await importWatches({ store, clock }, [{ tenant: 'f', username: 'big', kind: 'followers' }]);
  const rate = { requests: 200, windowMs: 660_000 };
  const checker = new Checker({
    store,
    box,
    clock,
    log: silentLogger,
    instagramUrl: ig.url,
    providers: new Map(),
    rate,
    concurrency: 32,
  });
  const start = clock.now();
  let job;
  for (let tick = 0; tick < 24 * 60; tick++) {
    await checker.run();
    job = await store.db.selectFrom('check_jobs').selectAll().executeTakeFirst();
    if (job?.status === 'completed') break;
    clock.advance(60_000);
  }
  const reqs = (
    await store.db
      .selectFrom('ig_requests')
      .select(['at', 'kind'])
      .where('ig_account_id', '=', sid)
      .where('kind', '=', 'friendships')
      .orderBy('at')
      .execute()
  ).map((r) => r.at);
  let violations = 0;
  for (const at of reqs) if (reqs.filter((x) => x > at - rate.windowMs && x <= at).length > rate.requests) violations++;
  const elapsed = clock.now() - start;
  // The budget of every 11-minute window that ended with work still to do (the last window
  // only needed what was left).
  const fullWindows = Math.floor(elapsed / rate.windowMs);
  const inFull = reqs.filter((at) => at < start + fullWindows * rate.windowMs).length;
  const share = inFull / (fullWindows * rate.requests);
  console.log(
    `check bench (2): 10,000 followers, ${reqs.length} page requests over ${(elapsed / 60_000).toFixed(0)} simulated minutes: ${inFull} requests in ${fullWindows} full windows = ${(share * 100).toFixed(1)}% of the request budget (${rate.requests} per 11 min), ${violations} window violations, job ${job?.status} with ${job?.fetched} followers`,
  );
  await store.close();
  await ig.close();
}
rmSync(dir, { recursive: true, force: true });
