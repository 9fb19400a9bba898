import type { NodemailerError } from 'nodemailer';
import type { SmtpTarget } from '../domain/smtpUrl.js';
import { scrubStoredError } from '../domain/text.js';
import type { EventView } from '../store/events.js';
import { parseEmailList, parseSmtpUrl } from '../domain/smtpUrl.js';
import { count } from '../domain/plural.js';
import { thisHost } from './holder.js';

/** The sender when ACCTCTL_NOTIFY_EMAIL_FROM is unset: the SMTP user when it is an address, else acctctl@<this host>. */
export function defaultSender(smtpUrl: string): string {
  const user = parseSmtpUrl(smtpUrl)?.auth?.user;
  return user && parseEmailList(user)?.length === 1 ? user : `acctctl@${thisHost()}`;
}

/** One email's subject and plain-text body for the alerts of one delivery batch. */
export function emailText(events: EventView[]): { subject: string; text: string } {
  const first = events[0]!;
  const subject =
    events.length === 1
      ? `[acctctl] ${first.severity.toUpperCase()} ${first.kind}${first.tenant ? ` · ${first.tenant}` : ''}`
      : `[acctctl] ${count(events.length, 'alert')} (${events.filter((e) => e.severity === 'critical').length} critical)`;
  const text = events
    .map(
      (e) =>
        `${e.severity.toUpperCase()} ${e.kind}${e.tenant ? ` · ${e.tenant}` : ''}\n${e.message}\n${e.at} (event ${e.id})`,
    )
    .join('\n\n');
  // Strip control characters from outside text (a CR or LF in a subject would be a header of its own).
  // eslint-disable-next-line no-control-regex
  return { subject: subject.replace(/[\u0000-\u001f\u007f]/g, '?'), text: text + '\n\n-- \nacctctl notify\n' };
}

/** What one email send came to; `sinkDown` as for the other sinks (see notify.ts). */
export type MailOutcome = { ok: true } | { ok: false; error: string; sinkDown: boolean };

/** An SMTP connection for one run: one transport, closed at the end. */
export interface Mailer {
  send(mail: {
    from: string;
    to: string[];
    subject: string;
    text: string;
    messageId: string;
    date: Date;
  }): Promise<MailOutcome>;
  close(): void;
}

/**
 * An SMTP error as stored and shown: its code and the server's reply, never the URL or the
 * credentials (the redactor has them too). A message or a recipient the server refused for good
 * (5xx to MAIL/RCPT/DATA) is this delivery's problem; anything else (connection, TLS, timeout,
 * authentication, 4xx) is the sink's.
 */
export function describeSmtpError(e: unknown): { error: string; sinkDown: boolean } {
  const err = (e ?? {}) as NodemailerError;
  const code = typeof err.code === 'string' ? err.code : 'ESMTP';
  const reply = (err.response ?? (err instanceof Error ? err.message : String(e))).split('\n')[0]!.slice(0, 300);
  const refused = (code === 'EENVELOPE' || code === 'EMESSAGE') && err.permanent === true;
  return {
    error: scrubStoredError(`SMTP ${code}${err.responseCode ? ` ${err.responseCode}` : ''}: ${reply}`),
    sinkDown: !refused,
  };
}

export async function openMailer(target: SmtpTarget, timeoutMs: number): Promise<Mailer> {
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: target.host,
    port: target.port,
    secure: target.secure,
    requireTLS: target.requireTls,
    ...(target.auth ? { auth: { user: target.auth.user, pass: target.auth.pass } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
    debug: false,
  });
  return {
    async send(mail) {
      try {
        await transport.sendMail({
          from: mail.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          messageId: mail.messageId,
          date: mail.date,
        });
        return { ok: true };
      } catch (e) {
        return { ok: false, ...describeSmtpError(e) };
      }
    },
    close() {
      transport.close();
    },
  };
}
