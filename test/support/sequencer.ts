import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each slow file took in a whole run here (2 cores, `npx vitest run --reporter=json`,
 * 2026-12-02). Only their order matters: on a fresh clone vitest has no timings of its own and
 * runs files alphabetically, so the two real-browser files (~140 s each) started last and ran on
 * alone at the end. Files not listed weigh 0 (they take a few seconds at most).
 */
const MEASURED_S: Record<string, number> = {
  'test/instagram/browser.test.ts': 150,
  'test/instagram/refresh.test.ts': 135,
  'test/cli/commands.test.ts': 24,
  'test/cli/contention.test.ts': 16,
  'test/cli/polish.test.ts': 15,
  'test/cli/newcomer.test.ts': 14,
  'test/instagram/login-fallback.test.ts': 14,
  'test/telegram/deadlines.test.ts': 11,
  'test/store/check.test.ts': 10,
  'test/cli/bad-input.test.ts': 9,
  'test/store/secrets.test.ts': 8,
  'test/store/notify-trust.test.ts': 7,
  'test/cli/alerts-cli.test.ts': 7,
  'test/cli/lifecycle.test.ts': 7,
  'test/store/rotate-concurrent.test.ts': 7,
  'test/cli/notify-cli.test.ts': 6,
  'test/store/status.test.ts': 6,
  'test/store/migrations.test.ts': 6,
  'test/cli/canary.test.ts': 6,
};

/**
 * Longest first, so that the long files overlap everything else instead of finishing the run
 * alone: by vitest's own timings of the last run when it has them (node_modules/.vite), else by
 * the table above. A file that failed last time still goes first, as vitest does.
 */
export class LongestFirst extends BaseSequencer {
  override sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const cache = this.ctx.cache;
    const weight = (f: TestSpecification): number => {
      const file = relative(this.ctx.config.root, f.moduleId).split('\\').join('/');
      const last = cache.getFileTestResults(`${f.project.name}:${file}`);
      if (last?.failed) return Number.POSITIVE_INFINITY;
      return last ? last.duration / 1000 : (MEASURED_S[file] ?? 0);
    };
    return Promise.resolve([...files].sort((a, b) => weight(b) - weight(a)));
  }
}
