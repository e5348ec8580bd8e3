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
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { NewsletterError } from '../errors.js';
import { CONTROL_CHARS, codePoint, hiddenCharacters } from '../issue/text-safety.js';

export interface Recipient {
  /** The address as written in the file, trimmed. */
  email: string;
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
  /** Case-insensitive repeats of an earlier row's address (the first occurrence wins). */
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

/** Accepted header names (compared trimmed, lower-cased, with `_` and runs of spaces as one space). */
const EMAIL_HEADERS = ['email', 'e-mail', 'email address'];
const NAME_HEADERS = ['name', 'full name'];

const normaliseHeader = (h: string) =>
  h
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, ' ');

/** The de-duplication key: trimmed, lower-cased (the whole address). */
export function addressKey(email: string): string {
  return email.trim().toLowerCase();
}

/** A practical address check (not RFC 5322): one @, a local part and a dotted domain, no spaces. */
export function isValidAddress(email: string): boolean {
  return addressProblem(email) === undefined;
}

// Characters a local part may hold: RFC 5322 atext, dots, and non-ASCII letters and digits (SMTPUTF8).
const LOCAL_CHARS = /^[\p{L}\p{M}\p{N}!#$%&'*+/=?^_`{|}~.-]+$/u;
// A domain label: letters and digits (including IDN), hyphens inside.
const LABEL = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]*[\p{L}\p{M}\p{N}])?$/u;

const ASCII_ADDRESS = /^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*@[a-z\d](?:[a-z\d-]*[a-z\d])?(?:\.[a-z\d](?:[a-z\d-]*[a-z\d])?)+$/i;

/** Text from a file (a column header, a file name) made safe to print: control, direction and zero-width characters as <U+XXXX>. */
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, (c) => `<${codePoint(c)}>`);

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

/** Why `email` is not a usable address, or undefined when it is. */
function addressProblem(email: string): string | undefined {
  // Fast path for the usual ASCII address; anything else gets the checks below, which also say why.
  if (email.length <= 254 && ASCII_ADDRESS.test(email) && email.indexOf('@') <= 64) return undefined;
  if (email.trim() === '') return 'empty';
  if (CONTROL_CHARS.test(email)) return 'a control character in the address';
  if (/[<>]/.test(email)) return 'angle brackets: put only the address in the email column';
  if (email.includes(',')) return 'a comma in the address (one address per row)';
  if (/\s/.test(email)) return 'spaces in the address';
  if (/\p{C}/u.test(email)) return 'an invisible or control character in the address';
  if (/^mailto:/i.test(email)) return 'starts with "mailto:"';
  const at = email.split('@');
  if (at.length === 1) return 'no @';
  if (at.length > 2) return 'more than one @';
  const [local, domain] = at as [string, string];
  if (email.length > 254) return 'longer than 254 characters';
  if (local === '') return 'nothing before the @';
  if (domain === '') return 'nothing after the @';
  if (local.length > 64) return 'more than 64 characters before the @';
  if (email.includes('..')) return 'two dots in a row';
  if (local.startsWith('.') || local.endsWith('.')) return 'a dot at the start or end of the part before the @';
  if (!LOCAL_CHARS.test(local)) {
    const bad = [...local].find((c) => !LOCAL_CHARS.test(c));
    return `"${bad}" is not allowed before the @`;
  }
  if (!domain.includes('.')) return 'the domain has no dot';
  if (domain.startsWith('.') || domain.endsWith('.')) return 'the domain starts or ends with a dot';
  if (!domain.split('.').every((label) => LABEL.test(label))) return 'the domain has characters a domain cannot have';
  return undefined;
}

// ---------------------------------------------------------------------------
// Reading files

