/**
 * The message as sent: built once (nodemailer's MailComposer writes the MIME body,
 * both parts, and the headers every copy shares), then one copy per recipient with
 * only To, Date and Message-ID changed. Composing each message from scratch costs
 * about 4x the CPU; the body is the same for everyone.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import DKIM from 'nodemailer/lib/dkim/index.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { encodeWords, foldLines } from 'nodemailer/lib/mime-funcs/index.js';
import type { BuildResult } from '../build-issue.js';
import type { Config } from '../config.js';
import { NewsletterError } from '../errors.js';
import { foldableHeader, senderDomain } from '../render/build-eml.js';
import { replaceAssetUrls, type LocalAsset } from '../issue/load-assets.js';

export interface PreparedMessage {
  /** The envelope sender. */
  from: string;
  subject: string;
  /** Bytes of the shared part (headers every copy shares, and the body). */
  size: number;
  /**
   * True when forRecipient's bytes are already in SMTP's DATA form (CRLF line ends,
   * a dot doubled at the start of a line), so the sender need not scan every byte
   * of every copy. False when DKIM signs each copy (it signs the plain form).
   */
  dotStuffed: boolean;
  /**
   * One recipient's copy: the shared message with To, Date and Message-ID, as
   * chunks to write in order. The shared head and body are the same Buffers for
   * every copy, so a send of 100,000 allocates 100,000 small header lines, not
   * 100,000 copies of the body.
   */
  forRecipient(to: { email: string; name?: string }): Promise<Buffer[]>;
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
}

/** Headers every copy carries that say how to leave the list (RFC 2369, RFC 8058). */
export function listHeaders(config: Config): Record<string, string> {
  const unsubscribe = [`<mailto:${config.unsubscribe.mailto}?subject=Unsubscribe>`];
  if (config.unsubscribe.url) unsubscribe.unshift(`<${config.unsubscribe.url}>`);
  const headers: Record<string, string> = {
    'List-Id': config.listId ?? `${config.sender.name} <newsletter.${senderDomain(config)}>`,
    'List-Unsubscribe': unsubscribe.join(', '),
  };
  // One-click unsubscribe (Gmail and Yahoo require it of bulk senders) needs an https URL.
  if (config.unsubscribe.url) headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  return headers;
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

async function dkimSigner(config: Config, root: string, env: NodeJS.ProcessEnv): Promise<DKIM | undefined> {
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
  // Prove the key now: nodemailer's signer swallows a key it cannot sign with and sends the
  // message unsigned. Nothing of the key, nor crypto's error about it, goes into the message.
  const whose = env.DKIM_PRIVATE_KEY ? 'DKIM_PRIVATE_KEY' : `in ${privateKeyFile}`;
  const badKey = (why: string) =>
    new NewsletterError('ESMTP_CONFIG', `the DKIM private key (${whose}) is not a valid PEM private key: ${why}`, {
      hint: 'Give the RSA private key as PEM, from "-----BEGIN PRIVATE KEY-----" (or "BEGIN RSA PRIVATE KEY") to its END line, without a passphrase; or remove dkim from newsletter.config.yaml.',
    });
  let type: string | undefined;
  try {
    type = createPrivateKey(privateKey).asymmetricKeyType;
  } catch (err) {
    throw badKey((err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE' ? 'it is encrypted with a passphrase' : 'it cannot be read (cut short, or not a private key?)');
  }
  if (type !== 'rsa') throw badKey(`its type is ${type ?? 'unknown'}, and DKIM signing here needs an RSA key (rsa-sha256)`);
  return new DKIM({
    domainName,
    keySelector,
    privateKey,
    // Sign both List-Unsubscribe headers: Gmail honours one-click unsubscribe only when they are signed.
    headerFieldNames: 'From:Sender:Reply-To:Subject:Date:Message-ID:To:MIME-Version:Content-Type:List-Id:List-Unsubscribe:List-Unsubscribe-Post',
  });
}

function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

/** Build the shared message once. */
export async function prepareMessage(build: BuildResult, config: Config, options: PrepareOptions): Promise<PreparedMessage> {
  const subject = `${options.subjectPrefix ?? ''}${build.issue.subject}`;
  const inline = options.inlineImages ?? [];
  const cid = (a: LocalAsset) => `${a.name}@${build.slug}`;
  const composed = await new MailComposer({
    from: { name: config.sender.name, address: config.sender.address },
    replyTo: config.replyTo,
    subject: foldableHeader(subject),
    text: build.text,
    html: inline.length ? replaceAssetUrls(build.html, inline, (a) => `cid:${cid(a)}`) : build.html,
    // MailComposer puts the HTML and the images it names by cid: in one multipart/related part.
    attachments: inline.map((a) => ({ filename: a.name, content: a.content, contentType: a.contentType, cid: cid(a), contentDisposition: 'inline' as const })),
    headers: listHeaders(config),
    textEncoding: 'quoted-printable',
  })
    .compile()
    .build();
  const split = composed.indexOf('\r\n\r\n');
  const head = withoutHeaders(composed.subarray(0, split).toString('latin1'), ['Date', 'Message-ID', 'To']);
  const body = composed.subarray(split);
  const dkim = await dkimSigner(config, options.root, options.env ?? process.env);
  // Without DKIM, the shared head and body can be put in DATA form once; the
  // per-copy header lines (To, Date, Message-ID) never start with a dot.
  const shared = dkim ? Buffer.from(head, 'latin1') : dotStuff(Buffer.from(head, 'latin1'));
  const sharedBody = dkim ? body : dotStuff(body);
  const domain = senderDomain(config);
  const tag = `${build.slug}.${build.hash.slice(0, 12)}`;

  return {
    from: config.sender.address,
    subject,
    size: shared.length + body.length,
    dotStuffed: !dkim,
    async forRecipient(to) {
      const own = Buffer.from(
        // Folded at spaces to 76 octets a line: a long name cannot make a line over RFC 5322's limit.
        `\r\n${folded(`To: ${formatAddress(to.email, to.name)}`)}\r\nDate: ${new Date().toUTCString().replace('GMT', '+0000')}\r\nMessage-ID: <${tag}.${randomBytes(9).toString('base64url')}@${domain}>`,
        'utf8',
      );
      if (!dkim) return [shared, own, sharedBody];
      return [await collect(dkim.sign(Buffer.concat([shared, own, sharedBody])))];
    },
  };
}
