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
import type { Recipient } from './list.js';
import { NewsletterError } from '../errors.js';
import { now, shownLedger, type Ledger, type LedgerFailure } from './ledger.js';
import type { PreparedMessage } from './message.js';
import { capOf } from './providers.js';
import type { SmtpSettings } from './smtp-settings.js';
import { connect, sendOne, signInHint, type Connection, type Outcome, type SmtpError, type SocketTimeouts } from './smtp-send.js';

export { queueIdOf } from './smtp-send.js';

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
  timeouts?: SocketTimeouts;
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
  /** The provider said the mailbox is over its daily quota: the send stopped, the refused recipient is unsent. */
  capped?: string;
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

/** Connection attempts in a row that fail (refused, no such host, TLS, time-out) before the send pauses. */
const CONNECT_ATTEMPTS = 4;
/** The same temporary (4xx) reply this many times in a row, for any recipients, is the server's state, not theirs: the send pauses. */
const SAME_4XX_IN_A_ROW = 10;
/** "Too fast" replies in a row (each followed by a longer wait) before the send pauses. */
const RATE_CAPS_IN_A_ROW = 8;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

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
  let rateCapsInARow = 0;
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

  /**
   * The provider's "over quota" reply: not the recipient's failure. A daily cap stops the send
   * (the recipient stays unsent for when the window allows); "too fast" waits and offers the same
   * recipient again, uncharged. Its "data" record, if the body had started, is cancelled: the
   * server refused the message.
   */
  const capped = (job: Job, out: Extract<Outcome, { kind: 'failed' }>, kind: 'daily' | 'rate') => {
    const email = job.r.email;
    if (out.recorded && !write({ t: 'withheld', email, at: now(), reason: `refused as over the provider's limit: ${out.response}` })) {
      result.unknown.push(email);
      return;
    }
    if (kind === 'daily') {
      withheldUnsent.push(email);
      if (!stopped) {
        stopped = true;
        result.capped = out.response;
        write({ t: 'capped', at: now(), reason: out.response });
      }
      return;
    }
    rateCapsInARow++;
    // A minute, then two...: the provider's per-minute limit frees up within one.
    const backoff = Math.min(600_000, Math.max(o.retryBaseMs, 1) * 30 * 2 ** Math.min(rateCapsInARow - 1, 5));
    nextSlot = Math.max(nextSlot, performance.now() + backoff);
    if (rateCapsInARow >= RATE_CAPS_IN_A_ROW) {
      withheldUnsent.push(email);
      pause(
        `the mail server at ${server} keeps saying the mailbox is sending too fast ("${out.response}", ${rateCapsInARow} times in a row): lower send.rate or send.connections`,
      );
    } else retries.push({ ...job, notBefore: Date.now() + backoff });
  };

  const settle = (job: Job, out: Outcome) => {
    const email = job.r.email;
    if (out.kind === 'failed') {
      const cap = capOf(out.code, out.response);
      if (cap) {
        capped(job, out, cap);
        progress();
        return;
      }
    }
    if (out.kind === 'sent') {
      same4xx = { count: 0 };
      rateCapsInARow = 0;
    } else if (out.kind === 'failed' && out.temporary && out.code !== undefined) {
      same4xx = same4xx.code === out.code ? { code: out.code, count: same4xx.count + 1 } : { code: out.code, count: 1 };
      if (same4xx.count >= SAME_4XX_IN_A_ROW)
        pause(`the mail server at ${server} answers every message with "${out.response}" (${same4xx.count} in a row): it is refusing mail for now`);
    }
    // Its "data" record stands when its outcome cannot be recorded: then the ledger says unknown, and so does the result.
    const recorded = out.kind === 'failed' ? out.recorded : true;
    if (out.kind === 'withheld') {
      // Its "data" record (if written) is cancelled by a "withheld" one; failing that, it reads as unknown.
      if (out.recorded === 'absent' || (out.recorded === 'written' && write({ t: 'withheld', email, at: now(), reason: 'the ledger could not be written' })))
        withheldUnsent.push(email);
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
      else if (recorded) result.unknown.push(email);
      else withheldUnsent.push(email);
    } else if (write({ t: 'failed', email, at: now(), code: out.code, response: out.response, temporary: out.temporary })) {
      result.failed.push({ email, code: out.code, response: out.response, temporary: out.temporary });
      record(false);
    } else if (recorded) result.unknown.push(email);
    else withheldUnsent.push(email);
    progress();
  };

  const worker = async () => {
    let conn: Connection | undefined;
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
            conn = await connect(o.smtp, o.timeouts, o.message.dotStuffed);
            connectFailures = 0;
            connectFailuresInARow = 0;
          } catch (err) {
            // The recipient was never offered to a server: back to the front of the queue, uncharged.
            retries.unshift({ ...job, notBefore: 0 });
            connectFailures++;
            connectFailuresInARow++;
            const e = err as SmtpError;
            if (err instanceof NewsletterError && err.code === 'EOAUTH2') pause(`${err.message}. ${err.hint ?? ''}`.trim().replace(/\.$/, ''));
            else if (e.code === 'EAUTH')
              pause(`the mail server at ${server} refused the login: ${e.response ?? e.message}. ${signInHint(o.smtp).replace(/\.$/, '')}`);
            else if (e.responseCode !== undefined && e.responseCode >= 500)
              pause(`the mail server at ${server} refuses connections: ${e.response ?? e.message}`);
            else if (connectFailuresInARow >= CONNECT_ATTEMPTS)
              pause(`the mail server at ${server} is not answering: ${e.message} (${connectFailuresInARow} attempts)`);
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
        const out = await sendOne(conn, o.message.from, o.ledger, job.r, chunks);
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
    super(
      'ESEND',
      `the send stopped: ${f.problem} (${f.code} ${f.op === 'fdatasync' ? 'flushing' : 'writing'} ${shown}): ${n(result.sent.length, 'sent')}, ${n(result.unknown.length, 'unknown')}, ${n(result.unsent.length, 'not sent')}${result.failed.length ? `, ${n(result.failed.length, 'failed')}` : ''}`,
      {
        problems: [
          ...result.unknown.map((email) => ({ message: `unknown ${email}: its message went to the server, but whether it was accepted is not recorded` })),
        ],
        hint:
          `${f.todo.charAt(0).toUpperCase()}${f.todo.slice(1)}: the ${n(result.unsent.length, 'recipient', 'recipients')} not sent will be, and nobody already sent is sent again (no message went without its record).` +
          (result.unknown.length
            ? ` The ${n(result.unknown.length, 'unknown')} above ${result.unknown.length === 1 ? 'is' : 'are'} not sent again unless you add --resend-unknown.`
            : ''),
      },
    );
    this.result = result;
  }
}
