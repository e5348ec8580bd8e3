/**
 * (Over 400 lines, one unit on purpose: the ledger's record format, durability and recovery must be read together.)
 *
 * The send ledger: sends/<slug>/ledger.jsonl, one JSON record per line, appended
 * as things happen (rewritten only to set aside a damaged line). It is what makes a send resumable exactly once.
 *
 * Per recipient:
 *   {"t":"data","email":...}   its message is about to be offered: written as the SMTP
 *                              transaction starts (MAIL FROM) and flushed to disk BEFORE
 *                              the first byte of the body (the flush runs while the server
 *                              answers MAIL, RCPT and DATA), so after any crash we know
 *                              which messages may have reached the server;
 *   {"t":"sent",...}           the server accepted it (its reply, queue id);
 *   {"t":"failed",...}         it refused it (code, reply; temporary or permanent).
 * A "data" without an outcome is "unknown": the process or the connection died between
 * the start of the transaction and the server's reply to the body (at most one per connection). It is reported by address and not sent again unless asked.
 * An address with no record was never offered to the server, so it is safe to send.
 *
 *   {"t":"withheld",...}       its "data" record was written but the body never went
 *                              (the ledger failed first, or the provider refused it as over
 *                              its limit): not sent, safe to send.
 *
 * Durability: every record is written whole or not at all (a short write is finished,
 * or cut off again and the ledger marked failed). "data" records are flushed with
 * fdatasync before the body is sent; concurrent connections share one flush (group
 * commit: a body waits only for the flush that covers its own record). Outcomes are
 * flushed in the same batches; losing one in a power cut only turns a "sent" into
 * "unknown". Once a write or a flush has failed (a full disk, EIO) no further body
 * goes: the sender stops, settles the messages in flight and records what it can, using
 * ledger.jsonl.reserve, a few KB set aside while the ledger is open, when the disk is full.
 *
 * Damage: a line that is not one whole record (a torn last line after a crash or a
 * full disk; a fragment an older version appended to) is reported by readLedger, and
 * set aside by the Ledger that opens the file under the send lock: moved, stamped,
 * into ledger.jsonl.damaged, the ledger cut back to its whole records, so the next
 * record starts on a fresh line. A damaged "about to send" that still names its
 * address keeps that address unknown (never silently sent again).
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { NewsletterError } from '../errors.js';
import { addressKey } from '../issue/email-address.js';

export type LedgerRecord =
  | { t: 'start'; at: string; hash: string; subject: string; recipients: number; pid: number; skipTestGate?: boolean; dryRun?: boolean }
  | { t: 'data'; email: string; at: string }
  | { t: 'sent'; email: string; at: string; response: string; queueId?: string }
  | { t: 'failed'; email: string; at: string; code?: number; response: string; temporary: boolean }
  | { t: 'retry'; email: string; at: string; code?: number; response: string; attempt: number }
  | { t: 'withheld'; email: string; at: string; reason: string }
  | { t: 'paused'; at: string; reason: string }
  /** The mailbox's daily cap stopped the send: `until` is when the window lets more go. */
  | { t: 'capped'; at: string; reason: string; until?: string; remaining?: number }
  | { t: 'end'; at: string; sent: number; failed: number; unknown: number; unsent: number };

export type RecipientState =
  | { state: 'sent'; response: string; queueId?: string }
  | { state: 'failed'; code?: number; response: string; temporary: boolean }
  | { state: 'unknown' };

export interface LedgerSummary {
  /** Per recipient (address key), its last known state. */
  recipients: Map<string, RecipientState & { email: string }>;
  starts: Extract<LedgerRecord, { t: 'start' }>[];
  last?: LedgerRecord;
  /** Damaged lines found (a torn last line, say), one sentence each, for the user. */
  warnings: string[];
}

