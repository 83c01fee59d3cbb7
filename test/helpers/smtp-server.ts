// A local SMTP server for tests (npm `smtp-server`): it accepts every message on
// 127.0.0.1 and keeps it, decoded enough to read subjects and codes. Set `refuse` to
// answer 550 to every message (a mail server that fails). Never the internet.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './wait.ts';

export interface CapturedMail {
  to: string[];
  subject: string;
  text: string;
}

export interface LocalSmtpServer {
  url: string;
  mails: CapturedMail[];
  /** Answer 550 to every message while true. */
  refuse: boolean;
  /** Messages refused so far. */
  refused: number;
  /** The first mail (already received or arriving) to `to` whose subject matches. */
  waitForMail: (to: string, subject: RegExp) => Promise<CapturedMail>;
  close: () => Promise<void>;
}

function decodeQuotedPrintable(body: string): string {
  const bytes = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))), 'latin1');
  return bytes.toString('utf8');
}

/** Single-part text messages, as the app sends them. */
export function parseMail(raw: string, to: string[]): CapturedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const text =
    encoding === 'quoted-printable' ? decodeQuotedPrintable(body) : encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
  return { to, subject: header('Subject'), text: text.replace(/\r\n/g, '\n') };
}

export async function startSmtpServer(): Promise<LocalSmtpServer> {
  const state: LocalSmtpServer = {
    url: '',
    mails: [],
    refuse: false,
    refused: 0,
    waitForMail: (to, subject) =>
      waitFor(`a mail to ${to} with subject ${subject}`, () => Promise.resolve(state.mails.find((m) => m.to.includes(to) && subject.test(m.subject))), 30_000),
    close: async () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    hideSTARTTLS: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (state.refuse) {
          state.refused += 1;
          const err = Object.assign(new Error('mailbox unavailable (test server refuses)'), { responseCode: 550 });
          callback(err);
          return;
        }
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        state.mails.push(parseMail(Buffer.concat(chunks).toString('latin1'), to));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  state.url = `smtp://127.0.0.1:${port}`;
  return state;
}

/** The code on its own line in an account email (43 base64url characters). */
export function codeIn(mail: CapturedMail): string {
  const match = /^([A-Za-z0-9_-]{43})$/m.exec(mail.text);
  if (match?.[1] === undefined) throw new Error(`no code in the mail: ${mail.text}`);
  return match[1];
}
