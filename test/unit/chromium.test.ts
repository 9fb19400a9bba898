import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium, playwrightChromium } from '../../src/instagram/chromium.js';

describe('finding a Chromium', () => {
  it('ACCTCTL_CHROMIUM_PATH first, and a clear problem when it is wrong', () => {
    expect(findChromium('/bin/sh')).toEqual({ path: '/bin/sh' });
    expect(findChromium('/nonexistent/chrome')).toMatchObject({
      problem: expect.stringContaining('not an executable') as string,
    });
  });

  it('Playwright’s own browser when one was installed (newest revision first)', () => {
    const root = mkdtempSync(join(tmpdir(), 'pw-'));
    try {
      expect(playwrightChromium(root)).toBeUndefined();
      for (const rev of ['1100', '1200']) {
        mkdirSync(join(root, `chromium-${rev}`, 'chrome-linux64'), { recursive: true });
        const bin = join(root, `chromium-${rev}`, 'chrome-linux64', 'chrome');
        writeFileSync(bin, '#!/bin/sh\n');
        chmodSync(bin, 0o755);
      }
      expect(playwrightChromium(root)).toBe(join(root, 'chromium-1200', 'chrome-linux64', 'chrome'));
      // config's PLAYWRIGHT_BROWSERS_PATH reaches the search when ACCTCTL_CHROMIUM_PATH is unset
      expect(findChromium(undefined, root)).toEqual({ path: join(root, 'chromium-1200', 'chrome-linux64', 'chrome') });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
