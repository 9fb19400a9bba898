import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { storeTelegramMode } from '../../src/store/storeMode.js';
import { openStore } from '../../src/store/store.js';
import { TelegramConnectError } from '../../src/telegram/gateway.js';
import { baseEnv, runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { makeAccounts, makeKey, writeJson } from '../support/fixtures.js';
import { addTargets, boxFor, runJoin, ScriptedTelegram } from '../support/joinHarness.js';

describe.each(DIALECTS)('honest runs on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 3);

  it.skipIf(skip)('a sandbox run refuses a real store that holds accounts (78) and changes nothing', async () => {
    await addTargets(f.store, ['@real_group']);
    const r = await runCli(['join', '--niche', 'n'], {
      env: { ...f.env, ACCTCTL_TELEGRAM: 'sandbox', ACCTCTL_SANDBOX_STATE: join(f.t.dir, 'sb.db') },
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('ACCTCTL_TELEGRAM=sandbox would write simulated joins into a real database');
    expect(r.stderr).toContain('give the sandbox its own database');
    expect(await f.store.db.selectFrom('targets').select('status').executeTakeFirstOrThrow()).toEqual({
      status: 'new',
    });
    const doc = await runCli(['--json', 'doctor'], { env: { ...f.env, ACCTCTL_TELEGRAM: 'sandbox' } });
    const { ok, checks } = JSON.parse(doc.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
    expect(ok).toBe(false);
    expect(checks.find((c) => c.name === 'Telegram store')).toMatchObject({ ok: false, severity: 'error' });
    expect(doc.code).toBe(78);
  });

  it.skipIf(skip)(
    'a store made by a sandbox run is marked; real runs refuse it; sandbox output and doctor say "simulated"',
    async () => {
      const t = await create();
      try {
        const keyFile = makeKey(t.dir);
        const sandboxEnv = baseEnv({
          DATABASE_URL: t.url,
          ACCTCTL_KEY_FILE: keyFile,
          ACCTCTL_TELEGRAM: 'sandbox',
          ACCTCTL_SANDBOX_STATE: join(t.dir, 'sb.db'),
        });
        const m = await runCli(['migrate'], { env: sandboxEnv });
        expect(m.code, m.stderr).toBe(0);
        const store = await openStore(t.target);
        try {
          expect(await storeTelegramMode(store.db)).toBe('sandbox');
        } finally {
          await store.close();
        }
        const acc = writeJson(t.dir, 'a.json', makeAccounts(1));
        expect((await runCli(['accounts', 'import', acc], { env: sandboxEnv })).code).toBe(0);
        const targets = join(t.dir, 't.txt');
        (await import('node:fs')).writeFileSync(targets, '@sandbox_group\n');
        expect((await runCli(['targets', 'import', targets, '--niche', 'n'], { env: sandboxEnv })).code).toBe(0);
        const j = await runCli(['join', '--niche', 'n'], { env: sandboxEnv });
        expect(j.code, j.stderr).toBe(0);
        expect(j.stdout).toContain('SIMULATED Telegram');
        expect(j.stderr).toContain('simulated Telegram (ACCTCTL_TELEGRAM=sandbox)');
        const jj = await runCli(['--json', 'join', '--niche', 'n'], { env: sandboxEnv });
        expect(JSON.parse(jj.stdout)).toMatchObject({ simulated: true });
        const doc = await runCli(['doctor'], { env: sandboxEnv });
        expect(doc.stdout).toMatch(/Telegram API\s+simulated/);
        expect(doc.stdout).toContain('a sandbox store');
        const realEnv = { ...sandboxEnv };
        delete realEnv.ACCTCTL_TELEGRAM;
        const real = await runCli(['status'], { env: realEnv });
        expect(real.code).toBe(78);
        expect(real.stderr).toContain('this database was made by the sandbox');
      } finally {
        await t.cleanup();
      }
    },
  );

  it.skipIf(skip)('accounts import refuses an http:// proxy (65, with the fix) and imports nothing', async () => {
    const rows = makeAccounts(2, { tenant: 'acme' }).map((a, i) => ({
      ...a,
      session_name: `new_${i}`,
      ...(i === 1 ? { proxy: 'http://user:pw@127.0.0.1:3128' } : {}),
    }));
    const r = await runCli(['accounts', 'import', writeJson(f.t.dir, 'a.json', rows)], { env: f.env });
    expect(r.code).toBe(65);
    expect(r.stderr).toContain(
      '[1].proxy: http:// proxies cannot carry Telegram’s protocol (MTProto) → use a socks5://, socks4:// or mtproxy:// proxy',
    );
    expect(
      await f.store.db.selectFrom('telegram_accounts').select('id').where('session_name', 'like', 'new_%').execute(),
    ).toEqual([]);
  });

  it.skipIf(skip)('report-error speaks of a target only for join leases and keeps the raw error text', async () => {
    const lease = async (action: string) => {
      const l = await runCli(['lease', '--action', action], { env: f.env });
      expect(l.code, l.stderr).toBe(0);
      return l.stdout.trim();
    };
    const msg = await runCli(['report-error', await lease('message'), 'CHAT_WRITE_FORBIDDEN: you cannot write here'], {
      env: f.env,
    });
    expect(msg.code, msg.stderr).toBe(0);
    expect(msg.stdout).not.toContain('target');
    expect(msg.stdout).toContain('UNKNOWN: CHAT_WRITE_FORBIDDEN: you cannot write here');
    const rows = await f.store.db
      .selectFrom('telegram_accounts')
      .select('last_error')
      .where('last_error', 'is not', null)
      .execute();
    expect(rows.map((r) => r.last_error)).toEqual(['UNKNOWN: CHAT_WRITE_FORBIDDEN: you cannot write here']);
    const j = await runCli(['--json', 'report-error', await lease('join'), 'PEER_FLOOD'], { env: f.env });
    expect(JSON.parse(j.stdout)).toMatchObject({ action: 'join', target: 'queued', lastError: 'PEER_FLOOD' });
    const h = await runCli(['report-error', await lease('join'), 'USERNAME_INVALID'], { env: f.env });
    expect(h.stdout).toContain('target: error');
  });
});

describe.each(DIALECTS)('ways back from the shell on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 2);

  it.skipIf(skip)(
    'recover names the command that helps; accounts reactivate NAME --reason brings the account back',
    async () => {
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ state: 'frozen', state_reason: 'FROZEN_METHOD_INVALID', error_count: 2 })
        .where('session_name', '=', 'acc_00000')
        .execute();
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ state: 'disabled', state_reason: 'SESSION_REVOKED', phone: '+15550009999' })
        .where('session_name', '=', 'acc_00001')
        .execute();
      const rec = await runCli(['recover'], { env: f.env });
      expect(rec.code, rec.stderr).toBe(0);
      expect(rec.stdout).toContain('acctctl recover --probe --account acc_00000');
      expect(rec.stdout).toContain('acctctl accounts login --phone +15550009999 --name acc_00001');
      expect(rec.stdout).not.toContain('accounts enable');
      expect((await runCli(['accounts', 'reactivate', 'acc_00000'], { env: f.env })).code).toBe(64); // --reason is required
      const r = await runCli(['accounts', 'reactivate', 'acc_00000', '--reason', 'appeal accepted'], { env: f.env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('account acc_00000: frozen → active');
      const ev = await f.store.db
        .selectFrom('events')
        .select('message')
        .where('kind', '=', 'account_reactivated')
        .executeTakeFirstOrThrow();
      expect(ev.message).toContain('appeal accepted');
      const after = JSON.parse((await runCli(['--json', 'recover'], { env: f.env })).stdout) as {
        needsPerson: { account: string }[];
      };
      expect(after.needsPerson.map((p) => p.account)).toEqual(['acc_00001']);
    },
  );
});

