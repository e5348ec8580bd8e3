/**
 * The `kept` rule (a "# KEPT from ..." comment that `new --from` wrote is an error until
 * an editor deletes it) and the `lists` rule (a "- " line meant as a list item that
 * markdown-it joins to the text above). Fixtures are the July issue edited with
 * replaceOnce; the expected line and column come from the fixture's text.
 */
import { describe, expect, it } from 'vitest';
import { mergedItems } from '../src/check/rules-lists.js';
import { buildIssue, type BuildResult } from '../src/index.js';
import { sendIssue } from '../src/send/send-issue.js';
import { julyYaml, makeProject, rejection, replaceOnce, writeIssue } from './helpers.js';

const ISSUE = 'issues/july-2025.yaml';
const july = await julyYaml();

/** Line and column (1-based) of the one occurrence of `needle` in `text`. */
function pos(text: string, needle: string): { line: number; col: number } {
  const start = text.indexOf(needle);
  if (start < 0 || text.indexOf(needle, start + 1) >= 0) throw new Error(`fixture text must occur exactly once: ${needle}`);
  const before = text.slice(0, start).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}

async function build(text: string): Promise<BuildResult> {
  const project = await makeProject();
  await writeIssue(project, 'july-2025', text);
  return buildIssue('july-2025', { root: project, write: false });
}

const ofRule = (r: BuildResult, rule: string) => r.report.findings.filter((f) => f.rule === rule);

describe('kept: a "# KEPT from" comment is an error until it is deleted', () => {
  const above = '      # KEPT from june-2025 (the signatory): check it is still right for this issue, edit it if not, then delete this comment\n';
  const fixture = replaceOnce(july, '      name: "Florence Kroll"\n', `${above}      name: "Florence Kroll"\n`);
  const trailing = replaceOnce(fixture, 'chair of the ALDCS"\n', 'chair of the ALDCS" # KEPT from june-2025 (the signatory)\n');

  it('reports the field written under the comment, at the comment, as an error', async () => {
    const r = await build(fixture);
    expect(ofRule(r, 'kept')).toEqual([
      {
        rule: 'kept',
        severity: 'error',
        message: expect.stringContaining('"Florence Kroll" was kept from the previous issue by "new --from"'),
        where: { file: ISSUE, ...pos(fixture, '# KEPT from june-2025'), path: 'sections[0].signature.name' },
      },
    ]);
    expect(ofRule(r, 'kept')[0]!.message).toContain('then delete the comment');
    expect(r.report.counts.error).toBe(1);
  });

  it('a comment after the value, on its line, marks that field', async () => {
    const r = await build(trailing);
    expect(ofRule(r, 'kept').map((f) => [f.where?.path, f.where?.line])).toEqual([
      ['sections[0].signature.name', pos(trailing, '# KEPT from june-2025 (the signatory): check').line],
      ['sections[0].signature.role', pos(trailing, '# KEPT from june-2025 (the signatory)\n').line],
    ]);
  });

  it('deleting the comment (the value unchanged: confirmed) clears it', async () => {
    const r = await build(fixture.replace(above, ''));
    expect(ofRule(r, 'kept')).toEqual([]);
    expect(r.report.counts).toEqual({ error: 0, warning: 0 });
  });

  it('the same words inside a Markdown text are not a comment', async () => {
    const text = replaceOnce(
      july,
      'that is taking root in London.\n',
      'that is taking root in London.\n\n      # KEPT from the archive: a line of text, not a YAML comment.\n',
    );
    const r = await build(text);
    expect(ofRule(r, 'kept')).toEqual([]);
  });

  it('blocks the send to the list', async () => {
    const project = await makeProject();
    await writeIssue(project, 'july-2025', fixture);
    const err = await rejection(sendIssue('july-2025', { root: project, listFile: 'list.csv', dryRun: true }));
    expect(err.code).toBe('ESEND_REFUSED');
    expect(err.problems?.map((p) => p.message)).toEqual([expect.stringMatching(/^\[kept\] "Florence Kroll" was kept/)]);
  });
});

