/**
 * Bad input: every way an editor can get an issue file or a template wrong.
 * Each failure must exit 1 with one readable `file:line:col path message` line per
 * problem, no stack trace (unless DEBUG is set), and leave the previous build in
 * dist/ exactly as it was.
 */
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIssue, NewsletterError, parseIssue, type ErrorCode } from '../src/index.js';
import { julyYaml, lineOf, makeProject, replaceOnce, runCli, writeIssue, type CliResult } from './helpers.js';

/** The issue file as the CLI names it in messages (relative to the project). */
const ISSUE = 'issues/july-2025.yaml';
const PREVIOUS = 'previous build';

// ---------------------------------------------------------------------------
// Helpers

/** 1-based column of `needle` on line `line` of `text` (throws if it is not there). */
function colOf(text: string, line: number, needle: string): number {
  const i = text.split('\n')[line - 1]!.indexOf(needle);
  if (i < 0) throw new Error(`not on line ${line}: ${needle}`);
  return i + 1;
}

/** `issues/july-2025.yaml:<line>:<col>` of the first line holding `lineNeedle`, column of `colNeedle` on it. */
function at(text: string, lineNeedle: string, colNeedle = lineNeedle): string {
  const line = lineOf(text, lineNeedle);
  return `${ISSUE}:${line}:${colOf(text, line, colNeedle)}`;
}

/** Index in `sections:` of the section that holds line `line` (counts the `  - kind:` lines up to it). */
function sectionIndexAt(text: string, line: number): number {
  return (
    text
      .split('\n')
      .slice(0, line)
      .filter((l) => /^ {2}- kind:/.test(l)).length - 1
  );
}

/** The problem lines of a CLI error report (`  issues/...` or `  templates/...`). */
function problemLines(err: string): string[] {
  return err.split('\n').filter((l) => /^ {2}(issues|templates)\//.test(l));
}

/** A project whose issue file is `text` (or the July issue when `text` is undefined). */
async function projectWith(text?: string): Promise<string> {
  const project = await makeProject();
  if (text !== undefined) await writeIssue(project, 'july-2025', text);
  return project;
}

/** Edit a file of the project's copy of the templates. */
async function editTemplate(project: string, rel: string, edit: (source: string) => string): Promise<string> {
  const file = path.join(project, 'templates', rel);
  const edited = edit(await readFile(file, 'utf8'));
  await writeFile(file, edited);
  return edited;
}

/**
 * Run the CLI on a build that must fail, with a previous build in dist/<slug>/,
 * and check what every failure must do: exit 1, nothing on stdout, no stack
 * trace without DEBUG, dist/ untouched (no new file, no staging folder).
 */
async function failingBuild(project: string, args: string[], { slug = 'july-2025', env = {} as NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const dist = path.join(project, 'dist');
  const dir = path.join(dist, slug);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'email.html'), PREVIOUS);

  const result = await runCli(args, project, env);

  expect(result.code, result.err).toBe(1);
  expect(result.out).toBe('');
  expect(result.err).toMatch(/^error: /);
  if (!env.DEBUG) {
    expect(result.err).not.toContain('    at ');
    expect(result.err).not.toMatch(/^\s+at\s/m);
  }
  expect(await readFile(path.join(dir, 'email.html'))).toEqual(Buffer.from(PREVIOUS));
  expect(await readdir(dir)).toEqual(['email.html']);
  expect(await readdir(dist)).toEqual([slug]);
  return result;
}

/** The NewsletterError `parseIssue` throws for `text`. */
function parseError(text: string): NewsletterError {
  try {
    parseIssue(text, ISSUE);
  } catch (err) {
    expect(err).toBeInstanceOf(NewsletterError);
    return err as NewsletterError;
  }
  throw new Error('expected parseIssue to reject the text');
}

