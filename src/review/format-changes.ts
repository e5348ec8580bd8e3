/**
 * A VersionDiff for people: the test copy's panel (HTML that Outlook shows too: a table,
 * inline styles, <ins> and <del> with their colours and lines written out), its
 * plain-text form ([+inserted+] [-deleted-]), and the lines `build-issue diff` prints.
 */
import { londonWallClock } from '../issue/london-time.js';
import type { VersionDiff } from './compare-versions.js';
import type { WordOp } from './diff-words.js';

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
// As Node's ICU writes them in en-GB (September is "Sept").
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sept', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');
const londonDay = (ms: number) => {
  const w = londonWallClock(ms);
  return `${w.year}-${w.month}-${w.day}`;
};

/**
 * "Mon 14 Jul 2025, 09:30 (London time)": when a test send was made, as the editors in London read it.
 * By the UK rule (issue/london-time.ts), not Intl: an Intl.DateTimeFormat for Europe/London
 * brings ICU's time-zone and calendar data into memory (8 MB of a send's peak), and its
 * en-GB text is what this writes (test/review-diff.test.ts compares the two).
 */
export function londonTime(iso: string): string {
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return iso;
  const w = londonWallClock(ms);
  const weekday = WEEKDAYS[new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay()];
  return `${weekday} ${w.day} ${MONTHS[w.month - 1]} ${w.year}, ${two(w.hour)}:${two(w.minute)} (London time)`;
}

/**
 * A time soon, for a person waiting on it: "10:14 today", "10:14 tomorrow", or the date in full
 * beyond that (London time, as everything the tool shows).
 */
export function londonWhen(iso: string, nowMs = Date.now()): string {
  const ms = new Date(iso).getTime();
  if (Number.isNaN(ms)) return iso;
  const w = londonWallClock(ms);
  const hm = `${two(w.hour)}:${two(w.minute)}`;
  if (londonDay(ms) === londonDay(nowMs)) return `${hm} today`;
  if (londonDay(ms) === londonDay(nowMs + 86_400_000)) return `${hm} tomorrow`;
  return londonTime(iso);
}

/** What the comparison is against, as a phrase: "since the test send of Mon 14 Jul 2025, 09:30 (London time)", "from june-2025". */
export interface Against {
  label: string;
}

const list = (xs: string[]) => xs.map((x) => `"${x}"`).join(', ');

/** The summary line(s), the same in every form: what was added, removed and changed, by heading. */
export function summaryLines(diff: VersionDiff, against: Against): string[] {
  if (diff.same)
    return [
      diff.identical
        ? `No changes ${against.label}.`
        : `No changes to the words ${against.label}; the layout or settings changed (templates or newsletter.config.yaml).`,
    ];
  const lines = [`Changed ${against.label}:`];
  if (diff.added.length) lines.push(`added: ${list(diff.added.map((s) => s.heading))}`);
  if (diff.removed.length) lines.push(`removed: ${list(diff.removed.map((s) => s.heading))}`);
  if (diff.changed.length) lines.push(`changed: ${list(diff.changed.map((c) => c.heading))}`);
  return lines;
}

/** The changed words as text: [+inserted+] and [-deleted-], unchanged words as they are, "..." where some were left out. */
export function hunksText(hunks: readonly (WordOp | null)[]): string {
  return hunks
    .map((h) => (h === null ? '...' : h.op === 'ins' ? `[+${h.words.join(' ')}+]` : h.op === 'del' ? `[-${h.words.join(' ')}-]` : h.words.join(' ')))
    .join(' ');
}

/** The diff as plain text: the summary, then each changed section's words. For the test copy's text part and the CLI. */
export function changesText(diff: VersionDiff, against: Against): string {
  const [first, ...rest] = summaryLines(diff, against);
  const lines = [first!, ...rest.map((l) => `  ${l}`)];
  for (const c of diff.changed) {
    lines.push('', `${c.heading}${c.was ? ` (was "${c.was}")` : ''}:`);
    lines.push(c.hunks.length ? `  ${hunksText(c.hunks)}` : '  (the same words; a link or picture changed)');
  }
  return `${lines.join('\n')}\n`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Inline styles: Outlook (Word) ignores classes in a forwarded copy and most <style>; these survive. */
const STYLE = {
  box: 'padding:12px 16px;background-color:#fff8db;border:2px solid #c99a00;font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5;color:#1f1f1f;text-align:left',
  title: 'margin:0 0 6px;font-weight:bold;font-size:15px;color:#1f1f1f',
  line: 'margin:0 0 4px;color:#1f1f1f',
  section: 'margin:10px 0 2px;font-weight:bold;color:#1f1f1f',
  words: 'margin:0 0 4px;color:#1f1f1f',
  ins: 'background-color:#c8f0c8;color:#0a3d0a;text-decoration:underline',
  del: 'background-color:#f8d0d0;color:#6b0000;text-decoration:line-through',
} as const;

/** The changed words as HTML: <ins> and <del>, each with its colours and line inline. */
export function hunksHtml(hunks: readonly (WordOp | null)[]): string {
  return hunks
    .map((h) => {
      if (h === null) return '&hellip;';
      const text = escapeHtml(h.words.join(' '));
      return h.op === 'ins' ? `<ins style="${STYLE.ins}">${text}</ins>` : h.op === 'del' ? `<del style="${STYLE.del}">${text}</del>` : text;
    })
    .join(' ');
}

/** The diff as an HTML block: a one-cell table (Outlook keeps a table's background and border), everything styled inline. */
export function changesHtml(diff: VersionDiff, against: Against): string {
  const [first, ...rest] = summaryLines(diff, against);
  const parts = [`<p style="${STYLE.title}">${escapeHtml(first!)}</p>`, ...rest.map((l) => `<p style="${STYLE.line}">${escapeHtml(l)}</p>`)];
  for (const c of diff.changed) {
    parts.push(`<p style="${STYLE.section}">${escapeHtml(c.heading)}${c.was ? ` (was &ldquo;${escapeHtml(c.was)}&rdquo;)` : ''}</p>`);
    parts.push(`<p style="${STYLE.words}">${c.hunks.length ? hunksHtml(c.hunks) : 'The same words; a link or picture changed.'}</p>`);
  }
  return `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;margin:0 0 8px"><tr><td class="test-changes" style="${STYLE.box}">${parts.join('')}</td></tr></table>`;
}
