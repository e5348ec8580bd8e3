/**
 * Stage 6: a complete multipart/alternative message (.eml) for review in Outlook,
 * Thunderbird or Apple Mail. nodemailer's MailComposer writes the MIME; the send
 * stage builds on the same function.
 */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { encodeWord } from 'nodemailer/lib/mime-funcs/index.js';
import type { Config } from '../config.js';
import { wireAddress } from '../issue/email-address.js';

/**
 * A header value that folds into lines of at most 78 octets (RFC 5322 allows 998,
 * and asks for 78): as it is when every word is short, since nodemailer folds at
 * spaces; else as RFC 2047 encoded words, which may be split anywhere and which
 * every mail client joins back into the same text.
 */
export function foldableHeader(value: string): string {
  return value.split(/\s+/).some((word) => word.length > 60) ? encodeWord(value, 'Q', 52) : value;
}

export interface EmlInput {
  subject: string;
  html: string;
  text: string;
  /** Unique per message: `<slug.hash@sender-domain>`. */
  messageId: string;
  date: Date;
  to?: string | string[];
  headers?: Record<string, string>;
}

/** The sender's domain as it goes on the wire (an IDN in punycode), for Message-IDs and invite UIDs: liiateam@londoncouncils.gov.uk -> londoncouncils.gov.uk. */
export function senderDomain(config: Config): string {
  return wireAddress(config.sender.address).split('@')[1]!;
}

export async function buildEml(config: Config, input: EmlInput): Promise<Buffer> {
  const composer = new MailComposer({
    from: { name: config.sender.name, address: config.sender.address },
    replyTo: config.replyTo,
    to: input.to,
    subject: foldableHeader(input.subject),
    text: input.text,
    html: input.html,
    date: input.date,
    messageId: input.messageId,
    headers: input.headers,
    textEncoding: 'quoted-printable',
  });
  // RFC 5322 ends every line with CRLF; nodemailer's quoted-printable text part has bare LFs.
  const eml = await composer.compile().build();
  return Buffer.from(eml.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}
