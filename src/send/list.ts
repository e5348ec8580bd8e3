/**
 * The circulation list: a CSV export the comms team keeps outside git (lists/),
 * and the suppression file (unsubscribes) named by `suppressionFile` in the config.
 *
 * Personal data: nothing here prints or writes rows. Error messages name files,
 * line numbers and column headers, and quote at most one invalid address.
 *
 * Line numbers are physical lines of the file (1-based), and a row's line is the
 * line where the row STARTS, even when an earlier quoted field spans lines. They
 * are counted here, not taken from csv-parse's `info.lines`: that is the line where
 * the record ends, and it counts a CRLF inside a quoted field as two lines.
 *
 * The CSV reading shared with the suppression file is in csv-file.ts; the suppression
 * file itself in suppression.ts; the address rule in ../issue/email-address.ts.
 */
import { NewsletterError } from '../errors.js';
import { addressKey, parseAddress } from '../issue/email-address.js';
import { CONTROL_CHARS, hiddenCharacters } from '../issue/text-safety.js';
import { findColumns, openFile, parseRows, type Columns } from './csv-file.js';
import { readSuppressions } from './suppression.js';

export { addressKey, isValidAddress } from '../issue/email-address.js';
export { readSuppressions } from './suppression.js';

export interface Recipient {
  /** The address as written in the file, trimmed: what reports show. */
  email: string;
  /**
   * The address as it goes on the wire (SMTP envelope and To header): the domain in
   * punycode (`a@münchen.de` -> `a@xn--mnchen-3ya.de`). Set by readList only when it
   * differs from `email` (an IDN or upper-case domain); when absent, the sender derives
   * it from `email` (which, for a row of the list, is already the wire form).
   */
  wire?: string;
  /** From the name column when there is one and the cell is not empty; whitespace collapsed. */
  name?: string;
  /** 1-based line in the file where the row starts. */
  line: number;
}

/** A row with a missing or invalid address, or a name that cannot go in a To: header. */
export interface ListProblem {
  line: number;
  /** The email cell, trimmed ("" when empty). */
  value: string;
  /** Why the row is skipped, e.g. "no @", "spaces in the address", "empty", "a control character in the name". Never quotes the row. */
  reason: string;
}

/** A row that is sent, but holds something a person should look at. */
export interface ListWarning {
  line: number;
  /** What and why, naming characters by code point; never quotes the row. */
  reason: string;
}

export interface ListResult {
  /** The list file, as given. */
  file: string;
  /** Valid, de-duplicated, not suppressed, in file order. */
  recipients: Recipient[];
  /** Rows with a missing or invalid address, or a control character in the name: skipped. */
  invalid: ListProblem[];
  /** Repeats of an earlier row's address, by the rule's key (case-insensitive; an IDN domain and its punycode alike); the first occurrence wins. */
  duplicates: { line: number; email: string; firstLine: number }[];
  /** Removed because the address is in the suppression file. */
  suppressed: { line: number; email: string }[];
  /** Data rows read (header and blank lines excluded). Each is in exactly one of the four lists above. */
  rows: number;
  /**
   * Recipients (sent, not skipped: each is also in `recipients`) whose name holds direction
   * overrides or invisible characters, which can make a To: header read as something else.
   * Lines and reasons only.
   */
  warnings: ListWarning[];
}

/**
 * Whether every `joiner` (U+200C or U+200D) in `text` sits between two letters of a script
 * that joins (Arabic, Persian, the Indic scripts...), where it is part of the spelling.
 */
function joinsLetters(text: string, joiner: string): boolean {
  const letter = /^[\p{L}\p{M}]$/u;
  const latinLike = /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]/u;
  let found = false;
  for (let i = text.indexOf(joiner); i >= 0; i = text.indexOf(joiner, i + 1)) {
    found = true;
    const before = [...text.slice(0, i)].pop() ?? '';
    const after = [...text.slice(i + 1)][0] ?? '';
    if (!letter.test(before) || !letter.test(after) || latinLike.test(before + after)) return false;
  }
  return found;
}

/**
 * Why a recipient's name is worth a look (direction overrides, zero-width characters), or
 * undefined. Names code points, never the name.
 */
function nameWarning(name: string): string | undefined {
  const found = hiddenCharacters(name).filter((cp) => !(cp === 'U+200C' && joinsLetters(name, '\u200c')) && !(cp === 'U+200D' && joinsLetters(name, '\u200d')));
  if (!found.length) return undefined;
  return `the name holds invisible characters that change how it reads (${found.join(', ')}), which can make a To: line say something else: check the row in the list, and retype the name if they were not meant`;
}