/** How the ledger is shown in messages: sends/<slug>/ledger.jsonl when it is where send-issue puts it. */
export function shownLedger(file: string): string {
  const parts = path.resolve(file).split(path.sep);
  return parts.length >= 3 && parts[parts.length - 3] === 'sends' ? parts.slice(-3).join('/') : file;
}

/** What is left of a record that was cut short (or garbled): its kind and address, when they can be read. */
interface Damage {
  /** The damaged text, as found (without its newline). */
  text: string;
  /** Byte offset in the file where it starts, and where its line ends (after the newline, if any). */
  start: number;
  end: number;
  last: boolean;
  kind?: string;
  email?: string;
}

type Item = { r: LedgerRecord } | { d: Damage };

interface Parsed {
  /** Whole records and damaged pieces, in file order (only when asked for: a 100,000-recipient ledger is large). */
  items: Item[];
  damage: Damage[];
  /** Byte length of the ledger up to the end of its last whole line. */
  wholeBytes: number;
  /** The only damage is the last line, with nothing whole on it: cutting the file at wholeBytes sets it aside. */
  tornTailOnly: boolean;
}

const RECORD_START = '{"t":';

/** Split a ledger into whole records and damaged pieces. A line that holds a fragment glued to whole records (an older version appended to a torn line) yields both. */
function parseLedger(buf: Buffer, visit?: (item: Item) => void): Parsed {
  const items: Item[] = [];
  const push = visit ?? ((item: Item) => void items.push(item));
  const damage: Damage[] = [];
  let offset = 0;
  let wholeBytes = 0;
  let tornTailOnly = false;
  while (offset < buf.length) {
    const nl = buf.indexOf(0x0a, offset);
    const lineEnd = nl < 0 ? buf.length : nl;
    const next = nl < 0 ? buf.length : nl + 1;
    const line = buf.subarray(offset, lineEnd).toString('utf8');
    const isLast = next >= buf.length;
    if (line.trim()) {
      const whole = nl >= 0 ? parseRecord(line) : undefined;
      if (whole) push({ r: whole });
      else {
        // Not one whole record: recover whole records glued after a fragment ({"t":... boundaries).
        const pieces: { at: number; text: string }[] = [];
        let i = line.indexOf(RECORD_START);
        if (i < 0) pieces.push({ at: 0, text: line });
        else {
          if (i > 0) pieces.push({ at: 0, text: line.slice(0, i) });
          while (i >= 0) {
            const j = line.indexOf(RECORD_START, i + 1);
            pieces.push({ at: i, text: line.slice(i, j < 0 ? undefined : j) });
            i = j;
          }
        }
        let bad = '';
        let recovered = 0;
        const damageBefore = damage.length;
        const flush = (final: boolean) => {
          if (!bad) return;
          const kind = /"t":"(\w+)"/.exec(bad)?.[1];
          const email = /"email":"((?:[^"\\]|\\.)+)"/.exec(bad)?.[1];
          const d: Damage = {
            text: bad,
            start: offset,
            end: next,
            last: isLast && final,
            kind,
            email: email === undefined ? undefined : safeJsonString(email),
          };
          damage.push(d);
          push({ d });
          bad = '';
        };
        pieces.forEach((piece, k) => {
          // The last piece of an unterminated line is never whole, even if it parses: its newline never made it.
          const r = nl < 0 && k === pieces.length - 1 ? undefined : parseRecord(piece.text);
          if (r) {
            flush(false);
            recovered++;
            push({ r });
          } else bad += piece.text;
        });
        flush(true);
        tornTailOnly = isLast && damageBefore === 0 && recovered === 0 && damage.length === 1;
      }
    }
    if (!damage.length) wholeBytes = next;
    offset = next;
  }
  return { items, damage, wholeBytes, tornTailOnly };
}

function parseRecord(text: string): LedgerRecord | undefined {
  try {
    const r = JSON.parse(text) as LedgerRecord;
    return r && typeof r === 'object' && !Array.isArray(r) ? r : undefined;
  } catch {
    return undefined;
  }
}

