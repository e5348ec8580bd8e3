/**
 * Pre-send checks: every rule fires on a fixture made for it, points at the YAML
 * line (and column) the fault is written on when it comes from the issue file,
 * and stays quiet on a clean issue, MJML's own markup included (layout tables,
 * spacers, Outlook's conditional comments, the hidden preheader).
 *
 * Faults in the issue file are built with `buildIssue` from a copy of the July
 * issue edited with replaceOnce; the expected line and column are computed from
 * the fixture's text. Faults that no issue file can produce (markup the templates
 * would have to get wrong) are tested by running the rule on a real build's HTML,
 * edited.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { describe, expect, it } from 'vitest';
import { formatReport, type CheckReport, type ReportedFinding } from '../src/check/index.js';
import { documentRule, forbiddenRule, outlookRule, sizeRule } from '../src/check/rules-document.js';
import { messageRule } from '../src/check/rules-message.js';
import { readabilityRule, textSamples } from '../src/check/rules-readability.js';
import type { CheckContext, Finding, Rule } from '../src/check/types.js';
import { buildIssue, NewsletterError, type BuildResult } from '../src/index.js';
import { julyYaml, makeProject, replaceOnce, ROOT, runCli, writeIssue } from './helpers.js';

const ISSUE = 'issues/july-2025.yaml';
const CONFIG = 'newsletter.config.yaml';

// ---------------------------------------------------------------------------
// Helpers

/** Line and column (1-based) of `sub` inside the one occurrence of `needle` in `text`. */
function pos(text: string, needle: string, sub = needle): { line: number; col: number } {
  const start = text.indexOf(needle);
  if (start < 0 || text.indexOf(needle, start + 1) >= 0) throw new Error(`fixture text must occur exactly once: ${needle}`);
  const inner = needle.indexOf(sub);
  if (inner < 0) throw new Error(`"${sub}" is not part of "${needle}"`);
  const before = text.slice(0, start + inner).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

/** `where` of a finding in the issue file: file, line, col and field path. */
function inIssue(text: string, needle: string, sub: string, path: string) {
  return { file: ISSUE, ...pos(text, needle, sub), path };
}

/** Index in `sections:` of the section that holds `needle` (counts the `  - kind:` lines up to it). */
function sectionOf(text: string, needle: string): number {
  const { line } = pos(text, needle);
  return (
    text
      .split('\n')
      .slice(0, line)
      .filter((l) => /^ {2}- kind:/.test(l)).length - 1
  );
}

/** A project whose July issue is `text`, with optional edits to its config and templates. */
async function projectWith(text?: string, edits: { config?: (c: string) => string; template?: [string, (t: string) => string] } = {}): Promise<string> {
  const project = await makeProject();
  if (text !== undefined) await writeIssue(project, 'july-2025', text);
  if (edits.config) {
    const file = path.join(project, CONFIG);
    await writeFile(file, edits.config(await readFile(file, 'utf8')));
  }
  if (edits.template) {
    const [rel, edit] = edits.template;
    const file = path.join(project, 'templates', rel);
    await writeFile(file, edit(await readFile(file, 'utf8')));
  }
  return project;
}

/** Build the July issue of a project made with `projectWith`, in memory. */
async function build(text?: string, edits?: Parameters<typeof projectWith>[1]): Promise<BuildResult> {
  return buildIssue('july-2025', { root: await projectWith(text, edits), write: false });
}

const ofRule = (report: CheckReport, rule: string): ReportedFinding[] => report.findings.filter((f) => f.rule === rule);

/** The one finding of `rule` whose message contains `words`. */
function finding(findings: readonly Finding[], rule: string, words: string): Finding {
  const matches = findings.filter((f) => f.rule === rule && f.message.includes(words));
  expect(matches, `one [${rule}] finding saying "${words}" in:\n${JSON.stringify(findings, null, 2)}`).toHaveLength(1);
  return matches[0]!;
}

/** A rule's context from a real build, with the HTML (or the .eml) swapped for an edited one. */
function contextFor(r: BuildResult, change: { html?: string; eml?: Buffer; text?: string } = {}): CheckContext {
  return {
    issue: r.issue,
    config: r.config,
    issueFile: ISSUE,
    html: change.html ?? r.html,
    text: change.text ?? r.text,
    eml: change.eml ?? r.eml,
    locate: () => undefined,
    locateIn: () => undefined,
  };
}

const runRule = async (rule: Rule, r: BuildResult, change: Parameters<typeof contextFor>[1] = {}) => rule.run(contextFor(r, change));

/** `html` with `insert` after the first `</h2>` (inside the white contents panel). */
function afterFirstH2(html: string, insert: string): string {
  const i = html.indexOf('</h2>') + '</h2>'.length;
  return html.slice(0, i) + insert + html.slice(i);
}

const july = await julyYaml();
const julyBuild = await buildIssue('july-2025', { root: ROOT, write: false });

/** A Markdown paragraph added to the Practice Spotlight body, after its "taking root" paragraph. */
function addToSpotlight(markdown: string, text = july): string {
  const anchor = 'that is taking root in London.\n';
  return replaceOnce(text, anchor, `${anchor}\n      ${markdown}\n`);
}

// ---------------------------------------------------------------------------

describe('a clean issue', () => {
  it('July: no errors, no warnings, and exactly its one accepted link-text warning', async () => {
    const r = await build();
    expect(r.report.counts).toEqual({ error: 0, warning: 0 });
    expect(r.report.findings).toEqual([]);
    expect(r.report.off).toEqual([]);
    expect(r.report.accepted).toHaveLength(1);
    const [accepted] = r.report.accepted;
    const link = '[here](https://www.gov.uk/search/all?keywords=Applying+the+Child+First+Framework+in+Youth+Justice+Services)';
    expect(accepted).toMatchObject({
      rule: 'link-text',
      severity: 'warning',
      where: inIssue(july, link, '(', `sections[${sectionOf(july, link)}].body`),
      reason: expect.stringContaining("The editors' wording"),
    });
    expect(accepted!.message).toContain('link text "here" says nothing on its own');
  });

  it('a minimal hand-written issue has no findings at all, MJML markup notwithstanding', async () => {
    const minimal = `title: "Test newsletter"
masthead: "TEST NEWSLETTER"
label: "August 2025 ISSUE"
date: "2025-08-01"
subject: "August 2025: one short update"
preheader: "A single article, to prove a clean issue passes every check"
sections:
  - kind: article
    id: update
    heading: "AN UPDATE"
    body: |
      The [Department for Education](https://www.gov.uk/government/organisations/department-for-education) published new guidance this month.
    image:
      src: "https://liia.london/newsletter/images/update.png"
      alt: "Cover of the new guidance – read it on GOV.UK"
      width: 552
      href: "https://www.gov.uk/government/organisations/department-for-education"
  - kind: footer
    thanks: "THANKS FOR READING!"
    follow: "FOLLOW LIIA"
`;
    const project = await makeProject();
    await writeIssue(project, 'minimal', minimal);
    const r = await buildIssue('minimal', { root: project, write: false });
    expect(r.report.findings).toEqual([]);
    expect(r.report.counts).toEqual({ error: 0, warning: 0 });
    expect(r.report.accepted).toEqual([]);
    // ...and MJML's markup was there to trip over:
    expect(r.html).toMatch(/<table\b[^>]*role="presentation"/); // layout tables
    expect(r.html).toContain('font-size:0px'); // spacer cells
    expect(r.html).toContain('<!--[if mso | IE]>'); // Outlook's conditional comments
    expect(r.html).toMatch(/<div style="display:none;[^"]*">A single article, to prove a clean issue passes every check<\/div>/); // hidden preheader
    expect(r.report.links.map((l) => l.href)).toContain('https://www.gov.uk/government/organisations/department-for-education');
  });
});

describe('links', () => {
  const fixture = addToSpotlight(
    'Faults: [a](#) [b]() [c]({{url}}) [d](www.example.org) [e](http://example.org) [f](#nosuch) [g](mailto:bad) and [the LASOB update](#lasob).',
  );
  const section = sectionOf(fixture, '[a](#)');
  const body = `sections[${section}].body`;

  it('each bad target in Markdown is reported at its "(" in the YAML', async () => {
    const r = await build(fixture);
    const links = ofRule(r.report, 'links');

    expect(finding(links, 'links', 'link "a" goes to "#", a placeholder')).toMatchObject({ severity: 'error', where: inIssue(fixture, '[a](#)', '(#', body) });
    expect(finding(links, 'links', 'link "b" has no address')).toMatchObject({ severity: 'error', where: { file: ISSUE, path: body } });
    expect(finding(links, 'links', 'link "c" goes to "{{url}}", a template placeholder that was never filled in')).toMatchObject({
      severity: 'error',
      where: inIssue(fixture, '[c]({{url}})', '(', body),
    });
    expect(finding(links, 'links', 'link "d" goes to "www.example.org", which is not an absolute address')).toMatchObject({
      severity: 'error',
      where: inIssue(fixture, '[d](www.example.org)', '(', body),
    });
    expect(finding(links, 'links', 'link "e" goes to "http://example.org" over plain http')).toMatchObject({
      severity: 'warning',
      where: inIssue(fixture, '[e](http://example.org)', '(', body),
    });
    const nosuch = finding(links, 'links', 'link "f" goes to "#nosuch", but no section of this issue has the id "nosuch"');
    expect(nosuch).toMatchObject({ severity: 'error', where: inIssue(fixture, '[f](#nosuch)', '(', body) });
    for (const id of ['#lasob', '#vess', '#nrm', '#get-in-touch']) expect(nosuch.message).toContain(id);
    expect(finding(links, 'links', 'link "g" goes to "mailto:bad", which is not a valid email address')).toMatchObject({
      severity: 'error',
      where: inIssue(fixture, '[g](mailto:bad)', '(', body),
    });
    // #lasob is a section of the issue: fine.
    expect(links.filter((f) => f.message.includes('the LASOB update') || f.message.includes('"#lasob"'))).toEqual([]);
  });

  // An empty target must not be located at an earlier "(" of the field, such as the
  // "(see our LASOB updates below)" earlier in the letter.
  it('an empty target "()" is reported at its own "(", not at an earlier parenthesis of the field', async () => {
    const text = replaceOnce(july, 'so please do get involved.', 'so please do get involved. [Get involved]()');
    const r = await build(text);
    const f = finding(r.report.findings, 'links', 'link "Get involved" has no address');
    expect(f.where).toEqual(inIssue(text, '[Get involved]()', '()', `sections[${sectionOf(text, '[Get involved]()')}].body`));
  });

  // markdown-it percent-encodes "{{url}}" to "%7B%7Burl%7D%7D" in the HTML: the HTML
  // scan must recognise it as the link already reported at its YAML line.
  it('a {{placeholder}} link in Markdown is reported once, at its YAML line', async () => {
    const r = await build(addToSpotlight('See [the page]({{url}}).'));
    const placeholder = ofRule(r.report, 'links').filter((f) => /\{\{url\}\}|%7B%7Burl/i.test(f.message));
    expect(placeholder).toHaveLength(1);
    expect(placeholder[0]!.where?.file).toBe(ISSUE);
  });

  it('an event button going to "#" is an error at its href line', async () => {
    const from = 'href: "https://liia.london/newsletter/july-2025/child-first-webinar"\n\n  - kind: partners';
    const text = replaceOnce(july, from, 'href: "#"\n\n  - kind: partners');
    const r = await build(text);
    const needle = 'href: "#"';
    expect(ofRule(r.report, 'links')).toEqual([
      {
        rule: 'links',
        severity: 'error',
        message: expect.stringContaining('button "Get tickets" goes to "#", a placeholder'),
        where: inIssue(text, needle, '"#"', `sections[${sectionOf(text, needle)}].button.href`),
      },
    ]);
  });

  it('an article button going to "#" too', async () => {
    const text = replaceOnce(
      july,
      '      href: "https://liia.london/newsletter/july-2025/vess"\n',
      '      href: "https://liia.london/newsletter/july-2025/vess"\n    buttons:\n      - label: "Read the VESS leaflet"\n        href: "#"\n',
    );
    const r = await build(text);
    const needle = '        href: "#"';
    expect(finding(r.report.findings, 'links', 'button "Read the VESS leaflet" goes to "#"')).toMatchObject({
      severity: 'error',
      where: inIssue(text, needle, '"#"', `sections[${sectionOf(text, needle)}].buttons[0].href`),
    });
  });
});

describe('in-email links (issue 13): named anchors for Gmail and Outlook', () => {
  it('July: each of its seven contents links has an <a name> at its target, and no warning', async () => {
    const r = await build();
    const targets = [...new Set([...r.html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]!))];
    expect(targets).toHaveLength(7);
    for (const t of targets) expect(r.html, t).toContain(`<a name="${t}"></a>`);
    expect(r.report.findings.filter((f) => f.message.includes('<a name='))).toEqual([]);
  });

  it('a template whose targets carry only an id: one warning per target, naming the clients and the fix', async () => {
    const project = await makeProject();
    const file = path.join(project, 'templates', 'sections', 'article.mjml.hbs');
    await writeFile(file, (await readFile(file, 'utf8')).replace('<a name="{{id}}"></a>', ''));
    const r = await buildIssue('july-2025', { root: project, write: false });
    const unnamed = r.report.findings.filter((f) => f.rule === 'links' && f.message.includes('but no <a name='));
    // The article sections July's contents links go to (the other, #partners, is a partners section).
    expect(unnamed.map((f) => /"#([^"]+)"/.exec(f.message)?.[1]).sort()).toEqual(['child-first', 'desistance', 'lasob', 'nrm', 'practice-spotlight', 'vess']);
    expect(unnamed.every((f) => f.severity === 'warning')).toBe(true);
    expect(unnamed[0]!.message).toContain('Gmail, Outlook for Windows');
    expect(unnamed[0]!.message).toMatch(/Add <a name="[a-z-]+"><\/a> at the target/);
  });
});