/** The NewsletterError `buildIssue` throws in `project` (in memory: nothing is written). */
async function buildError(project: string, issue = 'july-2025'): Promise<NewsletterError> {
  const err: unknown = await buildIssue(issue, { root: project, write: false }).then(
    () => new Error('expected buildIssue to fail'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NewsletterError);
  return err as NewsletterError;
}

/** `text` as a literal inside a RegExp. */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function expectCode(err: NewsletterError, code: ErrorCode): void {
  expect(err.code, err.message).toBe(code);
}

const july = await julyYaml();

/** The VESS article's image, whole, for the cases that reshape it. */
const VESS_IMAGE = `    image:
      src: "https://liia.london/newsletter/july-2025/images/vess-leaflet.png"
      alt: "VESS: Violence & Exploitation Support Service leaflet – learn more about the service"
      width: 552
      href: "https://liia.london/newsletter/july-2025/vess"
`;
const VESS_ALT = '      alt: "VESS: Violence & Exploitation Support Service leaflet – learn more about the service"\n';

// ---------------------------------------------------------------------------

describe('a missing issue file', () => {
  it('says so and lists the issues that exist', async () => {
    const project = await makeProject();
    await writeIssue(project, 'june-2025', july);
    const { err } = await failingBuild(project, ['nope-2025'], { slug: 'nope-2025' });
    expect(err).toContain('error: issues/nope-2025.yaml: no such issue file');
    expect(err).toContain('Issues in issues/: july-2025, june-2025.');
    expect(err).toContain('create nope-2025.yaml');

    expectCode(await buildError(project, 'nope-2025'), 'EISSUE_NOT_FOUND');
  });
});

describe('an empty issue file', () => {
  for (const [name, text] of [
    ['an empty file', ''],
    ['a file of only comments and whitespace', '# July issue: to do\n\n   \n\t\n# nothing yet\n'],
    ['a file of only a document marker', '---\n'],
  ] as const) {
    it(`${name} is reported as empty, with where to start from`, async () => {
      const { err } = await failingBuild(await projectWith(text), ['july-2025']);
      expect(problemLines(err)).toEqual([`  ${ISSUE}:1:1 the file is empty: start from an existing one (copy issues/july-2025.yaml) and change its content`]);
      expectCode(parseError(text), 'EISSUE_INVALID');
    });
  }
});

describe('invalid YAML', () => {
  it('an unclosed quote: the line of the quote, and a column within it', async () => {
    const fixture = replaceOnce(july, 'label: "July 2025 ISSUE"', 'label: "July 2025 ISSUE');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    const lines = problemLines(err);
    expect(lines).toHaveLength(1);

    const line = lineOf(fixture, 'label: "July 2025 ISSUE');
    const m = new RegExp(`^  ${escapeRegExp(ISSUE)}:${line}:(\\d+) invalid YAML: Missing closing "quote\\. Check the indentation and quoting here`).exec(
      lines[0]!,
    );
    expect(m, lines[0]).not.toBeNull();
    // Somewhere between the opening quote and the end of that line.
    const col = Number(m![1]);
    expect(col).toBeGreaterThanOrEqual(colOf(fixture, line, '"'));
    expect(col).toBeLessThanOrEqual(fixture.split('\n')[line - 1]!.length + 1);

    expectCode(parseError(fixture), 'EISSUE_INVALID');
  });

  it('a key indented wrongly: the line and column where the indentation goes wrong', async () => {
    const fixture = replaceOnce(july, 'label: "July 2025 ISSUE"', ' label: "July 2025 ISSUE"');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${lineOf(fixture, ' label: "July 2025 ISSUE"')}:1 invalid YAML: All mapping items must start at the same column. Check the indentation and quoting here (text containing ": " or starting with a symbol needs quotes or a "|" block)`,
    ]);
  });
});

describe('a list or a single value where a mapping belongs', () => {
  it('an image given as a list', async () => {
    const fixture = replaceOnce(
      july,
      VESS_IMAGE,
      `    image:
      - src: "https://liia.london/newsletter/july-2025/images/vess-leaflet.png"
        alt: "VESS leaflet"
`,
    );
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    const line = lineOf(fixture, '- src: "https://liia.london/newsletter/july-2025/images/vess-leaflet.png"');
    const n = sectionIndexAt(fixture, line);
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, '- src')} sections[${n}].image must be a mapping (indented "key: value" lines), not a list: an image: src (https URL or a file in issues/assets/), alt (what it shows), optional width and href`,
    ]);

    const error = parseError(fixture);
    expectCode(error, 'EISSUE_INVALID');
    expect(error.problems.map((p) => p.path)).toEqual([`sections[${n}].image`]);
  });

  it('a whole file that is a top-level list', async () => {
    const fixture = '# the sections only, by mistake\n- kind: letter\n- kind: footer\n';
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    expect(problemLines(err)).toEqual([
      `  ${at(fixture, '- kind: letter')} the file must be a mapping of fields ("name: value" lines), not a list or a single value`,
    ]);
    expectCode(parseError(fixture), 'EISSUE_INVALID');
  });
});