function safeJsonString(s: string): string | undefined {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return undefined;
  }
}

/** The records a damaged piece stands for: an "about to send" that names its address is kept as one (unknown), never dropped. */
function standIns(d: Damage): LedgerRecord[] {
  return d.kind === 'data' && d.email ? [{ t: 'data', email: d.email, at: now() }] : [];
}

function describeDamage(file: string, damage: Damage[], healed: boolean): string[] {
  const shown = shownLedger(file);
  const aside = `${path.basename(file)}.damaged`;
  return damage.map((d) => {
    const what = d.last ? `the last line of ${shown} was cut short (a crash or a full disk)` : `a line in the middle of ${shown} is damaged`;
    const action = healed
      ? d.last
        ? `it was set aside in ${aside} and the send resumes from the last whole record`
        : `it was set aside in ${aside} and the records around it are kept`
      : `the next send sets it aside in ${aside}${d.last ? ' and resumes from the last whole record' : ''}`;
    let about = '';
    if (d.kind === 'data' && d.email) about = `; it was about to send to ${d.email}, which is kept as unknown (not sent again unless --resend-unknown)`;
    else if (d.kind === 'data' || !d.kind)
      about = `; it may have been about to send to an address that cannot be read from it, so that address's state is ambiguous: this version never sends a message whose record is not whole, but one written by an older version may have gone (see ${aside})`;
    return `${what}; ${action}${about}`;
  });
}

