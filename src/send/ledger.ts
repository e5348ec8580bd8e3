/**
 * The send ledger: sends/<slug>/ledger.jsonl, one JSON record per line, appended
 * as things happen, never rewritten. It is what makes a send resumable exactly once.
 *
 * Per recipient:
 *   {"t":"data","email":...}   the server said 354 and the message body is about to
 *                              go: written and flushed to disk BEFORE the first byte
 *                              of the body, so after any crash we know which messages
 *                              may have reached the server;
 *   {"t":"sent",...}           the server accepted it (its reply, queue id);
 *   {"t":"failed",...}         it refused it (code, reply; temporary or permanent).
 * A "data" without an outcome is "unknown": the connection died between the body
 * and the reply. It is reported by address and not sent again unless asked.
 * An address with no record was never offered to the server, so it is safe to send.
 *
 * Durability: "data" records are flushed with fdatasync before the body is sent;
 * concurrent connections share one flush (group commit). Outcomes are flushed in
 * the same batches; losing one in a power cut only turns a "sent" into "unknown".
 */
import { closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { addressKey } from './list.js';

export type LedgerRecord =
  | { t: 'start'; at: string; hash: string; subject: string; recipients: number; pid: number; skipTestGate?: boolean; dryRun?: boolean }
  | { t: 'data'; email: string; at: string }
  | { t: 'sent'; email: string; at: string; response: string; queueId?: string }
  | { t: 'failed'; email: string; at: string; code?: number; response: string; temporary: boolean }
  | { t: 'retry'; email: string; at: string; code?: number; response: string; attempt: number }
  | { t: 'paused'; at: string; reason: string }
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
}

/** Read a ledger file; a torn last line (power cut mid-write) is ignored. */
export function readLedger(file: string): LedgerSummary {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const recipients = new Map<string, RecipientState & { email: string }>();
  const starts: Extract<LedgerRecord, { t: 'start' }>[] = [];
  let last: LedgerRecord | undefined;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let r: LedgerRecord;
    try {
      r = JSON.parse(line) as LedgerRecord;
    } catch {
      continue;
    }
    last = r;
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
        // The server refused it with a 4xx (after the body, if any): not delivered, to be sent again.
        recipients.delete(addressKey(r.email));
        break;
      default:
        break;
    }
  }
  return { recipients, starts, last };
}

/** An open ledger, appending. */
export class Ledger {
  readonly file: string;
  private fd: number;
  private pending: (() => void)[] = [];
  private scheduled = false;
  private syncing = false;
  private dirty = false;

  constructor(file: string) {
    this.file = file;
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // 0600: the ledger lists recipients' addresses.
    this.fd = openSync(file, 'a', 0o600);
  }

  /** Append a record now (it reaches the OS at once; disk at the next flush). */
  append(record: LedgerRecord): void {
    writeSync(this.fd, JSON.stringify(record) + '\n');
    this.dirty = true;
    this.schedule();
  }

  /** Resolves once everything appended so far is on disk. Concurrent callers share one flush. */
  flushed(): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push(resolve);
      this.schedule();
    });
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
        for (const resolve of waiting) resolve();
        return;
      }
      this.dirty = false;
      this.syncing = true;
      // Off the main thread: sending goes on while the disk catches up; records
      // appended meanwhile go in the next flush (group commit).
      fdatasync(this.fd, (err) => {
        this.syncing = false;
        if (err && this.fd >= 0) throw err;
        for (const resolve of waiting) resolve();
        if (this.dirty || this.pending.length) this.schedule();
      });
    });
  }

  close(): void {
    if (this.fd < 0) return;
    if (this.dirty) fdatasyncSync(this.fd);
    this.dirty = false;
    closeSync(this.fd);
    this.fd = -1;
    const waiting = this.pending;
    this.pending = [];
    for (const resolve of waiting) resolve();
  }
}

export const now = () => new Date().toISOString();
