/**
 * The sending engine: a few SMTP connections working through the recipients, at
 * a steady rate, recording every outcome in the ledger as it happens.
 *
 * Built on nodemailer's SMTPConnection rather than its pooled transport, for one
 * reason: exactly-once needs to know *when the body starts*. SMTPConnection reads
 * the message stream only after the server's 354 reply to DATA, so our stream's
 * first read is the moment to write the ledger's "data" record (and flush it)
 * before any byte of the message leaves. A crash before that point leaves no
 * record: the address is safe to send again. After it, and before the server's
 * reply, the message's fate is unknown: reported, never guessed.
 *
 * Faults: a 4xx reply or a connection lost before the body is a temporary failure,
 * retried with exponential backoff up to maxRetries; a 5xx is permanent. When more
 * than failureRate of the last failureWindow results failed, the send pauses itself.
 */
import { Readable } from 'node:stream';
import { hostname } from 'node:os';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { Recipient } from './list.js';
import { NewsletterError } from '../errors.js';
import { now, shownLedger, type AppendResult, type Ledger, type LedgerFailure } from './ledger.js';
import type { PreparedMessage } from './message.js';
import type { SmtpSettings } from './smtp-settings.js';

export interface EngineOptions {
  smtp: SmtpSettings;
  message: PreparedMessage;
  recipients: readonly Recipient[];
  /** Where outcomes go; none for a test send. */
  ledger?: Ledger;
  /** Messages per second, across all connections. */
  rate: number;
  connections: number;
  maxRetries: number;
  retryBaseMs: number;
  failureWindow: number;
  failureRate: number;
  /** Aborting stops taking new recipients; messages in flight finish. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** Socket time-outs, in ms (tests shorten them). */
  timeouts?: { connection?: number; greeting?: number; socket?: number };
}

export interface Progress {
  sent: number;
  failed: number;
  unknown: number;
  retrying: number;
  remaining: number;
  total: number;
  /** Messages per second over the run so far. */
  rate: number;
  elapsedMs: number;
}

export interface EngineResult {
  sent: string[];
  failed: { email: string; code?: number; response: string; temporary: boolean }[];
  unknown: string[];
  /** Never offered to the server (the send stopped first). */
  unsent: string[];
  /** Why the send paused itself, if it did. */
  paused?: string;
  /** The ledger could not be written (a full disk...): the send stopped before any further body went. */
  ledgerFailure?: LedgerFailure & { file: string };
  /** Damage in the ledger set aside when it was opened (a torn last line...), for the user. */
  warnings: string[];
  interrupted: boolean;
  elapsedMs: number;
}

interface Job {
  r: Recipient;
  attempt: number;
  notBefore: number;
}

type Outcome =
  | { kind: 'sent'; response: string; queueId?: string }
  /** The ledger failed before this body could go: it never left (no final dot: the server discards the transaction). */
  | { kind: 'withheld'; recorded: AppendResult }
  | { kind: 'failed'; code?: number; response: string; temporary: boolean; connectionLost: boolean; bodyStarted: boolean }
  | { kind: 'unknown'; response: string };

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
}

