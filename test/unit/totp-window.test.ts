import { describe, expect, it } from 'vitest';
import { firstCodeTime, retryCodeTime } from '../../src/instagram/totp.js';

// 1796206950 is the start of a 30 s window.
const W = 1796206950;

describe('which TOTP window a login uses', () => {
  it('the first code is now’s, or the next window’s when now’s ends within 3 s', () => {
    expect(firstCodeTime(W + 10)).toBe(W + 10);
    expect(firstCodeTime(W + 26.9)).toBe(W + 26.9);
    expect(firstCodeTime(W + 27.2)).toBe(W + 57.2);
  });

  it('the retry takes the window after the one tried and waits for it to begin', () => {
    // Tried now's window: the next one, which begins in 20 s.
    expect(retryCodeTime(W + 10, (W + 10) * 1000)).toEqual({ t: W + 30, waitMs: 20_000 });
    // Tried the next window (now's was ending): the one after it, never the one tried again
    // (a browser run once retried with the very code Instagram had just refused).
    const first = firstCodeTime(W + 27.231);
    const retry = retryCodeTime(first, (W + 28) * 1000);
    expect(Math.floor(retry.t / 30)).toBeGreaterThan(Math.floor(first / 30));
    expect(retry).toEqual({ t: W + 60, waitMs: 32_000 });
    // Slow answer: now is already past the window after the one tried.
    expect(retryCodeTime(W + 10, (W + 45) * 1000)).toEqual({ t: W + 60, waitMs: 15_000 });
  });
});
