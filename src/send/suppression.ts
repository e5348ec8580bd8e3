/**
 * The suppression file (unsubscribed addresses) named by `suppressionFile` in the config:
 * a CSV with an email column, or one address per line. Entries are matched by the address
 * rule's key (src/issue/email-address.ts), so `a@MÜNCHEN.de` suppresses `a@xn--mnchen-3ya.de`.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { NewsletterError } from '../errors.js';
import { addressKey } from '../issue/email-address.js';
import { EMAIL_HEADERS, findColumns, normaliseHeader, openFile, parseRows } from './csv-file.js';
import { takeLock } from './lock.js';

/**
 * Read the suppression file (unsubscribed addresses): a CSV with an email column,
 * or one address per line. Lines starting with # are comments in both.
 * Returns address keys (lower-cased). Throws NewsletterError ELIST when the file is
 * missing, has no email column, or a plain-list line holds no address.
 */
export async function readSuppressions(file: string): Promise<Set<string>> {
  const handle = await openFile(file, file, 'suppression');
  let text: string;
  try {
    text = (await handle.readFile('utf8')).replace(/^\uFEFF/, '');
  } finally {
    await handle.close();
  }
  const keys = new Set<string>();
  const lines = text.split(/\r\n|\n|\r/);
  const isComment = (l: string) => l.trimStart().startsWith('#');
  const first = lines.find((l) => l.trim() !== '' && !isComment(l));
  if (first === undefined) return keys;

  if (first.includes(',') || EMAIL_HEADERS.includes(normaliseHeader(first))) {
    // Comment lines become blank lines (which the parser skips), so line numbers stay right.
    const uncommented = lines.map((l) => (isComment(l) ? '' : l)).join('\n');
    let column: number | undefined;
    await parseRows(Readable.from([uncommented]), file, (fields, line) => {
      if (column === undefined) {
        column = findColumns(fields, file, line).email;
        return;
      }
      for (const a of addressesIn(fields[column] ?? '')) keys.add(a);
    });
    return keys;
  }

  lines.forEach((raw, i) => {
    const l = raw.trim();
    if (l === '' || isComment(l)) return;
    const found = addressesIn(l);
    if (found.length === 0) {
      // Better to stop than to miss unsubscribes because the format was misread.
      throw new NewsletterError('ELIST', `${file}:${i + 1}: no address on this line of the suppression file`, {
        hint: 'The suppression file is either a comma-separated CSV with an email column, or one address per line. Start comment lines with #.',
      });
    }
    for (const a of found) keys.add(a);
  });
  return keys;
}

