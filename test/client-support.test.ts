/**
 * The client-support check: features caniemail marks unsupported in Outlook, Gmail,
 * Apple Mail or Yahoo, reported only beyond the baseline (an empty issue built by our
 * own templates). The July issue must come out clean (no noise); a feature the
 * templates never use must be named with the clients that lack it; a feature the
 * baseline uses must never be reported, however badly supported.
 *
 * Every "unsupported" claim below is first checked against caniemail's data itself,
 * so a data update that changes a verdict fails here with a clear message instead of
 * silently weakening the test.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { caniemailDataFile, caniemailSlugs, featureSupport } from '../src/check/client-support/caniemail.js';
import { DETECTED_SLUGS, detectFeatures } from '../src/check/client-support/detect.js';
import { clientSupportFindings, makeClientSupportRule } from '../src/check/client-support/rule.js';
import { baselineHtml, clientSupportRule, extraRules } from '../src/check/extra-rules.js';
import type { CheckContext } from '../src/check/types.js';
import { buildIssue, type BuildResult } from '../src/index.js';
import { ROOT } from './helpers.js';

/** The clients caniemail says lack `slug` entirely, by our display name. */
const unsupportedIn = (slug: string) =>
  featureSupport(slug)!
    .clients.filter((c) => c.level === 'n')
    .map((c) => c.client.name);

/** `html` with `markup` added at the end of the body, as a template change would. */
const inject = (html: string, markup: string) => html.replace('</body>', `${markup}</body>`);

