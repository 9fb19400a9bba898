import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '../../src/fleet/status.js';

interface Panel {
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(
  readFileSync(new URL('../../contrib/grafana-dashboard.json', import.meta.url), 'utf8'),
) as { title: string; uid: string; panels: Panel[] };

// PromQL functions and keywords the dashboard may use; every other identifier must be a series.
const PROMQL = new Set(['sum', 'by', 'on', 'increase', 'rate', 'time', 'max', 'min', 'avg', 'without']);

describe('contrib/grafana-dashboard.json', () => {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

  it('has the panels the issue asks for', () => {
    const titles = dashboard.panels.map((p) => p.title).join(' | ');
    for (const want of [/Healthy share/, /by state/, /vs limits/, /Instagram sessions/, /Check jobs/]) {
      expect(titles).toMatch(want);
    }
    expect(exprs.length).toBeGreaterThan(10);
  });

  it('every expression names only series acctctl writes (without --metrics-per-account)', () => {
    const written = new Set<string>(METRIC_NAMES);
    for (const { panel, expr } of exprs) {
      // Drop label matchers, strings and range selectors; what is left are identifiers.
      const bare = expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '');
      const idents = (bare.match(/[a-zA-Z_][a-zA-Z0-9_]*/g) ?? []).filter((w) => !PROMQL.has(w));
      const series = idents.filter((w) => w.startsWith('acctctl_'));
      expect(series.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const s of series) expect(written.has(s), `${panel}: ${s} is not written by acctctl`).toBe(true);
      // Grouping labels: only ones acctctl's series carry.
      for (const m of expr.matchAll(/\b(?:by|on)\s*\(([^)]*)\)/g)) {
        for (const l of m[1]!.split(',').map((x) => x.trim())) {
          expect(['state', 'tenant', 'action', 'niche', 'status', 'kind'], `${panel}: label ${l}`).toContain(l);
        }
      }
      // Everything else in the expression is one of the series or a known PromQL word.
      const other = idents.filter(
        (w) => !w.startsWith('acctctl_') && !['state', 'tenant', 'action', 'niche', 'status', 'kind'].includes(w),
      );
      expect(other, `${panel}: ${expr}`).toEqual([]);
    }
  });
});
