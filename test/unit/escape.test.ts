import { describe, expect, it } from 'vitest';
import { table } from '../../src/commands/support/output.js';
import { escapeControl } from '../../src/domain/text.js';
import { createLogger } from '../../src/log/logger.js';

// Text from outside: a terminal title rewrite, a CSI (C1) clear-screen, a forged log line, a bidi override.
const HOSTILE = 'grp\u001b]0;owned\u0007 \u009b2J\nINFO  fake line \u202eevil';

describe('control characters from outside are shown escaped', () => {
  it('escapeControl leaves nothing a terminal would act on', () => {
    const e = escapeControl(HOSTILE);
    // eslint-disable-next-line no-control-regex
    expect(e).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(e).toBe('grp\\x1b]0;owned\\x07 \\x9b2J\\nINFO  fake line \\u202eevil');
    expect(escapeControl('plain café ✓')).toBe('plain café ✓');
  });

  it('in every table cell', () => {
    const out = table(['target', 'detail'], [[HOSTILE, 'x\ty']]);
    expect(out).toContain('grp\\x1b]0;owned\\x07');
    expect(out).toContain('x\\ty');
    expect(out).not.toContain('\u001b]0');
    expect(out).not.toContain('\u009b');
    expect(out).not.toContain('\u202e');
  });

  it('in every log line (message and fields): one line per entry', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', stderr: (l) => lines.push(l) });
    log.info(`joined ${HOSTILE}`, { title: HOSTILE, holder: 'a\u0085b' });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.split('\n')).toHaveLength(2); // the entry's own newline only
    // eslint-disable-next-line no-control-regex
    expect(lines[0]!.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(lines[0]).toContain('\\x1b]0;owned');
  });
});
