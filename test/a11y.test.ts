/**
 * Rule "a11y" (src/preview/a11y.ts): axe-core's WCAG 2.0-2.2 A and AA rules, run in real
 * headless Chromium on hand-written emails, offline. Skipped where no Chromium is installed;
 * the unit tests of the findings' wording always run.
 */
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { a11yFindings, axeScript, runAxe, shortFix, type AxeRun } from '../src/preview/a11y.js';
import { CHROMIUM_ARGS, CHROMIUM_INSTALL_HINT, findChromium } from '../src/preview/screenshots.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn(`a11y.test.ts: no Chromium found, so its browser tests are SKIPPED. ${CHROMIUM_INSTALL_HINT}`);

const grey = (() => {
  const p = new PNG({ width: 40, height: 40 });
  p.data.fill(128);
  return `data:image/png;base64,${PNG.sync.write(p).toString('base64')}`;
})();

const doc = (head: string, body: string) =>
  `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>July newsletter</title>${head}</head>
<body style="margin:0;background:#ffffff;color:#1f1f1f;font:16px/1.5 Arial,sans-serif"><main><h1>July newsletter</h1>${body}</main></body></html>`;

const CLEAN = doc(
  '<style>@media (prefers-color-scheme: dark) { body { background: #111111 !important; color: #eeeeee !important } a { color: #7fd8d1 !important } }</style>',
  `<p>Dear colleagues, welcome to this month's issue.</p><img src="${grey}" alt="A grey square" width="40"><p><a href="https://example.org/" style="color:#0b6e69">Read the full report</a></p>`,
);

/** A picture without alt text, pale grey text, and a paragraph that turns unreadable only in dark mode. */
const BROKEN = doc(
  '<style>@media (prefers-color-scheme: dark) { .dark-trap { color: #eeeeee !important } }</style>',
  `<img src="${grey}" width="40"><p style="color:#bbbbbb">Pale grey small print.</p><p class="dark-trap" style="background:#ffffff">Fine in light mode.</p>`,
);

