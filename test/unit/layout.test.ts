import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layout the README's "Layout" section describes, kept true: every query lives in src/store,
 * no command imports the CLI or another command, and imports only run downwards between layers.
 */
const SRC = resolve(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const ALL = files(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }));

/** Higher layers may import lower ones; a layer never imports one above it. */
const RANK: Record<string, number> = {
  cli: 9,
  'index.ts': 9,
  commands: 8,
  'openFleet.ts': 8,
  fleet: 7,
  store: 6,
  sandbox: 6,
  telegram: 5,
  instagram: 5,
  config: 4,
  log: 3,
  domain: 3,
  security: 2,
  'errors.ts': 1,
};

function layer(path: string): string {
  return path.split('/')[0]!;
}

function imports(f: { path: string; text: string }): string[] {
  const out: string[] = [];
  for (const m of f.text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    out.push(relative(SRC, resolve(dirname(join(SRC, f.path)), m[1]!.replace(/\.js$/, '.ts'))));
  }
  return out;
}

describe('layout', () => {
  it('knows every top-level folder of src/', () => {
    expect(ALL.map((f) => layer(f.path)).filter((l) => RANK[l] === undefined)).toEqual([]);
  });

  it('has no query builder or sql template outside src/store', () => {
    const sqlish = /\bsql`|\bsql\.raw\(|\.selectFrom\(|\.updateTable\(|\.insertInto\(|\.deleteFrom\(|from 'kysely'/;
    expect(ALL.filter((f) => layer(f.path) !== 'store' && sqlish.test(f.text)).map((f) => f.path)).toEqual([]);
  });

  it('never imports up a layer', () => {
    const up = ALL.flatMap((f) =>
      imports(f)
        .filter((to) => RANK[layer(to)]! > RANK[layer(f.path)]!)
        .map((to) => `${f.path} → ${to}`),
    );
    expect(up).toEqual([]);
  });

  it('no command imports src/cli or another command (shared helpers live in commands/support)', () => {
    const bad = ALL.filter((f) => f.path.startsWith('commands/')).flatMap((f) =>
      imports(f)
        .filter((to) => to.startsWith('cli/') || (to.startsWith('commands/') && !to.startsWith('commands/support/')))
        .map((to) => `${f.path} → ${to}`),
    );
    expect(bad).toEqual([]);
  });
});

/** A noun with "(s)" in printed text ("1 target(s)"); identifiers such as `green(s)` are calls, not nouns. */
const PLURAL_S =
  /\b(account|target|day|proxy|row|session|key|file|tenant|watch|event|line|item|minute|hour|second|request|group|channel|error|problem|time|job|snapshot|record|migration|secret)\(s\)/;

describe('wording (issue 25, points 16 and 21)', () => {
  it('no "(s)" plural in what acctctl prints: domain/plural.ts count() everywhere', () => {
    const bad = ALL.flatMap((f) =>
      f.text
        .split('\n')
        .map((line, i) => ({ line, at: `${f.path}:${i + 1}` }))
        .filter(({ line }) => PLURAL_S.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(bad).toEqual([]);
  });

  it('src/ cites the README and the original system by what it is, never "seeds"', () => {
    expect(ALL.filter((f) => /\bseeds\b/i.test(f.text)).map((f) => f.path)).toEqual([]);
  });
});
