/**
 * The client-support check: features caniemail marks unsupported, partly supported or
 * supported with a caveat (its notes) in the config's audience of email clients,
 * reported only beyond the baseline (an empty issue built by our own templates). The
 * July issue must come out clean (no noise); a feature the templates never use must be
 * named with the clients that lack it and caniemail's note; a feature the baseline uses
 * must never be reported, however badly supported.
 *
 * Every "unsupported" claim below is first checked against caniemail's data itself,
 * so a data update that changes a verdict fails here with a clear message instead of
 * silently weakening the test.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_IDS, DEFAULT_AUDIENCE, caniemailDataFile, caniemailSlugs, featureSupport, type ClientId } from '../src/check/client-support/caniemail.js';
import { DETECTED_SLUGS, detectFeatures } from '../src/check/client-support/detect.js';
import { CAVEAT_NOTE, clientSupportFindings, makeClientSupportRule } from '../src/check/client-support/rule.js';
import { baselineHtml, clientSupportRule, extraRules } from '../src/check/extra-rules.js';
import type { CheckContext } from '../src/check/types.js';
import { loadConfig } from '../src/config.js';
import { buildIssue, type BuildResult } from '../src/index.js';
import { ROOT, lineOf, rejection } from './helpers.js';

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
    // Outlook.com is in the default audience: it joins Outlook for Windows.
    expect(named.find((m) => m.startsWith('"<video> element"'))).toMatch(/not supported in Outlook \(Windows, Outlook\.com\), Gmail .*Yahoo/);
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

/** What caniemail says about `slug` in client `id`: its level and notes. */
const result = (slug: string, id: ClientId) => {
  const c = featureSupport(slug, [id])!.clients[0];
  return c && { level: c.level, notes: c.notes };
};

/** A small hand-written email, so these tests do not depend on the templates' CSS. */
const page = (body = '') =>
  `<!doctype html><html lang="en"><head><title>Test</title></head><body><div><p>Hello</p><img src="https://example.org/logo.png" alt="" width="120">${body}</div></body></html>`;
const BASE = page();

/** The feature titles of the findings. */
const titles = (findings: { message: string }[]) => findings.map((f) => /^"([^"]+)"/.exec(f.message)?.[1]);

