/**
 * One SMTP connection and one message on it, for the sending engine (sender.ts): the
 * connection (nodemailer's SMTPConnection, told when a message is already in DATA form),
 * connecting and logging in, and offering one recipient's copy with the ledger's "data"
 * record written the moment the body starts. The engine decides what to do with each outcome.
 */
import { hostname } from 'node:os';
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { wireAddress } from '../issue/email-address.js';
import { now, type AppendResult, type Ledger } from './ledger.js';
import type { Recipient } from './list.js';
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
  | { kind: 'failed'; code?: number; response: string; temporary: boolean; connectionLost: boolean; bodyStarted: boolean }
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

export function connect(s: SmtpSettings, timeouts: SocketTimeouts | undefined, dotStuffed: boolean): Promise<Connection> {
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
    conn.connect(() => {
      if (!s.auth) {
        settled = true;
        conn.removeListener('error', fail);
        conn.on('error', () => {}); // later socket errors arrive through send() callbacks
        return resolve(conn);
      }
      conn.login({ user: s.auth.user, pass: s.auth.pass }, (err) => {
        if (err) return fail(err);
        settled = true;
        conn.removeListener('error', fail);
        conn.on('error', () => {});
        resolve(conn);
      });
    });
  });
}

/**
 * Offer one recipient's copy on `conn`: MAIL FROM `from`, RCPT TO the recipient's wire form
 * (punycode domain), then DATA, writing the ledger's "data" record when the body starts.
 */
export function sendOne(conn: SMTPConnection, from: string, ledger: Ledger | undefined, r: Recipient, chunks: Buffer[]): Promise<Outcome> {
  return new Promise((resolve) => {
    let bodyStarted = false;
    let withheld: AppendResult | undefined;
    const body = new Readable({
      read() {
        if (bodyStarted) return;
        bodyStarted = true;
        // The server has said 354: record that this message is going, whole and on disk, before it goes.
        const go = () => {
          for (const chunk of chunks) this.push(chunk);
          this.push(null);
        };
        // The ledger failed: this body must not go. Fail the stream (never end it: an ended
        // stream gets the final dot); the caller closes the connection mid-DATA.
        const withhold = (recorded: AppendResult) => {
          withheld = recorded;
          this.destroy(new Error('not sent: the ledger could not record it'));
        };
        if (!ledger) return go();
        if (ledger.failure) return withhold('absent');
        const recorded = ledger.append({ t: 'data', email: r.email, at: now() });
        if (recorded !== 'written' || ledger.failure) return withhold(recorded);
        // Group commit: this waits for the one fdatasync that covers this record (and the others queued with it).
        void ledger.flushed().then((ok) => (ok && !ledger.failure ? go() : withhold('written')));
      },
    });
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
        return resolve(bodyStarted ? { kind: 'unknown', response } : { kind: 'failed', response, temporary: true, connectionLost: true, bodyStarted });
      }
      resolve({ kind: 'failed', code, response, temporary: code >= 400 && code < 500, connectionLost: code === 421, bodyStarted });
    });
  });
}