describe('lists: a list item joined to the text above it', () => {
  const child = '- Year 2 of the MyEnds community-led programme and its impact so far';
  // Six spaces further than its parent's "-": four past the parent's text, so markdown-it reads more text.
  const merged = replaceOnce(july, `          ${child}\n`, `                ${child}\n`);

  it('a child item indented too far is a warning at its line, with how far to indent it', async () => {
    const r = await build(merged);
    const lists = ofRule(r, 'lists');
    expect(lists).toEqual([
      {
        rule: 'lists',
        severity: 'warning',
        message: expect.stringContaining(
          '"- Year 2 of the MyEnds community-led programme an…" is written as a list item, but markdown-it joins it to the text above',
        ),
        where: { file: ISSUE, ...pos(merged, child), path: 'sections[12].cards[0].body' },
      },
    ]);
    expect(lists[0]!.message).toContain(`so the email shows "…including how boroughs can get involved ${child}" as one item`);
    expect(lists[0]!.message).toContain(
      'to make it a sub-item of "Details on the Prevention Partnership Panels pilo…", indent its "-" 2 spaces further than that item\'s "-", under the first letter of its text',
    );
    // ...and the email does show one item.
    expect(/how boroughs can get involved\s+- Year 2 of the MyEnds/.test(r.html)).toBe(true);
  });

  it('an item indented 4 spaces under a paragraph: start it where the paragraph starts', async () => {
    const text = replaceOnce(
      july,
      'that is taking root in London.\n',
      'that is taking root in London.\n\n      Dates for the diary:\n          - the autumn forum\n',
    );
    const [f, ...rest] = ofRule(await build(text), 'lists');
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ severity: 'warning', where: { file: ISSUE, ...pos(text, '- the autumn forum') } });
    expect(f!.message).toContain('the email shows "Dates for the diary: - the autumn forum" as one paragraph');
    expect(f!.message).toContain('start its "-" where the text above it starts');
  });

  it('July (a list nested by two spaces), a sub-item under the first letter, and "A - B" in a sentence pass', async () => {
    const nested = replaceOnce(july, `          ${child}\n`, `            ${child}\n`);
    const spaced = replaceOnce(nested, 'that is taking root in London.\n', 'that is taking root in London - and beyond.\n');
    const r = await build(spaced);
    expect(/<ul[^>]*>\s*<li[^>]*>Year 2 of the MyEnds/.test(r.html)).toBe(true);
    expect(ofRule(r, 'lists')).toEqual([]);
    expect(r.report.counts).toEqual({ error: 0, warning: 0 });
  });
});

describe('mergedItems (markdown-it as the email renders it)', () => {
  const lines = (md: string) => mergedItems(md).map((m) => [m.line, m.text, m.parent?.offset]);

  it("finds a child indented 4 or more past its parent's text, whatever its marker", () => {
    expect(lines('- Parent item\n      - child\n- next\n')).toEqual([[1, '- child', 2]]);
    expect(lines('- Parent text that\n  wraps\n      * child\n')).toEqual([[2, '* child', 2]]);
    expect(lines('1. Parent\n       + child\n')).toEqual([[1, '+ child', 3]]);
  });

  it('finds the fifth of a staircase of items, which markdown-it reads as text of the fourth', () => {
    expect(lines('- item 1\n - item 2\n  - item 3\n   - item 4\n    - item 5\n')).toEqual([[4, '- item 5', 2]]);
  });

  it('finds an item left as a paragraph of its own', () => {
    expect(mergedItems('Intro text\n\n    - item\n')).toMatchObject([{ line: 2, text: '- item', joined: false }]);
  });

  it('leaves alone nested lists markdown-it nests, siblings, a hyphen inside a line and escaped markers', () => {
    for (const md of [
      '- Parent item\n  - child\n',
      '- Parent item\n   - child at 3\n',
      '1. Parent\n   - child\n',
      '- one\n - two\n',
      'A - B on one line\n',
      'Text\n- a list right after a paragraph\n',
      'Text\n\\- an escaped dash\n',
    ])
      expect(mergedItems(md), md).toEqual([]);
  });
});
