/**
 * Section shapes (issue 14): the pull quote, a headed event group, tiles under their own
 * heading, each in its own panel or group (test/fixtures/section-shapes.yaml, the issue
 * docs/sections-grouping.png was cropped from); and an event's times checked by the
 * schema, so a bad one is an error at its file:line:col like any other.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildIssue } from '../src/index.js';
import { issueSchemaJsonText } from '../src/issue/schema.js';
import { lineOf, makeProject, rejection, replaceOnce, ROOT, writeIssue } from './helpers.js';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'section-shapes.yaml');
const ISSUE = 'issues/section-shapes.yaml';
const fixture = () => readFile(FIXTURE, 'utf8');

/** The MJML sections of a build, in order: the attributes of each <mj-section> tag and what is inside. */
function mjSections(mjml: string): { attrs: string; body: string }[] {
  return [...mjml.matchAll(/<mj-section\b([^>]*)>([\s\S]*?)<\/mj-section>/g)].map((m) => ({ attrs: m[1]!, body: m[2]! }));
}
const BAND = /border-top="8px solid #[0-9a-f]{6}"/;

/** Build `text` as issues/section-shapes.yaml in a fresh project. */
async function build(text: string) {
  const project = await makeProject();
  await writeIssue(project, 'section-shapes', text);
  return buildIssue('section-shapes', { root: project });
}

/** The problems of a build that must fail, as "file:line:col path message" lines. */
async function problems(text: string): Promise<string[]> {
  const project = await makeProject();
  await writeIssue(project, 'section-shapes', text);
  const error = await rejection(buildIssue('section-shapes', { root: project }));
  expect(error.code).toBe('EISSUE_INVALID');
  return error.problems.map((p) => `${p.where} ${p.path} ${p.message}`);
}

/** `ISSUE:<line>:<col>` of `needle` (col of `colNeedle` on the first line holding `needle`). */
function at(text: string, needle: string, colNeedle = needle): string {
  const line = lineOf(text, needle);
  return `${ISSUE}:${line}:${text.split('\n')[line - 1]!.indexOf(colNeedle) + 1}`;
}

describe('a quote, a headed event group and tiles, each in its own group', () => {
  it('builds with 0 errors and 0 warnings', async () => {
    const r = await build(await fixture());
    expect(r.report.findings).toEqual([]);
    expect(r.report.counts).toEqual({ error: 0, warning: 0 });
  });

  it('the quote is a panel with the accent bar inside the article above it, in larger italic, then who said it', async () => {
    const r = await build(await fixture());
    const quote = mjSections(r.mjml).find((s) => s.body.includes('class="pull"'))!;
    // It belongs to the article above: no band of its own.
    expect(quote.attrs).not.toMatch(BAND);
    expect(quote.body).toContain('<td class="panel quote" style="padding:16px"><blockquote class="pull"><p>Seeing children as children');
    expect(quote.body).toContain(
      `<p class="cite">&mdash; <strong>Florence Kroll</strong>, <span class="muted">Chair, Association of London Directors of Children's Services</span></p>`,
    );
    // Inlined, so it reads the same without <style>.
    expect(r.html).toContain('<blockquote class="pull" style="margin:0;font-size:18px;line-height:1.5;font-style:italic">');
    // In the plain text it is a quote too.
    expect(r.text).toMatch(/^> Seeing children as children changed how we work with families, and how they\n> work with us\.\n\n— Florence Kroll, Chair/m);
  });

  it('the events are one group: the heading and the band over the first, the other two under it', async () => {
    const r = await build(await fixture());
    const events = mjSections(r.mjml).filter((s) => s.body.includes('class="event-date"'));
    expect(events).toHaveLength(3);
    expect(events[0]!.attrs).toMatch(BAND);
    expect(events[0]!.body).toContain('<h2 class="h2" id="events"><a name="events"></a>EVENTS THIS AUTUMN</h2>');
    for (const e of events.slice(1)) {
      expect(e.attrs).not.toMatch(BAND);
      expect(e.body).not.toContain('<h2');
    }
    // The contents list links to the group's heading.
    expect(r.html).toMatch(/<a href="#events"[^>]*>Events this autumn<\/a>/);
    expect(r.invites).toHaveLength(3);
  });

  it('the tiles have their own heading and band; without a heading they stay with the section above', async () => {
    const text = await fixture();
    const tiles = (mjml: string) => mjSections(mjml).find((s) => s.body.includes('class="tiles-3"'))!;
    const headed = tiles((await build(text)).mjml);
    expect(headed.attrs).toMatch(BAND);
    expect(headed.body).toContain('<a name="practice-spotlight-categories"></a>PRACTICE SPOTLIGHT CATEGORIES</h2>');

    const bare = replaceOnce(replaceOnce(text, '    heading: PRACTICE SPOTLIGHT CATEGORIES\n', ''), '    contents: Practice Spotlight categories\n', '');
    const r = await build(bare);
    expect(r.report.counts.error).toBe(0);
    expect(tiles(r.mjml).attrs).not.toMatch(BAND);
    expect(tiles(r.mjml).body).not.toContain('<h2');
  });

  it("July's event, which has no heading, stays under its article (no band)", async () => {
    const project = await makeProject();
    const r = await buildIssue('july-2025', { root: project });
    const event = mjSections(r.mjml).find((s) => s.body.includes('class="event-date"'))!;
    expect(event.attrs).not.toMatch(BAND);
    expect(event.body).not.toContain('<h2');
  });
});

