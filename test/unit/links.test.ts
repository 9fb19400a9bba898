import { describe, expect, it } from 'vitest';

import { parseTargetLink, targetKey, type TargetRef } from '../../src/domain/links.js';

const user = (username: string): TargetRef => ({ kind: 'username', username });
const invite = (hash: string): TargetRef => ({ kind: 'invite', hash });

const REASON_USERNAME = 'invalid username: 5-32 letters, digits or underscores, starting with a letter';
const REASON_HASH = 'invalid invite hash: at least 8 of A-Z, a-z, 0-9, _ or -';
const REASON_PHONE = 'phone number links are not group links';
const REASON_NOT_TELEGRAM = 'not a Telegram link';
const REASON_NO_NAME = 'link has no group name';

describe('parseTargetLink: accepted forms', () => {
  it.each<[string, TargetRef]>([
    // usernames
    ['@durov_group', user('durov_group')],
    ['durov_group', user('durov_group')],
    ['  @Durov_Group \n', user('durov_group')],
    ['t.me/SomeGroup', user('somegroup')],
    ['https://t.me/somegroup', user('somegroup')],
    ['http://t.me/somegroup', user('somegroup')],
    ['HTTPS://T.ME/SomeGroup', user('somegroup')],
    ['https://www.t.me/somegroup', user('somegroup')],
    ['www.t.me/somegroup', user('somegroup')],
    ['telegram.me/somegroup', user('somegroup')],
    ['https://telegram.me/somegroup', user('somegroup')],
    ['https://Telegram.Dog/somegroup', user('somegroup')],
    ['https://t.me/somegroup/', user('somegroup')],
    ['https://t.me/somegroup?start=abc', user('somegroup')],
    ['https://t.me/somegroup#top', user('somegroup')],
    ['https://t.me/somegroup/123', user('somegroup')],
    ['https://t.me/somegroup/123?single', user('somegroup')],
    ['https://t.me/somegroup/123/', user('somegroup')],
    ['https://t.me/somegroup/45/678', user('somegroup')],
    ['tg://resolve?domain=SomeGroup', user('somegroup')],
    ['TG://RESOLVE?domain=somegroup', user('somegroup')],
    ['tg://resolve?domain=somegroup&post=12&single', user('somegroup')],
    ['tg://resolve?post=12&domain=somegroup', user('somegroup')],
    // username length and charset boundaries (VALID_USERNAME_RE)
    ['abcde', user('abcde')],
    ['a' + 'b'.repeat(30) + 'c', user('a' + 'b'.repeat(30) + 'c')],
    ['a_b_c_d', user('a_b_c_d')],
    ['a1234', user('a1234')],
    ['gif', user('gif')],
    ['@Coub', user('coub')],
    ['t.me/vote', user('vote')],
    // invites
    ['t.me/+AbCdEfGh12', invite('AbCdEfGh12')],
    ['https://t.me/+AbCdEfGh12', invite('AbCdEfGh12')],
    ['https://t.me/+AbCd-Ef_Gh/', invite('AbCd-Ef_Gh')],
    ['https://t.me/+AbCdEfGh12?foo=1', invite('AbCdEfGh12')],
    ['https://t.me/+1234567a', invite('1234567a')],
    ['https://t.me/joinchat/AbCdEfGh12', invite('AbCdEfGh12')],
    ['https://t.me/JoinChat/AbCdEfGh12', invite('AbCdEfGh12')],
    ['telegram.me/joinchat/AAAAAEkk2WdoDrB4-Q8-gg', invite('AAAAAEkk2WdoDrB4-Q8-gg')],
    ['https://t.me/joinchat/12345678', invite('12345678')],
    ['tg://join?invite=AbCdEfGh12', invite('AbCdEfGh12')],
    ['tg://join?invite=AbCdEfGh12&x=1', invite('AbCdEfGh12')],
    ['Tg://Join?invite=AbCdEfGh12', invite('AbCdEfGh12')],
    ['t.me/+abcdefgh', invite('abcdefgh')],
  ])('%s', (input, expected) => {
    expect(parseTargetLink(input)).toEqual({ ok: true, value: expected });
  });
});

