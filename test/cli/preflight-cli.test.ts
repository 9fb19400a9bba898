import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/store.js';
import { runCli } from '../support/cli.js';
import { DIALECTS, type TestDb } from '../support/dialects.js';
import { fleetStore } from '../support/fleet.js';

interface TenantRow {
  tenant: string;
  mode: string;
  loginFallback: string;
  needs: string[];
  apiKeys: { total: number; usable: number; providers: string[] };
  validSessions: { total: number; valid: number };
  proxies: { total: number; healthy: number };
  problems: { resource: string; detail: string; fix: string }[];
}
interface DoctorJson {
  ok: boolean;
  checks: {
    name: string;
    ok: boolean;
    severity: string | null;
    detail: string;
    fix: string | null;
    exitCode: number | null;
    tenant: TenantRow | null;
  }[];
}

/**
 * Issue 26, item 5: the original auto-checker's pre-flight per tenant. doctor lists each tenant's
 * verify mode and whether its API keys, valid sessions and proxies are there, with one problem per
 * missing resource and its fix (warnings: check skips such a tenant, others go on); check logs one
 * start line per tenant (mode, resources) on stderr and the log, never stdout.
 */
describe.each(DIALECTS)('per-tenant pre-flight, CLI, on $name', ({ skip, createMigrated }) => {
  let t: TestDb;
  let store: Store;
  let env: Record<string, string>;
  beforeEach(async () => {
    if (skip) return;
    t = await createMigrated();
    ({ store, env } = await fleetStore(t, 0));
    const providers = join(t.dir, 'providers.json');
    writeFileSync(
      providers,
      JSON.stringify({
        lookupco: {
          url: 'http://127.0.0.1:9/v1/instagram/{username}',
          key_header: 'X-API-Key',
          found: { status: 200 },
          not_found: { status: [404] },
        },
      }),
    );
    env = {
      ...env,
      ACCTCTL_API_PROVIDERS: providers,
      ACCTCTL_CHROMIUM_PATH: join(t.dir, 'no-chromium'),
      ACCTCTL_INSTAGRAM_URL: 'http://127.0.0.1:9',
      ACCTCTL_LOG_FILE: join(t.dir, 'acctctl.log'),
    };
  });
  afterEach(async () => {
    if (skip) return;
    await store.close();
    await t.cleanup();
  });

  const cli = async (args: string[], code = 0) => {
    const r = await runCli(args, { env });
    expect(r.code, `${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(code);
    return r;
  };
  const file = (name: string, data: unknown) => {
    const p = join(t.dir, name);
    writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
    return p;
  };

  /** Four tenants: one with everything its mode needs, three each lacking something. */
  async function fleet(): Promise<void> {
    await cli(['tenants', 'add', 'full', '--verify-mode', 'api+proxy+instagram']);
    await cli(['tenants', 'add', 'nokeys', '--verify-mode', 'api']);
    await cli(['tenants', 'add', 'downproxy', '--verify-mode', 'proxy']);
    await cli(['tenants', 'add', 'nosession', '--verify-mode', 'instagram']);
    await cli(['tenants', 'set', 'full', '--login-fallback', 'http']);
    await cli([
      'apikeys',
      'import',
      file('keys.json', [{ tenant: 'full', provider: 'lookupco', key: 'k-full-123456' }]),
    ]);
    await cli(['proxies', 'import', file('p1.txt', 'http://127.0.0.1:9\n'), '--tenant', 'full']);
    await cli(['proxies', 'import', file('p2.txt', 'http://127.0.0.2:9\n'), '--tenant', 'downproxy']);
    await store.db.updateTable('proxies').set({ healthy: 0 }).where('host', '=', '127.0.0.2').execute();
    await cli([
      'ig',
      'import',
      file('ig.json', [
        {
          tenant: 'full',
          username: 'shop_full',
          password: 'pw-full-secret',
          sessionid: '111%3Aabcdefghijklmn%3A12%3AAYabcdefghijklmnopqrstuvwxyz',
        },
        { tenant: 'nosession', username: 'shop_none', password: 'pw-not-valid-yet' },
      ]),
    ]);
    await cli(['watch', 'import', file('w.json', [{ tenant: 'nokeys', username: 'brand', kind: 'exists' }])]);
  }

  it.skipIf(skip)(
    'doctor: each tenant’s mode and resources, one warning per missing resource with its fix; exit 0 (warnings)',
    async () => {
      await fleet();
      const r = await cli(['--json', 'doctor']);
      const report = JSON.parse(r.stdout) as DoctorJson;
      expect(report.ok).toBe(true);
      const row = (name: string) => report.checks.find((c) => c.name === name);

      expect(row('tenant full')).toMatchObject({
        ok: true,
        fix: null,
        detail:
          'mode api+proxy+instagram: API keys 1 usable of 1, valid sessions 1 of 1, proxies 1 healthy of 1; Instagram login falls back to HTTP',
        tenant: {
          mode: 'api+proxy+instagram',
          loginFallback: 'http',
          needs: ['API keys', 'valid sessions', 'proxies'],
          apiKeys: { total: 1, usable: 1, providers: ['lookupco'] },
          validSessions: { total: 1, valid: 1 },
          proxies: { total: 1, healthy: 1 },
          problems: [],
        },
      });
      expect(report.checks.filter((c) => c.name.startsWith('tenant full:'))).toEqual([]);

      expect(row('tenant nokeys')).toMatchObject({ ok: false, severity: 'warning', tenant: { needs: ['API keys'] } });
      expect(row('tenant nokeys: API keys')).toMatchObject({
        ok: false,
        severity: 'warning',
        exitCode: 78,
        detail: 'mode api needs an API key; tenant nokeys has none',
        fix: 'acctctl apikeys import FILE (tenant "nokeys")',
      });
      expect(row('tenant downproxy: proxies')).toMatchObject({
        detail: 'all 1 proxy of tenant downproxy are down',
        fix: expect.stringContaining('acctctl proxies check --tenant downproxy'),
      });
      expect(row('tenant nosession: valid sessions')).toMatchObject({
        detail:
          'mode instagram needs a valid Instagram session; none of the 1 Instagram account of tenant nosession has one',
        fix: expect.stringContaining('acctctl refresh-session'),
      });
      // Only what the mode needs is a problem: nokeys has no proxy and no session, and needs neither.
      expect(report.checks.filter((c) => c.name.startsWith('tenant nokeys:')).map((c) => c.name)).toEqual([
        'tenant nokeys: API keys',
      ]);

      // The table says the same, and a key becoming usable clears the problem.
      const table = await cli(['doctor']);
      expect(table.stdout).toMatch(/tenant nokeys: API keys.*acctctl apikeys import FILE/s);
      await cli([
        'apikeys',
        'import',
        file('k2.json', [{ tenant: 'nokeys', provider: 'lookupco', key: 'k-nokeys-123456' }]),
      ]);
      const after = JSON.parse((await cli(['--json', 'doctor'])).stdout) as DoctorJson;
      expect(after.checks.find((c) => c.name === 'tenant nokeys')).toMatchObject({ ok: true });
      expect(after.checks.find((c) => c.name === 'tenant nokeys: API keys')).toBeUndefined();
    },
  );

  it.skipIf(skip)(
    'check: one start line per tenant (mode, resources) on stderr and the log, none on stdout',
    async () => {
      await fleet();
      for (const json of [false, true]) {
        const r = await cli([...(json ? ['--json'] : []), 'check']);
        const starts = r.stderr.split('\n').filter((l) => l.includes('tenant check starting'));
        expect(starts).toHaveLength(4);
        expect(starts.find((l) => l.includes('tenant=nokeys'))).toMatch(
          /mode=api resources="API keys 0 usable of 0, valid sessions 0 of 0, proxies 0 healthy of 0" missing="API keys"/,
        );
        expect(starts.find((l) => l.includes('tenant=full'))).toMatch(
          /mode=api\+proxy\+instagram resources="API keys 1 usable of 1, valid sessions 1 of 1, proxies 1 healthy of 1"$/,
        );
        expect(starts.find((l) => l.includes('tenant=downproxy'))).toMatch(/missing=proxies/);
        expect(r.stdout).not.toContain('tenant check starting');
        expect(r.stdout).not.toContain('usable of');
      }
      // --tenant: that tenant's line only.
      const one = await cli(['check', '--tenant', 'full']);
      expect(one.stderr.split('\n').filter((l) => l.includes('tenant check starting'))).toHaveLength(1);
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(join(t.dir, 'acctctl.log'), 'utf8').match(/tenant check starting/g)).toHaveLength(9);
    },
  );
});
