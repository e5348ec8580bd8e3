/**
 * The suppression file (unsubscribed addresses) named by `suppressionFile` in the config:
 * a CSV with an email column, or one address per line. Entries are matched by the address
 * rule's key (src/issue/email-address.ts), so `a@MÜNCHEN.de` suppresses `a@xn--mnchen-3ya.de`.
 */
import { Readable } from 'node:stream';
import { NewsletterError } from '../errors.js';
import { addressKey } from '../issue/email-address.js';
import { EMAIL_HEADERS, findColumns, normaliseHeader, openFile, parseRows } from './csv-file.js';

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