describe('parseTargetLink: rejected forms', () => {
  it.each<[string, string]>([
    // empty / whitespace
    ['', 'link is empty'],
    ['   \t\n', 'link is empty'],
    ['some group', 'link must not contain spaces'],
    ['https://t.me/some group', 'link must not contain spaces'],
    // invalid usernames
    ['abcd', REASON_USERNAME],
    ['@abcd', REASON_USERNAME],
    ['a' + 'b'.repeat(31) + 'c', REASON_USERNAME],
    ['1abcde', REASON_USERNAME],
    ['_abcde', REASON_USERNAME],
    ['abcde_', REASON_USERNAME],
    ['abc__de', REASON_USERNAME],
    ['abc-de', REASON_USERNAME],
    ['@', REASON_USERNAME],
    ['@@somegroup', REASON_USERNAME],
    ['gifs', REASON_USERNAME],
    ['имягруппы', REASON_USERNAME],
    ['+AbCdEfGh12', REASON_USERNAME],
    ['t.me/abcd', REASON_USERNAME],
    ['t.me/1abcde/123', REASON_USERNAME],
    ['tg://resolve?domain=ab', REASON_USERNAME],
    // invalid invite hashes
    ['t.me/+AbCdEfG', REASON_HASH],
    ['t.me/+AbC.dEfGh', REASON_HASH],
    ['t.me/+', REASON_HASH],
    ['t.me/joinchat/short', REASON_HASH],
    ['t.me/joinchat/AbCd%20EfGh', REASON_HASH],
    ['tg://join?invite=abc', REASON_HASH],
    ['tg://join?invite=AbCd+EfGh12', REASON_HASH],
    // phone links
    ['t.me/+79161234567', REASON_PHONE],
    ['https://t.me/+79161234567/', REASON_PHONE],
    ['t.me/+1', REASON_PHONE],
    // hosts and schemes
    ['https://example.com/somegroup', REASON_NOT_TELEGRAM],
    ['https://t.me.evil.com/somegroup', REASON_NOT_TELEGRAM],
    ['https://evil.com/t.me/somegroup', REASON_NOT_TELEGRAM],
    ['https://user@t.me/somegroup', REASON_NOT_TELEGRAM],
    ['https://t.me:443/somegroup', REASON_NOT_TELEGRAM],
    ['somegroup.t.me', REASON_NOT_TELEGRAM],
    ['ftp://t.me/somegroup', REASON_NOT_TELEGRAM],
    ['telegram.org/somegroup', REASON_NOT_TELEGRAM],
    ['t.me.', REASON_NOT_TELEGRAM],
    ['some.group', REASON_NOT_TELEGRAM],
    ['javascript:alert(1)', REASON_NOT_TELEGRAM],
    // missing name
    ['t.me', REASON_NO_NAME],
    ['https://t.me/', REASON_NO_NAME],
    ['https://t.me?x=1', REASON_NO_NAME],
    ['https://t.me/?x=1', REASON_NO_NAME],
    // paths
    ['https://t.me/c/1234567890/12', 'private t.me/c/ links cannot be joined; use an invite link'],
    ['https://t.me/s/somegroup', 't.me/s/ preview links are not supported; use t.me/NAME'],
    ['https://t.me/@somegroup', 't.me links take the name without @'],
    ['https://t.me/proxy?server=1.2.3.4&port=443&secret=dd00', 'not a group link'],
    ['https://t.me/addstickers/somepack', 'not a group link'],
    ['https://t.me/share/url?url=x', 'not a group link'],
    ['https://t.me/joinchat', 'joinchat link has no invite hash'],
    ['https://t.me/joinchat/', 'joinchat link has no invite hash'],
    ['https://t.me/joinchat/AbCdEfGh12/x', 'unexpected path after the invite hash'],
    ['https://t.me/+AbCdEfGh12/5', 'unexpected path after the invite hash'],
    ['https://t.me/somegroup/abc', 'unexpected path after the group name'],
    ['https://t.me/somegroup/1/2/3', 'unexpected path after the group name'],
    ['https://t.me//somegroup', 'link has an empty path segment'],
    // tg://
    ['tg://join', 'tg://join link has no invite hash'],
    ['tg://join?invite=', 'tg://join link has no invite hash'],
    ['tg://resolve?phone=79161234567', 'tg://resolve link has no domain'],
    ['tg://msg?text=hi', 'unsupported tg:// link'],
    ['tg://proxy?server=1.2.3.4&port=443&secret=dd00', 'unsupported tg:// link'],
  ])('%s', (input, reason) => {
    expect(parseTargetLink(input)).toEqual({ ok: false, problems: [reason] });
  });

  it('never echoes the input in a reason', () => {
    const inputs = ['https://t.me/proxy?server=h&secret=SECRETSECRET', 'tg://join?invite=SECRETS', 'x'.repeat(40)];
    for (const input of inputs) {
      const r = parseTargetLink(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.problems.join('; ')).not.toContain('SECRET');
    }
  });
});

describe('targetKey', () => {
  it.each<[TargetRef, string]>([
    [user('somegroup'), '@somegroup'],
    [invite('AbCdEfGh12'), '+AbCdEfGh12'],
    [invite('abcdefgh12'), '+abcdefgh12'],
  ])('%o → %s', (ref, key) => {
    expect(targetKey(ref)).toBe(key);
  });

  it('gives every spelling of the same group the same key', () => {
    const spellings = [
      '@SomeGroup',
      'somegroup',
      'https://t.me/SomeGroup/42',
      'tg://resolve?domain=somegroup',
      'telegram.dog/somegroup/',
    ];
    const keys = spellings.map((s) => {
      const r = parseTargetLink(s);
      if (!r.ok) throw new Error(r.problems.join('; '));
      return targetKey(r.value);
    });
    expect(new Set(keys)).toEqual(new Set(['@somegroup']));
  });

  it('keeps invite hashes case-sensitive', () => {
    const a = parseTargetLink('t.me/+AbCdEfGh12');
    const b = parseTargetLink('t.me/joinchat/abcdefgh12');
    if (!a.ok || !b.ok) throw new Error('expected both to parse');
    expect(targetKey(a.value)).toBe('+AbCdEfGh12');
    expect(targetKey(b.value)).toBe('+abcdefgh12');
    expect(targetKey(a.value)).not.toBe(targetKey(b.value));
  });

  it('invite links in all three forms give the same key', () => {
    const keys = ['t.me/+AbCdEfGh12', 'https://t.me/joinchat/AbCdEfGh12', 'tg://join?invite=AbCdEfGh12'].map((s) => {
      const r = parseTargetLink(s);
      if (!r.ok) throw new Error(r.problems.join('; '));
      return targetKey(r.value);
    });
    expect(keys).toEqual(['+AbCdEfGh12', '+AbCdEfGh12', '+AbCdEfGh12']);
  });
});