describe('wrong types', () => {
  it('an image width given as text', async () => {
    const fixture = replaceOnce(july, 'width: 552', 'width: "wide"');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    const line = lineOf(fixture, 'width: "wide"');
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, '"wide"')} sections[${sectionIndexAt(fixture, line)}].image.width must be a number, not text "wide": display width in pixels (at most 600); defaults to the width of the space it sits in`,
    ]);
  });

  it('sections given as text', async () => {
    const fixture = [
      'title: "Test"',
      'masthead: "TEST"',
      'label: "Test ISSUE"',
      'date: "2025-07-01"',
      'subject: "Test"',
      'preheader: "Testing"',
      'sections: "text"',
      '',
    ].join('\n');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    expect(problemLines(err)).toEqual([
      `  ${at(fixture, 'sections:', '"text"')} sections must be a list ("- " items), not text "text": the sections of the email, in order; each has a "kind"`,
    ]);

    const error = parseError(fixture);
    expectCode(error, 'EISSUE_INVALID');
    expect(error.problems).toMatchObject([{ path: 'sections', where: at(fixture, 'sections:', '"text"') }]);
  });
});

describe('unknown keys', () => {
  it('a misspelt key in a section: "did you mean", at the key itself', async () => {
    const fixture = replaceOnce(july, VESS_IMAGE, VESS_IMAGE.replace('    image:', '    imge:'));
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    const line = lineOf(fixture, 'imge:');
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, 'imge')} sections[${sectionIndexAt(fixture, line)}].imge is not a known field; did you mean "image"? Fields allowed here: kind, id, heading, contents, subheading, body, image, buttons, closing`,
    ]);
  });

  it('a misspelt key at the top level', async () => {
    const fixture = replaceOnce(july, 'subject: "July', 'subjet: "July');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    expect(problemLines(err)).toContain(
      `  ${at(fixture, 'subjet:')} subjet is not a known field; did you mean "subject"? Fields allowed here: title, masthead, label, date, subject, preheader, sections, published, accept`,
    );
    // "subject is required" would only repeat the suggestion, so it is not said again.
    expect(err).not.toMatch(/subject is required/);

    const error = parseError(fixture);
    expectCode(error, 'EISSUE_INVALID');
    expect(error.problems.map((p) => p.path)).toEqual(['subjet']);
  });
});

