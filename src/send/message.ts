/**
 * The message as sent: built once (nodemailer's MailComposer writes the MIME body,
 * both parts, and the headers every copy shares), then one copy per recipient with
 * only To, Date and Message-ID changed. Composing each message from scratch costs
 * about 4x the CPU; the body is the same for everyone.
 */
import { createHash, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { domainToASCII } from 'node:url';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { encodeWords, foldLines } from 'nodemailer/lib/mime-funcs/index.js';
import type { BuildResult } from '../build-issue.js';
import type { Config } from '../config.js';
import { NewsletterError } from '../errors.js';
import { wireAddress } from '../issue/email-address.js';
import { foldableHeader, listHeaders, senderDomain } from '../render/build-eml.js';
import { replaceAssetUrls, type LocalAsset } from '../issue/load-assets.js';
import { personalBody, TOKEN_MARK } from './personal-body.js';
import { unsubscribeToken, unsubscribeUrl, type UnsubscribeKeys } from './unsubscribe-token.js';

/** The list headers live with the .eml (render/), so the review copy carries them too; re-exported for senders. */
export { listHeaders };

export interface PreparedMessage {
  /** The envelope sender (MAIL FROM), in wire form: an IDN domain in punycode. */
  from: string;
  subject: string;
  /** Bytes of the shared part (headers every copy shares, and the body). */
  size: number;
  /**
   * True when forRecipient's bytes are already in SMTP's DATA form (CRLF line ends,
   * a dot doubled at the start of a line), so the sender need not scan every byte
   * of every copy. Always true now: a DKIM signature is one more header line, signed
   * over the message as the receiver reads it (after undoing the dots).
   */
  dotStuffed: boolean;
  /**
   * One recipient's copy: the shared message with To, Date and Message-ID, as
   * chunks to write in order. The shared head and body are the same Buffers for
   * every copy, so a send of 100,000 allocates 100,000 small header lines, not
   * 100,000 copies of the body.
   */
  forRecipient(to: { email: string; wire?: string; name?: string }): Promise<Buffer[]>;
}

/**
 * SMTP's DATA form of a message (RFC 5321 4.5.2): every line end CRLF, and a dot
 * at the start of a line doubled. Done once for the shared part, not per copy.
 */
export function dotStuff(message: Buffer): Buffer {
  const text = message.toString('latin1').replace(/\r?\n|\r/g, '\r\n');
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1..'), 'latin1');
}

export interface PrepareOptions {
  /** "[TEST] " for test sends. */
  subjectPrefix?: string;
  /** The project folder, for config paths (the DKIM key file). */
  root: string;
  /**
   * Local images to attach inline (CID) in place of their web addresses: test sends do,
   * so the editors see the pictures before anyone has uploaded them. @default none
   */
  inlineImages?: readonly LocalAsset[];
  env?: NodeJS.ProcessEnv;
  /**
   * A panel put at the top of the body, in both parts: test copies say what changed since
   * the last test send (src/review/). Never given for the send to the list. @default none
   */
  preface?: { html: string; text: string };
  /**
   * Personal unsubscribe links: each copy's List-Unsubscribe carries the recipient's own token
   * (unsubscribe-token.ts), in the one-click URL and the mailto's subject. @default the shared links
   */
  unsubscribe?: UnsubscribeKeys;
}

/** The email's hidden preheader, right after <body>: the panel goes after it, so inboxes still show the preheader as the preview line. */
const BODY_START = /<body\b[^>]*>(?:<div style="display:none;[^"]*">[^<]*<\/div>)?/i;

/** The HTML and text with the preface at the top of the body (the text's separated by a rule). */
export function withPreface(html: string, text: string, preface: { html: string; text: string } | undefined): { html: string; text: string } {
  if (!preface) return { html, text };
  const m = BODY_START.exec(html);
  const at = m ? m.index + m[0].length : 0;
  return { html: html.slice(0, at) + preface.html + html.slice(at), text: `${preface.text.replace(/\n+$/, '')}\n\n${'='.repeat(40)}\n\n${text}` };
}

/** `"Name" <email>`, MIME-encoded when the name is not plain ASCII or has a word too long to fold. */
function formatAddress(email: string, name?: string): string {
  if (!name) return `<${email}>`;
  const clean = name.replace(/[\r\n]+/g, ' ').trim();
  const folded = foldableHeader(clean);
  const display = folded !== clean ? folded : /^[\x20-\x7e]*$/.test(clean) ? `"${clean.replace(/["\\]/g, '\\$&')}"` : encodeWords(clean, 'Q', 52);
  return `${display} <${email}>`;
}

/** A header line folded at spaces to 76 octets a line, when it is longer (most are not: this runs once a recipient). */
const folded = (line: string) => (line.length > 76 ? foldLines(line, 76) : line);

/** Drop the named headers (with their folded continuation lines) from a header block. */
function withoutHeaders(head: string, names: string[]): string {
  const drop = new Set(names.map((n) => n.toLowerCase()));
  const lines = head.split('\r\n');
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (/^[ \t]/.test(line)) {
      if (!skipping) kept.push(line);
      continue;
    }
    skipping = drop.has(line.slice(0, line.indexOf(':')).trim().toLowerCase());
    if (!skipping) kept.push(line);
  }
  return kept.join('\r\n');
}

