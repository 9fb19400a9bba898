import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/domain/clock.js';
import { DataError } from '../../src/errors.js';
import { importAccounts, parseAccountsFile } from '../../src/fleet/accounts.js';
import { importApiKeys } from '../../src/fleet/checkImports.js';
import { importTargets, parseTargetsFile } from '../../src/fleet/targets.js';
import { SandboxTelegram } from '../../src/sandbox/telegram.js';
import { runCli } from '../support/cli.js';
import { DIALECTS } from '../support/dialects.js';
import { useFleetStore } from '../support/fleet.js';
import { makeAccounts, writeJson } from '../support/fixtures.js';
import { boxFor, runJoin, tmpSandboxPath } from '../support/joinHarness.js';
import { snapshot } from '../support/snapshot.js';

const T0 = Date.parse('2026-11-23T09:00:00Z');

describe.each(DIALECTS)('tenants are walls on $name', (dialect) => {
  const { skip } = dialect;
  // Tenant a: acc_00000, acc_00001. Tenant b: b_00000, b_00001.
  const f = useFleetStore(dialect, 0);
  const twoTenants = async (clock = new FakeClock(T0)) => {
    const box = boxFor(f.env);
    const a = makeAccounts(2, { tenant: 'a' });
    const b = makeAccounts(2, { tenant: 'b' }).map((x) => ({ ...x, session_name: x.session_name.replace('acc', 'b') }));
    await importAccounts({ store: f.store, box, clock }, parseAccountsFile('f', JSON.stringify([...a, ...b])), {
      createTenants: true,
    });
    return box;
  };
  const tenantOf = async (account: string) =>
    (
      await f.store.db
        .selectFrom('telegram_accounts as x')
        .innerJoin('tenants as t', 't.id', 'x.tenant_id')
        .select('t.name')
        .where('x.session_name', '=', account)
        .executeTakeFirstOrThrow()
    ).name;

  it.skipIf(skip)('join --tenant joins only that tenant’s targets, and only with its accounts', async () => {
    const clock = new FakeClock(T0);
    const box = await twoTenants(clock);
    const add = (tenant: string, links: string[]) =>
      importTargets({ store: f.store, clock }, parseTargetsFile('t', links.join('\n')), 'n', tenant);
    await add('a', ['@a_group_1', '@a_group_2']);
    await add('b', ['@b_group_1']);
    const sandbox = new SandboxTelegram({ clock, statePath: tmpSandboxPath(f.t.dir) });
    const s = await runJoin(f.store, clock, sandbox, box, { tenant: 'b' });
    expect(s.results.map((r) => [r.target, r.outcome])).toEqual([['@b_group_1', 'joined']]);
    expect(await tenantOf(s.results[0]!.account!)).toBe('b');
    // What is still waiting is b's alone: a's two groups are not b's to report.
    expect(s.waiting).toBe(0);
    const left = await f.store.db.selectFrom('targets').select(['ref', 'status']).orderBy('ref').execute();
    expect(left).toEqual([
      { ref: '@a_group_1', status: 'new' },
      { ref: '@a_group_2', status: 'new' },
      { ref: '@b_group_1', status: 'joined' },
    ]);
    const sa = await runJoin(f.store, clock, sandbox, box, { tenant: 'a' });
    expect(sa.counts.joined).toBe(2);
    for (const r of sa.results) expect(await tenantOf(r.account!)).toBe('a');
    await sandbox.closeAll();
  });

  it.skipIf(skip)(
    'an API key is one tenant’s: a re-import updates it, another tenant’s import of it is refused',
    async () => {
      const clock = new FakeClock(T0);
      const box = await twoTenants(clock);
      const first = await importApiKeys({ store: f.store, box, clock }, [
        { tenant: 'a', provider: 'lookup', key: 'k-shared-123' },
        { tenant: 'a', provider: 'lookup', key: 'k-other-456' },
      ]);
      expect(first).toMatchObject({ imported: 2, updated: 0 });
      await f.store.db.updateTable('api_keys').set({ healthy: 0, last_error: 'quota (429)' }).execute();
      const again = await importApiKeys({ store: f.store, box, clock }, [
        { tenant: 'a', provider: 'lookup', key: 'k-shared-123' },
      ]);
      expect(again).toMatchObject({ imported: 0, updated: 1 });
      const rows = await f.store.db
        .selectFrom('api_keys')
        .select(['id', 'healthy', 'last_error'])
        .orderBy('id')
        .execute();
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ healthy: 1, last_error: null });

      const before = await snapshot(f.store);
      const theft = importApiKeys({ store: f.store, box, clock }, [
        { tenant: 'b', provider: 'lookup', key: 'k-new-789' },
        { tenant: 'b', provider: 'lookup', key: 'k-shared-123' },
      ]);
      await expect(theft).rejects.toBeInstanceOf(DataError);
      await expect(theft).rejects.toMatchObject({
        details: [expect.stringMatching(/^\[1\]: this key is already tenant a's \(API key \d+\)/)],
      });
      expect(await snapshot(f.store)).toBe(before);
    },
  );

  it.skipIf(skip)(
    'with two tenants, lease and targets import must say whose; --tenant and --any-tenant do',
    async () => {
      await twoTenants();
      const none = await runCli(['lease', '--action', 'message'], { env: f.env });
      expect(none.code).toBe(64);
      expect(none.stderr).toMatch(
        /more than one tenant \(a, b\): `lease` must say whose → add --tenant NAME, or --any-tenant/,
      );
      const b = await runCli(['lease', '--action', 'message', '--tenant', 'b'], { env: f.env });
      expect(b.code, b.stderr).toBe(0);
      const leased = await f.store.db
        .selectFrom('telegram_accounts')
        .select('session_name')
        .where('lease_holder', 'is not', null)
        .execute();
      expect(leased.map((x) => x.session_name)).toEqual([expect.stringMatching(/^b_/)]);
      const any = await runCli(['lease', '--action', 'message', '--any-tenant'], { env: f.env });
      expect(any.code, any.stderr).toBe(0);
      const both = await runCli(['lease', '--action', 'message', '--any-tenant', '--tenant', 'a'], { env: f.env });
      expect(both.code).toBe(64);

      const file = join(f.t.dir, 'targets.txt');
      writeFileSync(file, '@x_group\n');
      const t = await runCli(['targets', 'import', file], { env: f.env });
      expect(t.code).toBe(64);
      expect(t.stderr).toMatch(/`targets import` must say whose → add --tenant NAME$/m);
      const j = await runCli(['join', '--dry-run'], { env: f.env });
      expect(j.code).toBe(64);
      expect(j.stderr).toMatch(/`join` must say whose/);
    },
  );

  it.skipIf(skip)('apikeys import refuses a provider the providers file does not describe', async () => {
    await twoTenants();
    const providers = writeJson(f.t.dir, 'providers.json', {
      lookup: {
        url: 'https://api.example/users/{username}',
        key_header: 'X-API-Key',
        found: { status: 200 },
        not_found: { status: 404 },
      },
    });
    const keys = writeJson(f.t.dir, 'keys.json', [{ tenant: 'a', provider: 'typo', key: 'k-typo-123456' }]);
    const r = await runCli(['apikeys', 'import', keys], { env: { ...f.env, ACCTCTL_API_PROVIDERS: providers } });
    expect(r.stderr).toMatch(
      /provider typo is not configured in .*providers\.json \(it has lookup\); nothing was imported/,
    );
    expect(r.code).toBe(65);
    expect(await f.store.db.selectFrom('api_keys').select('id').execute()).toEqual([]);
  });
});
