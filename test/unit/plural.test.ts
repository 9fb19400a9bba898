import { describe, expect, it } from 'vitest';
import { cleanNumber, count, listing } from '../../src/domain/plural.js';

describe('counts and numbers as people read them', () => {
  it('puts the noun in the right number', () => {
    expect(count(1, 'account')).toBe('1 account');
    expect(count(0, 'account')).toBe('0 accounts');
    expect(count(2, 'proxy', 'proxies')).toBe('2 proxies');
    expect(listing(['a'])).toBe('a');
    expect(listing(['a', 'b', 'c'])).toBe('a, b and c');
  });
  it('prints numbers without floating-point noise', () => {
    expect(String(57.1 / 100)).toBe('0.5710000000000001');
    expect(cleanNumber(57.1 / 100)).toBe('0.571');
    expect(cleanNumber(0.1 + 0.2)).toBe('0.3');
    expect(cleanNumber(1764612345)).toBe('1764612345');
    expect(cleanNumber(1 / 3)).toBe('0.333333333333');
    expect(cleanNumber(Infinity)).toBe('+Inf');
  });
});
