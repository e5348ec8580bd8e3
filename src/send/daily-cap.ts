/**
 * The mailbox's daily cap (config send.perDay, or the provider's: Microsoft 365 10,000
 * recipients, Google Workspace 2,000), counted over a rolling 24 hours as both providers do,
 * from what this project has sent: every issue's ledger (sends/<slug>/ledger.jsonl, its "sent"
 * records) and test sends (sends/<slug>/test-sends.jsonl). A send takes what the window has
 * room for, and says when the rest may go: as the oldest sends of the window leave it.
 *
 * Mail the mailbox sends otherwise (people using it, another tool) is not counted: set perDay
 * lower to leave room for it. The provider's own "over quota" reply stops a send too (sender.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { TEST_SENDS_FILE } from '../review/test-send-store.js';
import { CAP_WINDOW_MS } from './providers.js';

export interface DailyCap {
  perDay: number;
  /** Times (epoch ms, oldest first) of the recipients sent in the window ending now. */
  times: number[];
  /** How many more may go now. */
  left: number;
  now: number;
}

/** Epoch ms of every recipient sent in the `window` before `now`, from all the sends in `sendsRoot` (sends/). */
export function sentInWindow(sendsRoot: string, now: number, window = CAP_WINDOW_MS): number[] {
  const since = now - window;
  const times: number[] = [];
  let slugs: string[];
  try {
    slugs = readdirSync(sendsRoot);
  } catch {
    return times;
  }
  const read = (file: string): string => {
    try {
      // A ledger untouched for a whole window has nothing in it: skip reading it.
      if (statSync(file).mtimeMs < since) return '';
      return readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const at = (text: unknown) => (typeof text === 'string' ? Date.parse(text) : Number.NaN);
  for (const slug of slugs) {
    const dir = path.join(sendsRoot, slug);
    for (const line of read(path.join(dir, 'ledger.jsonl')).split('\n')) {
      // Only "sent" records count; the cheap test first (most lines of a big ledger are "data" ones).
      if (!line.includes('"t":"sent"')) continue;
      try {
        const r = JSON.parse(line) as { t?: unknown; at?: unknown };
        const t = at(r.at);
        if (r.t === 'sent' && t > since && t <= now) times.push(t);
      } catch {
        // A damaged line: the ledger reports it when it is read for a send.
      }
    }
    for (const line of read(path.join(dir, TEST_SENDS_FILE)).split('\n')) {
      if (!line.trim()) continue;
      try {
        const r = JSON.parse(line) as { at?: unknown; to?: unknown };
        const t = at(r.at);
        if (t > since && t <= now && Array.isArray(r.to)) for (let i = 0; i < r.to.length; i++) times.push(t);
      } catch {
        // As above.
      }
    }
  }
  return times.sort((a, b) => a - b);
}

/** Where the cap stands now: how many more may go. */
export function dailyCap(sendsRoot: string, perDay: number, now = Date.now()): DailyCap {
  const times = sentInWindow(sendsRoot, now);
  return { perDay, times, left: Math.max(0, perDay - times.length), now };
}

/**
 * When `k` more recipients may go (epoch ms): now if there is room, else when enough of the
 * window's oldest sends have left it. For k beyond the cap itself, when a full day's worth may.
 */
export function whenRoomFor(cap: DailyCap, k: number, window = CAP_WINDOW_MS): number {
  const need = Math.min(k, cap.perDay);
  const i = cap.times.length + need - cap.perDay - 1;
  if (i < 0) return cap.now;
  return cap.times[i]! + window;
}