async function dkimKey(config: Config, root: string, env: NodeJS.ProcessEnv): Promise<{ domainName: string; keySelector: string; key: KeyObject } | undefined> {
  if (!config.dkim) return undefined;
  const { domainName, keySelector, privateKeyFile } = config.dkim;
  let privateKey = env.DKIM_PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (!privateKey && privateKeyFile) {
    privateKey = await readFile(path.resolve(root, privateKeyFile), 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new NewsletterError('ESMTP_CONFIG', `cannot read the DKIM private key ${privateKeyFile} (${err.code ?? err.message})`, {
        hint: 'Put the PEM key at that path (outside git), set DKIM_PRIVATE_KEY, or remove dkim from newsletter.config.yaml.',
      });
    });
  }
  if (!privateKey) {
    throw new NewsletterError('ESMTP_CONFIG', 'dkim is configured but no private key is given', {
      hint: 'Set dkim.privateKeyFile in newsletter.config.yaml, or DKIM_PRIVATE_KEY in the environment or .env.',
    });
  }
  // Prove the key now, so a key that cannot sign stops the send before anything goes.
  // Nothing of the key, nor crypto's error about it, goes into the message.
  const whose = env.DKIM_PRIVATE_KEY ? 'DKIM_PRIVATE_KEY' : `in ${privateKeyFile}`;
  const badKey = (why: string) =>
    new NewsletterError('ESMTP_CONFIG', `the DKIM private key (${whose}) is not a valid PEM private key: ${why}`, {
      hint: 'Give the RSA private key as PEM, from "-----BEGIN PRIVATE KEY-----" (or "BEGIN RSA PRIVATE KEY") to its END line, without a passphrase; or remove dkim from newsletter.config.yaml.',
    });
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKey);
  } catch (err) {
    throw badKey(
      (err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE'
        ? 'it is encrypted with a passphrase'
        : 'it cannot be read (cut short, or not a private key?)',
    );
  }
  const type = key.asymmetricKeyType;
  if (type !== 'rsa') throw badKey(`its type is ${type ?? 'unknown'}, and DKIM signing here needs an RSA key (rsa-sha256)`);
  return { domainName, keySelector, key };
}

/**
 * The headers a DKIM signature covers, in this order (those a message has). Both
 * List-Unsubscribe headers: Gmail honours one-click unsubscribe only when they are signed.
 */
export const DKIM_SIGNED_HEADERS = 'From:Sender:Reply-To:Subject:Date:Message-ID:To:MIME-Version:Content-Type:List-Id:List-Unsubscribe:List-Unsubscribe-Post';
/** The headers each copy has of its own (everything else is shared); List-Unsubscribe too when it is personal. */
const OWN_HEADERS = ['to', 'date', 'message-id'];

/** A header field's value in relaxed canonical form (RFC 6376 3.4.2): unfolded, each run of SP/HTAB one SP, none at either end. */
const relaxedValue = (line: string) =>
  line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');

/** The fields of a CRLF header block, as [lower-case name, whole field with its folded lines]. */
function headerFields(head: string): [string, string][] {
  const fields: [string, string][] = [];
  for (const line of head.split('\r\n')) {
    if (/^[ \t]/.test(line) && fields.length) fields[fields.length - 1]![1] += `\r\n${line}`;
    else if (line) fields.push([line.slice(0, line.indexOf(':')).trim().toLowerCase(), line]);
  }
  return fields;
}

/**
 * The body hash (bh=) of relaxed body canonicalization (RFC 6376 3.4.4): a line's
 * trailing SP/HTAB dropped, each run within it one SP, empty lines at the end dropped,
 * a non-empty body ending in CRLF. `body` has CRLF line ends.
 */