/** Address keys in a suppression entry: each word with an @, without <>, quotes or mailto:. */
function addressesIn(value: string): string[] {
  if (!value.includes('@')) return [];
  return value
    .split(/[\s,;]+/)
    .map((w) => w.replace(/^["'<(]+|[>)"'.]+$/g, '').replace(/^mailto:/i, ''))
    .filter((w) => w.includes('@'))
    .map(addressKey);
}

/** One line of the suppression file: who, why, when (ISO date), and from what (a message id, "one-click", a send). */
export interface SuppressionEntry {
  email: string;
  reason: string;
  date: string;
  source: string;
}

/** The file's columns when the tool writes it: people can read it, and any CSV tool can. */
export const SUPPRESSION_COLUMNS = ['email', 'reason', 'date', 'source'] as const;

const csvField = (v: string) => (/[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The entries a suppression file holds (comments kept apart), whichever of its two forms it has; none for a missing file. */
async function readEntries(file: string): Promise<{ comments: string[]; entries: SuppressionEntry[] }> {
  let text: string;
  try {
    text = (await readFile(file, 'utf8')).replace(/^\uFEFF/, '');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { comments: [], entries: [] };
    throw err;
  }
  const lines = text.split(/\r\n|\n|\r/);
  const isComment = (l: string) => l.trimStart().startsWith('#');
  const comments = lines.filter(isComment);
  const entries: SuppressionEntry[] = [];
  const first = lines.find((l) => l.trim() !== '' && !isComment(l));
  if (first === undefined) return { comments, entries };
  if (first.includes(',') || EMAIL_HEADERS.includes(normaliseHeader(first))) {
    const uncommented = lines.map((l) => (isComment(l) ? '' : l)).join('\n');
    let cols: { email: number; reason: number; date: number; source: number } | undefined;
    await parseRows(Readable.from([uncommented]), file, (fields, line) => {
      if (!cols) {
        const names = fields.map(normaliseHeader);
        cols = { email: findColumns(fields, file, line).email, reason: names.indexOf('reason'), date: names.indexOf('date'), source: names.indexOf('source') };
        return;
      }
      const c = cols;
      const at = (i: number) => (i >= 0 ? (fields[i] ?? '') : '');
      for (const email of addressesIn(at(c.email))) entries.push({ email, reason: at(c.reason), date: at(c.date), source: at(c.source) });
    });
  } else {
    for (const l of lines) if (!isComment(l)) for (const email of addressesIn(l)) entries.push({ email, reason: '', date: '', source: '' });
  }
  return { comments, entries };
}

/** Writes to one suppression file, one after another within this process. */
const writing = new Map<string, Promise<unknown>>();

/**
 * Add entries to the suppression file, durably: the whole file rewritten (CSV with
 * email, reason, date, source; sorted by address and one line an address, the first
 * entry for it kept), to a temporary file that is flushed and then renamed over the old
 * one, the folder flushed too. A crash (kill -9, power) at any point leaves the old file or
 * the new one, never a torn one. Comment lines are kept, at the top.
 * Returns the addresses that were not in the file before.
 */
export function addSuppressions(file: string, add: readonly SuppressionEntry[]): Promise<string[]> {
  const run = async () => {
    const { comments, entries } = await readEntries(file);
    const byKey = new Map<string, SuppressionEntry>();
    for (const e of entries) if (!byKey.has(addressKey(e.email))) byKey.set(addressKey(e.email), e);
    const added: string[] = [];
    for (const e of add) {
      const key = addressKey(e.email);
      if (byKey.has(key)) continue;
      byKey.set(key, { ...e, email: key });
      added.push(key);
    }
    if (!added.length) return added;
    const rows = [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
    const text = [...comments, SUPPRESSION_COLUMNS.join(','), ...rows.map((e) => SUPPRESSION_COLUMNS.map((c) => csvField(e[c])).join(','))].join('\n');
    writeAtomically(file, `${text}\n`);
    return added;
  };
  // One writer at a time in this process (the queue), and across processes (the lock file):
  // the endpoint and `inbox` may both be writing.
  const locked = async () => {
    const release = await lockSuppressions(file);
    try {
      return await run();
    } finally {
      release();
    }
  };
  const next = (writing.get(file) ?? Promise.resolve()).then(locked, locked);
  writing.set(
    file,
    next.catch(() => {}),
  );
  return next;
}

/** Write `text` to `file` by a flushed temporary file renamed over it, then flush the folder. */
function writeAtomically(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const dir = openSync(path.dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** How long a write waits for another process's write to the suppression file (each takes milliseconds). */
const LOCK_WAIT_MS = 30_000;

/** The suppression file's lock (.<name>.lock beside it), waited for while another live process holds it. */
async function lockSuppressions(file: string): Promise<() => void> {
  const dir = path.dirname(file);
  const name = `.${path.basename(file)}.lock`;
  const until = Date.now() + LOCK_WAIT_MS;
  for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
    try {
      return takeLock(dir, path.basename(file), name);
    } catch (err) {
      if (!(err instanceof NewsletterError) || err.code !== 'ESEND_REFUSED' || Date.now() > until)
        throw err instanceof NewsletterError && err.code === 'ESEND_REFUSED'
          ? new NewsletterError('ELIST', `${file}: another process has been writing it for ${LOCK_WAIT_MS / 1000} s`, {
              hint: `${err.message}. If no such process is running, delete ${path.join(dir, name)} and try again.`,
            })
          : err;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