describe('the schema checks what the sections need, each problem at its line', () => {
  it('a quote without its attribution', async () => {
    const text = await fixture();
    const bad = replaceOnce(text, '    attribution: Florence Kroll\n', '');
    expect(await problems(bad)).toEqual([
      `${at(bad, '  - kind: quote', 'kind')} sections[2].attribution is required: who said or wrote it, e.g. "Florence Kroll"`,
    ]);
  });

  it('contents (or id) on tiles or an event without a heading: the contents list would have nothing to link to', async () => {
    const text = await fixture();
    const bad = replaceOnce(text, '    heading: PRACTICE SPOTLIGHT CATEGORIES\n', '');
    expect(await problems(bad)).toEqual([
      `${at(bad, '    contents: Practice Spotlight categories', 'Practice')} sections[6].contents needs a "heading" in the same section, for the contents list to link to ("Practice Spotlight categories"): the entry for this section in the contents list; leave out to keep the section out of the list`,
    ]);
  });

  it('a start ending in Z (or with an offset) is an error at its line, saying how to write it', async () => {
    const text = await fixture();
    const bad = replaceOnce(text, 'start: "2025-09-11T14:00"', 'start: "2025-09-11T13:00Z"');
    expect(await problems(bad)).toEqual([
      `${at(bad, '2025-09-11T13:00Z', '"')} sections[3].start is not in the right form ("2025-09-11T13:00Z"): when the event starts, for its calendar invite, London time as YYYY-MM-DDTHH:MM, e.g. 2025-07-10T14:00 (seconds optional; no "Z" or "+01:00": BST or GMT follows from the date)`,
    ]);
    const offset = replaceOnce(text, 'start: "2025-10-08T10:00"', 'start: "2025-10-08T10:00+01:00"');
    expect(await problems(offset)).toEqual([
      expect.stringMatching(new RegExp(`^${at(offset, '+01:00', '"')} sections\\[4\\]\\.start is not in the right form`)),
    ]);
  });

  it('an event that ends before (or when) it starts, or a day that does not exist, is an error at its line', async () => {
    const text = await fixture();
    const early = replaceOnce(text, 'end: "2025-11-04T12:00"', 'end: "2025-11-04T09:00"');
    expect(await problems(early)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${at(early, 'end: "2025-11-04T09:00"', '"')} sections\\[5\\]\\.end must be after the start, 2025-11-04T09:30 \\("2025-11-04T09:00"\\): when the event ends`,
        ),
      ),
    ]);
    const same = replaceOnce(text, 'end: "2025-11-04T12:00"', 'end: "2025-11-04T09:30:00"');
    expect(await problems(same)).toEqual([expect.stringContaining('sections[5].end must be after the start')]);
    const noDay = replaceOnce(text, 'start: "2025-11-04T09:30"', 'start: "2025-02-29T09:30"');
    expect(await problems(noDay)).toEqual([expect.stringContaining('sections[5].start is not in the right form ("2025-02-29T09:30")')]);
  });

  it('an end without a start is an error at its section', async () => {
    const text = await fixture();
    const bad = replaceOnce(text, '    start: "2025-11-04T09:30"\n', '');
    const kindLine = text.split('\n').findIndex((l, i) => l === '  - kind: event' && text.split('\n')[i + 1]!.includes('Tuesday')) + 1;
    expect(await problems(bad)).toEqual([
      expect.stringMatching(new RegExp(`^${ISSUE}:${kindLine}:5 sections\\[5\\]\\.start is required when the event has an end: `)),
    ]);
  });

  it('a misspelt kind or field: each sentence ends with a full stop', async () => {
    const text = await fixture();
    const bad = replaceOnce(
      replaceOnce(text, '  - kind: quote', '  - kind: blurb'),
      '    price: Free\n    when: Oct 8',
      '    cost: 0\n    price: Free\n    when: Oct 8',
    );
    const found = await problems(bad);
    expect(found).toContainEqual(expect.stringContaining('sections[2].kind "blurb" is not a section kind. Kinds that exist: letter, contents, article, tiles'));
    expect(found).toContainEqual(expect.stringContaining('sections[4].cost is not a known field. Fields allowed here: kind, id, heading, contents, date'));
  });
});

describe('issues/schema.json accepts the times the build accepts', () => {
  const validator = async () => {
    const { Ajv2020 } = await import('ajv/dist/2020.js');
    return new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(JSON.parse(issueSchemaJsonText()) as object);
  };

  it('accepts the fixture (quote, headed events, tiles) and rejects Z, offsets and days that do not exist', async () => {
    const validate = await validator();
    const data = parseYaml(await fixture()) as { sections: Record<string, unknown>[] };
    expect(validate(data), JSON.stringify(validate.errors)).toBe(true);
    for (const [start, ok] of [
      ['2025-09-11T14:00', true],
      ['2025-09-11T14:00:00', true],
      ['2024-02-29T09:00', true],
      ['2025-09-11T14:00Z', false],
      ['2025-09-11T14:00:00.000Z', false],
      ['2025-09-11T14:00+01:00', false],
      ['2025-02-29T09:00', false],
      ['2025-09-11 14:00', false],
      ['2025-09-11T24:00', false],
    ] as const) {
      data.sections[3]!.start = start;
      expect(validate(data), start).toBe(ok);
    }
  });

  it('says how to write a time', () => {
    const text = issueSchemaJsonText();
    expect(text).toContain(
      'London time as YYYY-MM-DDTHH:MM, e.g. 2025-07-10T14:00 (seconds optional; no \\"Z\\" or \\"+01:00\\": BST or GMT follows from the date)',
    );
  });
});
