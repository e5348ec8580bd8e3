/**
 * Clean list rows: control characters never reach a To: header; direction overrides
 * and invisible characters in a recipient's name are reported. Addresses are
 * example.org only; the rows are personal data, so no report quotes them.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli } from './helpers.js';
import { startSink } from './smtp-sink.js';
import { NewsletterError } from '../src/errors.js';
import { readList, type ListResult } from '../src/send/list.js';

let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'newsletter-list-clean-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Read `text` as a list, from a new file in the temporary folder. */
async function list(text: string): Promise<ListResult> {
  const f = path.join(dir, `f${++n}.csv`);
  await writeFile(f, text);
  return readList(f);
}

/** The characters the list refuses: C0 controls but tab (and the line breaks a quoted cell may hold), DEL, C1 controls. */
const CONTROLS = ['\u0000', '\u0001', '\u0007', '\u0008', '\u000b', '\u000c', '\u001b', '\u001f', '\u007f', '\u0080', '\u0085', '\u009b', '\u009f'];
const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

describe('control characters in a row', () => {
  it.each(CONTROLS.map((c) => [hex(c), c]))(
    '%s in the name or in the address: the row is invalid, reported by line, the cell never quoted',
    async (_code, c) => {
      const r = await list(`email,name\na@example.org,Ann\nb@example.org,"Bo${c}b Jones"\n"c${c}@example.org",Carol\nd@example.org,Dee\n`);
      expect(r.recipients.map((x) => x.email)).toEqual(['a@example.org', 'd@example.org']);
      expect(r.invalid.map((p) => p.line)).toEqual([3, 4]);
      expect(r.invalid[0]!.reason).toMatch(/control character in the name/);
      // (An address with a control character was refused before this change too.)
      expect(r.invalid[1]!.reason).toMatch(/control character/);
      for (const p of r.invalid) expect(p.reason).not.toMatch(/Bo|Jones|Carol|example/);
      expect(r.rows).toBe(r.recipients.length + r.invalid.length + r.duplicates.length + r.suppressed.length);
    },
  );

  it('a NUL-only name cell is not an empty name: the row is invalid', async () => {
    const r = await list('email,name\na@example.org,\u0000\n');
    expect(r.recipients).toEqual([]);
    expect(r.invalid.map((p) => [p.line, p.reason])).toEqual([[2, expect.stringMatching(/control character in the name/)]]);
  });

  it('a tab, and line breaks inside a quoted name, are still allowed (they become spaces)', async () => {
    const r = await list('email,name\na@example.org,"Ann\tSmith"\nb@example.org,"Bob\r\nJones"\n');
    expect(r.recipients).toEqual([
      { email: 'a@example.org', name: 'Ann Smith', line: 2 },
      { email: 'b@example.org', name: 'Bob Jones', line: 3 },
    ]);
    expect(r.invalid).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('a row refused for its name does not count as the first of its address: a later clean row is sent', async () => {
    const r = await list('email,name\na@example.org,"A\u0000nn"\nA@example.org,Ann\n');
    expect(r.invalid.map((p) => p.line)).toEqual([2]);
    expect(r.recipients).toEqual([{ email: 'A@example.org', name: 'Ann', line: 3 }]);
    expect(r.duplicates).toEqual([]);
  });
});

describe('column headers in error messages', () => {
  it('a control or direction character in a header is shown as its code point, never printed', async () => {
    const f = path.join(dir, `f${++n}.csv`);
    await writeFile(f, 'Na\u001b[2Jme,Ma\u0000il,Org\u202eanisation\nAnn,a@example.org,LIIA\n');
    const e = await readList(f, { shownAs: 'lists/x.csv' }).then(
      () => undefined,
      (err: unknown) => err as NewsletterError,
    );
    expect(e).toBeInstanceOf(NewsletterError);
    expect(e!.code).toBe('ELIST');
    expect(e!.message).toContain('"Na<U+001B>[2Jme", "Ma<U+0000>il", "Org<U+202E>anisation"');
    expect(e!.message + (e!.hint ?? '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  });
});

describe('direction overrides and invisible characters in a name', () => {
  const SPOOF: [string, string][] = [
    ['U+202A', '\u202a'],
    ['U+202B', '\u202b'],
    ['U+202C', '\u202c'],
    ['U+202D', '\u202d'],
    ['U+202E', '\u202e'],
    ['U+2066', '\u2066'],
    ['U+2067', '\u2067'],
    ['U+2068', '\u2068'],
    ['U+2069', '\u2069'],
    ['U+200B', '\u200b'],
    ['U+200C', '\u200c'],
    ['U+200D', '\u200d'],
    ['U+2060', '\u2060'],
    ['U+FEFF', '\ufeff'],
  ];

  it.each(SPOOF)('%s in the name: a warning with the line and the character, the row still sent', async (code, c) => {
    const r = await list(`email,name\na@example.org,Ann\nb@example.org,"Bob ${c}Jones"\n`);
    expect(r.recipients.map((x) => x.email)).toEqual(['a@example.org', 'b@example.org']);
    expect(r.invalid).toEqual([]);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.line).toBe(3);
    expect(r.warnings[0]!.reason).toContain(code);
    expect(r.warnings[0]!.reason).not.toMatch(/Bob|Jones|b@example/);
  });

  it('names in other scripts, accents and emoji (joiners doing their ordinary work included) are not warned about', async () => {
    const r = await list(
      'email,name\na@example.org,Zoë Ó Briain\nb@example.org,محمد علي\nc@example.org,יעל כהן\nd@example.org,李小龍\ne@example.org,Ann 👩🏽‍💻\nf@example.org,فاطمه\u200cزهرا\ng@example.org,क्\u200dष\n',
    );
    expect(r.recipients).toHaveLength(7);
    expect(r.warnings).toEqual([]);
  });

  it('one warning per row, naming each kind of character once', async () => {
    const r = await list('email,name\na@example.org,"\u202eA\u202en\u200bn"\n');
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.reason).toContain('U+202E');
    expect(r.warnings[0]!.reason).toContain('U+200B');
    expect(r.warnings[0]!.reason.match(/U\+202E/g)).toHaveLength(1);
  });
});

describe('sending to a list with such rows', () => {
  it('the control-character row is skipped and no To: header holds a control character; --json reports lines and reasons only', async () => {
    const sink = await startSink();
    try {
      const project = await makeProject();
      const cfg = path.join(project, 'newsletter.config.yaml');
      await writeFile(cfg, `${await readFile(cfg, 'utf8')}\nsend:\n  rate: 1000\n`);
      await mkdir(path.join(project, 'lists'));
      await writeFile(
        path.join(project, 'lists', 'list.csv'),
        'email,name\nann@example.org,Ann\nbob@example.org,"Bo\u0000b"\ncarol@example.org,"Ca\u001b[31mrol"\ndee@example.org,"Dee \u202eeiD"\n',
      );
      const r = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes', '--skip-test-gate', '--json'], project, { SMTP_URL: sink.url });
      expect(r.code, r.err).toBe(0);
      expect(sink.messages.map((m) => m.to[0]).sort()).toEqual(['ann@example.org', 'dee@example.org']);
      for (const [i, m] of sink.messages.entries()) {
        const to = /^To:.*(?:\r\n[ \t].*)*/m.exec(m.raw.toString('latin1'))![0];
        expect(to).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/);
        // And decoded: the display name (MIME-encoded when not plain ASCII) holds none either.
        const name = (await sink.parse(i)).to;
        expect(JSON.stringify(name)).not.toMatch(/\\u00[01][0-9a-f]|\\u007f/i);
      }
      const out = JSON.parse(r.out) as { list: { invalid: { line: number; reason: string }[]; warnings: { line: number; reason: string }[] } };
      expect(out.list.invalid.map((p) => p.line)).toEqual([3, 4]);
      // Dee is sent, with a warning naming the override by code point, not the name.
      expect(out.list.warnings).toEqual([{ line: 5, reason: expect.stringContaining('U+202E') as string }]);
      expect(r.out).not.toContain('eiD');
      expect(r.out).not.toMatch(/bob@|carol@|\\u0000|\\u001b/);
      await rm(project, { recursive: true, force: true });
    } finally {
      await sink.close();
    }
  });
});