describe('link-text', () => {
  const fixture = addToSpotlight(
    'Vague: [click here](https://www.gov.uk/a), [Read more](https://www.gov.uk/b), [here](https://www.gov.uk/c). Misleading: [www.example.org](https://evil.example.com/login). Honest: [gov.uk](https://www.gov.uk/d).',
  );
  const body = `sections[${sectionOf(fixture, '[click here]')}].body`;

  it('vague link words and an address that is not where the link goes are warnings at the link', async () => {
    const r = await build(fixture);
    const found = ofRule(r.report, 'link-text');
    for (const [words, link] of [
      ['click here', '[click here](https://www.gov.uk/a)'],
      ['Read more', '[Read more](https://www.gov.uk/b)'],
      ['here', '[here](https://www.gov.uk/c)'],
    ] as const) {
      expect(finding(found, 'link-text', `link text "${words}" says nothing on its own`)).toMatchObject({
        severity: 'warning',
        where: inIssue(fixture, link, '(', body),
      });
    }
    const mismatch = finding(found, 'link-text', 'link text "www.example.org" looks like an address');
    expect(mismatch).toMatchObject({ severity: 'warning', where: inIssue(fixture, '[www.example.org](https://evil.example.com/login)', '(', body) });
    expect(mismatch.message).toContain('on example.org');
    expect(mismatch.message).toContain('goes to evil.example.com');
    expect(found).toHaveLength(4); // not "gov.uk" -> www.gov.uk, nor July's own "liia.london" -> liia.london
  });

  it('an address shown as link text that goes to that site is fine (July\'s "liia.london")', async () => {
    expect(july).toContain('[liia.london](https://liia.london)');
    const r = await build(addToSpotlight('Also on [liia.london](https://www.liia.london/news) and [www.gov.uk](https://gov.uk/x).'));
    expect(ofRule(r.report, 'link-text')).toEqual([]);
  });
});

