import { describe, expect, it } from 'vitest';
import { parseEmailList, parseSmtpUrl } from '../../src/domain/smtpUrl.js';

describe('ACCTCTL_NOTIFY_SMTP_URL', () => {
  it('smtps:// is TLS on 465, smtp:// is 587; the credentials are percent-decoded and never in the label', () => {
    expect(parseSmtpUrl('smtps://alerts%40example.org:p%40ss%3Aw%2Frd@smtp.example.org')).toEqual({
      host: 'smtp.example.org',
      port: 465,
      secure: true,
      requireTls: false,
      auth: { user: 'alerts@example.org', pass: 'p@ss:w/rd' },
      label: 'smtps://smtp.example.org:465',
    });
    expect(parseSmtpUrl('smtp://relay.internal')).toMatchObject({ port: 587, secure: false, auth: undefined });
    expect(parseSmtpUrl('smtp://u:secret@relay.internal:2525')!.label).toBe('smtp://relay.internal:2525');
  });

  it('a password over smtp:// to another host requires STARTTLS; to this host (loopback) it does not', () => {
    expect(parseSmtpUrl('smtp://u:secret@mail.example.org')!.requireTls).toBe(true);
    expect(parseSmtpUrl('smtp://u:secret@127.0.0.1:2525')!.requireTls).toBe(false);
    expect(parseSmtpUrl('smtp://u:secret@localhost')!.requireTls).toBe(false);
    expect(parseSmtpUrl('smtp://mail.example.org')!.requireTls).toBe(false); // no password to protect
  });

  it('refuses what is not an SMTP server URL', () => {
    for (const bad of [
      'https://u:p@mail.example.org',
      'smtp://',
      'smtp://mail.example.org/path',
      'smtp://u:%E0%A4%A@mail.example.org',
      'mail.example.org:587',
      'smtp://mail.example .org',
    ]) {
      expect(parseSmtpUrl(bad), bad).toBeUndefined();
    }
  });

  it('ACCTCTL_NOTIFY_EMAIL_TO: addresses, comma-separated', () => {
    expect(parseEmailList('ops@example.org, oncall@example.org')).toEqual(['ops@example.org', 'oncall@example.org']);
    expect(parseEmailList('ops')).toBeUndefined();
    expect(parseEmailList(' , ')).toBeUndefined();
    expect(parseEmailList('Ops <ops@example.org>')).toBeUndefined();
  });
});