// ---------------------------------------------------------------------------
// The list

/**
 * Fill in each duplicate's firstLine: the row with the same key that was kept, as a recipient
 * or as an unsubscribed row (every kept row has a key of its own). `keys` go with
 * `result.duplicates`, in order.
 */
function firstLines(result: ListResult, keys: string[]): void {
  const wanted = new Set(keys);
  const lineOf = new Map<string, number>();
  for (const rows of [result.recipients, result.suppressed]) {
    for (const row of rows) {
      const key = addressKey(row.email);
      if (wanted.has(key)) lineOf.set(key, row.line);
    }
  }
  result.duplicates.forEach((d, i) => {
    d.firstLine = lineOf.get(keys[i]!) ?? 0;
  });
}

/**
 * Read the circulation list at `file`. Invalid, duplicate and suppressed rows are
 * reported and left out; `shownAs` is how messages name the file.
 * Throws NewsletterError ELIST when the file (or the suppression file) is missing,
 * is not CSV, has no email column, or has no data rows.
 */
export async function readList(file: string, options: { suppressionFile?: string; shownAs?: string } = {}): Promise<ListResult> {
  const shown = options.shownAs ?? file;
  const handle = await openFile(file, shown, 'list');
  let suppressions: Set<string>;
  try {
    suppressions = options.suppressionFile === undefined ? new Set<string>() : await readSuppressions(options.suppressionFile);
  } catch (err) {
    await handle.close();
    throw err;
  }

  const result: ListResult = { file, recipients: [], invalid: [], duplicates: [], suppressed: [], warnings: [], rows: 0 };
  // The keys seen, for duplicates; which row a duplicate repeats is looked up after, in the
  // rare list that has one (a Map of 100,000 keys to lines held 3.7 MB more, at the send's peak).
  const seen = new Set<string>();
  const duplicateKeys: string[] = [];
  let columns: Columns | undefined;

  // The stream closes the file when it ends or fails. 16 KB reads: csv-parse copies each
  // chunk, and 64 KB ones (the default) lived on into V8's old generation as dead buffers
  // (7 MB for a 100,000-row list, at a send's peak).
  await parseRows(handle.createReadStream({ highWaterMark: 16 * 1024 }), shown, (fields, line) => {
    if (columns === undefined) {
      columns = findColumns(fields, shown, line);
      return;
    }
    result.rows++;
    const email = (fields[columns.email] ?? '').trim();
    const parsed = parseAddress(email);
    if (!parsed.ok) {
      result.invalid.push({ line, value: email, reason: parsed.reason });
      return;
    }
    const rawName = columns.name === undefined ? '' : (fields[columns.name] ?? '');
    // A control character (NUL, ESC...) has no place in a To: header: the row is skipped, not cleaned.
    if (CONTROL_CHARS.test(rawName)) {
      result.invalid.push({
        line,
        value: email,
        reason: 'a control character in the name (an invisible character such as NUL or ESC, from a bad export?): fix the name cell',
      });
      return;
    }
    const key = parsed.key;
    if (seen.has(key)) {
      result.duplicates.push({ line, email, firstLine: 0 });
      duplicateKeys.push(key);
      return;
    }
    seen.add(key);
    if (suppressions.has(key)) {
      result.suppressed.push({ line, email });
      return;
    }
    // A display name goes in the To: header: line breaks and runs of spaces become one space.
    const name = rawName.replace(/\s+/g, ' ').trim();
    const warning = nameWarning(rawName);
    if (warning !== undefined) result.warnings.push({ line, reason: warning });
    // Each shape made in one literal: a property added afterwards would give every recipient
    // a separate property store (about 40 bytes each, 4 MB for 100,000 recipients).
    const wire = parsed.wire === email ? undefined : parsed.wire;
    let recipient: Recipient;
    if (wire === undefined) recipient = name ? { email, line, name } : { email, line };
    else recipient = name ? { email, wire, line, name } : { email, wire, line };
    result.recipients.push(recipient);
  });

  if (duplicateKeys.length) firstLines(result, duplicateKeys);

  if (result.rows === 0) {
    throw new NewsletterError(
      'ELIST',
      `${shown}: no recipients: ${columns === undefined ? 'the file is empty' : 'the file has a header row and no data rows'}`,
      {
        hint: 'Export the circulation list again: a header row with an email column, then one row per recipient.',
      },
    );
  }
  return result;
}