/** Open a file to read, turning a missing or unreadable file into NewsletterError ELIST. */
async function openFile(file: string, shown: string, what: 'list' | 'suppression'): Promise<FileHandle> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    return handle;
  } catch (err) {
    await handle?.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (what === 'suppression') {
        throw new NewsletterError(
          'ELIST',
          `${shown}: no such file: it is the suppression list (unsubscribed addresses) that \`suppressionFile\` in the config names`,
          {
            hint: 'Put the unsubscribe list at that path, or correct `suppressionFile` in newsletter.config.yaml. If nobody has unsubscribed yet, create an empty file there.',
            cause: err,
          },
        );
      }
      throw new NewsletterError('ELIST', `${shown}: no such file`, { hint: await missingListHint(file, shown), cause: err });
    }
    if (code === 'EISDIR') throw new NewsletterError('ELIST', `${shown}: is a folder, not a CSV file`, { cause: err });
    throw new NewsletterError(
      'ELIST',
      `${shown}: cannot read the ${what === 'list' ? 'circulation list' : 'suppression file'} (${code ?? (err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

/** Names the CSV files next to the missing one (file names only, never contents). */
async function missingListHint(file: string, shown: string): Promise<string> {
  const dir = path.dirname(shown);
  const csvs = (await readdir(path.dirname(file)).catch(() => [] as string[])).filter((f) => /\.csv$/i.test(f)).sort();
  const base = 'Check the path: the circulation list is a CSV export with an email column, kept outside git (e.g. in lists/).';
  if (csvs.length === 0) return base;
  const shownCsvs = (csvs.length > 10 ? [...csvs.slice(0, 10), `and ${csvs.length - 10} more`] : csvs).map(printable);
  return `${base} CSV files in ${dir}/: ${shownCsvs.join(', ')}.`;
}

// ---------------------------------------------------------------------------
// Parsing

/**
 * Stream CSV from `source` through csv-parse, calling `onRow` with each non-blank
 * record's fields and the line it starts on. Nothing is kept: memory stays at a
 * chunk or two whatever the file's size. Rejects with NewsletterError ELIST for
 * invalid CSV, or with what `onRow` threw.
 *
 * Lines: blank lines are NOT skipped by csv-parse (they arrive as [""] and are
 * dropped here), so every record ends at a line break and the next starts on the
 * following line; a record spans 1 + the line breaks inside its quoted fields.
 * (csv-parse's own `info` option costs about 2 s per million rows, and its `lines`
 * is where a record ends, with a CRLF inside quotes counted twice.)
 */
function parseRows(source: Readable, shown: string, onRow: (fields: string[], line: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let nextLine = 1;
    let failure: { err: unknown } | undefined;
    const parser = parse({
      bom: true,
      // Every line ending, so a file with mixed endings (an edited export) still splits at each
      // (by default csv-parse keeps the first ending it sees and folds the other lines into fields).
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      // Spaces around commas, as in a hand-edited file: `a@example.org, "Smith, Bob"` (never inside quotes).
      trim: true,
    });
    parser.on('data', (record: string[]) => {
      if (failure) return;
      const line = nextLine;
      let breaks = 0;
      let blank = true;
      for (const field of record) {
        if (blank && field.trim() !== '') blank = false;
        if (field.includes('\n') || field.includes('\r')) breaks += lineBreaks(field);
      }
      nextLine = line + breaks + 1;
      // A blank line, or a row of empty cells (",,," from a spreadsheet).
      if (blank) return;
      try {
        onRow(record, line);
      } catch (err) {
        failure = { err };
        parser.destroy(err as Error);
      }
    });
    pipeline(source, parser, (err) => {
      if (failure) return reject(failure.err);
      if (!err) return resolve();
      const code = (err as CsvError).code;
      if (typeof code !== 'string' || !(code.startsWith('CSV_') || code === 'INVALID_OPENING_QUOTE')) return reject(err);
      // Deliberately no `cause`: a CsvError carries the record being parsed (personal data).
      const message = csvProblem(code, nextLine);
      reject(
        new NewsletterError('ELIST', `${shown}:${nextLine}: not valid CSV: ${message}`, {
          problems: [{ where: `${shown}:${nextLine}`, message }],
          hint: 'Fix the row in the spreadsheet and export it as CSV again: a field with a comma, quote or line break must be in double quotes, with any quote inside it doubled ("").',
        }),
      );
    });
  });
}

/** Line breaks in a field: CRLF, LF or CR each count once. */
function lineBreaks(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13 && s.charCodeAt(i + 1) !== 10) n++;
  }
  return n;
}

/**
 * What a csv-parse error means, without quoting the data. The line is the start of
 * the row being read, counted here: csv-parse's own line is where it gave up (the end
 * of the file, for an unclosed quote), and it counts a CRLF inside quotes as two.
 */
function csvProblem(code: string, line: number): string {
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return `a quote opened in the row starting on line ${line} is never closed`;
    case 'CSV_INVALID_CLOSING_QUOTE':
      return `in the row starting on line ${line}, a quoted field has more text after its closing quote`;
    case 'INVALID_OPENING_QUOTE':
      return `in the row starting on line ${line}, a quote (") is inside a field that does not start with one`;
    case 'CSV_MAX_RECORD_SIZE':
      return `the row starting on line ${line} is too long (an unclosed quote?)`;
    default:
      return `csv-parse reports ${code} in the row starting on line ${line}`;
  }
}