/** Read a ledger file. Damaged lines (a torn last line, say) are reported in `warnings`, never silently dropped; the file is not changed (Ledger does that, under the lock). */
export function readLedger(file: string): LedgerSummary {
  let buf = Buffer.alloc(0);
  try {
    buf = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const s = summariser();
  const parsed = parseLedger(buf, s.visit);
  const summary = s.summary;
  summary.warnings = describeDamage(file, parsed.damage, false);
  // Opening it next (under the lock, as send-issue does) need not parse it again when nothing changed.
  if (parsed.damage.length) readClean.delete(path.resolve(file));
  else readClean.set(path.resolve(file), buf.length);
  return summary;
}

/** Ledgers readLedger found whole, with their size then. */
const readClean = new Map<string, number>();

/** Folds records (and stand-ins for damaged pieces) into per-recipient states as they are read. */
function summariser(): { visit: (item: Item) => void; summary: LedgerSummary } {
  const summary: LedgerSummary = { recipients: new Map(), starts: [], warnings: [] };
  const { recipients, starts } = summary;
  const apply = (r: LedgerRecord) => {
    switch (r.t) {
      case 'start':
        starts.push(r);
        break;
      case 'data':
        recipients.set(addressKey(r.email), { email: r.email, state: 'unknown' });
        break;
      case 'sent':
        recipients.set(addressKey(r.email), { email: r.email, state: 'sent', response: r.response, queueId: r.queueId });
        break;
      case 'failed':
        recipients.set(addressKey(r.email), { email: r.email, state: 'failed', code: r.code, response: r.response, temporary: r.temporary });
        break;
      case 'retry':
      case 'withheld':
        // retry: the server refused it with a 4xx (after the body, if any): not delivered, to be sent again.
        // withheld: its "data" record was written but the body never went (the ledger failed first).
        recipients.delete(addressKey(r.email));
        break;
      default:
        break;
    }
  };
  const visit = (item: Item) => {
    if ('r' in item) {
      summary.last = item.r;
      apply(item.r);
    } else standIns(item.d).forEach(apply);
  };
  return { visit, summary };
}
/** What a failed write or flush of the ledger means for the user. */
export interface LedgerFailure {
  /** ENOSPC, EIO, EDQUOT, EROFS... ESHORT for a write that wrote nothing. */
  code: string;
  /** The system call: write or fdatasync. */
  op: 'write' | 'fdatasync' | 'set aside';
  /** "the disk holding sends/july-2025/ is full" */
  problem: string;
  /** "free some space, then run the same command to resume" */
  todo: string;
  message: string;
}

/** written: whole, in the file; absent: no byte of it is in the file; maybe: part of it may be (it reads as damage). */
export type AppendResult = 'written' | 'absent' | 'maybe';

/** Bytes kept free beside the ledger (ledger.jsonl.reserve) so that, when the disk fills, the outcomes of the messages in flight can still be written. */
const RESERVE_BYTES = 16 * 1024;

export function describeFailure(file: string, err: NodeJS.ErrnoException, op: LedgerFailure['op']): LedgerFailure {
  const dir = `${path.dirname(shownLedger(file))}/`;
  const code = err.code ?? 'EIO';
  const resume = 'then run the same command to resume';
  const [problem, todo] =
    code === 'ENOSPC' || code === 'ESHORT'
      ? [`the disk holding ${dir} is full`, `free some space, ${resume}`]
      : code === 'EDQUOT'
        ? [`the disk quota for ${dir} is used up`, `free some space or raise the quota, ${resume}`]
        : code === 'EROFS'
          ? [`the disk holding ${dir} is read-only`, `make it writable, ${resume}`]
          : code === 'EIO'
            ? [`the disk holding ${dir} reported an input/output error (EIO)`, `check the disk (dmesg), ${resume}`]
            : [`${dir} could not be written (${code})`, `fix that, ${resume}`];
  return { code, op, problem, todo, message: err.message };
}

/**
 * An open ledger, appending. Open it only while holding the send lock: it sets aside
 * damaged lines (a torn last line) before the first record goes in.
 *
 * Every record is written whole or not at all: a short write is finished or, if the
 * disk refuses, cut off again (ftruncate) and the ledger marked failed. A failed
 * ledger lets no more bodies go: flushed() resolves false.
 */
export class Ledger {
  readonly file: string;
  /** Damage set aside when it was opened, one sentence each, for the user. */
  readonly warnings: string[] = [];
  /** Set at the first write or flush that failed: nothing more may be sent. */
  failure?: LedgerFailure;
  private fd: number;
  /** Bytes in the file, all whole records (unless `torn`). */
  private size = 0;
  /** A failed write left bytes that could not be cut off: the next record starts a new line. */
  private torn = false;
  private pending: ((ok: boolean) => void)[] = [];
  private scheduled = false;
  private syncing = false;
  private dirty = false;
  private readonly reserve: string;
  private reserved = false;

  /** `durable: false` skips every fdatasync: only for npm run bench, to show what durability costs. */
  constructor(
    file: string,
    private readonly options: { durable?: boolean } = {},
  ) {
    this.file = file;
    const dir = path.dirname(file);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const existed = existsSync(file);
    // 0600: the ledger lists recipients' addresses.
    this.fd = openSync(file, 'a', 0o600);
    if (!existed) syncDir(dir);
    this.reserve = `${file}.reserve`;
    try {
      const size = fstatSync(this.fd).size;
      this.size = size;
      if (size > 0 && readClean.get(path.resolve(file)) !== size) {
        const parsed = parseLedger(readFileSync(file));
        if (parsed.damage.length) this.heal(parsed);
      }
    } catch (err) {
      const f = describeFailure(file, err as NodeJS.ErrnoException, 'set aside');
      this.close();
      throw new NewsletterError('ESEND', `not sending: ${shownLedger(file)} has a damaged line that could not be set aside: ${f.problem}`, {
        hint: `Nothing was sent. To go on: ${f.todo}.`,
        cause: err,
      });
    }
    try {
      writeFileSync(this.reserve, Buffer.alloc(RESERVE_BYTES), { mode: 0o600 });
      this.reserved = true;
    } catch (err) {
      rmSync(this.reserve, { force: true });
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
        // Not even room for the outcomes of the messages in flight: start nothing.
        const f = describeFailure(file, e, 'write');
        this.close();
        throw new NewsletterError('ESEND', `not sending: ${f.problem} (less than ${RESERVE_BYTES / 1024} KB free beside ${shownLedger(file)})`, {
          hint: `Nothing was sent. ${f.todo.charAt(0).toUpperCase()}${f.todo.slice(1)}.`,
          cause: err,
        });
      }
    }
  }

  /** Move damaged pieces to <ledger>.damaged (appended, stamped), keep the whole records (and an unknown for a torn "about to send"). */
  private heal(parsed: Parsed): void {
    const aside = `${this.file}.damaged`;
    const stamp = now();
    appendFileSync(
      aside,
      parsed.damage
        .map(
          (d) =>
            `# ${stamp} set aside from ${path.basename(this.file)}, bytes ${d.start}-${d.start + Buffer.byteLength(d.text)}${d.last ? ' (its last line)' : ''}:\n${d.text}\n`,
        )
        .join(''),
      { mode: 0o600 },
    );
    const fd = openSync(aside, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (parsed.tornTailOnly) {
      // Only the last line: cut it off, and keep what it said about an address.
      ftruncateSync(this.fd, parsed.wholeBytes);
      this.size = parsed.wholeBytes;
      const extra = parsed.damage.flatMap(standIns);
      if (extra.length) {
        const text = Buffer.from(extra.map((r) => `${JSON.stringify(r)}\n`).join(''));
        writeAll(this.fd, text);
        this.size += text.length;
      }
      fdatasyncSync(this.fd);
    } else {
      // Damage in the middle: write the ledger again, whole records only, and put it in place atomically.
      const tmp = `${this.file}.healing`;
      const text = Buffer.from(
        parsed.items
          .flatMap((item) => ('r' in item ? [item.r] : standIns(item.d)))
          .map((r) => `${JSON.stringify(r)}\n`)
          .join(''),
      );
      writeFileSync(tmp, text, { mode: 0o600 });
      const tfd = openSync(tmp, 'r+');
      try {
        fsyncSync(tfd);
      } finally {
        closeSync(tfd);
      }
      renameSync(tmp, this.file);
      syncDir(path.dirname(this.file));
      closeSync(this.fd);
      this.fd = openSync(this.file, 'a', 0o600);
      this.size = text.length;
    }
    this.warnings.push(...describeDamage(this.file, parsed.damage, true));
  }

  /** Append one record, whole: it reaches the OS at once, the disk at the next flush. Never throws: a failure is in `failure`. */
  append(record: LedgerRecord): AppendResult {
    if (this.fd < 0) return 'absent';
    const buf = Buffer.from(`${this.torn ? '\n' : ''}${JSON.stringify(record)}\n`);
    let done = 0;
    for (;;) {
      try {
        while (done < buf.length) {
          const n = writeSync(this.fd, buf, done, buf.length - done);
          if (!(n > 0)) throw Object.assign(new Error(`a write to ${this.file} wrote ${done} of ${buf.length} bytes`), { code: 'ESHORT' });
          done += n;
        }
        break;
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        this.fail(e, 'write');
        // Cut off what went in of this record, so the file holds whole records only.
        if (done > 0) {
          try {
            ftruncateSync(this.fd, this.size);
            done = 0;
          } catch {
            this.torn = true;
            this.size += done;
            return 'maybe';
          }
        }
        // A full disk: give up the reserve so the outcomes of messages in flight can still be written.
        if ((e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'ESHORT') && this.reserved) {
          this.reserved = false;
          rmSync(this.reserve, { force: true });
          continue;
        }
        return 'absent';
      }
    }
    this.size += buf.length;
    this.torn = false;
    this.dirty = true;
    this.schedule();
    return 'written';
  }

  /** Resolves true once everything appended so far is on disk; false if the ledger has failed (then no body may go). Concurrent callers share one flush. */
  flushed(): Promise<boolean> {
    if (this.failure) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.schedule();
    });
  }

  private fail(err: NodeJS.ErrnoException, op: LedgerFailure['op']): void {
    this.failure ??= describeFailure(this.file, err, op);
  }

  private schedule(): void {
    if (this.scheduled || this.syncing) return;
    this.scheduled = true;
    // setImmediate: let the other connections' records of this turn join the same flush.
    setImmediate(() => {
      this.scheduled = false;
      const waiting = this.pending;
      this.pending = [];
      if (!this.dirty || this.fd < 0) {
        for (const resolve of waiting) resolve(!this.failure);
        return;
      }
      this.dirty = false;
      this.syncing = true;
      // Off the main thread: sending goes on while the disk catches up; records
      // appended meanwhile go in the next flush (group commit).
      (this.options.durable === false ? skipSync : fdatasync)(this.fd, (err) => {
        this.syncing = false;
        // After a failed fdatasync the kernel may have dropped the pages: a later success proves nothing.
        if (err) this.fail(err, 'fdatasync');
        for (const resolve of waiting) resolve(!this.failure);
        if (this.dirty || this.pending.length) this.schedule();
      });
    });
  }

  /** Flush and close. Never throws: a failed last flush goes in `failure` (it can only turn a "sent" into unknown). */
  close(): void {
    if (this.fd < 0) return;
    if (this.dirty) {
      try {
        fdatasyncSync(this.fd);
      } catch (err) {
        this.fail(err as NodeJS.ErrnoException, 'fdatasync');
      }
    }
    this.dirty = false;
    try {
      closeSync(this.fd);
    } catch {
      // nothing more to do
    }
    this.fd = -1;
    rmSync(this.reserve, { force: true });
    this.reserved = false;
    const waiting = this.pending;
    this.pending = [];
    for (const resolve of waiting) resolve(!this.failure);
  }
}

