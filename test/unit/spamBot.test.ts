import { describe, expect, it } from 'vitest';
import { readSpamBot } from '../../src/domain/spamBot.js';

describe('@SpamBot answers', () => {
  it.each([
    ['Good news, no limits are currently applied to your account. You’re free as a bird!', { kind: 'fine' }],
    [
      'Unfortunately, some actions can trigger a harsh response from our anti-spam systems. Your account is now limited until 25 Dec 2026, 14:31 UTC.',
      { kind: 'restricted', until: Date.UTC(2026, 11, 25, 14, 31) },
    ],
    [
      'I’m afraid some Telegram users found your messages annoying and reported them as spam. Your account is limited.',
      { kind: 'restricted', until: null },
    ],
    ['Your account was frozen for violating the Terms of Service.', { kind: 'frozen' }],
    ['Hello! Choose a language.', { kind: 'unknown' }],
  ])('%s', (text, verdict) => {
    expect(readSpamBot(text)).toEqual(verdict);
  });
});