describe('client support (caniemail)', () => {
  let july: BuildResult;
  let baseline: string;

  beforeAll(async () => {
    [july, baseline] = await Promise.all([
      buildIssue('july-2025', { root: ROOT, write: false, check: false, date: new Date('2025-07-01T09:00:00Z') }),
      baselineHtml(ROOT),
    ]);
  });

  it('finds nothing in the July email beyond what our templates already use', () => {
    expect(clientSupportFindings(july.html, baseline)).toEqual([]);
  });

  it('does so although the July email relies on features caniemail flags (they are all in the baseline)', () => {
    const used = detectFeatures(july.html);
    const flagged = [...used.keys()].filter((slug) => unsupportedIn(slug).length > 0);
    // <style>/@media for phones, rounded buttons, MJML's reset CSS: known and accepted.
    expect(flagged).toEqual(expect.arrayContaining(['html-style', 'css-at-media', 'css-border-radius']));
    const base = detectFeatures(baseline);
    expect(flagged.filter((slug) => !base.has(slug))).toEqual([]);
  });

  it("warns about display:grid, naming the feature, Outlook and Gmail, with caniemail's page and an excerpt", () => {
    expect(unsupportedIn('css-display-grid')).toEqual(expect.arrayContaining(['Outlook (Windows)', 'Gmail (webmail)']));
    const html = inject(july.html, '<div style="display:grid;gap:8px">Two columns</div>');
    const findings = clientSupportFindings(html, baseline);
    const grid = findings.find((f) => f.message.includes('"display:grid"'));
    expect(grid).toMatchObject({ rule: 'client-support', severity: 'warning' });
    expect(grid!.message).toContain('not supported in Outlook (Windows), Gmail (webmail');
    expect(grid!.message).toContain('https://www.caniemail.com/features/css-display-grid/');
    expect(grid!.where?.excerpt).toContain('<div style="display:grid');
    expect(grid!.where!.excerpt!.length).toBeLessThanOrEqual(120);
    // Only warnings, one per feature: display:grid and gap here, nothing else.
    expect(findings.map((f) => /^"([^"]+)"/.exec(f.message)?.[1])).toEqual(['display:grid', 'gap, column-gap, row-gap']);
    expect(findings.every((f) => f.severity === 'warning')).toBe(true);
  });

  it('finds features inside @media blocks, elements and image formats', () => {
    const html = inject(
      july.html,
      '<style>@media (max-width:480px){.x a:hover{color:red}}</style><video src="https://example.org/v.mp4"></video><img src="https://example.org/a.webp" alt="">',
    );
    const named = clientSupportFindings(html, baseline).map((f) => f.message);
    expect(unsupportedIn('css-pseudo-class-hover')).toContain('Outlook (Windows)');
    expect(named.find((m) => m.startsWith('":hover"'))).toContain('Outlook (Windows)');
    expect(named.find((m) => m.startsWith('"<video> element"'))).toMatch(/not supported in Outlook \(Windows\), Gmail .*Yahoo/);
    expect(named.find((m) => m.startsWith('"webP image format"'))).toContain('not supported in Outlook (Windows)');
  });

  it('does not report a feature the baseline uses, however unsupported', () => {
    // border-radius: Outlook for Windows ignores it, and our buttons use it.
    expect(unsupportedIn('css-border-radius')).toContain('Outlook (Windows)');
    expect(detectFeatures(baseline).has('css-border-radius')).toBe(true);
    const html = inject(july.html, '<div style="border-radius:50%">Round</div>');
    expect(clientSupportFindings(html, baseline)).toEqual([]);
    // And with a baseline that uses display:grid, display:grid is not reported either.
    const grid = '<div style="display:grid">x</div>';
    expect(clientSupportFindings(inject(july.html, grid), inject(baseline, grid))).toEqual([]);
  });

  it('does not fail on a feature caniemail has no data for in some client (word-wrap in Gmail iOS)', () => {
    const findings = clientSupportFindings(inject(july.html, '<p style="word-wrap:break-word">x</p>'), baseline);
    expect(findings.map((f) => /^"([^"]+)"/.exec(f.message)?.[1])).toEqual(['word-wrap']);
  });

  it("runs as a rule, building the baseline from the project folder and the build's config", async () => {
    const ctx = {
      issue: july.issue,
      config: july.config,
      issueFile: 'issues/july-2025.yaml',
      html: inject(july.html, '<div style="position:absolute">x</div>'),
      text: july.text,
      eml: july.eml,
      locate: () => undefined,
      locateIn: () => undefined,
    } satisfies CheckContext;
    const rule = clientSupportRule({ root: ROOT });
    expect(rule.id).toBe('client-support');
    const findings = await rule.run(ctx);
    expect(findings.map((f) => /^"([^"]+)"/.exec(f.message)?.[1])).toEqual(['position']);
    expect(await rule.run({ ...ctx, html: july.html })).toEqual([]);
    // The baseline is compiled once per process (and per template content).
    expect(await baselineHtml(ROOT)).toBe(baseline);
  });

  it("only detects features that exist in caniemail's data (a renamed slug would silently stop being checked)", () => {
    const known = new Set(caniemailSlugs());
    expect([...DETECTED_SLUGS].filter((slug) => !known.has(slug))).toEqual([]);
  });

  it('is handed its baseline: the rule itself renders nothing', async () => {
    const ctx = { config: july.config, html: inject(july.html, '<div style="position:absolute">x</div>') } as CheckContext;
    const given = makeClientSupportRule({ baseline: baseline });
    expect((await given.run(ctx)).map((f) => /^"([^"]+)"/.exec(f.message)?.[1])).toEqual(['position']);
    let asked: unknown;
    const lazy = makeClientSupportRule({
      baseline: (config) => {
        asked = config;
        return baseline;
      },
    });
    expect(await lazy.run({ ...ctx, html: july.html })).toEqual([]);
    expect(asked).toBe(july.config);
  });

  it('is set up by extraRules({ clientSupport: { root } }), as the CLI does', async () => {
    const { rules } = await extraRules({ clientSupport: { root: ROOT } });
    expect(rules.map((r) => r.id)).toEqual(['client-support']);
  });

  it('reads the vendored data from the project folder, from src/ and from the bundle in lib/ alike', () => {
    const file = path.join(ROOT, 'src/check/client-support/data/caniemail.json');
    expect(caniemailDataFile()).toBe(file);
    expect(caniemailDataFile(path.join(ROOT, 'lib'))).toBe(file);
  });
});