describe('an unknown section kind', () => {
  it('suggests the nearest kind and lists those that exist', async () => {
    const fixture = replaceOnce(july, '  - kind: article\n    id: vess', '  - kind: artcle\n    id: vess');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    const line = lineOf(fixture, 'kind: artcle');
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, 'artcle')} sections[${sectionIndexAt(fixture, line)}].kind "artcle" is not a section kind; did you mean "article"? Kinds that exist: letter, contents, article, tiles, excerpt, quote, event, partners, notice, footer (each is a template in templates/sections/)`,
    ]);

    const error = parseError(fixture);
    expectCode(error, 'EISSUE_INVALID');
    expect(error.problems[0]!.path).toBe(`sections[${sectionIndexAt(fixture, line)}].kind`);
  });
});

describe('missing required fields', () => {
  it("an image without alt: at the image's mapping, with the screen-reader hint", async () => {
    const fixture = replaceOnce(july, VESS_ALT, '');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    // The image mapping starts at its first key, src:.
    const line = lineOf(fixture, 'images/vess-leaflet.png');
    const n = sectionIndexAt(fixture, line);
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, 'src:')} sections[${n}].image.alt is required: describe the image for screen-reader users (and for recipients whose email client blocks images)`,
    ]);

    const error = parseError(fixture);
    expectCode(error, 'EISSUE_INVALID');
    expect(error.problems).toMatchObject([{ path: `sections[${n}].image.alt`, message: expect.stringContaining('screen-reader') }]);
  });

  it('a section without a heading: at the section', async () => {
    const fixture = replaceOnce(july, '    heading: "GET IN TOUCH"\n', '');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    // The section's mapping starts at its "kind:", the line above its id.
    const line = lineOf(fixture, 'id: get-in-touch') - 1;
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, 'kind: notice')} sections[${sectionIndexAt(fixture, line)}].heading is required: the section heading, exactly as it should appear`,
    ]);
  });
});

describe('several problems in one file', () => {
  it('reports them all at once, in file order, schema and link problems together', async () => {
    // Made in reverse file order, to show the report is sorted.
    let fixture = replaceOnce(july, '(https://liia.london/members-area/register)', '(javascript:alert(1))');
    fixture = replaceOnce(fixture, 'width: 552', 'width: "wide"');
    fixture = replaceOnce(fixture, 'date: "2025-07-01"', 'date: "1st July 2025"');

    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    expect(err).toMatch(/^error: issues\/july-2025\.yaml: 3 problems to fix$/m);
    const lines = problemLines(err);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      new RegExp(
        `^  ${escapeRegExp(at(fixture, 'date: "1st July 2025"', '"1st'))} date is not in the right form \\("1st July 2025"\\): the issue date as YYYY-MM-DD`,
      ),
    );
    expect(lines[1]).toMatch(new RegExp(`^  ${escapeRegExp(at(fixture, 'width: "wide"', '"wide"'))} sections\\[\\d+\\]\\.image\\.width must be a number`));
    expect(lines[2]).toMatch(
      new RegExp(
        `^  ${escapeRegExp(at(fixture, 'javascript:alert(1)'))} sections\\[\\d+\\]\\.body link "you can click here to register for access" goes to "javascript:alert\\(1\\)"`,
      ),
    );

    const error = parseError(fixture);
    expectCode(error, 'EISSUE_INVALID');
    expect(error.problems).toHaveLength(3);
  });
});

describe('raw HTML in Markdown', () => {
  it('builds, with the HTML shown as text: never a <script> or an onerror attribute', async () => {
    const fixture = replaceOnce(july, 'Each young person is paired', '<script>alert(1)</script> and <img src=x onerror=alert(2)> Each young person is paired');
    const project = await projectWith(fixture);
    const { code, err } = await runCli(['july-2025'], project);
    expect(err).toBe('');
    expect(code).toBe(0);

    const html = await readFile(path.join(project, 'dist/july-2025/email.html'), 'utf8');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img\b[^>]*onerror/i);
  });
});

describe('links that are not allowed', () => {
  // [scheme, text the link goes into (or replaces), bad href, the field's path inside its section]
  for (const [scheme, from, href, field] of [
    ['javascript:', 'Each young person is paired', 'javascript:alert(1)', 'body'],
    [
      'data:',
      '[Register here on Eventbrite.](https://liia.london/newsletter/july-2025/child-first-webinar)',
      'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
      'closing',
    ],
    ['file:', '[Read more about the Y2A Hub](https://liia.london/newsletter/july-2025/y2a-hub)', 'file:///etc/passwd', 'cards[2].body'],
  ] as const) {
    it(`a ${scheme} link in Markdown: rejected at the line and column of the link`, async () => {
      const to = from.startsWith('[') ? from.replace(/\(https:[^)]+\)$/, `(${href})`) : `See [this](${href}) now. ${from}`;
      const fixture = replaceOnce(july, from, to);
      const line = lineOf(fixture, href);
      const fieldPath = `sections[${sectionIndexAt(fixture, line)}].${field}`;
      const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
      const lines = problemLines(err);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(`^  ${escapeRegExp(ISSUE)}:${line}:${colOf(fixture, line, href)} ${escapeRegExp(fieldPath)} link "[^"]+" goes to "${escapeRegExp(href)}": `),
      );
      expect(lines[0]).toContain(': only https://, http:// and mailto: links can go in an email');

      const error = parseError(fixture);
      expectCode(error, 'EISSUE_INVALID');
      expect(error.problems).toMatchObject([{ path: fieldPath, where: `${ISSUE}:${line}:${colOf(fixture, line, href)}` }]);
    });
  }

  it('a javascript: image href is rejected by the schema', async () => {
    const fixture = replaceOnce(july, 'href: "https://liia.london/newsletter/july-2025/vess"', 'href: "javascript:alert(1)"');
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    const line = lineOf(fixture, 'javascript:alert(1)');
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, '"javascript:')} sections[${sectionIndexAt(fixture, line)}].image.href uses a scheme that cannot go in an email (only https://, http:// and mailto:) ("javascript:alert(1)"): where the image links to, if it is clickable: an absolute https:// link`,
    ]);
  });

  it('a javascript: button href is rejected by the schema', async () => {
    const fixture = replaceOnce(
      july,
      '      label: "Get tickets"\n      href: "https://liia.london/newsletter/july-2025/child-first-webinar"',
      '      label: "Get tickets"\n      href: "javascript:alert(1)"',
    );
    const { err } = await failingBuild(await projectWith(fixture), ['july-2025']);
    const line = lineOf(fixture, 'javascript:alert(1)');
    const n = sectionIndexAt(fixture, line);
    expect(problemLines(err)).toEqual([
      `  ${ISSUE}:${line}:${colOf(fixture, line, '"javascript:')} sections[${n}].button.href uses a scheme that cannot go in an email (only https://, http:// and mailto:) ("javascript:alert(1)"): an absolute link starting https:// (or mailto: for an email address)`,
    ]);
    expect(parseError(fixture).problems).toMatchObject([{ path: `sections[${n}].button.href` }]);
  });
});