interface Columns {
  email: number;
  name?: number;
}

/** Find the email (required) and name (optional) columns of a header row. */
function findColumns(header: string[], shown: string, line: number): Columns {
  const names = header.map(normaliseHeader);
  const emails = names.flatMap((n, i) => (EMAIL_HEADERS.includes(n) ? [i] : []));
  const name = names.findIndex((n) => NAME_HEADERS.includes(n));
  const accepted = `The address column must be headed ${EMAIL_HEADERS.map((h) => `"${h}"`).join(', ')} (any case); a "name" or "full name" column is optional; other columns are ignored.`;
  if (emails.length === 1) return { email: emails[0]!, ...(name >= 0 ? { name } : {}) };
  if (emails.length > 1) {
    throw new NewsletterError(
      'ELIST',
      `${shown}:${line}: more than one email column: ${emails.map((i) => `"${printable(header[i]!.trim())}" (column ${i + 1})`).join(', ')}`,
      {
        hint: 'Keep one address column in the export, or rename the others.',
      },
    );
  }
  // A first row holding an address is data, not a header: do not repeat it.
  if (header.some((h) => h.includes('@'))) {
    throw new NewsletterError('ELIST', `${shown}:${line}: no header row: the first row holds an address, not column names`, {
      hint: `Add a header row such as "email,name" as the first line. ${accepted}`,
    });
  }
  const found = header.map((h) => h.trim()).filter(Boolean);
  const listed =
    found.length === 0
      ? 'no column names'
      : `the columns ${found
          .slice(0, 20)
          .map((h) => `"${printable(h.length > 40 ? `${h.slice(0, 40)}…` : h)}"`)
          .join(', ')}${found.length > 20 ? ` and ${found.length - 20} more` : ''}`;
  const separator = header.length === 1 && /[;\t|]/.test(header[0]!) ? ' It looks separated by semicolons or tabs: export it as comma-separated CSV.' : '';
  throw new NewsletterError('ELIST', `${shown}:${line}: no email column: the header row has ${listed}`, { hint: `${accepted}${separator}` });
}

// ---------------------------------------------------------------------------
// The list

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
  const firstLine = new Map<string, number>();
  let columns: Columns | undefined;

  // The stream closes the file when it ends or fails.
  await parseRows(handle.createReadStream(), shown, (fields, line) => {
    if (columns === undefined) {
      columns = findColumns(fields, shown, line);
      return;
    }
    result.rows++;
    const email = (fields[columns.email] ?? '').trim();
    const problem = addressProblem(email);
    if (problem !== undefined) {
      result.invalid.push({ line, value: email, reason: problem });
      return;
    }
    const rawName = columns.name === undefined ? '' : (fields[columns.name] ?? '');
    // A control character (NUL, ESC...) has no place in a To: header: the row is skipped, not cleaned.
    if (CONTROL_CHARS.test(rawName)) {
      result.invalid.push({ line, value: email, reason: 'a control character in the name (an invisible character such as NUL or ESC, from a bad export?): fix the name cell' });
      return;
    }
    const key = addressKey(email);
    const first = firstLine.get(key);
    if (first !== undefined) {
      result.duplicates.push({ line, email, firstLine: first });
      return;
    }
    firstLine.set(key, line);
    if (suppressions.has(key)) {
      result.suppressed.push({ line, email });
      return;
    }
    // A display name goes in the To: header: line breaks and runs of spaces become one space.
    const name = rawName.replace(/\s+/g, ' ').trim();
    const warning = nameWarning(rawName);
    if (warning !== undefined) result.warnings.push({ line, reason: warning });
    result.recipients.push(name ? { email, name, line } : { email, line });
  });

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

// ---------------------------------------------------------------------------
// The suppression file

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
