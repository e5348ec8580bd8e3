/**
 * One SMTP connection and one message on it, for the sending engine (sender.ts): the
 * connection (nodemailer's SMTPConnection, told when a message is already in DATA form),
 * connecting and logging in, and offering one recipient's copy with the ledger's "data"
 * record written as the transaction starts and on disk before the body. The engine decides what to do with each outcome.
 */
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { NewsletterError, printable } from '../errors.js';
import { wireAddress } from '../issue/email-address.js';
import { now, type AppendResult, type Ledger } from './ledger.js';
import type { Recipient } from './list.js';
import { xoauth2Response } from './oauth2.js';
import type { SmtpSettings } from './smtp-settings.js';

/** Socket time-outs, in ms (tests shorten them). */
export interface SocketTimeouts {
  connection?: number;
  greeting?: number;
  socket?: number;
}

export type Outcome =
  | { kind: 'sent'; response: string; queueId?: string }
  /** The ledger failed before this body could go: it never left (no final dot: the server discards the transaction). */
  | { kind: 'withheld'; recorded: AppendResult }
  /** recorded: its "data" record is in the ledger (written as the transaction started), to be cancelled or superseded. */
  | { kind: 'failed'; code?: number; response: string; temporary: boolean; connectionLost: boolean; recorded: boolean }
  | { kind: 'unknown'; response: string };

export interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** Connecting and the server's greeting: a mail server answers within a second or two; ten is generous. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The queue id from a 250 reply ("250 2.0.0 Ok: queued as 4bXq1y3FzJz"). */
export function queueIdOf(response: string): string | undefined {
  return /queued as ([\w.@<>-]+)/i.exec(response)?.[1] ?? /\bid[= ]([\w.@<>-]{6,})/i.exec(response)?.[1];
}

type DataStreamLike = NodeJS.ReadWriteStream & {
  _transform: (chunk: Buffer, encoding: string, done: () => void) => void;
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
  push(chunk: Buffer): boolean;
};

/**
 * SMTPConnection, told when the message it is given is already in DATA form.
 * nodemailer's DataStream scans every byte of every message in JavaScript to
 * double leading dots and fix line ends: a third of the CPU of a send, for a
 * body that is the same for everyone. Our copies are prepared in DATA form once
 * (message.ts dotStuff), so for them the scan becomes a pass-through; DataStream
 * still ends the message with the final dot. (_createSendStream is nodemailer's
 * own hook, pinned at 10.6.1; test/send.test.ts proves the messages arrive whole.)
 */
export class Connection extends SMTPConnection {
  preStuffed = false;
  _createSendStream(callback: (err: Error | null, str?: string) => void): DataStreamLike {
    const stream = (SMTPConnection.prototype as unknown as { _createSendStream: (cb: typeof callback) => DataStreamLike })._createSendStream.call(
      this,
      callback,
    );
    if (this.preStuffed) {
      stream._transform = function (chunk, _encoding, done) {
        this.inByteCount += chunk.length;
        this.outByteCount += chunk.length;
        this.lastByte = chunk[chunk.length - 1] ?? this.lastByte;
        this.push(chunk);
        done();
      };
    }
    return stream;
  }
}

export async function connect(s: SmtpSettings, timeouts: SocketTimeouts | undefined, dotStuffed: boolean): Promise<Connection> {
  const refreshed = { asked: false };
  try {
    return await connectOnce(s, timeouts, dotStuffed, refreshed);
  } catch (err) {
    // A server that refuses a token at once (535 5.7.3, no 334 challenge) gets no second token
    // from nodemailer: ask for a fresh one and try once more, as it would have.
    if (!s.oauth2 || refreshed.asked || (err as SmtpError).code !== 'EAUTH') throw err;
    await s.oauth2.tokens.token(true);
    return connectOnce(s, timeouts, dotStuffed, refreshed);
  }
}

