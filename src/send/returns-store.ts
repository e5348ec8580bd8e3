/**
 * What `build-issue inbox` has read: sends/returns.jsonl (git-ignored: personal data), one
 * line a message, so reading the same mailbox again changes nothing, and `status` can count
 * what came back from each send. Apart from inbox.ts (and its IMAP and MIME libraries), so a
 * send's status reads it without loading them.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ReturnKind } from './returns.js';

/** The record of one message read, in sends/returns.jsonl. */
export interface ReturnRecord {
  id: string;
  kind: ReturnKind;
  addresses: string[];
  issue?: string;
  status?: string;
  at: string;
}

export const returnsFile = (root: string) => path.join(root, 'sends', 'returns.jsonl');

/** The records of earlier runs; a torn last line (a crash) is ignored, its message is read again. */
export function readReturns(root: string): ReturnRecord[] {
  const file = returnsFile(root);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        return l ? [JSON.parse(l) as ReturnRecord] : [];
      } catch {
        return [];
      }
    });
}

export function appendReturns(root: string, records: ReturnRecord[]): void {
  if (!records.length) return;
  const file = returnsFile(root);
  mkdirSync(path.dirname(file), { recursive: true });
  appendFileSync(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''), { mode: 0o600 });
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
