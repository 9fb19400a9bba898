import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { toJsonSchema } from '@valibot/to-json-schema';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { isCamelCase, isTimestampKey, SCHEMA_VERSION } from '../../src/commands/support/json.js';
import { JSON_SCHEMAS, jsonSchemaFiles, NOT_RUN_IN_TEST } from '../../src/commands/support/schemas.js';
import { baseEnv, ROOT, runCli } from '../support/cli.js';

/**
 * Every command that prints JSON (with the global --json) is run here against the built CLI on a
 * sandbox SQLite store with data in it (the demo's), and each output is validated against its
 * published schema (schemas/*.json, from src/commands/support/schemas.ts). The commands are
 * enumerated from the commander program, so a new command without a schema fails this test.
 */

/** "accounts list", "lease", … : every runnable (leaf) command of the program. */
function leafCommands(): string[] {
  const program = buildProgram(() => async () => {});
  const out: string[] = [];
  const walk = (cmd: Command, prefix: string[]): void => {
    for (const sub of cmd.commands) {
      const path = [...prefix, sub.name()];
      if (sub.commands.length > 0) walk(sub, path);
      else out.push(path.join(' '));
    }
  };
  walk(program, []);
  return out.sort();
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type AnySchema = v.GenericSchema & {
  type: string;
  entries?: Record<string, AnySchema>;
  item?: AnySchema;
  value?: AnySchema;
  wrapped?: AnySchema;
  options?: AnySchema[];
  pipe?: AnySchema[];
};

/**
 * The conventions, checked on every key of a document: field names are camelCase and timestamps
 * are ISO strings. Keys of records (maps keyed by data: account states, key ids, actions) and the
 * inside of free-form values (an event's data, an echoed limits file) are data, not field names.
 */
function conventionProblems(schema: AnySchema | undefined, value: unknown, path: string, out: string[]): void {
  let s = schema;
  while (s && (s.type === 'nullable' || s.type === 'optional' || s.type === 'nullish' || s.pipe)) {
    s = s.pipe ? s.pipe[0] : s.wrapped;
  }
  if (s?.type === 'unknown' || value === null || typeof value !== 'object') return;
  if (s?.type === 'union' || s?.type === 'variant') {
    s = s.options!.find((o) => v.is(o, value)) ?? s.options![0];
    return conventionProblems(s, value, path, out);
  }
  if (Array.isArray(value)) {
    value.forEach((x, i) => conventionProblems(s?.item, x, `${path}[${i}]`, out));
    return;
  }
  for (const [k, x] of Object.entries(value)) {
    const isRecord = s?.type === 'record';
    if (!isRecord && !isCamelCase(k)) out.push(`${path}.${k}: key is not camelCase`);
    if (s?.type === 'object' && !(k in s.entries!)) out.push(`${path}.${k}: key is not in the published schema`);
    if (isTimestampKey(k) && x !== null && !(typeof x === 'string' && ISO_UTC.test(x))) {
      out.push(`${path}.${k}: timestamp is not an ISO 8601 UTC string: ${JSON.stringify(x)}`);
    }
    conventionProblems(isRecord ? s?.value : s?.entries?.[k], x, `${path}.${k}`, out);
  }
}

function validate(command: string, stdout: string): void {
  const schema = JSON_SCHEMAS[command];
  expect(schema, `no schema for ${command}`).toBeDefined();
  const doc = JSON.parse(stdout) as unknown;
  const r = v.safeParse(schema!, doc);
  expect(
    r.success ? [] : r.issues.map((i) => `${v.getDotPath(i) ?? '(root)'}: ${i.message}`),
    `${command}: ${stdout.slice(0, 2000)}`,
  ).toEqual([]);
  const problems: string[] = [];
  conventionProblems(schema as AnySchema, doc, '$', problems);
  expect(problems, command).toEqual([]);
  expect((doc as { schemaVersion: unknown }).schemaVersion).toBe(SCHEMA_VERSION);
}

describe('every --json output validates against its published schema', () => {
  let dir: string;
  let env: Record<string, string>;
  const ran = new Set<string>();

  /** Run `acctctl --json ARGS` and validate its stdout against the schema of COMMAND. */
  async function json<T = Record<string, unknown>>(command: string, args: string[], expectCode = 0): Promise<T> {
    const r = await runCli(['--json', ...args], { env, cwd: dir });
    expect(r.code, `${args.join(' ')}: ${r.stderr}${r.stdout}`).toBe(expectCode);
    if (process.env.ACCTCTL_JSON_DUMP) {
      writeFileSync(join(process.env.ACCTCTL_JSON_DUMP, `${args.join('_').replace(/[^\w.-]+/g, '-')}.json`), r.stdout);
    }
    validate(expectCode === 0 ? command : 'error', r.stdout);
    if (expectCode === 0) ran.add(command);
    return JSON.parse(r.stdout) as T;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'acctctl-json-'));
    // The demo's store: accounts, tenants, proxies, targets joined and pending, an Instagram
    // session, watches checked, a completed followers snapshot, events.
    env = baseEnv({ ACCTCTL_CHROMIUM_PATH: '/nonexistent/chromium' });
    const demo = await json<{ dir: string }>('demo', ['demo', '--keep']);
    env = baseEnv({
      DATABASE_URL: join(demo.dir, 'acctctl.db'),
      ACCTCTL_KEY_FILE: join(demo.dir, 'acctctl.key'),
      ACCTCTL_TELEGRAM: 'sandbox',
      ACCTCTL_CHROMIUM_PATH: '/nonexistent/chromium',
    });
    rmSync(dir, { recursive: true, force: true });
    dir = demo.dir;
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('schemas/ holds exactly the JSON Schema files generated from src/commands/support/schemas.ts', () => {
    const generated = jsonSchemaFiles((s) => toJsonSchema(s, { errorMode: 'throw' }));
    expect(readdirSync(join(ROOT, 'schemas')).sort(), 'npm run schemas').toEqual(Object.keys(generated).sort());
    for (const [file, schema] of Object.entries(generated)) {
      const committed = JSON.parse(readFileSync(join(ROOT, 'schemas', file), 'utf8')) as unknown;
      expect(committed, `schemas/${file} is out of date → npm run schemas`).toEqual(schema);
    }
  });

  it('every command has a schema, and every command is run below or says why not', () => {
    const commands = leafCommands();
    expect(commands.length).toBeGreaterThan(40);
    expect(commands.filter((c) => !(c in JSON_SCHEMAS))).toEqual([]);
    expect(Object.keys(JSON_SCHEMAS).filter((c) => c !== 'error' && !commands.includes(c))).toEqual([]);
  });

  it('read-only commands: status, doctor, listings, events, followers', async () => {
    await json('status', ['status']);
    const s = await json<{ accounts: { list: unknown[] | null } }>('status', ['status', '--accounts']);
    expect(s.accounts.list?.length).toBe(3);
    await json('doctor', ['doctor']);
    await json('migrate', ['migrate']);
    for (const list of ['accounts', 'tenants', 'proxies', 'targets', 'ig', 'watch', 'apikeys']) {
      const l = await json<{ items: unknown[]; total: number; more: number }>(`${list} list`, [list, 'list']);
      expect(l.more).toBe(l.total - l.items.length);
    }
    const t = await json<{ items: unknown[]; total: number; more: number }>('targets list', [
      'targets',
      'list',
      '--limit',
      '2',
    ]);
    expect(t).toMatchObject({ total: 8, more: 6 });
    expect(t.items).toHaveLength(2);
    await json('watch followers', ['watch', 'followers', 'acctctl_demo_brand', '--tenant', 'initech']);
    await json('watch followers', ['watch', 'followers', 'acctctl_demo_brand', '--tenant', 'initech', '--new'], 69);
    await json('notify', ['notify']);
  }, 120_000);

  it('leases: lease, renew, release, report-error; batches: recover, reset-limits, join, check, refresh-session', async () => {
    // Refused (exit 75): the joined group is bound to its account, in its warm-up.
    const refused = await runCli(
      ['--json', 'lease', '--action', 'message', '--any-tenant', '--channel', '@acctctl_demo_news'],
      {
        env,
        cwd: dir,
      },
    );
    expect(refused.code, refused.stderr).toBe(75);
    validate('lease', refused.stdout);
    expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, lease: null, reason: expect.any(String) as string });
    const l = await json<{ lease: { token: string } }>('lease', ['lease', '--action', 'message', '--any-tenant']);
    await json('renew', ['renew', l.lease.token, '--ttl', '5m']);
    await json('release', ['release', l.lease.token, '--used', 'message=1']);
    const l2 = await json<{ lease: { token: string } }>('lease', ['lease', '--action', 'message', '--any-tenant']);
    await json('report-error', ['report-error', l2.lease.token, 'FLOOD_WAIT_42']);
    await json('limits check', ['limits', 'check', '--action', 'contact', '--any-tenant']);
    const p = await json<{ lease: { token: string; account: string } }>('lease', [
      'lease',
      '--action',
      'parsing',
      '--any-tenant',
    ]);
    await json('record', ['record', p.lease.account, 'message', '--channel', '@acctctl_demo_news']);
    await json('release', ['release', p.lease.token, '--channel', '@acctctl_demo_news', '--success']);
    const e = await json<{ items: unknown[] }>('events', ['events']);
    expect(e.items.length).toBeGreaterThan(0);
    await json('recover', ['recover']);
    await json('recover', ['recover', '--probe', '--all']);
    await json('reset-limits', ['reset-limits']);
    await json('join', ['join', '--niche', 'demo', '--any-tenant', '--batch', '2']);
    await json('join', ['join', '--niche', 'demo', '--any-tenant', '--dry-run']);
    await json('check', ['check']);
    await json('refresh-session', ['refresh-session']);
  }, 120_000);

  it('imports, changes and removals', async () => {
    const files = {
      accounts: join(ROOT, 'accounts_config.example.json'),
      proxies: join(dir, 'p.txt'),
      targets: join(dir, 't.txt'),
      watches: join(dir, 'w.json'),
      apikeys: join(dir, 'k.json'),
      ig: join(dir, 'ig.json'),
      limits: join(dir, 'limits.json'),
    };
    writeFileSync(files.proxies, 'http://127.0.0.1:3129\n');
    writeFileSync(files.targets, '@json_schema_group\n@json_schema_other\n');
    writeFileSync(files.watches, JSON.stringify([{ tenant: 'newco', username: 'someone', kind: 'exists' }]));
    writeFileSync(files.apikeys, JSON.stringify([{ tenant: 'newco', provider: 'rapidapi', key: 'k-1234567890' }]));
    writeFileSync(
      files.ig,
      JSON.stringify([
        { tenant: 'newco', username: 'ig_json', password: 'pw-json', sessionid: '12345%3Aabcdefghijkl' },
      ]),
    );
    writeFileSync(files.limits, JSON.stringify({ invite: { per_day: 10 }, flood_threshold_seconds: 300 }));

    await json('tenants add', ['tenants', 'add', 'newco', '--verify-mode', 'api']);
    await json('tenants set', ['tenants', 'set', 'newco', '--notify-min-severity', 'info']);
    await json('accounts import', ['accounts', 'import', files.accounts]);
    await json('accounts export', [
      'accounts',
      'export',
      'demo_bob',
      '--format',
      'string',
      '--out',
      join(dir, 'export'),
    ]);
    await json('proxies import', ['proxies', 'import', files.proxies, '--tenant', 'newco']);
    await json('proxies check', ['proxies', 'check', '--tenant', 'newco']);
    await json('targets import', ['targets', 'import', files.targets, '--niche', 'json', '--tenant', 'acme']);
    await json('watch import', ['watch', 'import', files.watches]);
    await json('apikeys import', ['apikeys', 'import', files.apikeys]);
    await json('ig import', ['ig', 'import', files.ig]);
    await json('accounts limits', ['accounts', 'limits', 'demo_bob', files.limits]);
    await json('tenants limits', ['tenants', 'limits', 'acme', files.limits]);
    await json('tenants limits', ['tenants', 'limits', 'acme', '--clear']);
    await json('accounts disable', ['accounts', 'disable', 'demo_bob']);
    await json('accounts enable', ['accounts', 'enable', 'demo_bob']);
    await json('accounts reactivate', ['accounts', 'reactivate', 'demo_bob', '--reason', 'schema test']);
    await json('targets retry', ['targets', 'retry']);
    await json('targets remove', ['targets', 'remove', '@json_schema_other']);
    await json('accounts proxy', ['accounts', 'proxy', 'demo_bob', '--direct']);
    await json('ig proxy', ['ig', 'proxy', 'ig_json', '--tenant', 'newco', '--direct']);
    // Off without ACCTCTL_BOT_ADMIN_CHAT_IDS; answering, in test/cli/bot-cli.test.ts (same schema).
    await json('bot poll', ['bot', 'poll']);
    await json('ig disable', ['ig', 'disable', 'ig_json', '--tenant', 'newco']);
    await json('ig enable', ['ig', 'enable', 'ig_json', '--tenant', 'newco']);
    const proxies = await json<{ items: { id: number; tenant: string }[] }>('proxies list', ['proxies', 'list']);
    await json('proxies remove', ['proxies', 'remove', String(proxies.items.find((p) => p.tenant === 'newco')!.id)]);
    const keys = await json<{ items: { id: number }[] }>('apikeys list', ['apikeys', 'list']);
    await json('apikeys remove', ['apikeys', 'remove', String(keys.items[0]!.id), '--force']);
    await json('watch remove', ['watch', 'remove', 'someone', '--tenant', 'newco']);
    await json('ig remove', ['ig', 'remove', 'ig_json', '--tenant', 'newco']);
    await json('accounts remove', ['accounts', 'remove', 'demo_carol', '--force']);
    await json('tenants remove', ['tenants', 'remove', 'newco', '--force']);
    const rotated = await json<{ primaryKeyId: string; byKey: Record<string, number> }>('keys rotate', [
      'keys',
      'rotate',
    ]);
    const old = readFileSync(env.ACCTCTL_KEY_FILE!, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    expect(old.length).toBeGreaterThan(1);
    const doctor = await json<{ checks: { name: string; secretsByKey: Record<string, number> | null }[] }>('doctor', [
      'doctor',
    ]);
    const byKey = doctor.checks.find((c) => c.name === 'secrets per key')!.secretsByKey!;
    const oldKey = Object.keys(byKey).find((k) => k !== rotated.primaryKeyId && byKey[k] === 0);
    expect(oldKey, JSON.stringify(byKey)).toBeDefined();
    await json('keys remove', ['keys', 'remove', oldKey!]);
    await json('keys generate', ['keys', 'generate', '--out', join(dir, 'another.key')]);
    await json('completion', ['completion', 'bash']);
    // A failing command prints the error document on stdout (and its message on stderr).
    await json('error', ['accounts', 'enable', 'nobody'], 65);
  }, 180_000);

  it('ran every command with a schema, except the ones that say why not', () => {
    const expected = leafCommands().filter((c) => !(c in NOT_RUN_IN_TEST));
    expect(expected.filter((c) => !ran.has(c))).toEqual([]);
  });
});
