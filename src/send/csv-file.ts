/**
 * Reading a CSV file of addresses, shared by the circulation list (list.ts) and the
 * suppression file (suppression.ts): opening it with clear errors, streaming it through
 * csv-parse with correct line numbers, and finding the email and name columns.
 *
 * Personal data: errors name files, line numbers and column headers, never a row.
 *
 * Line numbers are physical lines of the file (1-based), and a row's line is the
 * line where the row STARTS, even when an earlier quoted field spans lines. They
 * are counted here, not taken from csv-parse's `info.lines`: that is the line where
 * the record ends, and it counts a CRLF inside a quoted field as two lines.
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { type Readable, pipeline } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import { NewsletterError } from '../errors.js';
import { codePoint } from '../issue/text-safety.js';

/** Accepted header names (compared trimmed, lower-cased, with `_` and runs of spaces as one space). */
export const EMAIL_HEADERS = ['email', 'e-mail', 'email address'];
export const NAME_HEADERS = ['name', 'full name'];

export const normaliseHeader = (h: string) =>
  h
    .replace(/^\uFEFF/, '')
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, ' ');

/** Text from a file (a column header, a file name) made safe to print: control, direction and zero-width characters as <U+XXXX>. */
export const printable = (text: string) =>
  text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g, (c) => `<${codePoint(c)}>`);

// ---------------------------------------------------------------------------
// Reading files

/** Open a file to read, turning a missing or unreadable file into NewsletterError ELIST. */
export async function openFile(file: string, shown: string, what: 'list' | 'suppression'): Promise<FileHandle> {
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
export function parseRows(source: Readable, shown: string, onRow: (fields: string[], line: number) => void): Promise<void> {
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

export interface Columns {
  email: number;
  name?: number;
}

/** Find the email (required) and name (optional) columns of a header row. */
export function findColumns(header: string[], shown: string, line: number): Columns {
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
