import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Help, type Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';

/** Issue 25 point 16: one way to say a count, and one style of help defaults. */
const SRC = resolve(__dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

/** Nouns acctctl counts: "${n} accounts" reads "1 accounts" when n is 1. */
const NOUNS =
  'accounts|proxies|targets|tenants|keys|sessions|watches|secrets|files|days|leases|requests|channels|groups|rows|problems|errors|overrides|reasons|events|alerts|reasons';

describe('counts are said through domain/plural.ts', () => {
  it('no "${n} accounts"-style text (count(n, noun) says "1 account"), no "(s)"', () => {
    const bad: string[] = [];
    for (const f of files(SRC)) {
      if (f.endsWith('plural.ts')) continue;
      readFileSync(f, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const where = `${relative(SRC, f)}:${i + 1}`;
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
          for (const m of line.matchAll(new RegExp(`\\$\\{([^{}]+)\\} (${NOUNS})\\b`, 'g'))) {
            const expr = m[1]!;
            // A constant (CANDIDATE_PAGE) or a count already known to be more than one is fine.
            if (/^[A-Z_]+$/.test(expr) || /(===? 1|> 1|\.join\(|not a count)/.test(line)) continue;
            bad.push(`${where}: \${${expr}} ${m[2]}`);
          }
          // "target(s)" in a string (not a call like ok(s)); "http(s)" names the schemes.
          const text = line.replace(/https?\(s\)/g, '');
          if (/(['`])[^'`]*(?<![.\w$])[a-z]{3,}\(s\)(?!\s*(=>|[;,)]))[^'`]*\1/.test(text)) bad.push(`${where}: (s)`);
        });
    }
    expect(bad).toEqual([]);
  });
});

describe('help', () => {
  it('says every default one way, commander’s "(default: …)", with the env variable beside it', () => {
    const bad: string[] = [];
    const help = new Help();
    const walk = (cmd: Command, path: string): void => {
      const h = cmd.createHelp();
      for (const o of cmd.options) {
        const text = h.optionDescription(o);
        // Remove the one allowed form; any other mention of a default (or "env X") is another style.
        const rest = text
          .replace(/\((?:choices: [^)]*)\)/g, '')
          .trim()
          .replace(/\(default: [^()]*(?:\([^)]*\)[^()]*)*\)$/, '');
        if (/\bdefault\b/i.test(rest.replace(/"default"|\bdefault$/g, '')) || /\benv [A-Z]/.test(rest)) {
          bad.push(`${path} ${o.flags}: ${text}`);
        }
        if (/default: "/.test(text)) bad.push(`${path} ${o.flags}: quoted default: ${text}`);
      }
      for (const c of cmd.commands) walk(c, `${path} ${c.name()}`);
    };
    void help;
    walk(
      buildProgram(() => async () => {}),
      'acctctl',
    );
    expect(bad).toEqual([]);
  });
});