function connectOnce(s: SmtpSettings, timeouts: SocketTimeouts | undefined, dotStuffed: boolean, refreshed: { asked: boolean }): Promise<Connection> {
  const conn = new Connection({
    host: s.host,
    port: s.port,
    secure: s.secure,
    requireTLS: s.requireTLS,
    name: hostname(),
    // A server that does not answer within seconds is down for this send (it pauses, see runSend).
    connectionTimeout: timeouts?.connection ?? CONNECT_TIMEOUT_MS,
    greetingTimeout: timeouts?.greeting ?? CONNECT_TIMEOUT_MS,
    socketTimeout: timeouts?.socket ?? 120_000,
  });
  conn.preStuffed = dotStuffed;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      conn.close();
      reject(err);
    };
    conn.once('error', fail);
    const done = () => {
      settled = true;
      conn.removeListener('error', fail);
      conn.on('error', () => {}); // later socket errors arrive through send() callbacks
      resolve(conn);
    };
    conn.connect(() => {
      if (s.oauth2) {
        const { user, tokens } = s.oauth2;
        // SASL XOAUTH2. SMTPConnection asks getToken for a token; when the server refuses it
        // (334 then 535), it asks once more with isRetry set, and we fetch a new one.
        // A token that could not be had fails the login with our EOAUTH2 error as it is.
        let tokenError: Error | undefined;
        const oauth2 = {
          getToken(isRetry: boolean, callback: (err: Error | null, token?: string) => void) {
            if (isRetry) refreshed.asked = true;
            tokens.token(isRetry).then(
              (token) => callback(null, token),
              (err: Error) => {
                tokenError = err;
                // nodemailer rewrites the code of the error it is given: give it a stand-in.
                callback(new Error(err.message));
              },
            );
          },
          buildXOAuth2Token: (token: string) => xoauth2Response(user, token),
        };
        return conn.login({ user, oauth2 } as unknown as Parameters<SMTPConnection['login']>[0], (err) => (err ? fail(tokenError ?? err) : done()));
      }
      if (!s.auth) return done();
      conn.login({ user: s.auth.user, pass: s.auth.pass }, (err) => (err ? fail(err) : done()));
    });
  });
}

/**
 * Offer one recipient's copy on `conn`: MAIL FROM `from`, RCPT TO the recipient's wire form
 * (punycode domain), then DATA. The ledger's "data" record is written as the transaction
 * starts and its flush runs while the server answers MAIL, RCPT and DATA; the body waits
 * for that flush (group commit: one fdatasync covers every connection's records of the
 * moment), so no byte of it goes before its record is on disk.
 */
export function sendOne(conn: SMTPConnection, from: string, ledger: Ledger | undefined, r: Recipient, chunks: Buffer[]): Promise<Outcome> {
  return new Promise((resolve) => {
    let bodyStarted = false;
    let withheld: AppendResult | undefined;
    let onDisk: Promise<boolean> | undefined;
    if (ledger) {
      // The ledger failed, or could not take this record: the transaction never starts.
      if (ledger.failure) return resolve({ kind: 'withheld', recorded: 'absent' });
      const recorded = ledger.append({ t: 'data', email: r.email, at: now() });
      if (recorded !== 'written' || ledger.failure) return resolve({ kind: 'withheld', recorded });
      onDisk = ledger.flushed();
    }
    const body = new Readable({
      read() {
        if (bodyStarted) return;
        bodyStarted = true;
        const go = () => {
          for (const chunk of chunks) this.push(chunk);
          this.push(null);
        };
        if (!onDisk) return go();
        // The server has said 354: the body goes once its record is whole and on disk. If the
        // ledger failed, it must not go: fail the stream (never end it: an ended stream gets the
        // final dot); the caller closes the connection mid-DATA.
        void onDisk.then((ok) => {
          if (ok && !ledger?.failure) return go();
          withheld = 'written';
          this.destroy(new Error('not sent: the ledger could not record it'));
        });
      },
    });
    const recorded = onDisk !== undefined;
    conn.send({ from, to: [r.wire ?? wireAddress(r.email)] }, body, (err, info) => {
      if (withheld) return resolve({ kind: 'withheld', recorded: withheld });
      if (!err) {
        const response = String(info?.response ?? '250');
        return resolve({ kind: 'sent', response, queueId: queueIdOf(response) });
      }
      const e = err as SmtpError;
      const code = e.responseCode;
      const response = e.response ?? e.message;
      if (code === undefined) {
        // No reply: the connection died or timed out. Before the body, nothing was sent.
        return resolve(bodyStarted ? { kind: 'unknown', response } : { kind: 'failed', response, temporary: true, connectionLost: true, recorded });
      }
      resolve({ kind: 'failed', code, response, temporary: code >= 400 && code < 500, connectionLost: code === 421, recorded });
    });
  });
}

