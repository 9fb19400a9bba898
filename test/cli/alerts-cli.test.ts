import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventView } from '../../src/store/events.js';
import type { Store } from '../../src/store/store.js';
import { runCli, spawnCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { startWebhook } from '../support/fakeSinks.js';
import { useFleetStore } from '../support/fleet.js';

const NOW = Date.now();
const MIN = 60_000;
const HOOK_SECRET = 'whsec_' + Buffer.from('a-secret-value-123-of-32-bytes!!').toString('base64');

async function addEvents(store: Store, n: number, kind: string, at: number, extra: Record<string, unknown> = {}) {
  const rows = Array.from({ length: n }, (_, i) => ({
    at: at + i,
    kind,
    subject_type: 'fleet',
    subject_id: null,
    tenant_id: null,
    message: `${kind} #${i}`,
    data_json: JSON.stringify({ i }),
    ...extra,
  }));
  for (let i = 0; i < rows.length; i += 200)
    await store.db
      .insertInto('events')
      .values(rows.slice(i, i + 200))
      .execute();
}

describe.each(DIALECTS)('events and notify from the CLI on $name', (dialect) => {
  const f = useFleetStore(dialect, 2);
  let hook: Awaited<ReturnType<typeof startWebhook>>;
  beforeAll(async () => {
    // A slow receiver, so the two runs overlap for most of their work.
    hook = await startWebhook({ delayMs: 15 });
  });
  afterAll(async () => hook.close());

  it.skipIf(dialect.skip)('two concurrent notify processes deliver every event exactly once', async () => {
    hook.received.length = 0;
    await addEvents(f.store, 400, 'account_needs_person', NOW - 5 * MIN);
    const env = { ...f.env, ACCTCTL_NOTIFY_WEBHOOK: hook.url, ACCTCTL_NOTIFY_WEBHOOK_SECRET: HOOK_SECRET };
    const [a, b] = await Promise.all([
      spawnCli(['notify', '--json'], { env }),
      spawnCli(['notify', '--json'], { env }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ids = hook.received.map((r) => (JSON.parse(r.body) as EventView).id);
    expect(ids).toHaveLength(400);
    expect(new Set(ids).size).toBe(400);
    const delivered = [a, b].map((r) => (JSON.parse(r.stdout) as { delivered: number }).delivered);
    expect(delivered[0]! + delivered[1]!).toBe(400);
    // Secrets never on stdout/stderr.
    expect(a.stdout + a.stderr + b.stdout + b.stderr).not.toContain(HOOK_SECRET);
    // A third run finds nothing to do.
    const c = await runCli(['notify', '--json'], { env });
    expect((JSON.parse(c.stdout) as { delivered: number }).delivered).toBe(0);
  });

  it.skipIf(dialect.skip)('events: newest first, with --since, --kind, --tenant, --account, --limit', async () => {
    const tenants = await f.store.db.selectFrom('tenants').select(['id', 'name']).execute();
    const acme = tenants.find((t) => t.name === 'acme')!.id;
    const acc = await f.store.db
      .selectFrom('telegram_accounts')
      .select('id')
      .where('session_name', '=', 'acc_00001')
      .executeTakeFirstOrThrow();
    await addEvents(f.store, 3, 'watch_changed', NOW - 3 * 24 * 60 * MIN, { tenant_id: acme });
    await addEvents(f.store, 2, 'account_state', NOW - 30 * MIN, {
      subject_type: 'telegram_account',
      subject_id: acc.id,
    });
    await addEvents(f.store, 1, 'ig_refresh_failed', NOW - 10 * MIN);
    const ev = async (...args: string[]) => {
      const r = await runCli(['events', '--json', ...args], { env: f.env });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { items: EventView[] }).items;
    };
    const all = await ev();
    expect(all.map((e) => e.kind)).toEqual([
      'ig_refresh_failed',
      'account_state',
      'account_state',
      'watch_changed',
      'watch_changed',
      'watch_changed',
    ]);
    expect(Object.keys(all[0]!).sort()).toEqual(
      ['at', 'data', 'id', 'kind', 'message', 'severity', 'subject', 'tenant'].sort(),
    );
    expect(all[0]).toMatchObject({ severity: 'warning', subject: { type: 'fleet', name: null }, tenant: null });
    expect(all[1]).toMatchObject({
      severity: 'info',
      subject: { type: 'telegram_account', name: 'acc_00001' },
      tenant: 'acme', // from the account
      data: { i: 1 },
    });
    expect(all[1]!.at).toBe(new Date(NOW - 30 * MIN + 1).toISOString());
    expect((await ev('--since', '1d')).map((e) => e.kind)).toEqual([
      'ig_refresh_failed',
      'account_state',
      'account_state',
    ]);
    expect(await ev('--since', new Date(NOW - 20 * MIN).toISOString())).toHaveLength(1);
    expect((await ev('--kind', 'watch_changed', '--kind', 'ig_refresh_failed')).length).toBe(4);
    expect((await ev('--kind', 'watch_changed,ig_refresh_failed')).length).toBe(4);
    expect((await ev('--tenant', 'acme')).map((e) => e.kind)).toEqual([
      'account_state',
      'account_state',
      'watch_changed',
      'watch_changed',
      'watch_changed',
    ]);
    expect((await ev('--account', 'acc_00001')).map((e) => e.kind)).toEqual(['account_state', 'account_state']);
    expect(await ev('--account', 'acc_00000')).toEqual([]);
    expect((await ev('--limit', '2')).map((e) => e.message)).toEqual(['ig_refresh_failed #0', 'account_state #1']);
    const human = await runCli(['events', '--since', '1h'], { env: f.env });
    expect(human.stdout).toMatch(/ig_refresh_failed/);
    const bad = await runCli(['events', '--since', 'yesterday'], { env: f.env });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--since "yesterday" → give a duration/);
  });
});