export function relaxedBodyHash(body: string): string {
  const text = body
    .replace(/[ \t]+(?=\r\n|$)/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/(\r\n)+$/, '');
  return createHash('sha256')
    .update(text.length ? `${text}\r\n` : '', 'latin1')
    .digest('base64');
}

/**
 * DKIM (rsa-sha256, relaxed/relaxed) for copies that share their body and all but a
 * few headers. The body hash, and so the DKIM-Signature header up to b=, are the same
 * for every copy and computed once; each copy costs the canonical form of its own
 * headers and one RSA signature, made on libuv's thread pool (crypto.sign with a
 * callback), so connections sign in parallel. Signing the whole message per copy
 * (nodemailer's DKIM stream) hashed the 100 KB body again every time.
 */
function sharedDkim(key: { domainName: string; keySelector: string; key: KeyObject }, sharedHead: string, ownHeaders: readonly string[]) {
  const clean = (v: string) => v.replace(/[\x00-\x1f\x7f;=]/g, '');
  const shared = new Map<string, string>();
  // The last of a repeated field is the one signed (RFC 6376 5.4.2), as nodemailer does.
  for (const [name, line] of headerFields(sharedHead)) if (!ownHeaders.includes(name)) shared.set(name, relaxedValue(line));
  const names = [...new Set(DKIM_SIGNED_HEADERS.toLowerCase().split(':'))].filter((n) => ownHeaders.includes(n) || shared.has(n));
  const domain = domainToASCII(clean(key.domainName)) || clean(key.domainName).toLowerCase();
  const headerFor = (bh: string) => {
    const tags = ['v=1', 'a=rsa-sha256', 'c=relaxed/relaxed', `d=${domain}`, 'q=dns/txt', `s=${clean(key.keySelector)}`, `bh=${bh}`, `h=${names.join(':')}`];
    const header = `${foldLines(`DKIM-Signature: ${tags.join('; ')}`, 76)};\r\n b=`;
    return { header, signed: `dkim-signature:${relaxedValue(header)}` };
  };
  // Most sends share the body, and so the signature header up to b=: made once, for the first body hash it is asked for.
  let last: { bh: string; header: string; signed: string } | undefined;
  return (own: string, bh: string): Promise<Buffer> => {
    if (last?.bh !== bh) last = { bh, ...headerFor(bh) };
    const { header, signed } = last;
    const mine = new Map(headerFields(own).map(([n, l]) => [n, relaxedValue(l)] as const));
    let data = '';
    for (const n of names) data += `${n}:${mine.get(n) ?? shared.get(n)}\r\n`;
    data += signed;
    return new Promise((resolve, reject) =>
      sign('sha256', Buffer.from(data, 'latin1'), key.key, (err, signature) => {
        if (err) return reject(err);
        const b = signature
          .toString('base64')
          .replace(/(^.{73}|.{75}(?!\r?\n|\r))/g, '$&\r\n ')
          .trim();
        resolve(Buffer.from(`${header}${b}\r\n`, 'latin1'));
      }),
    );
  };
}

/** The unsubscribe page's address in the body (the footer's link: an href, and the plain text's reference), as the placeholder's. */
function footerPlaceholder(url: string): { html: (html: string) => string; text: (text: string) => string } {
  const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  const marked = unsubscribeUrl(url, TOKEN_MARK);
  return {
    html: (html) => html.split(`href="${attr(url)}"`).join(`href="${attr(marked)}"`),
    // The address as a word of its own (not the start of a longer one).
    text: (text) => text.replace(new RegExp(`${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w/?#&=%.-])`, 'g'), marked),
  };
}

