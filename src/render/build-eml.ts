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

/**
 * Headers every copy carries that say how to leave the list (RFC 2369, RFC 8058): the
 * sends put them on every message, and the review .eml carries them too, so the editors
 * see what recipients get. The https page first when there is one (mail clients use the
 * first they can); List-Unsubscribe-Post only then, as one-click needs https.
 */
/** The List-Id (RFC 2919): the config's, or the sender's name with a newsletter. label of its domain. */
export const listIdOf = (config: Config) => config.listId ?? `${config.sender.name} <newsletter.${senderDomain(config)}>`;

export function listHeaders(config: Config): Record<string, string> {
  // A header is ASCII: an IDN domain in punycode (the address passed the rule when the config was read).
  const unsubscribe = [`<mailto:${wireAddress(config.unsubscribe.mailto)}?subject=Unsubscribe>`];
  if (config.unsubscribe.url) unsubscribe.unshift(`<${config.unsubscribe.url}>`);
  const headers: Record<string, string> = {
    'List-Id': listIdOf(config),
    'List-Unsubscribe': unsubscribe.join(', '),
  };
  // One-click unsubscribe (Gmail and Yahoo require it of bulk senders) needs an https URL.
  if (config.unsubscribe.url) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  return headers;
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