describe('images', () => {
  it('an http:// image is an error at its src line', async () => {
    const src = 'src: "https://liia.london/newsletter/july-2025/images/vess-leaflet.png"';
    const text = replaceOnce(july, src, src.replace('https://', 'http://'));
    const r = await build(text);
    const needle = 'src: "http://liia.london/newsletter/july-2025/images/vess-leaflet.png"';
    expect(ofRule(r.report, 'images')).toEqual([
      {
        rule: 'images',
        severity: 'error',
        message: expect.stringContaining('loads over plain http (http://liia.london/newsletter/july-2025/images/vess-leaflet.png)'),
        where: inIssue(text, needle, '"', `sections[${sectionOf(text, needle)}].image.src`),
      },
    ]);
  });

  it('a linked image whose alt does not say where it goes is a warning at the alt line', async () => {
    const alt = 'alt: "Cover of the Youth Justice Board report \'Applying the Child First Framework in Youth Justice Services\' – find the report on GOV.UK"';
    const text = replaceOnce(july, alt, 'alt: "Cover of the Youth Justice Board report"');
    const r = await build(text);
    const needle = 'alt: "Cover of the Youth Justice Board report"';
    expect(ofRule(r.report, 'images')).toEqual([
      {
        rule: 'images',
        severity: 'warning',
        message: expect.stringContaining(
          'image "Cover of the Youth Justice Board report" is a link, so its alt text is the link text: say what the image shows and where the link goes',
        ),
        where: inIssue(text, needle, '"', `sections[${sectionOf(text, needle)}].image.alt`),
      },
    ]);
  });

  it('an alt that is a file name is a warning at the alt line', async () => {
    const text = replaceOnce(july, 'alt: "The Youth 2 Adult (Y2A) Hub in Newham – read more about the hub"', 'alt: "vess.png"');
    const r = await build(text);
    const needle = 'alt: "vess.png"';
    const where = inIssue(text, needle, '"', `sections[${sectionOf(text, needle)}].cards[2].image.alt`);
    expect(finding(r.report.findings, 'images', 'alt text "vess.png" is a file name, not a description')).toMatchObject({ severity: 'warning', where });
    // It is a linked image too, and a file name does not say where the link goes.
    expect(finding(r.report.findings, 'images', 'image "vess.png" is a link')).toMatchObject({ severity: 'warning', where });
    expect(ofRule(r.report, 'images')).toHaveLength(2);
  });

  it("the config's logo alt without a destination: a warning at brand.logo.alt in the config", async () => {
    const r = await build(undefined, {
      config: (c) =>
        replaceOnce(
          replaceOnce(c, 'alt: LIIA\n', 'alt: "LIIA logo"\n'),
          '    title: "London Innovation and Improvement Alliance: go to the LIIA website"\n',
          '',
        ),
    });
    expect(ofRule(r.report, 'images')).toEqual([
      {
        rule: 'images',
        severity: 'warning',
        message: expect.stringContaining('image "LIIA logo" is a link, so its alt text is the link text'),
        where: { file: CONFIG, path: 'brand.logo.alt' },
      },
    ]);
  });

  it("a logo alt too long for the logo's box when images are off: a warning; the short name with a title passes", async () => {
    const long = 'LIIA – London Innovation and Improvement Alliance: go to the LIIA website';
    const r = await build(undefined, { config: (c) => replaceOnce(c, 'alt: LIIA\n', `alt: "${long}"\n`) });
    expect(ofRule(r.report, 'images')).toEqual([
      {
        rule: 'images',
        severity: 'warning',
        message: expect.stringMatching(/^the logo's alt text ".*" takes about 5 lines in its 120px box when images are off .* at most 2 fit \(34 characters\)/),
        where: { file: CONFIG, path: 'brand.logo.alt' },
      },
    ]);
    // July's config: alt "LIIA", with the destination in brand.logo.title.
    expect(ofRule((await build()).report, 'images')).toEqual([]);
  });
});

describe('size', () => {
  /** July with `n` generated paragraphs added to the Practice Spotlight body. */
  const padded = (n: number) =>
    addToSpotlight(
      Array.from({ length: n }, (_, i) => `Paragraph ${i + 1} of padding: a sentence of ordinary words that makes the email longer without any links.`).join(
        '\n\n      ',
      ),
    );

  it('over 102,000 bytes of HTML is an error: Gmail clips it', async () => {
    const r = await build(padded(300));
    expect(r.bytes.html).toBeGreaterThan(102_000);
    expect(ofRule(r.report, 'size')).toEqual([
      {
        rule: 'size',
        severity: 'error',
        message: expect.stringContaining(`the HTML is ${r.bytes.html} bytes, over Gmail's 102000-byte limit`),
      },
    ]);
  });

  it('about 95,000 bytes is a warning', async () => {
    const r = await build(padded(230));
    expect(r.bytes.html).toBeGreaterThan(90_000);
    expect(r.bytes.html).toBeLessThanOrEqual(102_000);
    expect(ofRule(r.report, 'size')).toEqual([
      { rule: 'size', severity: 'warning', message: expect.stringContaining(`the HTML is ${r.bytes.html} bytes: close to Gmail's 102000-byte clipping limit`) },
    ]);
  });

  it('July (about 65 KB) passes', async () => {
    expect(julyBuild.bytes.html).toBeLessThan(90_000);
    expect(await runRule(sizeRule, julyBuild)).toEqual([]);
  });
});

describe('document', () => {
  const subject = 'subject: "July 2025: LASOB, VESS, Practice Spotlight, NRM"';

  it('a subject over 60 characters is an error at the subject line', async () => {
    const long = 'July 2025: LASOB, VESS, Practice Spotlight, NRM, and the rest'; // 61
    expect([...long]).toHaveLength(61);
    const text = replaceOnce(july, subject, `subject: "${long}"`);
    const r = await build(text);
    expect(ofRule(r.report, 'document')).toEqual([
      {
        rule: 'document',
        severity: 'error',
        message: expect.stringContaining('the subject is 61 characters: inboxes cut it after about 60'),
        where: inIssue(text, `subject: "${long}"`, '"', 'subject'),
      },
    ]);
  });

  it('a subject of 51 to 60 characters is a warning', async () => {
    const medium = 'July 2025: LASOB, VESS, Practice Spotlight, NRM and more'; // 56
    expect([...medium]).toHaveLength(56);
    const text = replaceOnce(july, subject, `subject: "${medium}"`);
    const r = await build(text);
    expect(ofRule(r.report, 'document')).toEqual([
      {
        rule: 'document',
        severity: 'warning',
        message: 'the subject is 56 characters: phones cut it after about 50',
        where: inIssue(text, `subject: "${medium}"`, '"', 'subject'),
      },
    ]);
  });

  it('a preheader that repeats the subject is a warning at the preheader line', async () => {
    const pre = 'preheader: "Child First research and 10 July webinar, desistance insights and partner newsletters"';
    const text = replaceOnce(july, pre, 'preheader: "july 2025: LASOB, VESS, Practice Spotlight, NRM"');
    const r = await build(text);
    expect(ofRule(r.report, 'document')).toEqual([
      {
        rule: 'document',
        severity: 'warning',
        message: expect.stringContaining('the preheader repeats the subject'),
        where: inIssue(text, 'preheader: "july 2025', '"', 'preheader'),
      },
    ]);
  });

  it('lang "und" in the config is an error pointing at lang in the config', async () => {
    const r = await build(undefined, { config: (c) => replaceOnce(c, 'lang: en-GB', 'lang: und') });
    expect(r.html).toMatch(/<html\b[^>]*\slang="und"/);
    expect(ofRule(r.report, 'document')).toEqual([
      {
        rule: 'document',
        severity: 'error',
        message: expect.stringContaining('the email\'s language is "und": set lang in newsletter.config.yaml'),
        where: { file: CONFIG, path: 'lang' },
      },
    ]);
  });

  it('a lang the config cannot hold is refused when the config is loaded', async () => {
    const project = await projectWith(undefined, { config: (c) => replaceOnce(c, 'lang: en-GB', 'lang: english') });
    const err: unknown = await buildIssue('july-2025', { root: project, write: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NewsletterError);
    const config = await readFile(path.join(project, CONFIG), 'utf8');
    const at = pos(config, 'lang: english', 'english');
    expect((err as NewsletterError).code).toBe('ECONFIG');
    expect((err as NewsletterError).problems).toEqual([
      { where: `${CONFIG}:${at.line}:${at.col}`, path: 'lang', message: expect.stringContaining('must be a language tag such as en-GB') },
    ]);
  });

  describe('on the HTML (faults only a template could make)', () => {
    it('July passes', async () => {
      expect(await runRule(documentRule, julyBuild)).toEqual([]);
    });

    it('two h1 headings are an error', async () => {
      const f = await runRule(documentRule, julyBuild, { html: afterFirstH2(julyBuild.html, '<h1>A second title</h1>') });
      expect(f).toEqual([
        {
          rule: 'document',
          severity: 'error',
          message: expect.stringContaining('the email has 2 h1 headings: it needs exactly one'),
          where: expect.anything(),
        },
      ]);
    });

    it('an h4 right after an h2 is an error, with an excerpt of it', async () => {
      const f = await runRule(documentRule, julyBuild, { html: afterFirstH2(julyBuild.html, '<h4>Skipped a level</h4>') });
      expect(f).toEqual([
        {
          rule: 'document',
          severity: 'error',
          message: 'an h4 follows an h2: a skipped heading level confuses screen-reader navigation. Use h3',
          where: { excerpt: expect.stringContaining('<h4>Skipped a level</h4>') },
        },
      ]);
    });

    it('a table without role="presentation" is an error, with an excerpt of it', async () => {
      const f = await runRule(documentRule, julyBuild, { html: afterFirstH2(julyBuild.html, '<table class="data"><tr><td>Cell</td></tr></table>') });
      expect(f).toEqual([
        {
          rule: 'document',
          severity: 'error',
          message: expect.stringContaining('a layout table has no role="presentation"'),
          where: { excerpt: expect.stringContaining('<table class="data"><tr><td>Cell</td>') },
        },
      ]);
    });

    it('lang="und" on the html element is an error', async () => {
      const html = julyBuild.html.replace(/(<html\b[^>]*\slang=")en-GB"/, '$1und"');
      expect(html).not.toBe(julyBuild.html);
      const f = await runRule(documentRule, julyBuild, { html });
      expect(f).toEqual([{ rule: 'document', severity: 'error', message: expect.stringContaining('"und"'), where: { file: CONFIG, path: 'lang' } }]);
    });
  });
});

describe('readability', () => {
  it('body text colour with low contrast on white: an error naming both colours and the ratio, at brand.colours', async () => {
    const r = await build(undefined, { config: (c) => replaceOnce(c, 'text: "#1f1f1f"', 'text: "#aaaaaa"') });
    const f = finding(r.report.findings, 'readability', 'text #aaaaaa (brand.colours.text) on #ffffff (white)');
    expect(f.severity).toBe('error');
    expect(f.message).toContain('has a contrast of 2.32:1, under 4.5:1 (WCAG AA)'); // WebAIM: #aaaaaa on #ffffff is 2.32:1
    expect(f.message).toContain('first "Dear colleagues,"');
    expect(f.where).toEqual({ file: CONFIG, path: 'brand.colours', excerpt: 'Dear colleagues,' });
  });

  it('a light accent colour: the links on white and the white button text on it both fail', async () => {
    const r = await build(undefined, { config: (c) => replaceOnce(c, 'accent: "#0b6e69"', 'accent: "#7fd3cf"') });
    const links = finding(r.report.findings, 'readability', 'text #7fd3cf (brand.colours.accent) on #ffffff (white) has a contrast of 1.73:1');
    const button = finding(r.report.findings, 'readability', 'text #ffffff (white) on #7fd3cf (brand.colours.accent) has a contrast of 1.73:1');
    expect(links.severity).toBe('error');
    expect(button).toMatchObject({ severity: 'error', where: { file: CONFIG, path: 'brand.colours', excerpt: 'Get tickets' } });
  });

  it("a dark-mode link colour too dark for the dark section: an error at brand.dark.link; the config's palette passes", async () => {
    const r = await build(undefined, { config: (c) => replaceOnce(c, 'link: "#7fd8d1"', 'link: "#0b6e69"') });
    const dark = r.report.findings.filter((f) => f.rule === 'readability' && f.message.startsWith('in dark mode'));
    // #0b6e69 on #1e1e2a is 2.71:1, on the panel #2a2a3a 2.31:1, on the background #121218 3.06:1 (WCAG's formula, worked out by hand).
    expect(dark.map((f) => [f.where?.path, /contrast of ([\d.]+):1/.exec(f.message)?.[1]])).toEqual([
      ['brand.dark.link', '2.71'],
      ['brand.dark.link', '2.31'],
      ['brand.dark.link', '3.06'],
    ]);
    expect(dark[0]).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('in dark mode, links (brand.dark.link, #0b6e69) on brand.dark.section (#1e1e2a)'),
    });
    expect(julyBuild.report.findings.filter((f) => f.message.startsWith('in dark mode'))).toEqual([]);
  });

  it('July passes, and the white masthead on the primary colour is seen as such', async () => {
    expect(await runRule(readabilityRule, julyBuild)).toEqual([]);
    const masthead = textSamples(julyBuild.html).find((s) => s.text === julyBuild.issue.masthead);
    expect(masthead).toMatchObject({ colour: [255, 255, 255], background: [0x2b, 0x2a, 0x6b], px: 24 });
  });

  it('text under 14px is a warning quoting it', async () => {
    const f = await runRule(readabilityRule, julyBuild, { html: afterFirstH2(julyBuild.html, '<p style="font-size:12px">tiny print</p>') });
    expect(f).toEqual([
      {
        rule: 'readability',
        severity: 'warning',
        message: '1 piece of text at 12px, under 14px: hard to read on a phone. First: "tiny print"',
        where: { excerpt: 'tiny print' },
      },
    ]);
  });

  it('text a reader never sees (display:none, a 0px box) is ignored; the same text shown is not', async () => {
    const unseen = '<div style="display:none;font-size:10px;color:#fafafa">hidden words</div><div style="font-size:0px;color:#fafafa">zero words</div>';
    expect(await runRule(readabilityRule, julyBuild, { html: afterFirstH2(julyBuild.html, unseen) })).toEqual([]);
    // The hidden preheader is in July's HTML already (1px, white, display:none).
    expect(julyBuild.html).toContain(`">${julyBuild.issue.preheader}</div>`);

    const seen = '<div style="font-size:10px;color:#fafafa">hidden words</div>';
    const f = await runRule(readabilityRule, julyBuild, { html: afterFirstH2(julyBuild.html, seen) });
    expect(f.map((x) => [x.severity, x.message.slice(0, 40)])).toEqual([
      ['warning', '1 piece of text at 10px, under 14px: har'],
      ['error', 'text #fafafa on #ffffff (white) has a co'],
    ]);
  });
});

describe('outlook', () => {
  const opens = (julyBuild.html.match(/<!--\[if\b/g) ?? []).length;

  it('July is balanced', async () => {
    expect(opens).toBeGreaterThan(10);
    expect(await runRule(outlookRule, julyBuild)).toEqual([]);
  });

  it('an "<!--[if mso]>" without its endif is an error', async () => {
    const f = await runRule(outlookRule, julyBuild, { html: afterFirstH2(julyBuild.html, '<!--[if mso]><p>Outlook only</p>') });
    expect(f).toEqual([
      {
        rule: 'outlook',
        severity: 'error',
        message:
          'a block for Outlook ("<!--[if ...]>") is never closed with "<![endif]-->": everything after it disappears, in Outlook or in every other client. Close it in the template',
        where: expect.anything(),
      },
    ]);
  });

  // MJML never nests conditional comments, so the unclosed one is the "<!--[if"
  // followed by another "<!--[if" before any endif: that is the one to show.
  it('...and its excerpt shows the comment left open, not the last one of the document', async () => {
    const f = await runRule(outlookRule, julyBuild, { html: afterFirstH2(julyBuild.html, '<!--[if mso]><p>Outlook only</p>') });
    expect(f[0]!.where?.excerpt).toContain('<!--[if mso]><p>Outlook only</p>');
  });

  it('"<![endif]/-->" is an error (and leaves its "<!--[if" unclosed)', async () => {
    const f = await runRule(outlookRule, julyBuild, { html: afterFirstH2(julyBuild.html, '<!--[if mso]><p>Outlook only</p><![endif]/-->') });
    expect(f).toHaveLength(2);
    expect(finding(f, 'outlook', '"<![endif]/-->" is malformed (stray slash)')).toMatchObject({
      severity: 'error',
      where: { excerpt: expect.stringContaining('<p>Outlook only</p><![endif]/-->') },
    });
    expect(finding(f, 'outlook', 'is never closed with "<![endif]-->"').where?.excerpt).toContain('<!--[if mso]><p>Outlook only</p>');
  });
});

describe('forbidden', () => {
  it('July has none', async () => {
    expect(await runRule(forbiddenRule, julyBuild)).toEqual([]);
  });

  it('script, form, iframe and an external stylesheet are errors, each with an excerpt', async () => {
    const html = afterFirstH2(
      julyBuild.html.replace('</head>', '<link rel="stylesheet" href="https://x.example.org/style.css"></head>'),
      '<script>alert(1)</script><form action="https://x.example.org"><input name="q"></form><iframe src="https://x.example.org"></iframe>',
    );
    const f = await runRule(forbiddenRule, julyBuild, { html });
    expect(f.map((x) => [x.severity, x.message.split(':')[0]])).toEqual([
      ['error', '<script> does not work in email (clients strip it, spam filters score it)'],
      ['error', '<form> does not work in email (clients strip it, spam filters score it)'],
      ['error', '<iframe> does not work in email (clients strip it, spam filters score it)'],
      ['error', 'an external stylesheet'],
    ]);
    expect(f[0]!.where?.excerpt).toContain('<script>alert(1)</script>');
    expect(f[3]!.where?.excerpt).toContain('<link rel="stylesheet" href="https://x.example.org/style.css">');
  });

  const webFont = '<style>@import url(https://fonts.googleapis.com/css2?family=Roboto);</style></head>';

  it('an @import of a web font is a warning when every font stack ends in a generic family', async () => {
    const f = await runRule(forbiddenRule, julyBuild, { html: julyBuild.html.replace('</head>', webFont) });
    expect(f).toEqual([
      {
        rule: 'forbidden',
        severity: 'warning',
        message: expect.stringContaining('@import of a web font: Outlook and Gmail ignore it'),
        where: { excerpt: expect.stringContaining('@import url(https://fonts.googleapis.com/css2?family=Roboto)') },
      },
    ]);
  });

  it('...and an error when a font stack has no generic fallback, naming it', async () => {
    const html = julyBuild.html.replace('</head>', webFont).replace('font-family:Arial,Helvetica,sans-serif', 'font-family:Roboto');
    const f = await runRule(forbiddenRule, julyBuild, { html });
    expect(f).toEqual([
      {
        rule: 'forbidden',
        severity: 'error',
        message: expect.stringContaining('the font stack "Roboto" has no generic fallback (such as sans-serif)'),
        where: expect.anything(),
      },
    ]);
  });
});

describe('message', () => {
  const compose = (options: ConstructorParameters<typeof MailComposer>[0]) => new MailComposer(options).compile().build();

  it('July passes', async () => {
    expect(await runRule(messageRule, julyBuild)).toEqual([]);
  });

  it('an .eml without a text/plain part is an error', async () => {
    const eml = await compose({
      from: 'LIIA <liiateam@londoncouncils.gov.uk>',
      subject: 'July',
      html: julyBuild.html,
      messageId: '<x.1@londoncouncils.gov.uk>',
    });
    expect(await runRule(messageRule, julyBuild, { eml })).toEqual([
      {
        rule: 'message',
        severity: 'error',
        message: 'the message has no text/plain part: some recipients and spam filters need one',
        where: { excerpt: 'email.eml: text/html' },
      },
    ]);
  });

  it('a From with two addresses is an error pointing at sender in the config', async () => {
    const eml = await compose({
      from: 'one@londoncouncils.gov.uk, two@londoncouncils.gov.uk',
      subject: 'July',
      text: julyBuild.text,
      html: julyBuild.html,
      messageId: '<x.2@londoncouncils.gov.uk>',
    });
    expect(await runRule(messageRule, julyBuild, { eml })).toEqual([
      {
        rule: 'message',
        severity: 'error',
        message: expect.stringMatching(/^From must be exactly one address, not ".*one@.*two@.*": set sender in newsletter\.config\.yaml$/),
        where: { file: CONFIG, path: 'sender' },
      },
    ]);
  });

  it('a footer without the postal address: an error for the HTML and for the plain text', async () => {
    const footer = 'sections/footer.mjml.hbs';
    const r = await build(undefined, { template: [footer, (t) => replaceOnce(t, '<p class="small">{{postalAddress}}</p>', '')] });
    const address = r.config.postalAddress;
    expect(ofRule(r.report, 'message')).toEqual([
      {
        rule: 'message',
        severity: 'error',
        message: `the HTML does not show the sender's postal address ("${address}")`,
        where: { file: CONFIG, path: 'postalAddress' },
      },
      {
        rule: 'message',
        severity: 'error',
        message: `the plain text does not show the sender's postal address ("${address}")`,
        where: { file: CONFIG, path: 'postalAddress' },
      },
    ]);
  });

  it('a footer without the unsubscribe line: an error for the HTML and for the plain text', async () => {
    const footer = 'sections/footer.mjml.hbs';
    const r = await build(undefined, {
      template: [footer, (t) => t.replace(/<p class="small"><a class="link tap" href="\{\{unsubscribeHref\}\}">[\s\S]*?<\/p>/, '')],
    });
    expect(r.html).not.toMatch(/unsubscribe/i);
    expect(ofRule(r.report, 'message')).toEqual(
      ['HTML', 'plain text'].map((part) => ({
        rule: 'message',
        severity: 'error',
        message: `the ${part} has no unsubscribe route (liiateam@londoncouncils.gov.uk): the footer must say how to leave the list`,
        where: { file: CONFIG, path: 'unsubscribe' },
      })),
    );
  });
});

describe('config levels (checks: in newsletter.config.yaml)', () => {
  const withChecks = (yaml: string) => (c: string) => `${c.trimEnd()}\n\nchecks:\n${yaml}`;

  it('level: error turns a warning into an error, with the reason; acceptances do not apply to errors', async () => {
    const r = await build(undefined, { config: withChecks('  link-text:\n    level: error\n    reason: "We never send vague link words"\n') });
    const link = '[here](https://www.gov.uk/search/all?keywords=Applying+the+Child+First+Framework+in+Youth+Justice+Services)';
    const errors = r.report.findings.filter((f) => f.severity === 'error');
    expect(errors).toEqual([
      {
        rule: 'link-text',
        severity: 'error',
        message: expect.stringContaining('link text "here" says nothing on its own'),
        where: inIssue(july, link, '(', `sections[${sectionOf(july, link)}].body`),
        relevelled: { from: 'warning', reason: 'We never send vague link words' },
      },
    ]);
    expect(r.report.counts.error).toBe(1);
    expect(r.report.accepted).toEqual([]);
    expect(formatReport(r.report)).toContain('      (warning made error in config: We never send vague link words)');
  });

  it('level: warning turns an error into a warning', async () => {
    const text = addToSpotlight('See [the page](#).');
    const r = await build(text, { config: withChecks('  links:\n    level: warning\n    reason: "Drafts only"\n') });
    expect(ofRule(r.report, 'links')).toEqual([
      {
        rule: 'links',
        severity: 'warning',
        message: expect.stringContaining('link "the page" goes to "#"'),
        where: inIssue(text, '[the page](#)', '(', `sections[${sectionOf(text, '[the page](#)')}].body`),
        relevelled: { from: 'error', reason: 'Drafts only' },
      },
    ]);
    expect(r.report.counts).toEqual({ error: 0, warning: 1 });
  });

  it("level: off hides the rule's findings and the report counts them", async () => {
    const text = replaceOnce(
      replaceOnce(july, 'alt: "The Youth 2 Adult (Y2A) Hub in Newham – read more about the hub"', 'alt: "vess.png"'),
      'alt: "Cover of the Youth Justice Board report \'Applying the Child First Framework in Youth Justice Services\' – find the report on GOV.UK"',
      'alt: "Cover of the Youth Justice Board report"',
    );
    const r = await build(text, { config: withChecks('  images:\n    level: off\n    reason: "Alt text is reviewed by the comms team"\n') });
    expect(ofRule(r.report, 'images')).toEqual([]);
    expect(r.report.off).toEqual([{ rule: 'images', reason: 'Alt text is reviewed by the comms team', hidden: 3 }]);
    expect(r.report.counts).toEqual({ error: 0, warning: 0 });
    expect(formatReport(r.report)).toContain('Rule "images" is off in config (Alt text is reviewed by the comms team): 3 findings not shown');
  });

  it('an entry without a reason is refused when the config is loaded, at its line', async () => {
    const project = await projectWith(undefined, { config: withChecks('  link-text:\n    level: error\n') });
    const err: unknown = await buildIssue('july-2025', { root: project, write: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NewsletterError);
    const config = await readFile(path.join(project, CONFIG), 'utf8');
    const at = pos(config, '    level: error', 'level');
    expect((err as NewsletterError).code).toBe('ECONFIG');
    expect((err as NewsletterError).problems).toEqual([
      { where: `${CONFIG}:${at.line}:${at.col}`, path: 'checks.link-text.reason', message: expect.stringContaining('is required') },
    ]);
  });
});

describe('accept: in the issue file', () => {
  it('an entry that matches nothing is a warning at its line, saying to remove it', async () => {
    const text = `${july.trimEnd()}\n  - rule: images\n    path: sections[3].image.alt\n    reason: "Kept from June"\n`;
    const r = await build(text);
    expect(r.report.findings).toEqual([
      {
        rule: 'images',
        severity: 'warning',
        message: 'this accept entry finds no images warning at sections[3].image.alt any more (fixed, or moved): remove the entry',
        where: inIssue(text, '  - rule: images', 'rule', 'accept[1]'),
      },
    ]);
    expect(r.report.accepted).toHaveLength(1); // July's own still applies
  });

  it('accepting an error does not hide it', async () => {
    const fixture = addToSpotlight('See [the page](#).');
    const body = `sections[${sectionOf(fixture, '[the page](#)')}].body`;
    const text = `${fixture.trimEnd()}\n  - rule: links\n    path: ${body}\n    reason: "We will fill it in later"\n`;
    const r = await build(text);
    expect(finding(r.report.findings, 'links', 'link "the page" goes to "#"')).toMatchObject({
      severity: 'error',
      where: inIssue(text, '[the page](#)', '(', body),
    });
    expect(r.report.counts.error).toBe(1);
    expect(r.report.accepted.map((a) => a.rule)).toEqual(['link-text']);
    expect(finding(r.report.findings, 'links', 'this accept entry cannot accept the links problem')).toMatchObject({
      severity: 'warning',
      where: inIssue(text, '  - rule: links', 'rule', 'accept[1]'),
    });
  });
});

describe('the command line', () => {
  /** One error (a "#" link) and one warning (an http link). */
  const faulty = addToSpotlight('See [the page](#) and [the old site](http://example.org).');
  const body = `sections[${sectionOf(faulty, '[the page](#)')}].body`;

  it('errors: exit 1, files written, the report grouped by severity, and how to go on', async () => {
    const project = await projectWith(faulty);
    const { code, out, err } = await runCli(['july-2025'], project);
    expect(code).toBe(1);
    for (const f of ['email.html', 'email.txt', 'email.eml', 'report.json']) expect(existsSync(path.join(project, 'dist/july-2025', f)), f).toBe(true);

    expect(out).toContain('Checks: 1 error, 1 warning\n');
    const errorsAt = out.indexOf('\nErrors (1):\n');
    const warningsAt = out.indexOf('\nWarnings (1):\n');
    expect(errorsAt).toBeGreaterThan(0);
    expect(warningsAt).toBeGreaterThan(errorsAt);
    const e = pos(faulty, '[the page](#)', '(');
    const w = pos(faulty, '[the old site](http://example.org)', '(');
    expect(out.slice(errorsAt, warningsAt)).toContain(`  [links] ${ISSUE}:${e.line}:${e.col} ${body}: link "the page" goes to "#", a placeholder`);
    expect(out.slice(warningsAt)).toContain(`  [links] ${ISSUE}:${w.line}:${w.col} ${body}: link "the old site" goes to "http://example.org" over plain http`);
    expect(out).toContain('Accepted in the issue file (1):');

    expect(err).toContain('error: the checks found 1 error: fix them before sending');
    expect(err).toContain('--allow-errors exits 0 anyway');
  });

  it('--allow-errors exits 0, with the same report', async () => {
    const project = await projectWith(faulty);
    const { code, out, err } = await runCli(['july-2025', '--allow-errors'], project);
    expect(code).toBe(0);
    expect(out).toContain('Checks: 1 error, 1 warning');
    expect(err).toBe('');
  });

  it('warnings only: exit 0', async () => {
    const project = await projectWith(addToSpotlight('See [the old site](http://example.org).'));
    const { code, out, err } = await runCli(['july-2025'], project);
    expect(code).toBe(0);
    expect(out).toContain('Checks: 0 errors, 1 warning\n');
    expect(out).not.toContain('Errors (');
    expect(out).toContain('Warnings (1):');
    expect(err).toBe('');
  });

  it('more than 10 findings of a severity: the first 10 and where to see the rest', async () => {
    const many = addToSpotlight(Array.from({ length: 12 }, (_, i) => `[link ${i + 1}](#)`).join(' '));
    const { code, out } = await runCli(['july-2025'], await projectWith(many));
    expect(code).toBe(1);
    expect(out).toContain('Errors (12):');
    expect(out).toContain('link "link 10" goes to "#"');
    expect(out).not.toContain('link "link 11"');
    expect(out).toContain('  ... and 2 more: run "build-issue check" for the full report, or see report.json');
  });

  it('--json prints the findings', async () => {
    const project = await projectWith(faulty);
    const { code, out } = await runCli(['july-2025', '--json'], project);
    expect(code).toBe(1);
    const summary = JSON.parse(out) as { ok: boolean; checks: { counts: CheckReport['counts']; findings: ReportedFinding[]; accepted: unknown[] } };
    expect(summary.ok).toBe(true);
    expect(summary.checks.counts).toEqual({ error: 1, warning: 1 });
    expect(summary.checks.findings).toEqual([
      { rule: 'links', severity: 'error', message: expect.stringContaining('link "the page" goes to "#"'), where: inIssue(faulty, '[the page](#)', '(', body) },
      {
        rule: 'links',
        severity: 'warning',
        message: expect.stringContaining('link "the old site" goes to "http://example.org"'),
        where: inIssue(faulty, '[the old site](http://example.org)', '(', body),
      },
    ]);
    expect(summary.checks.accepted).toHaveLength(1);
  });

  it('--check lists every link with where it is written', async () => {
    const project = await makeProject();
    const { code, out } = await runCli(['july-2025', '--check'], project);
    expect(code).toBe(0);
    const m = /\nLinks \((\d+)\):\n/.exec(out);
    expect(m).not.toBeNull();
    expect(Number(m![1])).toBe(julyBuild.report.links.length);
    const met = pos(july, '[Metropolitan Police](https://www.met.police.uk/)', '(');
    const spotlight = `sections[${sectionOf(july, '[Metropolitan Police]')}].body`;
    expect(out).toContain(`  https://www.met.police.uk/  "Metropolitan Police"  (${ISSUE}:${met.line}:${met.col} ${spotlight})`);
    expect(out).toContain(`  https://liia.london/  "LIIA"  (${CONFIG} brand.website)`);
  });

  it('report.json holds the slug, the hash, the counts, the findings and the links', async () => {
    const project = await projectWith(faulty);
    await runCli(['july-2025'], project);
    const dir = path.join(project, 'dist/july-2025');
    const report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as CheckReport & { slug: string; hash: string };
    // The hash covers what the editors review: subject, sender, and both parts.
    const hash = createHash('sha256')
      .update(
        [
          'July 2025: LASOB, VESS, Practice Spotlight, NRM',
          'London Innovation and Improvement Alliance',
          'liiateam@londoncouncils.gov.uk',
          await readFile(path.join(dir, 'email.html'), 'utf8'),
          await readFile(path.join(dir, 'email.txt'), 'utf8'),
        ].join('\0'),
      )
      .digest('hex');
    expect(report.slug).toBe('july-2025');
    expect(report.hash).toBe(hash);
    expect(report.counts).toEqual({ error: 1, warning: 1 });
    expect(report.findings.map((f) => [f.rule, f.severity, f.where?.line])).toEqual([
      ['links', 'error', pos(faulty, '[the page](#)').line],
      ['links', 'warning', pos(faulty, '[the old site](http://example.org)').line],
    ]);
    expect(report.accepted).toHaveLength(1);
    expect(report.links).toContainEqual({ href: '#', text: 'the page', kind: 'text', where: inIssue(faulty, '[the page](#)', '(', body) });
    expect(report.links).toContainEqual(expect.objectContaining({ href: 'https://www.met.police.uk/', text: 'Metropolitan Police', kind: 'text' }));
  });
});
