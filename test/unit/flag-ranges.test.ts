import { describe, expect, it } from 'vitest';
import { checkCli } from '../../src/commands/check.js';
import { parseUsed, resetLimitsCli } from '../../src/commands/fleet.js';
import { joinCli, type JoinFlags } from '../../src/commands/join.js';
import type { Ctx } from '../../src/commands/support/context.js';

/**
 * Issue 21 §7: every count and duration a flag takes has a range, and a value outside it is refused
 * with the range (exit 64) before anything is opened — not read as something else (`1e3`, `2.5`,
 * 2^53-1 seconds of waiting). The context is empty on purpose: a flag that passed would reach it.
 */
const noCtx = {} as Ctx;

describe('flag ranges', () => {
  it('join --batch 1–10000 and --max-wait 0–604800 s', async () => {
    const join = (batch: string, maxWait: string) => joinCli(noCtx, { niche: 'n', batch, maxWait } satisfies JoinFlags);
    await expect(join('0', '0')).rejects.toMatchObject({
      exitCode: 64,
      message: expect.stringMatching(/--batch "0" → give a whole number 1–10000/),
    });
    await expect(join('10001', '0')).rejects.toMatchObject({ exitCode: 64, message: expect.stringMatching(/1–10000/) });
    await expect(join('2.5', '0')).rejects.toMatchObject({ exitCode: 64 });
    await expect(join('5', '9007199254740991')).rejects.toMatchObject({
      exitCode: 64,
      message: expect.stringMatching(/--max-wait "9007199254740991" → give a duration from 0 to 7d/),
    });
    await expect(join('5', '1e3')).rejects.toMatchObject({ exitCode: 64 });
    await expect(join('5', '604801')).rejects.toMatchObject({ exitCode: 64 });
  });

  it('check --batch 1–10000', async () => {
    await expect(checkCli(noCtx, { batch: '1000000' })).rejects.toMatchObject({
      exitCode: 64,
      message: expect.stringMatching(/--batch "1000000" → give a whole number 1–10000/),
    });
  });

  it('reset-limits --retention-days 1–3650', async () => {
    await expect(resetLimitsCli(noCtx, { retentionDays: '9007199254740991' })).rejects.toMatchObject({
      exitCode: 64,
      message: expect.stringMatching(/--retention-days "9007199254740991" → give a whole number of days 1–3650/),
    });
  });

  it('release --used ACTION=N with N 0–10000', () => {
    expect(parseUsed(['invite=3', 'invite=2']).used).toEqual({ invite: 5 });
    expect(parseUsed(['invite=10000']).used).toEqual({ invite: 10_000 });
    expect(() => parseUsed(['invite=9007199254740993'])).toThrow(
      /--used "invite=9007199254740993" → N is a whole number 0–10000/,
    );
    expect(() => parseUsed(['invite=10001'])).toThrow(/0–10000/);
  });
});