describe('a11y findings from axe results', () => {
  const summary = `Fix any of the following:
  Element has insufficient color contrast of 1.9 (foreground color: #bbbbbb, background color: #ffffff, font size: 12.0pt (16px), font weight: normal). Expected contrast ratio of 4.5:1`;

  it('shortens axe\'s "how to fix" to one line', () => {
    expect(shortFix(summary)).toBe(
      'Element has insufficient color contrast of 1.9 (foreground color: #bbbbbb, background color: #ffffff, font size: 12.0pt (16px), font weight: normal). Expected contrast ratio of 4.5:1',
    );
    expect(shortFix('Fix any of the following:\n  Element does not have an alt attribute\n  aria-label attribute does not exist or is empty')).toBe(
      'one of: Element does not have an alt attribute; or aria-label attribute does not exist or is empty',
    );
    expect(shortFix('Fix all of the following:\n  a\n  b\n\nFix any of the following:\n  c')).toBe('a; and b; and c');
    expect(shortFix(`Fix any of the following:\n  ${'x'.repeat(500)}`)).toHaveLength(300);
  });

  it('counts one element once across widths, apart in dark mode when the problem differs, and groups like elements', () => {
    const v = (target: string, failureSummary: string) => ({
      id: 'color-contrast',
      impact: 'serious' as const,
      help: 'Elements must meet minimum color contrast ratio thresholds',
      helpUrl: 'https://dequeuniversity.com/rules/axe/4.14/color-contrast?application=axeAPI',
      nodes: [{ html: `<p id="${target}">x</p>`, target: [`#${target}`], failureSummary, impact: 'serious' }],
    });
    const dark = summary.replace('#bbbbbb', '#eeeeee');
    const runs: AxeRun[] = [
      { label: '600 px', violations: [v('a', summary), v('b', summary.replace('12.0pt (16px)', '10.5pt (14px)'))] },
      { label: '375 px', violations: [v('a', summary), v('b', summary.replace('12.0pt (16px)', '10.5pt (14px)'))] },
      { label: '375 px in dark mode', violations: [v('a', dark)] },
    ];
    const findings = a11yFindings(runs);
    expect(findings).toHaveLength(2);
    expect(findings[0]).toEqual({
      rule: 'a11y',
      severity: 'error',
      message:
        'Elements must meet minimum color contrast ratio thresholds (axe color-contrast, serious) at 600 and 375 px, 2 elements (the first shown): ' +
        'Element has insufficient color contrast of 1.9 (foreground color: #bbbbbb, background color: #ffffff). Expected contrast ratio of 4.5:1. ' +
        'See https://dequeuniversity.com/rules/axe/4.14/color-contrast',
      where: { excerpt: '<p id="a">x</p>' },
    });
    expect(findings[1]!.message).toMatch(/ at 375 px in dark mode: Element has insufficient color contrast .*#eeeeee, background color: #ffffff, font size/);
  });

  it('makes minor and moderate violations warnings', () => {
    const [f] = a11yFindings([
      { label: '375 px', violations: [{ id: 'x', impact: 'moderate', help: 'H', helpUrl: 'u', nodes: [{ html: '<b>', target: ['b'], impact: 'moderate' }] }] },
    ]);
    expect(f).toEqual({ rule: 'a11y', severity: 'warning', message: 'H (axe x, moderate) at 375 px. See u', where: { excerpt: '<b>' } });
  });
});

describe.skipIf(!CHROMIUM)('axe-core in headless Chromium, offline', () => {
  let browser: Browser;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    const context = await browser.newContext({ viewport: { width: 375, height: 667 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    // Nothing may leave the page: every request but data: is recorded and refused.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('data:')) return route.continue();
      requests.push(url);
      return route.abort();
    });
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  /** axe at 600 px, at 375 px, and at 375 px in dark mode, as the screenshots run it. */
  const runAll = async (html: string) => {
    await page.setContent(html);
    const runs: AxeRun[] = [];
    await page.setViewportSize({ width: 600, height: 667 });
    runs.push(await runAxe(page, '600 px'));
    await page.setViewportSize({ width: 375, height: 667 });
    runs.push(await runAxe(page, '375 px'));
    await page.emulateMedia({ colorScheme: 'dark' });
    runs.push(await runAxe(page, '375 px in dark mode'));
    await page.emulateMedia({ colorScheme: 'light' });
    return a11yFindings(runs);
  };

  it('passes a clean email, in light and dark mode', async () => {
    expect(await runAll(CLEAN)).toEqual([]);
  });

  it('reports a picture without alt text and pale text as errors, and a dark-mode-only contrast problem as such', async () => {
    const findings = await runAll(BROKEN);
    const alt = findings.find((f) => f.message.includes('(axe image-alt,'));
    expect(alt).toMatchObject({ rule: 'a11y', severity: 'error', where: { excerpt: expect.stringMatching(/^<img src="data:image\/png/) } });
    expect(alt!.message).toMatch(/^Images must have alternative text \(axe image-alt, critical\) at 600 and 375 px and 375 px in dark mode: /);
    expect(alt!.message).toContain('See https://dequeuniversity.com/rules/axe/');
    const contrast = findings.filter((f) => f.message.includes('(axe color-contrast,'));
    expect(contrast.map((f) => [f.severity, f.where?.excerpt, /at (.*?): /.exec(f.message)?.[1]])).toEqual([
      ['error', '<p style="color:#bbbbbb">Pale grey small print.</p>', '600 and 375 px and 375 px in dark mode'],
      ['error', '<p class="dark-trap" style="background:#ffffff">Fine in light mode.</p>', '375 px in dark mode'],
    ]);
    expect(contrast[1]!.message).toContain('foreground color: #eeeeee, background color: #ffffff');
  });

  it('needs no network: axe made no request, and is read from node_modules, not bundled', () => {
    expect(requests).toEqual([]);
    expect(axeScript()).toMatch(/axe v4\.\d+\.\d+/);
  });
});
