/** html-validate's accessibility and document rules, as the "accessibility" check runs them. */
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIssue, type BuildResult } from '../src/index.js';
import { htmlValidateRule } from '../src/check/html-validate.js';
import type { CheckContext } from '../src/check/types.js';
import { ROOT } from './helpers.js';

let july: BuildResult;
const ctx = (html: string): CheckContext => ({
  issue: july.issue,
  config: july.config,
  issueFile: 'issues/july-2025.yaml',
  html,
  text: july.text,
  eml: july.eml,
  locate: () => undefined,
  locateIn: () => undefined,
});
/** Put `snippet` right after the first section heading of the July email. */
const inject = (snippet: string) => july.html.replace(/(<h2 [^>]*>[^<]*<\/h2>)/, `$1${snippet}`);

beforeAll(async () => {
  july = await buildIssue('july-2025', { root: ROOT, write: false });
});

describe('accessibility (html-validate)', () => {
  it('finds nothing in the July issue: MJML\'s role="article" wrapper is not reported', async () => {
    expect(july.html).toContain('role="article"');
    expect(await htmlValidateRule.run(ctx(july.html))).toEqual([]);
  });

  it('reports a link with no text, naming the WCAG rule and pointing at the HTML', async () => {
    const findings = await htmlValidateRule.run(ctx(inject('<p><a href="https://example.org/x"></a></p>')));
    expect(findings.length).toBeGreaterThanOrEqual(1);
    const f = findings.find((x) => x.message.includes('wcag/h30'));
    expect(f).toMatchObject({ rule: 'accessibility', severity: 'error' });
    expect(f!.where?.excerpt).toContain('<a href="https://example.org/x"></a>');
  });

  it('reports a duplicate id and an empty heading', async () => {
    const findings = await htmlValidateRule.run(ctx(inject('<h3 id="lasob"></h3>')));
    const rules = findings.map((f) => /html-validate ([\w/-]+):/.exec(f.message)?.[1]).sort();
    expect(rules).toEqual(['empty-heading', 'no-dup-id']);
  });
});