/** In place of fdatasync when the ledger is not durable (the bench's comparison). */
const skipSync = (_fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => setImmediate(callback, null);

function writeAll(fd: number, buf: Buffer): void {
  let done = 0;
  while (done < buf.length) {
    const n = writeSync(fd, buf, done, buf.length - done);
    if (!(n > 0)) throw Object.assign(new Error(`a write wrote ${done} of ${buf.length} bytes`), { code: 'ESHORT' });
    done += n;
  }
}

/** Make a new directory entry durable (best effort: not every file system can). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // not supported here
  }
}

export const now = () => new Date().toISOString();

/** How much of a ledger wasSentToList reads at a time. */
const WAS_SENT_CHUNK = 64 * 1024;

/**
 * Was the issue sent to the list? True once its ledger records a real send (a "start"
 * that was not a dry run) and the server accepted at least one message after it: the
 * issue is then in readers' inboxes, whether the send finished or was paused. Test sends
 * are not in the ledger (they go to test-sends.jsonl). Read-only: it never changes the
 * file, nor what a Ledger opened later knows of it; a missing or unreadable ledger is false.
 */
export function wasSentToList(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return false;
  }
  let started = false;
  let accepted = false;
  const visit = (item: Item) => {
    if (!('r' in item)) return;
    if (item.r.t === 'start' && !item.r.dryRun) started = true;
    else if (item.r.t === 'sent' && started) accepted = true;
  };
  // Read a chunk at a time and stop at the answer: a list's ledger holds a record per
  // recipient (18 MB for 100,000), and the first accepted message is near its start.
  // Whole lines only go to parseLedger, so each line parses as it would in one read.
  try {
    const chunk = Buffer.allocUnsafe(WAS_SENT_CHUNK);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      const data = n === 0 ? carry : Buffer.concat([carry, chunk.subarray(0, n)]);
      const cut = n === 0 ? data.length : data.lastIndexOf(0x0a) + 1;
      if (cut > 0) parseLedger(data.subarray(0, cut), visit);
      if (accepted || n === 0) return accepted;
      carry = Buffer.from(data.subarray(cut));
    }
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}
