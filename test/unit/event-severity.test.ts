import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_SEVERITY, isEventKind, severityOf } from '../../src/domain/events.js';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** A file that writes events: it builds a NewEvent or inserts into `events`. */
const WRITES =
  /NewEvent|subject_type|insertEvent\(|accountEvent\(|igAccountEvent\(|insertInto\('events'\)|insert into events/;
const KIND = /'([a-z]+(?:_[a-z]+)+)'/g;

/** Every event kind the code can write, found where the writers name them. */
function writtenKinds(): { kinds: Map<string, string>; templates: string[] } {
  const kinds = new Map<string, string>();
  const templates: string[] = [];
  for (const f of files(SRC)) {
    const text = readFileSync(f, 'utf8');
    if (!WRITES.test(text)) continue;
    const where = relative(SRC, f);
    const add = (chunk: string) => {
      for (const m of chunk.matchAll(KIND)) if (!kinds.has(m[1]!)) kinds.set(m[1]!, where);
    };
    // `kind: '…'` (and `kind: a ? '…' : '…'`) on one line.
    for (const m of text.matchAll(/\bkind:[^\n]*/g)) {
      if (/^kind:\s*`/.test(m[0])) templates.push(`${where}: ${m[0].trim()}`);
      else add(m[0]);
    }
    // Helpers taking the kind as an argument: accountEvent(tx, now, id, tenant, 'kind', …), event('kind', …), ev('kind', …).
    for (const m of text.matchAll(/(?<!function )\baccountEvent\(([^;]*?)\);/g))
      add(m[1]!.split(/,\s*[`'"][^`'"]*[^a-z_'][^`'"]*[`'"]/)[0]!);
    for (const m of text.matchAll(/\b(?:event|ev)\(\s*([^,]+),/g)) add(m[1]!);
    // Raw SQL: insert into events (…) select …, 'kind', …
    for (const m of text.matchAll(/insert into events \(at, kind[^)]*\)\s*select \$\{now\}, '([a-z_]+)'/g))
      add(`'${m[1]!}'`);
  }
  return { kinds, templates };
}

describe('event severities', () => {
  it('every event kind the code can write has a severity in the table', () => {
    const { kinds, templates } = writtenKinds();
    // The writers found include each family (a scan that finds nothing proves nothing).
    for (const k of [
      'account_probe',
      'account_state',
      'tenant_removed',
      'proxy_removed',
      'ig_needs_manual',
      'watch_changed',
    ])
      expect(kinds.has(k), k).toBe(true);
    expect(kinds.size).toBeGreaterThanOrEqual(15);
    const missing = [...kinds].filter(([k]) => !isEventKind(k)).map(([k, f]) => `${k} (${f})`);
    expect(missing).toEqual([]);
    // A kind made from a template must expand to kinds in the table: the only one is account_${verb}d.
    expect(templates).toEqual(['fleet/accounts.ts: kind: `account_${verb}d`,']);
    for (const verb of ['enable', 'disable', 'remove']) expect(isEventKind(`account_${verb}d`)).toBe(true);
  });

  it('operator actions are info: recorded, never paged', () => {
    for (const k of ['tenant_removed', 'proxy_removed', 'ig_account_removed', 'api_key_removed', 'ig_profile_migrated'])
      expect(severityOf(k), k).toBe('info');
    expect(Object.values(EVENT_SEVERITY).filter((s) => s === 'critical').length).toBeGreaterThan(0);
  });
});
