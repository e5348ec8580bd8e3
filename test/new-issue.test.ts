/** `build-issue new`: a new issue from the starter, or from the previous issue. */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { isSafeSlug, labelFor, newIssue, type NewIssueResult } from '../src/authoring/new-issue.js';
import { buildIssue } from '../src/index.js';
import { parseIssue } from '../src/issue/load-issue.js';
import { SECTION_KINDS, type Issue, type IssueSection } from '../src/issue/schema.js';
import { julyYaml, lineOf, makeProject, rejection, replaceOnce, runCli, writeIssue } from './helpers.js';

const SCHEMA_LINE = '# yaml-language-server: $schema=./schema.json';
const RECURRING = new Set(['contents', 'partners', 'notice', 'footer', 'tiles']);

/** The "# KEPT" comments `new --from` writes, deleted: what an editor does after checking each field. */
const confirmKept = (text: string) => text.replace(/^ *# KEPT from .*\n/gm, '');

/** Builds in memory; every error in the report must be a placeholder ("#") link, a TODO or a "# KEPT" comment. */
async function expectBuildsButNotSendable(project: string, slug: string): Promise<void> {
  const built = await buildIssue(slug, { root: project, write: false });
  const errors = built.report.findings.filter((f) => f.severity === 'error');
  expect(errors.length).toBeGreaterThan(0);
  // Only placeholders stand between it and sending: "#" links, the TODO subject,
  // preheader and text (the document rule refuses TODO, so a half-written issue cannot go),
  // and the fields kept from the previous issue that name a person or a date, until checked.
  for (const e of errors) {
    expect(e.where?.file).toBe(`issues/${slug}.yaml`);
    if (e.rule === 'links') expect(e.message).toContain('goes to "#", a placeholder');
    else if (e.rule === 'kept') expect(e.message).toContain('was kept from the previous issue by "new --from"');
    else {
      expect(e.rule).toBe('document');
      expect(e.message).toMatch(/TODO/);
    }
  }
  expect(errors.filter((e) => e.rule === 'links').length).toBeGreaterThan(0);
  expect(errors.filter((e) => e.rule === 'document').map((e) => e.where?.path)).toEqual(expect.arrayContaining(['subject', 'preheader']));
}

describe('new issue from the starter', () => {
  let project: string;
  let result: NewIssueResult;
  let text: string;
  let issue: Issue;

  beforeAll(async () => {
    project = await makeProject();
    result = await newIssue({ root: project, slug: 'august-2025' });
    text = await readFile(result.file, 'utf8');
    issue = parseIssue(text, result.shown);
  });

  it('writes issues/<slug>.yaml from templates/starter.yaml, placeholders filled', () => {
    expect(result.file).toBe(path.join(project, 'issues', 'august-2025.yaml'));
    expect(result.shown).toBe('issues/august-2025.yaml');
    expect(result.from).toBeUndefined();
    expect(result).toMatchObject({ kept: [], marked: [], emptied: [] });
    expect(text.split('\n')[0]).toBe(SCHEMA_LINE);
    expect(text).not.toMatch(/\{\{|\}\}/);
    expect(issue.label).toBe('August 2025 ISSUE');
    expect(issue.date).toBe('2025-08-01');
    expect(issue.subject).toBe('TODO: subject for August 2025');
  });

  it('shows every kind of section, with comments', () => {
    expect(new Set(issue.sections.map((s) => s.kind))).toEqual(new Set(SECTION_KINDS));
    expect(text.match(/^\s*#/gm)!.length).toBeGreaterThan(SECTION_KINDS.length);
  });

  it('builds, but only placeholders ("#" links, TODOs) stand between it and sending', async () => {
    await expectBuildsButNotSendable(project, 'august-2025');
  });

  it('takes the label and date from today when the slug names no month', async () => {
    const r = await newIssue({ root: project, slug: 'summer-special', today: new Date(2025, 8, 14) });
    const special = parseIssue(await readFile(r.file, 'utf8'), r.shown);
    expect(special.label).toBe('September 2025 ISSUE');
    expect(special.date).toBe('2025-09-14');
  });
});

describe('new issue from the previous one (--from)', () => {
  let project: string;
  let result: NewIssueResult;
  let text: string;
  let july: Issue;
  let august: Issue;

  beforeAll(async () => {
    project = await makeProject();
    result = await newIssue({ root: project, slug: 'august-2025', from: 'july-2025' });
    text = await readFile(result.file, 'utf8');
    july = parseIssue(await julyYaml(), 'july-2025.yaml');
    august = parseIssue(text, result.shown);
  });

  it('keeps the title and masthead, and sets the label, date, subject and preheader for the new month', () => {
    expect(august.title).toBe(july.title);
    expect(august.masthead).toBe(july.masthead);
    expect(august.label).toBe('August 2025 ISSUE');
    expect(august.date).toBe('2025-08-01');
    expect(august.subject).toBe('TODO: subject for August 2025');
    expect(august.preheader).toMatch(/^TODO: /);
  });

  it('keeps the contents list, tiles, partners, notices and footer exactly as they were', () => {
    const recurring = (i: Issue) => i.sections.filter((s) => RECURRING.has(s.kind));
    expect(recurring(july).length).toBe(6);
    expect(recurring(august)).toEqual(recurring(july));
    expect(result.kept.slice(0, 6)).toEqual([
      `contents "THIS MONTH'S UPDATES"`,
      `tiles "LONDON CHILDREN'S SERVICES PRACTICE SPOTLIGHT"`,
      'partners "UPDATES FROM PARTNERS"',
      'notice "MEMBERS AREA ACCESS"',
      'notice "GET IN TOUCH"',
      'footer',
    ]);
  });

  it('marks each kept field that names a person or a date with a "# KEPT" comment above it, and lists them', () => {
    const comment = (why: string) => `# KEPT from july-2025 (${why}): check it is still right for this issue, edit it if not, then delete this comment`;
    expect(result.marked.map((m) => [m.path, m.why])).toEqual([
      ['sections[0].signature.name', 'the signatory'],
      ['sections[0].signature.role', 'the signatory'],
      ['sections[4].cards[0].image.src', 'mentions july-2025'],
      ['sections[4].cards[0].body', "the partner's highlights"],
      ['sections[4].cards[1].image.src', 'mentions july-2025'],
      ['sections[4].cards[1].body', "the partner's highlights"],
      ['sections[4].cards[2].image.src', 'mentions july-2025'],
      ['sections[4].cards[2].image.href', 'mentions july-2025'],
      ['sections[4].cards[2].body', "the partner's highlights"],
    ]);
    const lines = text.split('\n');
    for (const m of result.marked) expect(lines[m.line - 2]!.trim(), m.path).toBe(comment(m.why));
    expect(text.match(/# KEPT from/g)).toHaveLength(result.marked.length + 1); // and the note at the top
    const name = result.marked[0]!;
    expect(name).toEqual({ path: 'sections[0].signature.name', value: 'Florence Kroll', why: 'the signatory', line: lineOf(text, 'name: "Florence Kroll"') });
    expect(lines[name.line - 2]).toBe(`      ${comment('the signatory')}`);
    // The list the command prints: every kept section, then every marked field with its line.
    expect(result.kept.slice(6)).toEqual(result.marked.map((m) => `${m.path} "${m.value}" (line ${m.line}, # KEPT: ${m.why})`));
    expect(result.kept).toContain(
      `sections[4].cards[0].body "📌 This edition shares updates on violence reduct…" (line ${result.marked[3]!.line}, # KEPT: the partner's highlights)`,
    );
  });

  it('marks a date, and the signatory named elsewhere, wherever they are kept', async () => {
    let source = await julyYaml();
    source = replaceOnce(source, '      As always, [you can click', '      Until Friday 31 October, [you can click');
    source = replaceOnce(source, '    thanks: "THANKS FOR READING!"', '    thanks: "THANKS FOR READING! Florence Kroll"');
    source = replaceOnce(source, '      Please let us know your feedback', '      Ask Florence Kroll, or let us know your feedback');
    await writeIssue(project, 'july-dated', source);
    const r = await newIssue({ root: project, slug: 'august-dated', from: 'july-dated' });
    expect(r.marked.filter((m) => !/signature|cards/.test(m.path)).map((m) => [m.path, m.why])).toEqual([
      ['sections[5].body', 'a date: "Friday"'],
      ['sections[6].body', 'names Florence Kroll'],
      ['sections[7].thanks', 'names Florence Kroll'],
    ]);
  });

  it("empties the letter's body, keeping its greeting and signature", () => {
    const letter = (i: Issue) => i.sections.find((s): s is Extract<IssueSection, { kind: 'letter' }> => s.kind === 'letter')!;
    expect(letter(august).greeting).toBe(letter(july).greeting);
    expect(letter(august).signature).toEqual(letter(july).signature);
    expect(letter(august).body).toMatch(/^TODO: /);
    expect(letter(august).body).toContain('](#)');
    expect(result.emptied).toContain('letter body');
  });

  it("replaces the month's articles, excerpts and events by one placeholder article, where the first of them was", () => {
    expect(august.sections.map((s) => s.kind)).toEqual(['letter', 'contents', 'article', 'tiles', 'partners', 'notice', 'notice', 'footer']);
    const article = august.sections[2] as Extract<IssueSection, { kind: 'article' }>;
    expect(article.heading).toMatch(/^TODO: /);
    expect(article.body).toContain('](#)');
    expect(text).toContain("# August 2025's articles, excerpts and events go here");
    for (const s of july.sections.filter((x) => x.kind === 'article' && x.id)) expect(text).not.toContain(`id: ${(s as { id: string }).id}\n`);
    expect(text).not.toContain('kind: excerpt');
    expect(text).not.toContain('kind: event');
    expect(result.emptied).toEqual(
      expect.arrayContaining([
        'subject',
        'preheader',
        'article "Violence & Exploitation Support Service (VESS)"',
        'excerpt "National Referral Mechanism"',
        'event "Applying the Child First Framework in youth justice services"',
      ]),
    );
  });

  it('drops the acceptances, with their comment', () => {
    expect(august.accept).toBeUndefined();
    expect(text).not.toMatch(/^accept:/m);
    expect(text).not.toContain('Check warnings the editors have read');
    expect(result.emptied.some((e) => e.startsWith('accept (1 accepted warning'))).toBe(true);
  });

  it('keeps the formatting: the schema line first, and the kept sections byte for byte', async () => {
    const source = await julyYaml();
    expect(text.split('\n')[0]).toBe(SCHEMA_LINE);
    expect(text.split('\n')[1]).toMatch(/^# Started from issues\/july-2025\.yaml: /);
    const tail = source.slice(source.indexOf('  - kind: partners'), source.indexOf('# Check warnings'));
    expect(confirmKept(text)).toContain(tail.trimEnd());
    const tiles = source.slice(source.indexOf('  - kind: tiles'), source.indexOf('  - kind: article\n    id: nrm'));
    expect(text).toContain(tiles);
    expect(result.from).toBe('issues/july-2025.yaml');
  });

  it('builds, with placeholder errors only ("#" links, TODOs, KEPT comments)', async () => {
    await expectBuildsButNotSendable(project, 'august-2025');
  });

  it('keeps comments in the kept sections, and does not stack its note on an issue made the same way', async () => {
    let source = await julyYaml();
    source = replaceOnce(source, '    columns: 3\n', '    # Nine categories, three per row.\n    columns: 3\n');
    source = replaceOnce(source, '  - kind: footer\n', '  # The footer: social links come from the config.\n  - kind: footer\n');
    await writeIssue(project, 'july-commented', source);
    await newIssue({ root: project, slug: 'august-commented', from: 'july-commented' });
    await newIssue({ root: project, slug: 'september-2025', from: 'august-commented' });
    const sept = await readFile(path.join(project, 'issues', 'september-2025.yaml'), 'utf8');
    expect(sept).toContain('    # Nine categories, three per row.\n    columns: 3\n');
    expect(sept).toContain('  # The footer: social links come from the config.\n  - kind: footer\n');
    expect(sept.match(/# Started from/g)).toEqual(['# Started from']);
    expect(sept).toContain('# Started from issues/august-commented.yaml');
    expect(sept.match(/articles, excerpts and events go here/g)!.length).toBe(1);
    // August's KEPT comments are replaced by September's, not stacked on them.
    expect(sept).not.toContain('# KEPT from july-commented');
    expect(sept.match(/^ *# KEPT from august-commented \(/gm)).toHaveLength(9);
    expect(parseIssue(sept, 'september-2025.yaml').label).toBe('September 2025 ISSUE');
  });

  it("replaces the starter's note when made from an issue that came from the starter", async () => {
    await newIssue({ root: project, slug: 'starter-made' });
    const r = await newIssue({ root: project, slug: 'october-2025', from: 'starter-made' });
    const oct = await readFile(r.file, 'utf8');
    expect(oct.split('\n').slice(0, 2)).toEqual([
      SCHEMA_LINE,
      '# Started from issues/starter-made.yaml: write everything marked TODO; the build lists each "#" link left as an error, and each field marked "# KEPT from" (a person or a date) until you check it and delete its comment.',
    ]);
    expect(oct).not.toContain('Started from templates/starter.yaml');
    expect(parseIssue(oct, r.shown).label).toBe('October 2025 ISSUE');
  });

  it('adds the schema line to an issue that had none', async () => {
    await writeIssue(project, 'no-schema-line', (await julyYaml()).replace(`${SCHEMA_LINE}\n`, ''));
    const r = await newIssue({ root: project, slug: 'november-2025', from: 'no-schema-line' });
    expect((await readFile(r.file, 'utf8')).split('\n')[0]).toBe(SCHEMA_LINE);
  });
});

describe('kept content is flagged (issue 14)', () => {
  it('new october-2025 --from july-2025 prints what it kept; a build without edits reports the kept signatory and partner highlights', async () => {
    const project = await makeProject();
    const made = await runCli(['new', 'october-2025', '--from', 'july-2025'], project);
    expect(made.code, made.err).toBe(0);
    const file = path.join(project, 'issues', 'october-2025.yaml');
    const text = await readFile(file, 'utf8');
    const signatory = lineOf(text, 'name: "Florence Kroll"');
    expect(made.out).toContain(`    line ${signatory}: sections[0].signature.name "Florence Kroll" (the signatory)\n`);
    expect(made.out).toMatch(
      /^ {4}line \d+: sections\[4\]\.cards\[2\]\.body "The Youth 2 Adult \(Y2A\) Hub in Newham is the firs…" \(the partner's highlights\)$/m,
    );
    expect(made.out).toMatch(/^ {2}check: {3}9 kept fields name a person or a date, each marked "# KEPT" in the file/m);

    const built = await runCli(['october-2025'], project);
    expect(built.code).toBe(1);
    const r = await buildIssue('october-2025', { root: project, write: false });
    const kept = r.report.findings.filter((f) => f.rule === 'kept');
    expect(kept.every((f) => f.severity === 'error' && f.where?.file === 'issues/october-2025.yaml')).toBe(true);
    // Each at its comment, the line above the field.
    expect(kept.find((f) => f.where?.path === 'sections[0].signature.name')).toMatchObject({
      where: { line: signatory - 1, col: 7 },
      message: expect.stringContaining('"Florence Kroll" was kept from the previous issue'),
    });
    expect(kept.map((f) => f.where?.path)).toEqual(
      expect.arrayContaining(['sections[0].signature.role', 'sections[4].cards[0].body', 'sections[4].cards[1].body', 'sections[4].cards[2].body']),
    );
    expect(built.out).toMatch(/\[kept\] issues\/october-2025\.yaml:\d+:9 sections\[4\]\.cards\[0\]\.body: "📌 This edition shares updates/);

    // Checked and confirmed: the comments deleted, the values as they were. No kept error is left.
    await writeFile(file, confirmKept(text));
    const confirmed = await buildIssue('october-2025', { root: project, write: false });
    expect(confirmed.report.findings.filter((f) => f.rule === 'kept')).toEqual([]);
    expect(confirmed.issue.sections[0]).toEqual(r.issue.sections[0]);
  });
});

describe('refusals', () => {
  let project: string;

  beforeAll(async () => {
    project = await makeProject();
  });

  it('never overwrites an existing issue', async () => {
    const file = path.join(project, 'issues', 'august-2025.yaml');
    await writeFile(file, "the editors' work\n");
    for (const from of [undefined, 'july-2025']) {
      const err = await rejection(newIssue({ root: project, slug: 'august-2025', from }));
      expect(err.code).toBe('EUSAGE');
      expect(err.message).toContain('issues/august-2025.yaml already exists');
      expect(err.hint).toMatch(/another name.*edit issues\/august-2025\.yaml/i);
      expect(await readFile(file, 'utf8')).toBe("the editors' work\n");
    }
    // The previous issue itself, too.
    const julyBefore = await readFile(path.join(project, 'issues', 'july-2025.yaml'), 'utf8');
    expect((await rejection(newIssue({ root: project, slug: 'july-2025', from: 'july-2025' }))).code).toBe('EUSAGE');
    expect(await readFile(path.join(project, 'issues', 'july-2025.yaml'), 'utf8')).toBe(julyBefore);
  });

  it.each(['../x', 'August 2025', 'a', 'x/y', '', '../../etc/passwd', 'august-2025.yaml', '-august', 'a'.repeat(61)])(
    'refuses the unsafe slug %j (EUSAGE)',
    async (slug) => {
      expect(isSafeSlug(slug)).toBe(false);
      const err = await rejection(newIssue({ root: project, slug }));
      expect(err.code).toBe('EUSAGE');
      expect(err.hint).toContain('lower-case letters, digits and hyphens');
      expect(err.hint).toContain('august-2025');
    },
  );

  it('accepts ordinary slugs', () => {
    for (const slug of ['august-2025', 'abc', '2025-08', 'summer-special-2025', 'a'.repeat(60)]) expect(isSafeSlug(slug)).toBe(true);
  });

  it('names the issues that exist when --from names one that does not (EISSUE_NOT_FOUND)', async () => {
    const err = await rejection(newIssue({ root: project, slug: 'october-2025', from: 'june-2025' }));
    expect(err.code).toBe('EISSUE_NOT_FOUND');
    expect(err.message).toContain('issues/june-2025.yaml');
    expect(err.hint).toContain('july-2025');
    expect(existsSync(path.join(project, 'issues', 'october-2025.yaml'))).toBe(false);
  });

  it('refuses a --from that is a path (EUSAGE)', async () => {
    expect((await rejection(newIssue({ root: project, slug: 'october-2025', from: '../july-2025' }))).code).toBe('EUSAGE');
  });
});

describe('labelFor', () => {
  it('makes "Month Year ISSUE" from month-year slugs only', () => {
    expect(labelFor('august-2025')).toBe('August 2025 ISSUE');
    expect(labelFor('december-2026')).toBe('December 2026 ISSUE');
    expect(labelFor('summer-special')).toBeUndefined();
    expect(labelFor('august-2025-extra')).toBeUndefined();
    expect(labelFor('2025-08')).toBeUndefined();
  });
});