/**
 * Bugs: the line of a rejected Markdown link is worked out from the link's line
 * inside the parsed string (`start.line + 1 + l.line`, see checkMarkdownLinks in
 * src/issue/load-issue.ts), which is only the file's line for a literal `|` block,
 * and only for the first link with a given href in a paragraph.
 */
describe('the location of a rejected link, in less common layouts (known bugs)', () => {
  const BODY =
    '    body: |\n      As always, [you can click here to register for access](https://liia.london/members-area/register) to our dedicated Members Areas.\n';

  it('in a folded ">" block: the line the link is on', () => {
    const fixture = replaceOnce(
      july,
      BODY,
      '    body: >\n      As always,\n      [you can click here to register for access](javascript:alert(1)) to our dedicated Members Areas.\n',
    );
    // Today: the line of "As always," (the folded text's first line) and column 1.
    expect(parseError(fixture).problems.map((p) => p.where)).toEqual([at(fixture, 'javascript:alert(1)')]);
  });

  it('in a quoted string over two lines: the line the link is on', () => {
    const fixture = replaceOnce(
      july,
      BODY,
      '    body: "As always,\n      [you can click here to register for access](javascript:alert(1)) to our dedicated Members Areas."\n',
    );
    // Today: the line of `body: "As always,` and column 1.
    expect(parseError(fixture).problems.map((p) => p.where)).toEqual([at(fixture, 'javascript:alert(1)')]);
  });

  it('the same bad href twice in one paragraph: each at its own line', () => {
    const fixture = replaceOnce(
      july,
      'Each young person is paired',
      'See [one](javascript:alert(1)) and\n      [two](javascript:alert(1)). Each young person is paired',
    );
    const first = lineOf(fixture, '[one](javascript:alert(1))');
    const second = lineOf(fixture, '[two](javascript:alert(1))');
    // Today: both are reported at the first one's line and column.
    expect(parseError(fixture).problems.map((p) => p.where)).toEqual([
      `${ISSUE}:${first}:${colOf(fixture, first, 'javascript:')}`,
      `${ISSUE}:${second}:${colOf(fixture, second, 'javascript:')}`,
    ]);
  });
});

