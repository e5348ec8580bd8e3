/**
 * The send's progress: one line, redrawn in place on a terminal (cut to its width, so
 * it never wraps: a wrapped line leaves a copy behind at every \r redraw), or a plain
 * line every 5 seconds when stderr is a file or a pipe.
 */
import type { Progress } from '../send/sender.js';
import type { Io } from './io.js';

/** The columns `text` takes on a terminal: 2 for East Asian wide and fullwidth characters, 0 for combining marks. */
export function textWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (/\p{Mn}|\p{Me}|\p{Cf}/u.test(ch)) continue;
    width +=
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x1f300 && c <= 0x1faff) ||
      (c >= 0x20000 && c <= 0x3fffd)
        ? 2
        : 1;
  }
  return width;
}

/** `text` cut to at most `columns` columns, ending with "…" when cut. */
export function fitLine(text: string, columns: number): string {
  if (textWidth(text) <= columns) return text;
  if (columns <= 0) return '';
  let out = '';
  let width = 0;
  for (const ch of text) {
    const w = textWidth(ch);
    if (width + w > columns - 1) break;
    out += ch;
    width += w;
  }
  return `${out}…`;
}

/** One line of progress: sent, failed, remaining, rate, time left; fitted to `columns` when given (the bar goes first). */
export function progressLine(p: Progress, columns?: number): string {
  const left = p.rate > 0 ? Math.round(p.remaining / p.rate) : 0;
  const done = p.total ? Math.round(((p.total - p.remaining) / p.total) * 100) : 100;
  const bar = `[${'#'.repeat(Math.round(done / 5)).padEnd(20, '.')}] `;
  const figures = `${done}%  sent ${p.sent}  failed ${p.failed}${p.unknown ? `  unknown ${p.unknown}` : ''}  remaining ${p.remaining}  ${p.rate.toFixed(1)}/s${left ? `  ~${left}s left` : ''}`;
  if (columns === undefined || textWidth(bar + figures) <= columns) return bar + figures;
  return fitLine(figures, columns);
}

/**
 * The send's onProgress. On a terminal the line is redrawn with \r and cut to one column less
 * than the width (writing the last column makes some terminals wrap); 80 when the width is unknown.
 */
export function progressReporter(io: Io, json: boolean): (p: Progress) => void {
  if (json) return () => {};
  let lastPlain = 0;
  return (p) => {
    if (io.tty) {
      const columns = io.columns?.() || 80;
      io.err(`\r${progressLine(p, Math.max(1, columns - 1))}\x1b[K`);
    } else if (p.remaining === 0 || p.elapsedMs - lastPlain >= 5000) {
      lastPlain = p.elapsedMs;
      io.err(`${progressLine(p)}\n`);
    }
  };
}
