// Outbound email over SMTP (nodemailer). Only job handlers send (never a request), so a
// slow or failing mail server costs a retry, not a request. Each delivery attempt is
// bounded by the connection, greeting and socket timeouts; credentials in SMTP_URL are
// passed to the transport and never logged.
import { createTransport } from 'nodemailer';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Resolves once the server accepted the message; rejects otherwise (the job retries). */
  send: (message: MailMessage) => Promise<void>;
  close: () => void;
}

export interface MailerConfig {
  /** smtp://[user:pass@]host[:port] (STARTTLS when the server offers it) or smtps:// (TLS from the start). */
  url: string;
  from: string;
  timeoutMs: number;
}

export function createMailer(config: MailerConfig): Mailer {
  const url = new URL(config.url);
  const secure = url.protocol === 'smtps:';
  const user = decodeURIComponent(url.username);
  const transport = createTransport({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port === '' ? (secure ? 465 : 587) : Number(url.port),
    secure,
    ...(user === '' ? {} : { auth: { user, pass: decodeURIComponent(url.password) } }),
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    // One connection per message: sends are rare, and no idle socket outlives a job.
    pool: false,
  });
  return {
    async send(message) {
      await transport.sendMail({ from: config.from, to: message.to, subject: message.subject, text: message.text });
    },
    close: () => transport.close(),
  };
}
