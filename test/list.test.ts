/**
 * The circulation list and the suppression file: real files in temporary folders.
 * Addresses are example.org only.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NewsletterError } from '../src/errors.js';
import { addressKey, isValidAddress, readList, readSuppressions, type ListResult } from '../src/send/list.js';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'newsletter-list-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Write `text` to a new file in the temporary folder and return its path. */
async function file(text: string | Buffer, ext = 'csv'): Promise<string> {
  const f = path.join(dir, `f${++n}.${ext}`);
  await writeFile(f, text);
  return f;
}

/** Read `text` as a list. */
async function list(text: string, options?: { suppressionFile?: string }): Promise<ListResult> {
  return readList(await file(text), options);
}

/** The NewsletterError that `p` rejects with (fails the test if it resolves or throws something else). */
async function failure(p: Promise<unknown>): Promise<NewsletterError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NewsletterError);
  return err as NewsletterError;
}

/** Everything a user is shown for an error. */
const shown = (e: NewsletterError) => [e.message, e.hint ?? '', ...e.problems.map((p) => `${p.where ?? ''} ${p.message}`)].join('\n');

/** How many addresses `text` holds. */
const addressCount = (text: string) => (text.match(/[^\s"'(<,]+@[^\s"')>,]+/g) ?? []).length;

describe('readList: CSV format', () => {
  it('reads a UTF-8 file with a BOM and CRLF line endings, blank lines skipped', async () => {
    // The quoted first header would be "invalid opening quote" if the BOM were read as text.
    const r = await list('\uFEFF"name",email\r\nAda Lovelace,ada@example.org\r\n\r\nAlan Turing,alan@example.org\r\n\r\n');
    expect(r.recipients).toEqual([
      { email: 'ada@example.org', name: 'Ada Lovelace', line: 2 },
      { email: 'alan@example.org', name: 'Alan Turing', line: 4 },
    ]);
    expect(r.rows).toBe(2);
    expect(r.invalid).toEqual([]);
  });

  it('handles quoted fields with commas, doubled quotes and line breaks, keeping later line numbers right', async () => {
    const text = [
      'email,name,notes',
      'a@example.org,"Smith, Ann","said ""hello"""',
      'b@example.org,"Bob ""The Builder"" Jones","line one',
      'line two',
      'line three"',
      'c@example.org,Carol,plain',
      '"d@example.org","Dee","two\r\nCRLF lines"', // a CRLF inside quotes in an LF file
      'e@example.org,Eve,last',
    ].join('\n');
    const r = await list(text);
    expect(r.recipients).toEqual([
      { email: 'a@example.org', name: 'Smith, Ann', line: 2 },
      { email: 'b@example.org', name: 'Bob "The Builder" Jones', line: 3 },
      { email: 'c@example.org', name: 'Carol', line: 6 },
      { email: 'd@example.org', name: 'Dee', line: 7 },
      { email: 'e@example.org', name: 'Eve', line: 9 },
    ]);
  });

  it('counts lines right in a CRLF file whose quoted fields hold CRLF line breaks', async () => {
    // csv-parse 7's own line count is two per CRLF inside quotes: this is the case that catches it.
    const text = ['email,name', 'a@example.org,"Ann\r\nSmith"', 'b@example.org,"B\r\n\r\nJones"', '', 'c@example.org,Carol', ''].join('\r\n');
    const r = await list(text);
    expect(r.recipients.map((x) => [x.email, x.line])).toEqual([
      ['a@example.org', 2],
      ['b@example.org', 4],
      ['c@example.org', 8],
    ]);
    expect(r.recipients[0]!.name).toBe('Ann Smith'); // a display name: line breaks become spaces
  });

  it('splits at every line ending in a file with mixed endings', async () => {
    const r = await list('email\r\na@example.org\nb@example.org\rc@example.org\r\nd@example.org');
    expect(r.recipients.map((x) => [x.email, x.line])).toEqual([
      ['a@example.org', 2],
      ['b@example.org', 3],
      ['c@example.org', 4],
      ['d@example.org', 5],
    ]);
  });

  it('accepts spaces around commas, and trims addresses and names', async () => {
    const r = await list('email, name\n  a@example.org , "Smith, Ann"  \n b@example.org\t,  Bob  \n');
    expect(r.recipients).toEqual([
      { email: 'a@example.org', name: 'Smith, Ann', line: 2 },
      { email: 'b@example.org', name: 'Bob', line: 3 },
    ]);
  });

  it('tolerates rows with fewer or more cells than the header, and treats rows of empty cells as blank', async () => {
    const r = await list('name,email,org\nAnn,a@example.org\nBob,b@example.org,LIIA,extra,cells\n,,\nCarol,c@example.org,X\n');
    expect(r.recipients).toEqual([
      { email: 'a@example.org', name: 'Ann', line: 2 },
      { email: 'b@example.org', name: 'Bob', line: 3 },
      { email: 'c@example.org', name: 'Carol', line: 5 },
    ]);
    expect(r.rows).toBe(3);
  });
});

describe('readList: header', () => {
  it.each([
    ['Email', 'Name'],
    ['E-Mail', 'Full Name'],
    [' EMAIL ADDRESS ', 'full name'],
    ['email_address', 'NAME'],
  ])('finds the columns headed %j and %j among others', async (emailHeader, nameHeader) => {
    const r = await list(`Id,${nameHeader},Organisation,${emailHeader},Phone\n1,Ann,LIIA,a@example.org,0\n`);
    expect(r.recipients).toEqual([{ email: 'a@example.org', name: 'Ann', line: 2 }]);
  });

  it('reads a list without a name column (names left out)', async () => {
    const r = await list('Organisation,Email\nLIIA,a@example.org\n');
    expect(r.recipients).toEqual([{ email: 'a@example.org', line: 2 }]);
    expect('name' in r.recipients[0]!).toBe(false);
  });

  it('refuses a file without an email column, naming the columns found and the accepted names', async () => {
    const f = await file('Name,Mail,Organisation\nAnn,a@example.org,LIIA\n');
    const e = await failure(readList(f, { shownAs: 'lists/x.csv' }));
    expect(e.code).toBe('ELIST');
    expect(e.message).toContain('lists/x.csv:1');
    expect(e.message).toContain('no email column');
    expect(e.message).toContain('"Name", "Mail", "Organisation"');
    expect(e.hint).toContain('"email", "e-mail", "email address"');
    expect(addressCount(shown(e))).toBe(0);
  });

  it('does not repeat the first row when it is data rather than a header', async () => {
    const e = await failure(list('ann@example.org,Ann Smith\nbob@example.org,Bob\n'));
    expect(e.code).toBe('ELIST');
    expect(e.message).toContain('no header row');
    expect(shown(e)).not.toContain('ann@example.org');
    expect(shown(e)).not.toContain('Ann Smith');
  });

  it('suggests comma separation when the header is separated by semicolons', async () => {
    const e = await failure(list('email;name\na@example.org;Ann\n'));
    expect(e.code).toBe('ELIST');
    expect(e.hint).toMatch(/semicolons/);
  });

  it('refuses two email columns rather than guess', async () => {
    const e = await failure(list('Email,E-mail\na@example.org,b@example.org\n'));
    expect(e.code).toBe('ELIST');
    expect(e.message).toContain('more than one email column');
  });
});

describe('readList: rows', () => {
  it('keeps the first of addresses that differ only in case, and reports the others with both lines', async () => {
    const r = await list('email,name\nAnn@Example.org,Ann\nbob@example.org,Bob\nann@example.ORG,Ann again\n ANN@EXAMPLE.ORG ,Ann thrice\n');
    expect(r.recipients).toEqual([
      // On the wire the domain is lower-cased (the local part keeps its case).
      { email: 'Ann@Example.org', wire: 'Ann@example.org', name: 'Ann', line: 2 },
      { email: 'bob@example.org', name: 'Bob', line: 3 },
    ]);
    expect(r.duplicates).toEqual([
      { line: 4, email: 'ann@example.ORG', firstLine: 2 },
      { line: 5, email: 'ANN@EXAMPLE.ORG', firstLine: 2 },
    ]);
    expect(r.rows).toBe(4);
  });

  it('an IDN domain, its upper case and its punycode are one recipient, sent in punycode; the suppression file matches any of the three', async () => {
    const supp = await file('# unsubscribed\ngone@BÜRO.example.org\n', 'txt');
    const r = await list(
      'email,name\na@münchen.de,Anna\na@MÜNCHEN.de,Again\na@xn--mnchen-3ya.de,Punycode\ngone@xn--bro-hoa.example.org,Gone\nGONE@büro.example.org,Gone again\n',
      { suppressionFile: supp },
    );
    expect(r.recipients).toEqual([{ email: 'a@münchen.de', wire: 'a@xn--mnchen-3ya.de', name: 'Anna', line: 2 }]);
    expect(r.duplicates).toEqual([
      { line: 3, email: 'a@MÜNCHEN.de', firstLine: 2 },
      { line: 4, email: 'a@xn--mnchen-3ya.de', firstLine: 2 },
      { line: 6, email: 'GONE@büro.example.org', firstLine: 5 },
    ]);
    expect(r.suppressed).toEqual([{ line: 5, email: 'gone@xn--bro-hoa.example.org' }]);
    expect([...(await readSuppressions(supp))]).toEqual(['gone@xn--bro-hoa.example.org']);
  });

  it('refuses a UTF-8 local part, a bare host and a numeric top-level domain, each with its line and why', async () => {
    const r = await list('email\njörg@example.de\na@example\na@192.168.0.1\nok@example.org\n');
    expect(r.recipients.map((x) => x.email)).toEqual(['ok@example.org']);
    expect(r.invalid).toEqual([
      {
        line: 2,
        value: 'jörg@example.de',
        reason: expect.stringMatching(/the part before the @ has a non-ASCII letter \("ö"\).*ask the person for their ASCII address/),
      },
      { line: 3, value: 'a@example', reason: expect.stringMatching(/the domain has no dot/) },
      { line: 4, value: 'a@192.168.0.1', reason: expect.stringMatching(/ends in a number/) },
    ]);
  });

  it('reports invalid rows with their line and why, and skips them', async () => {
    const text = [
      'email,name',
      'good@example.org,Good', // 2
      ',No address', // 3
      'no-at-sign.example.org,X', // 4
      'two words@example.org,X', // 5
      'Ann <ann@example.org>,X', // 6
      '"a@example.org, b@example.org",X', // 7
      'x@@example.org,X', // 8
      'x@example,X', // 9
      'x..y@example.org,X', // 10
      '@example.org,X', // 11
      'also-good@example.org,Also', // 12
    ].join('\n');
    const r = await list(text);
    expect(r.recipients.map((x) => [x.email, x.line])).toEqual([
      ['good@example.org', 2],
      ['also-good@example.org', 12],
    ]);
    expect(r.invalid.map((p) => [p.line, p.value])).toEqual([
      [3, ''],
      [4, 'no-at-sign.example.org'],
      [5, 'two words@example.org'],
      [6, 'Ann <ann@example.org>'],
      [7, 'a@example.org, b@example.org'],
      [8, 'x@@example.org'],
      [9, 'x@example'],
      [10, 'x..y@example.org'],
      [11, '@example.org'],
    ]);
    const reason = (line: number) => r.invalid.find((p) => p.line === line)!.reason;
    expect(reason(3)).toBe('empty');
    expect(reason(4)).toBe('no @');
    expect(reason(5)).toBe('spaces in the address');
    expect(reason(6)).toMatch(/angle brackets/);
    expect(reason(9)).toMatch(/no dot/);
    expect(reason(10)).toMatch(/two dots/);
    expect(r.rows).toBe(11);
  });

  it('puts every data row in exactly one of recipients, invalid, duplicates and suppressed', async () => {
    const supp = await file('gone@example.org\n', 'txt');
    const r = await list('email\na@example.org\nbad\nA@example.org\ngone@example.org\nGONE@example.org\nb@example.org\n', { suppressionFile: supp });
    expect(r.recipients.map((x) => x.line)).toEqual([2, 7]);
    expect(r.invalid.map((x) => x.line)).toEqual([3]);
    // A later copy of a suppressed address is a duplicate of the first (still not sent).
    expect(r.duplicates).toEqual([
      { line: 4, email: 'A@example.org', firstLine: 2 },
      { line: 6, email: 'GONE@example.org', firstLine: 5 },
    ]);
    expect(r.suppressed).toEqual([{ line: 5, email: 'gone@example.org' }]);
    expect(r.rows).toBe(r.recipients.length + r.invalid.length + r.duplicates.length + r.suppressed.length);
  });

  it('reports the file as given', async () => {
    const f = await file('email\na@example.org\n');
    expect((await readList(f)).file).toBe(f);
  });
});

describe('readList: errors', () => {
  it('says which list file does not exist', async () => {
    const e = await failure(readList(path.join(dir, 'nope.csv'), { shownAs: 'lists/nope.csv' }));
    expect(e.code).toBe('ELIST');
    expect(e.message).toBe('lists/nope.csv: no such file');
    expect(e.hint).toBeTruthy();
  });

  it('refuses an unclosed quote, giving the line where its row starts and quoting no data', async () => {
    const f = await file('email,name\na@example.org,Ann\n\nb@example.org,"Bob\nc@example.org,Carol\nd@example.org,Dee\n');
    const e = await failure(readList(f, { shownAs: 'lists/x.csv' }));
    expect(e.code).toBe('ELIST');
    expect(e.message).toMatch(/^lists\/x\.csv:4: not valid CSV: .*line 4.* never closed/);
    expect(e.problems).toEqual([{ where: 'lists/x.csv:4', message: expect.stringContaining('never closed') }]);
    expect(addressCount(shown(e))).toBe(0);
    expect(e.cause).toBeUndefined(); // csv-parse's error holds the row
  });

  it('gives the right line for a CSV error far into a CRLF file with multi-line fields', async () => {
    const rows = ['email,name'];
    for (let i = 1; i <= 5000; i++) rows.push(`p${i}@example.org,"Person\r\n${i}"`); // lines 2..10001
    rows.push('bad@example.org,"Bad"x'); // line 10002: text after a closing quote
    rows.push('q@example.org,Q');
    const e = await failure(list(rows.join('\r\n')));
    expect(e.code).toBe('ELIST');
    expect(e.message).toMatch(/:10002: not valid CSV/);
    expect(e.message).toMatch(/closing quote/);
    expect(addressCount(shown(e))).toBe(0);
  });

  it('refuses a quote in the middle of an unquoted field, with its line', async () => {
    const e = await failure(list('email,name\na@example.org,Ann\nb@example.org,Dwayne "Rock" J\n'));
    expect(e.code).toBe('ELIST');
    expect(e.message).toMatch(/:3: not valid CSV/);
  });

  it('refuses an empty file: no recipients', async () => {
    const e = await failure(list(''));
    expect(e.code).toBe('ELIST');
    expect(e.message).toMatch(/no recipients/);
  });

  it('refuses a file with only a header (and blank lines): no recipients', async () => {
    const e = await failure(list('\uFEFFemail,name\r\n\r\n,\r\n'));
    expect(e.code).toBe('ELIST');
    expect(e.message).toMatch(/no recipients/);
    expect(e.message).toMatch(/header/);
  });

  it('says a folder is not a file', async () => {
    const e = await failure(readList(dir));
    expect(e.code).toBe('ELIST');
    expect(e.message).toMatch(/folder/);
  });
});

describe('suppression file', () => {
  const LIST = 'email,name\nann@example.org,Ann\nBOB@Example.org,Bob\ncarol@example.org,Carol\ndee@example.org,Dee\n';

  it('reads a CSV with an email column (lower-cased keys, other columns ignored)', async () => {
    const supp = await file('\uFEFFDate,Email Address,Reason\r\n2025-01-02,Bob@EXAMPLE.org,asked\r\n2025-02-03,"dee@example.org","moved, left"\r\n');
    expect([...(await readSuppressions(supp))].sort()).toEqual(['bob@example.org', 'dee@example.org']);
    const r = await list(LIST, { suppressionFile: supp });
    expect(r.recipients.map((x) => x.email)).toEqual(['ann@example.org', 'carol@example.org']);
    expect(r.suppressed).toEqual([
      { line: 3, email: 'BOB@Example.org' },
      { line: 5, email: 'dee@example.org' },
    ]);
  });

  it('reads a CSV whose first lines are comments (one holding a comma)', async () => {
    const supp = await file('# unsubscribes, kept by comms\nemail\n# carol@example.org asked, then changed her mind\nann@example.org\n');
    expect([...(await readSuppressions(supp))]).toEqual(['ann@example.org']);
  });

  it('reads a plain list, one address per line, with comments and blank lines (case-insensitive)', async () => {
    const supp = await file('# Unsubscribed, as of July\n\n  Carol@Example.ORG  \r\n# bob@example.org (resubscribed)\nAnn Smith <ANN@example.org>\n', 'txt');
    expect([...(await readSuppressions(supp))].sort()).toEqual(['ann@example.org', 'carol@example.org']);
    const r = await list(LIST, { suppressionFile: supp });
    expect(r.recipients.map((x) => x.email)).toEqual(['BOB@Example.org', 'dee@example.org']);
    expect(r.suppressed.map((x) => x.line)).toEqual([2, 4]);
  });

  it('reads a plain list headed "email" as a one-column CSV', async () => {
    const supp = await file('Email\ndee@example.org\n', 'txt');
    expect([...(await readSuppressions(supp))]).toEqual(['dee@example.org']);
  });

  it('reads an empty suppression file as nobody unsubscribed', async () => {
    const supp = await file('', 'txt');
    expect((await readSuppressions(supp)).size).toBe(0);
    expect((await list(LIST, { suppressionFile: supp })).recipients).toHaveLength(4);
  });

  it('says which suppression file is missing and that suppressionFile names it', async () => {
    const missing = path.join(dir, 'unsubscribed.csv');
    const e = await failure(list(LIST, { suppressionFile: missing }));
    expect(e.code).toBe('ELIST');
    expect(e.message).toContain(missing);
    expect(e.message).toContain('no such file');
    expect(e.message).toContain('suppressionFile');
  });

  it('refuses a plain-list line without an address rather than misread the format', async () => {
    const supp = await file('ann@example.org\nUnsubscribes from the event\n', 'txt');
    const e = await failure(readSuppressions(supp));
    expect(e.code).toBe('ELIST');
    expect(e.message).toContain(`${supp}:2`);
  });

  it('refuses a suppression CSV without an email column', async () => {
    const supp = await file('Address,Date\nann@example.org,2025-01-01\n');
    const e = await failure(readSuppressions(supp));
    expect(e.code).toBe('ELIST');
    expect(e.message).toContain('no email column');
  });
});

describe('addresses', () => {
  /** A well-formed address of `length` characters (246 or more). */
  const longAddress = (length: number) => `a@${['b', 'c', 'd', 'e'].map((c) => c.repeat(60)).join('.')}.${'f'.repeat(length - 246)}`;

  it.each(['a@example.org', 'first.last+tag@sub.example.org', "o'brien@example.org", 'x_y-z@ex-ample.org', 'a@exämple.org', 'a@münchen.de'])(
    'accepts %s',
    (a) => expect(isValidAddress(a)).toBe(true),
  );

  it.each([
    '',
    'example.org',
    'a@b@example.org',
    'a b@example.org',
    'a@exa mple.org',
    '<a@example.org>',
    'a@example.org,b@example.org',
    'a@example',
    'a..b@example.org',
    'a@example..org',
    '.a@example.org',
    'a.@example.org',
    'a@.example.org',
    'a@example.org.',
    'a@-example.org',
    '@example.org',
    'a@',
    'mailto:a@example.org',
    'a\u200b@example.org',
    'josé@example.org',
    'a@1.2.3.4',
    `${'a'.repeat(65)}@example.org`,
    longAddress(255),
  ])('rejects %j', (a) => expect(isValidAddress(a)).toBe(false));

  it('accepts an address of exactly 254 characters', () => {
    const a = longAddress(254);
    expect(a).toHaveLength(254);
    expect(isValidAddress(a)).toBe(true);
  });

  it('keys an address trimmed and lower-cased, whole', () => {
    expect(addressKey('  Ann.Smith@Example.ORG ')).toBe('ann.smith@example.org');
    expect(addressKey('Ann@example.org')).not.toBe(addressKey('Ann2@example.org'));
  });
});

describe('a large list', () => {
  it('reads 100,000 rows', async () => {
    const rows = ['Name,Email,Organisation'];
    rows.push('"Multi\nLine",multi@example.org,X'); // lines 2-3: every later line is one further on
    for (let i = 1; i <= 100_000; i++) rows.push(`"Person ${i}, Jr",person${i}@example.org,Borough ${i % 33}`);
    const r = await list(`${rows.join('\r\n')}\r\n`);
    expect(r.rows).toBe(100_001);
    expect(r.recipients).toHaveLength(100_001);
    expect(r.invalid).toEqual([]);
    expect(r.duplicates).toEqual([]);
    expect(r.recipients[0]).toEqual({ email: 'multi@example.org', name: 'Multi Line', line: 2 });
    expect(r.recipients[1]).toEqual({ email: 'person1@example.org', name: 'Person 1, Jr', line: 4 });
    expect(r.recipients.at(-1)).toEqual({ email: 'person100000@example.org', name: 'Person 100000, Jr', line: 100_003 });
  });
});