/** Connecting and the server's greeting: a mail server answers within a second or two; ten is generous. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Connection attempts in a row that fail (refused, no such host, TLS, time-out) before the send pauses. */
const CONNECT_ATTEMPTS = 4;
/** The same temporary (4xx) reply this many times in a row, for any recipients, is the server's state, not theirs: the send pauses. */
const SAME_4XX_IN_A_ROW = 10;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

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
class Connection extends SMTPConnection {
  preStuffed = false;
  _createSendStream(callback: (err: Error | null, str?: string) => void): DataStreamLike {
    const stream = (SMTPConnection.prototype as unknown as { _createSendStream: (cb: typeof callback) => DataStreamLike })._createSendStream.call(this, callback);
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

function connect(o: EngineOptions): Promise<Connection> {
  const s = o.smtp;
  const conn = new Connection({
    host: s.host,
    port: s.port,
    secure: s.secure,
    requireTLS: s.requireTLS,
    name: hostname(),
    // A server that does not answer within seconds is down for this send (it pauses, see runSend).
    connectionTimeout: o.timeouts?.connection ?? CONNECT_TIMEOUT_MS,
    greetingTimeout: o.timeouts?.greeting ?? CONNECT_TIMEOUT_MS,
    socketTimeout: o.timeouts?.socket ?? 120_000,
  });
  conn.preStuffed = o.message.dotStuffed;
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

function sendOne(conn: SMTPConnection, o: EngineOptions, r: Recipient, chunks: Buffer[]): Promise<Outcome> {
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
        const ledger = o.ledger;
        if (!ledger) return go();
        if (ledger.failure) return withhold('absent');
        const recorded = ledger.append({ t: 'data', email: r.email, at: now() });
        if (recorded !== 'written' || ledger.failure) return withhold(recorded);
        // Group commit: this waits for the one fdatasync that covers this record (and the others queued with it).
        void ledger.flushed().then((ok) => (ok && !ledger.failure ? go() : withhold('written')));
      },
    });
    conn.send({ from: o.message.from, to: [r.email] }, body, (err, info) => {
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

/** Send `recipients` and record each outcome. Never throws for an SMTP failure: it reports it. */
export async function runSend(o: EngineOptions): Promise<EngineResult> {
  const started = performance.now();
  const result: EngineResult = { sent: [], failed: [], unknown: [], unsent: [], interrupted: false, elapsedMs: 0, warnings: [...(o.ledger?.warnings ?? [])] };
  /** Taken, but not sent: the ledger failed first (no record of them, or a "withheld" one). */
  const withheldUnsent: string[] = [];
  // Jobs are made as they are taken (an index, not 100,000 queued objects).
  let next = 0;
  const total = o.recipients.length;
  const retries: Job[] = [];
  let inFlight = 0;
  let stopped = false;
  const window: boolean[] = [];
  const interval = 1000 / o.rate;
  let nextSlot = performance.now();

  const progress = () =>
    o.onProgress?.({
      sent: result.sent.length,
      failed: result.failed.length,
      unknown: result.unknown.length,
      retrying: retries.length,
      remaining: total - next + retries.length + inFlight,
      total: o.recipients.length,
      rate: result.sent.length / Math.max(0.001, (performance.now() - started) / 1000),
      elapsedMs: performance.now() - started,
    });

  // Faults of the server, not of a recipient: connections that fail, or the same 4xx for
  // everyone. They pause the whole send with a plain message; recipients never offered
  // to a server stay "not sent", never "failed".
  const server = `${o.smtp.host}:${o.smtp.port}`;
  let connectFailuresInARow = 0;
  let same4xx: { code?: number; count: number } = { count: 0 };
  const pause = (reason: string) => {
    if (stopped) return;
    stopped = true;
    result.paused = reason;
    write({ t: 'paused', at: now(), reason });
  };

  const record = (ok: boolean) => {
    window.push(ok);
    if (window.length > o.failureWindow) window.shift();
    const failures = window.filter((x) => !x).length;
    // Judge only once there is enough to judge: 20 results, or the whole window if smaller.
    if (!stopped && window.length >= Math.min(o.failureWindow, 20) && failures / window.length > o.failureRate) {
      stopped = true;
      result.paused = `${failures} of the last ${window.length} messages failed (more than ${Math.round(o.failureRate * 100)}%)`;
      o.ledger?.append({ t: 'paused', at: now(), reason: result.paused });
    }
  };

  const take = (): Job | 'wait' | undefined => {
    const t = Date.now();
    const ready = retries.findIndex((j) => j.notBefore <= t);
    if (ready >= 0) return retries.splice(ready, 1)[0];
    if (next < total) return { r: o.recipients[next++]!, attempt: 0, notBefore: 0 };
    return retries.length || inFlight ? 'wait' : undefined;
  };

  // Write an outcome; false when the ledger has one and could not take it (then the earlier records stand).
  const write = (r: Parameters<Ledger['append']>[0]) => !o.ledger || o.ledger.append(r) === 'written';

  const settle = (job: Job, out: Outcome) => {
    const email = job.r.email;
    if (out.kind === 'sent') same4xx = { count: 0 };
    else if (out.kind === 'failed' && out.temporary && out.code !== undefined) {
      same4xx = same4xx.code === out.code ? { code: out.code, count: same4xx.count + 1 } : { code: out.code, count: 1 };
      if (same4xx.count >= SAME_4XX_IN_A_ROW) pause(`the mail server at ${server} answers every message with "${out.response}" (${same4xx.count} in a row): it is refusing mail for now`);
    }
    const bodyStarted = out.kind === 'failed' ? out.bodyStarted : true;
    if (out.kind === 'withheld') {
      // Its "data" record (if written) is cancelled by a "withheld" one; failing that, it reads as unknown.
      if (out.recorded === 'absent' || (out.recorded === 'written' && write({ t: 'withheld', email, at: now(), reason: 'the ledger could not be written' }))) withheldUnsent.push(email);
      else result.unknown.push(email);
    } else if (out.kind === 'sent') {
      if (write({ t: 'sent', email, at: now(), response: out.response, queueId: out.queueId })) {
        result.sent.push(email);
        record(true);
      } else result.unknown.push(email); // accepted, but the ledger only says "about to send": unknown, as a resume will read it
    } else if (out.kind === 'unknown') {
      // The "data" record already in the ledger says so; nothing more is known.
      result.unknown.push(email);
      record(false);
    } else if (out.temporary && job.attempt < o.maxRetries) {
      job.attempt++;
      job.notBefore = Date.now() + o.retryBaseMs * 2 ** (job.attempt - 1);
      if (write({ t: 'retry', email, at: now(), code: out.code, response: out.response, attempt: job.attempt })) retries.push(job);
      else if (bodyStarted) result.unknown.push(email);
      else withheldUnsent.push(email);
    } else if (write({ t: 'failed', email, at: now(), code: out.code, response: out.response, temporary: out.temporary })) {
      result.failed.push({ email, code: out.code, response: out.response, temporary: out.temporary });
      record(false);
    } else if (bodyStarted) result.unknown.push(email);
    else withheldUnsent.push(email);
    progress();
  };

  const worker = async () => {
    let conn: SMTPConnection | undefined;
    let connectFailures = 0;
    while (!stopped && !o.signal?.aborted && !o.ledger?.failure) {
      const job = take();
      if (job === undefined) break;
      if (job === 'wait') {
        await sleep(20);
        continue;
      }
      inFlight++;
      try {
        const slot = Math.max(performance.now(), nextSlot);
        nextSlot = slot + interval;
        const wait = slot - performance.now();
        if (wait > 1) await sleep(wait); // a timer costs a millisecond even at 0: skip it when on time
        if (o.ledger?.failure) {
          // The ledger failed while this one waited its turn: it never starts.
          withheldUnsent.push(job.r.email);
          continue;
        }
        if (!conn) {
          try {
            conn = await connect(o);
            connectFailures = 0;
            connectFailuresInARow = 0;
          } catch (err) {
            // The recipient was never offered to a server: back to the front of the queue, uncharged.
            retries.unshift({ ...job, notBefore: 0 });
            connectFailures++;
            connectFailuresInARow++;
            const e = err as SmtpError;
            if (e.code === 'EAUTH') pause(`the mail server at ${server} refused the login: ${e.response ?? e.message}. Check the user name and password in SMTP_URL`);
            else if (e.responseCode !== undefined && e.responseCode >= 500) pause(`the mail server at ${server} refuses connections: ${e.response ?? e.message}`);
            else if (connectFailuresInARow >= CONNECT_ATTEMPTS) pause(`the mail server at ${server} is not answering: ${e.message} (${connectFailuresInARow} attempts)`);
            else await sleep(Math.min(30_000, o.retryBaseMs * 2 ** Math.min(connectFailures - 1, 6)));
            continue;
          }
        }
        const chunks = await o.message.forRecipient(job.r);
        if (o.ledger?.failure) {
          // The ledger failed while this one waited its turn: it never starts.
          withheldUnsent.push(job.r.email);
          continue;
        }
        const out = await sendOne(conn, o, job.r, chunks);
        settle(job, out);
        if (out.kind === 'unknown' || out.kind === 'withheld' || (out.kind === 'failed' && out.connectionLost)) {
          conn.close();
          conn = undefined;
        } else if (out.kind === 'failed') {
          // The transaction failed but the connection lives: reset it for the next message.
          const c = conn;
          const ok = await new Promise<boolean>((resolve) => c.reset((err) => resolve(!err)));
          if (!ok) {
            c.close();
            conn = undefined;
          }
        }
      } finally {
        inFlight--;
      }
    }
    conn?.quit();
  };

  await Promise.all(Array.from({ length: Math.max(1, o.connections) }, () => worker()));
  result.interrupted = Boolean(o.signal?.aborted);
  result.unsent = [...withheldUnsent, ...o.recipients.slice(next).map((r) => r.email), ...retries.map((j) => j.r.email)];
  result.elapsedMs = performance.now() - started;
  progress();
  if (o.ledger?.failure) {
    result.ledgerFailure = { ...o.ledger.failure, file: o.ledger.file };
    throw new SendStoppedError(result);
  }
  return result;
}

/**
 * The send stopped because its ledger could not be written (a full disk, an I/O error):
 * no body went that the ledger does not record. `result` says who was sent, who is
 * unknown (their message went but its outcome could not be recorded) and who was not sent.
 */
export class SendStoppedError extends NewsletterError {
  readonly result: EngineResult;
  constructor(result: EngineResult) {
    const f = result.ledgerFailure!;
    const shown = shownLedger(f.file);
    const n = (k: number, one: string, many = one) => `${k} ${k === 1 ? one : many}`;
    super('ESEND', `the send stopped: ${f.problem} (${f.code} ${f.op === 'fdatasync' ? 'flushing' : 'writing'} ${shown}): ${n(result.sent.length, 'sent')}, ${n(result.unknown.length, 'unknown')}, ${n(result.unsent.length, 'not sent')}${result.failed.length ? `, ${n(result.failed.length, 'failed')}` : ''}`, {
      problems: [
        ...result.unknown.map((email) => ({ message: `unknown ${email}: its message went to the server, but whether it was accepted is not recorded` })),
      ],
      hint:
        `${f.todo.charAt(0).toUpperCase()}${f.todo.slice(1)}: the ${n(result.unsent.length, 'recipient', 'recipients')} not sent will be, and nobody already sent is sent again (no message went without its record).` +
        (result.unknown.length ? ` The ${n(result.unknown.length, 'unknown')} above ${result.unknown.length === 1 ? 'is' : 'are'} not sent again unless you add --resend-unknown.` : ''),
    });
    this.result = result;
  }
}