describe('a missing template partial', () => {
  it('names the file and what to do', async () => {
    const project = await makeProject();
    await rm(path.join(project, 'templates/sections/event.mjml.hbs'));
    const { err } = await failingBuild(project, ['july-2025']);
    expect(err).toContain('error: templates/sections/event.mjml.hbs: template not found');
    expect(err).toContain('Restore the file (git checkout templates/sections/event.mjml.hbs) or remove the sections of that kind.');

    const error = await buildError(project);
    expectCode(error, 'ETEMPLATE');
    expect(error.message).toContain('templates/sections/event.mjml.hbs');
  });
});

describe('an MJML error in a partial', () => {
  it('names the partial and the line of the bad tag', async () => {
    const project = await makeProject();
    const template = await editTemplate(project, 'sections/notice.mjml.hbs', (s) =>
      replaceOnce(s, '<mj-text css-class="md">', '<mj-text foo="bar" css-class="md">'),
    );
    const where = `templates/sections/notice.mjml.hbs:${lineOf(template, 'foo="bar"')}`;
    const { err } = await failingBuild(project, ['july-2025']);
    expect(err).toMatch(/^error: MJML rejected the email: \d+ problems? in the templates$/m);
    const lines = problemLines(err);
    expect(lines.length).toBeGreaterThan(0);
    // The July issue has two notice sections: today the one fault is reported once for each.
    for (const line of lines) expect(line).toBe(`  ${where} <mj-text>: Attribute foo is illegal`);

    const error = await buildError(project);
    expectCode(error, 'EMJML');
    expect(new Set(error.problems.map((p) => p.where))).toEqual(new Set([where]));
  });
});

describe('a Handlebars error in a partial', () => {
  it('a misspelt field: the partial, line and column, and the field', async () => {
    const project = await makeProject();
    const template = await editTemplate(project, 'sections/notice.mjml.hbs', (s) => replaceOnce(s, '{{heading}}', '{{headng}}'));
    const line = lineOf(template, '{{headng}}');
    const where = `templates/sections/notice.mjml.hbs:${line}:${colOf(template, line, 'headng')}`;
    const { err } = await failingBuild(project, ['july-2025']);
    expect(err).toContain(`error: ${where} the template uses "{{headng}}", which this section does not have`);
    expect(err).toContain('Check the spelling');

    const error = await buildError(project);
    expectCode(error, 'ETEMPLATE');
    expect(error.message).toContain(where);
  });

  it('an unclosed {{#if}}: names the partial', async () => {
    const project = await makeProject();
    await editTemplate(project, 'sections/notice.mjml.hbs', (s) => replaceOnce(s, '{{heading}}', '{{#if heading}}{{heading}}'));
    const { err } = await failingBuild(project, ['july-2025']);
    expect(err).toMatch(/^error: templates\/sections\/notice\.mjml\.hbs: a block is opened but never closed: each \{\{#if \.\.\.\}\}/m);
    expect(err).toContain('{{/if}}');

    const error = await buildError(project);
    expectCode(error, 'ETEMPLATE');
    expect(error.message).toContain('templates/sections/notice.mjml.hbs');
  });
});

describe('DEBUG', () => {
  it('with DEBUG=1, a failure prints the stack trace as well', async () => {
    const project = await makeProject();
    await rm(path.join(project, 'templates/sections/event.mjml.hbs'));
    const { err } = await failingBuild(project, ['july-2025'], { env: { DEBUG: '1' } });
    expect(err).toContain('error: templates/sections/event.mjml.hbs: template not found');
    expect(err).toMatch(/^ {4}at /m);
  });
});