/** What to check when the mail server refuses the sign-in, for this provider and kind of sign-in. */
export function signInHint(s: SmtpSettings): string {
  if (!s.oauth2) return 'Check the user name and password in SMTP_URL (write @ in them as %40).';
  const user = s.oauth2.user;
  if (s.provider === 'microsoft365')
    return (
      `The token was issued, so the app registration is right; Exchange Online refused it for ${user}. In Exchange Online PowerShell check: ` +
      `SMTP AUTH is on for the mailbox (Set-CASMailbox -Identity ${user} -SmtpClientAuthenticationDisabled $false); ` +
      `the app's service principal is registered (New-ServicePrincipal -AppId <client id> -ObjectId <enterprise application object id>) ` +
      `and has FullAccess to the mailbox (Add-MailboxPermission -Identity ${user} -User <service principal id> -AccessRights FullAccess); ` +
      'and the app has the SMTP.SendAsApp permission with admin consent. Changes can take up to an hour to apply. See docs/providers/microsoft365.md.'
    );
  if (s.provider === 'google-workspace')
    return `Gmail refused the token for ${user}: check that ${user} is a user (not a group or alias) of the Workspace domain, that Gmail is on for it, and that the domain-wide delegation includes the scope https://mail.google.com/. See docs/providers/google-workspace.md.`;
  return `The mail server refused the token for ${user}: check SMTP_OAUTH2_SCOPE and that the mailbox may send with this app's tokens.`;
}

/**
 * Sign in once and leave: the token request and the mail server's acceptance of it, before any
 * recipient is tried (a scheduled send checks now, not at its start time). Throws one clear
 * error: EOAUTH2 for a refused token or sign-in, ESEND for a server that cannot be reached.
 */
export async function checkSignIn(s: SmtpSettings, timeouts?: SocketTimeouts): Promise<void> {
  // The token first: a refusal by the identity provider needs no mail server to say so.
  if (s.oauth2) await s.oauth2.tokens.token();
  let conn: Connection;
  try {
    conn = await connect(s, timeouts, false);
  } catch (err) {
    if (err instanceof NewsletterError) throw err;
    const e = err as SmtpError;
    const server = `${s.host}:${s.port}`;
    if (e.code === 'EAUTH')
      throw new NewsletterError(
        s.oauth2 ? 'EOAUTH2' : 'ESMTP_CONFIG',
        `the mail server at ${server} refused the sign-in as ${s.oauth2?.user ?? 'the user in SMTP_URL'}: ${printable(e.response ?? e.message)}`,
        {
          hint: signInHint(s),
          cause: err,
        },
      );
    throw new NewsletterError('ESEND', `could not sign in to the mail server at ${server}: ${printable(e.response ?? e.message)}`, {
      hint: 'Check the host and port in SMTP_URL and the network; then try again.',
      cause: err,
    });
  }
  await new Promise<void>((resolve) => {
    conn.once('end', resolve);
    conn.quit();
    setTimeout(resolve, 2000).unref();
  });
}