/** Build the shared message once. */
export async function prepareMessage(build: BuildResult, config: Config, options: PrepareOptions): Promise<PreparedMessage> {
  const subject = `${options.subjectPrefix ?? ''}${build.issue.subject}`;
  const inline = options.inlineImages ?? [];
  const cid = (a: LocalAsset) => `${a.name}@${build.slug}`;
  const personal = options.unsubscribe;
  // With a page to link to, the footer's link carries the reader's token too: a placeholder for now.
  const linkInBody = personal && config.unsubscribe.url ? footerPlaceholder(config.unsubscribe.url) : undefined;
  const written = withPreface(build.html, build.text, options.preface);
  const parts = linkInBody ? { html: linkInBody.html(written.html), text: linkInBody.text(written.text) } : written;
  const composed = await new MailComposer({
    from: { name: config.sender.name, address: wireAddress(config.sender.address) },
    replyTo: config.replyTo === undefined ? undefined : wireAddress(config.replyTo),
    subject: foldableHeader(subject),
    text: parts.text,
    html: inline.length ? replaceAssetUrls(parts.html, inline, (a) => `cid:${cid(a)}`) : parts.html,
    // MailComposer puts the HTML and the images it names by cid: in one multipart/related part.
    attachments: inline.map((a) => ({ filename: a.name, content: a.content, contentType: a.contentType, cid: cid(a), contentDisposition: 'inline' as const })),
    headers: personal ? Object.fromEntries(Object.entries(listHeaders(config)).filter(([name]) => name !== 'List-Unsubscribe')) : listHeaders(config),
    textEncoding: 'quoted-printable',
  })
    .compile()
    .build();
  const split = composed.indexOf('\r\n\r\n');
  const head = withoutHeaders(composed.subarray(0, split).toString('latin1'), ['Date', 'Message-ID', 'To']);
  const body = composed.subarray(split);
  const key = await dkimKey(config, options.root, options.env ?? process.env);
  // The shared head and body are put in DATA form once; the per-copy header lines
  // (DKIM-Signature, To, Date, Message-ID) never start with a dot.
  const shared = dotStuff(Buffer.from(head, 'latin1'));
  const sharedBody = dotStuff(body);
  // What the receiver reads once the dots are undone: CRLF line ends. The body starts after the blank line.
  const crlf = (b: Buffer) => b.toString('latin1').replace(/\r?\n|\r/g, '\r\n');
  const signCopy = key ? sharedDkim(key, crlf(Buffer.from(head, 'latin1')), personal ? [...OWN_HEADERS, 'list-unsubscribe'] : OWN_HEADERS) : undefined;
  const sharedBh = key ? relaxedBodyHash(crlf(body).slice(4)) : '';
  // The footer's link, personal too: the body cut at its placeholder, once (personal-body.ts).
  const cut = linkInBody ? personalBody(crlf(body)) : undefined;
  const mailto = wireAddress(config.unsubscribe.mailto);
  /** The recipient's own List-Unsubscribe: the one-click URL (when there is a page) and the mailto, both with their token. */
  const unsubscribeLine = (token: string | undefined) => {
    if (!token) return '';
    const links = [`<mailto:${mailto}?subject=Unsubscribe%20${token}>`];
    if (config.unsubscribe.url) links.unshift(`<${unsubscribeUrl(config.unsubscribe.url, token)}>`);
    return `\r\n${folded(`List-Unsubscribe: ${links.join(', ')}`)}`;
  };
  // Message-ID is ASCII too: the sender's domain in punycode. Its unique part, 72 random bits, is taken
  // from a pool filled 4 KB at a time (one getrandom call for 455 messages, not one each).
  let pool = Buffer.alloc(0);
  let used = 0;
  const uniquePart = () => {
    if (used + 9 > pool.length) {
      pool = randomBytes(4095);
      used = 0;
    }
    used += 9;
    return pool.subarray(used - 9, used).toString('base64url');
  };
  const domain = senderDomain(config);
  const tag = `${build.slug}.${build.hash.slice(0, 12)}`;

  return {
    // The envelope sender: where bounces go.
    from: wireAddress(config.bounceAddress ?? config.sender.address),
    subject,
    size: shared.length + body.length,
    dotStuffed: true,
    async forRecipient(to) {
      const token = personal ? unsubscribeToken(personal, to.email) : undefined;
      const own = Buffer.from(
        // Folded at spaces to 76 octets a line: a long name cannot make a line over RFC 5322's limit.
        `\r\n${folded(`To: ${formatAddress(to.wire ?? wireAddress(to.email), to.name)}`)}\r\nDate: ${new Date().toUTCString().replace('GMT', '+0000')}\r\nMessage-ID: <${tag}.${uniquePart()}@${domain}>${unsubscribeLine(token)}`,
        'utf8',
      );
      if (cut && token) {
        const mine = cut.windowsFor(token);
        const bodyChunks = cut.shared.flatMap((piece, i) => (i < mine.data.length ? [piece, mine.data[i]!] : [piece]));
        if (!signCopy) return [shared, own, ...bodyChunks];
        return [await signCopy(own.toString('latin1'), cut.bodyHash(mine.canonical)), shared, own, ...bodyChunks];
      }
      if (!signCopy) return [shared, own, sharedBody];
      return [await signCopy(own.toString('latin1'), sharedBh), shared, own, sharedBody];
    },
  };
}