describe.each(DIALECTS)('the join table on $name', ({ skip, create }) => {
  const f = useFleetStore({ skip, create }, 3);

  it.skipIf(skip)(
    'shows how each account failed when none could join, and claims no more than free accounts can try',
    async () => {
      const clock = new FakeClock(Date.parse('2026-11-23T09:00:00Z'));
      await addTargets(f.store, ['@g_one', '@g_two', '@g_three']);
      const tg = new ScriptedTelegram(
        () => ({ kind: 'joined', title: null }),
        (account) =>
          new TelegramConnectError(
            `cannot reach Telegram through the account's socks5 proxy (${account} ECONNREFUSED)`,
          ),
      );
      const s = await runJoin(f.store, clock, tg, boxFor(f.env), { batch: 3 });
      expect(s.results[0]?.outcome).toBe('queued');
      const detail = s.results[0]?.detail ?? '';
      for (const a of ['acc_00000', 'acc_00001', 'acc_00002'])
        expect(detail).toContain(
          `${a}: NETWORK: cannot reach Telegram through the account's socks5 proxy (${a} ECONNREFUSED)`,
        );
      // One free account, --batch 3: only one target is claimed.
      await f.store.db
        .updateTable('telegram_accounts')
        .set({ enabled: 0 })
        .where('session_name', '!=', 'acc_00000')
        .execute();
      clock.advance(3_600_000);
      const one = await runJoin(
        f.store,
        clock,
        new ScriptedTelegram(() => ({ kind: 'joined', title: null })),
        boxFor(f.env),
        {
          batch: 3,
        },
      );
      expect(one.claimed).toBe(1);
      expect(one.results).toEqual([{ target: '@g_one', account: 'acc_00000', outcome: 'joined', detail: null }]);
    },
  );
});