describe("client support: caniemail's notes, for the config's audience", () => {
  it('reports a feature partly supported in an audience client, quoting its note', () => {
    expect(result('image-gif', 'outlook-windows')).toEqual({ level: 'a', notes: expect.arrayContaining(['Partial: Does not support animated gif images.']) });
    const findings = clientSupportFindings(page('<img src="https://example.org/a.gif" alt="">'), BASE);
    expect(titles(findings)).toEqual(['GIF image format']);
    expect(findings[0]!.message).toContain('is only partly supported in Outlook (Windows) (caniemail.com)');
    expect(findings[0]!.message).toContain('Notes: Outlook (Windows): Partial: Does not support animated gif images.');
  });

  it('does not report it for an audience without the clients it affects', () => {
    const audience: ClientId[] = ['outlook-com', 'gmail-webmail', 'apple-mail-ios', 'samsung-email'];
    expect(featureSupport('image-gif', audience)!.clients.map((c) => c.level)).toEqual(['y', 'y', 'y', 'y']);
    expect(clientSupportFindings(page('<img src="https://example.org/a.gif" alt="">'), BASE, { audience })).toEqual([]);
  });

  it('reports a "supported" result whose note says it is buggy ("y #1"), with the note', () => {
    const buggy = result('css-visibility', 'apple-mail-macos')!;
    expect(buggy.level).toBe('y');
    expect(buggy.notes[0]).toMatch(/^Buggy\. `visibility:collapse`/);
    const html = page('<table role="presentation"><tr style="visibility:collapse"><td>x</td></tr></table>');
    const [finding, ...rest] = clientSupportFindings(html, page('<table role="presentation"><tr><td>x</td></tr></table>'), {
      audience: ['apple-mail-macos', 'apple-mail-ios'],
    });
    expect(rest).toEqual([]);
    expect(finding!.message).toMatch(
      /^"visibility" is supported with a caveat in Apple Mail \(macOS, iOS\) \(caniemail\.com\)\. Notes: Apple Mail \(macOS, iOS\): Buggy\. visibility:collapse applied to a <tr> only hides content/,
    );
    // With the default audience, the clients that lack it come first, the caveat after.
    expect(clientSupportFindings(html, page('<table role="presentation"><tr><td>x</td></tr></table>'))[0]!.message).toMatch(
      /is not supported in Outlook \(Windows\) and Gmail \(.*\); supported with a caveat in Apple Mail \(macOS, iOS\) and Yahoo \(iOS\)/,
    );
  });

  it('leaves out a "supported" result whose note only informs (loading="lazy" in Apple Mail: "supported, but not confirmed...")', () => {
    for (const id of ['apple-mail-macos', 'apple-mail-ios', 'samsung-email'] as const) {
      expect(result('html-loading-attribute', id)).toEqual({
        level: 'y',
        notes: [expect.stringMatching(/^The `loading` attribute is supported, but not confirmed/)],
      });
    }
    const html = page('<img src="https://example.org/b.png" loading="lazy" alt="" width="120">');
    expect(clientSupportFindings(html, BASE, { audience: ['apple-mail-macos', 'apple-mail-ios', 'samsung-email'] })).toEqual([]);
    // The same feature is reported where it is not supported at all.
    expect(titles(clientSupportFindings(html, BASE, { audience: ['gmail-webmail'] }))).toEqual(['loading attribute']);
  });

  it('tells a caveat from an informative note (CAVEAT_NOTE), on notes from the data', () => {
    const caveats = [
      'Buggy. Screen jumps when input is in focus.',
      'Partial. Does not support multiple values. The comma between two values is removed.',
      'Only supported in Safari.',
      'Works only the html/root element',
      '`display:inline-flex` is not supported.',
      'Not supported when using a Microsoft email address; outlook, live, hotmail, etc.',
      'Supports `tab-size` but strips the tab character `&#0009;`',
    ];
    const informative = [
      'Works with prefix `-webkit`',
      'Supported on macOS 14 Sonoma.',
      'Not live tested, only looked at processed code on Litmus.',
      'The `loading` attribute is supported, but not confirmed whether it works according to spec.',
      'Properties not supported by the client are replaced by `_filtered_a` inside the parenthesis.',
      'Support depends on browser and operating system support.',
    ];
    expect(caveats.filter((n) => !CAVEAT_NOTE.test(n))).toEqual([]);
    expect(informative.filter((n) => CAVEAT_NOTE.test(n))).toEqual([]);
  });

  it('quotes a long note that is the reason for the report, cut with an ellipsis', () => {
    const long = result('css-rgb', 'gmail-webmail')!.notes.find((n) => n.length > 160);
    expect(long).toMatch(/^whitespace syntax .* the whole `<style>` block is stripped\.$/);
    const [finding] = clientSupportFindings(page('<p style="color:rgb(0 128 0)">x</p>'), BASE, { audience: ['gmail-webmail'] });
    // Both of Gmail's notes are the reason: the short one whole, the long one cut.
    expect(finding!.message).toContain('Notes: Gmail (webmail): Whitespace syntax is not supported (rgb(0 128 0 / 1)). whitespace syntax');
    const quoted = /\. (whitespace syntax \(rgb\(0 128 0\)\)[^…]*…)/.exec(finding!.message)?.[1];
    expect(quoted).toMatch(/^whitespace syntax \(rgb\(0 128 0\)\): when used in the style attribute of an element, the whole attribute is stripped\./);
    expect(quoted!.length).toBeLessThanOrEqual(160);
    expect(finding!.message).toContain('… Our templates do not use it');
  });

  it('with partial: false, reports only what is not supported at all', () => {
    const html = page('<img src="https://example.org/a.gif" alt=""><p style="visibility:hidden">x</p>');
    expect(titles(clientSupportFindings(html, BASE, { partial: false }))).toEqual(['visibility']);
    expect(clientSupportFindings(html, BASE, { partial: false, audience: ['apple-mail-macos'] })).toEqual([]);
  });

  it('every audience id is a client caniemail has tested widely (a renamed family or platform fails here)', () => {
    const slugs = caniemailSlugs();
    const tested = (id: ClientId) => slugs.filter((slug) => featureSupport(slug, [id])!.clients.length).length;
    expect(CLIENT_IDS.filter((id) => tested(id) < 250)).toEqual([]);
    expect(CLIENT_IDS).toEqual(expect.arrayContaining([...DEFAULT_AUDIENCE]));
  });

  it("the rule reads the build's config: its audience, else the default", async () => {
    const html = page('<img src="https://example.org/a.gif" alt="">');
    const rule = makeClientSupportRule({ baseline: BASE });
    const ctx = (audience?: ClientId[]) => ({ config: { audience }, html }) as unknown as CheckContext;
    expect(titles(await rule.run(ctx()))).toEqual(['GIF image format']);
    expect(await rule.run(ctx(['gmail-webmail', 'apple-mail-macos']))).toEqual([]);
    expect(rule.description).toContain("the config's audience");
  });
});

describe('the config: audience', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'newsletter-audience-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** The project's config with `tail` added at the end, written to a file of its own. */
  async function configWith(tail: string): Promise<{ file: string; text: string }> {
    const text = `${await readFile(path.join(ROOT, 'newsletter.config.yaml'), 'utf8')}\n${tail}`;
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, text);
    return { file, text };
  }

  it('takes a list of client ids', async () => {
    const { file } = await configWith('audience:\n  - outlook-windows\n  - samsung-email\n  - thunderbird\n');
    expect((await loadConfig(file, dir)).audience).toEqual(['outlook-windows', 'samsung-email', 'thunderbird']);
  });

  it("is optional: without it, the rule uses the default audience, which is the issue's list", async () => {
    const { file } = await configWith('');
    expect((await loadConfig(file, dir)).audience).toBeUndefined();
    expect(DEFAULT_AUDIENCE).toEqual([
      'outlook-windows',
      'outlook-com',
      'gmail-webmail',
      'gmail-mobile-webmail',
      'gmail-ios',
      'gmail-android',
      'apple-mail-macos',
      'apple-mail-ios',
      'yahoo-webmail',
      'yahoo-ios',
      'yahoo-android',
      'samsung-email',
    ]);
  });

  it('refuses an unknown id at its line, listing the valid ids', async () => {
    const { file, text } = await configWith('audience:\n  - outlook-windows\n  - gmail-web\n');
    const err = await rejection(loadConfig(file, dir));
    expect(err.code).toBe('ECONFIG');
    expect(err.problems).toHaveLength(1);
    const [problem] = err.problems;
    expect(problem!.path).toBe('audience[1]');
    expect(problem!.where).toBe(`${path.basename(file)}:${lineOf(text, '- gmail-web')}:5`);
    for (const id of CLIENT_IDS) expect(problem!.message).toContain(`"${id}"`);
  });

  it('refuses an empty list (turn the rule off under checks: instead)', async () => {
    const { file } = await configWith('audience: []\n');
    const err = await rejection(loadConfig(file, dir));
    expect(err.problems).toEqual([expect.objectContaining({ path: 'audience', message: expect.stringMatching(/^needs at least 1 item/) as string })]);
  });
});
