/**
 * Issue 13's "Done when", measured in Chromium on what the templates make: July, and an
 * issue with one section of every kind and every optional part (the client-support
 * baseline). For each: no text column under 250 px at 375 px without <style>; axe-core
 * finds nothing at 600 and 375 px, light and dark; every standalone link and button is at
 * least 44 px tall; the dark view differs from the light one and keeps body text at 4.5:1;
 * every in-email link has a named anchor to land on.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { baselineIssue } from '../src/check/client-support/baseline-issue.js';
import { buildIssue } from '../src/index.js';
import { CHROMIUM_ARGS, findChromium, takeScreenshots, type ScreenshotResult } from '../src/preview/screenshots.js';
import { narrowTextColumns } from '../src/preview/no-style.js';
import { shortTapTargets } from '../src/preview/tap-targets.js';
import { makeProject, writeIssue } from './helpers.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn('inbox.test.ts: no Chromium found, so these tests are SKIPPED. Install it: sudo apt-get install chromium');

/** Body text's contrast against what is behind it, for every paragraph and list item with text (WCAG's formula). */
const WORST_CONTRAST_JS = `(function () {
  var lum = function (c) {
    var m = c.match(/[\\d.]+/g).map(Number);
    var ch = m.slice(0, 3).map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  var behind = function (el) {
    for (var e = el; e; e = e.parentElement) {
      var bg = getComputedStyle(e).backgroundColor;
      var m = bg.match(/[\\d.]+/g);
      if (m && (m.length < 4 || Number(m[3]) > 0.5)) return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  var worst = { ratio: 21, text: '' };
  document.querySelectorAll('p, li').forEach(function (el) {
    var text = el.textContent.trim();
    if (!text || el.getBoundingClientRect().height === 0) return;
    var a = lum(getComputedStyle(el).color), b = lum(behind(el));
    var ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < worst.ratio) worst = { ratio: ratio, text: text.slice(0, 60) };
  });
  return worst;
})()`;

describe.skipIf(!CHROMIUM)('right in every inbox (issue 13): July and an issue with every section kind', () => {
  let browser: Browser;
  const emails: Record<string, string> = {};
  const shots: Record<string, ScreenshotResult> = {};

  beforeAll(async () => {
    const project = await makeProject();
    const every = baselineIssue();
    await writeIssue(project, 'every-kind', stringify({ ...every, date: '2025-01-01' }));
    for (const name of ['july-2025', 'every-kind']) {
      const built = await buildIssue(name, { root: project, check: false, write: false, date: new Date('2025-07-01T09:00:00Z') });
      emails[name] = built.html;
      shots[name] = await takeScreenshots(built.html, await mkdtemp(path.join(os.tmpdir(), `inbox-${name}-`)));
    }
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: [...CHROMIUM_ARGS] });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
  });

  async function open(name: string, width: number, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 700 }, colorScheme, isMobile: width < 600, hasTouch: width < 600 });
    await context.route('**/*', (route) => route.abort('blockedbyclient'));
    const page = await context.newPage();
    await page.setContent(emails[name]!, { waitUntil: 'load' });
    return page;
  }

  for (const name of ['july-2025', 'every-kind']) {
    describe(name, () => {
      it('without <style>, at 375 px, no text column is narrower than 250 px', async () => {
        const page = await open(name, 375);
        expect(await narrowTextColumns(page, 375, 250)).toEqual([]);
        // And the side-by-side blocks are there to be measured: hybrid columns, not tables.
        expect(emails[name]).toMatch(/<div class="col" style="display:inline-block;vertical-align:top;width:100%;max-width:\d+px">/);
        await page.context().close();
      });

      it('the browser pass finds no a11y violation (axe-core, 600 and 375 px, light and dark) and no short tap target', () => {
        const findings = shots[name]!.findings;
        expect(findings.filter((f) => f.rule === 'a11y' || f.rule === 'tap-targets')).toEqual([]);
        expect(findings.filter((f) => f.rule === 'render' && /without <style>/.test(f.message))).toEqual([]);
      });

      it('every standalone link and button is at least 44 px tall at 375 px', async () => {
        const page = await open(name, 375);
        expect(await shortTapTargets(page, 44)).toEqual([]);
        await page.context().close();
      });

      it('dark mode is its own palette: the dark shot differs, and body text keeps 4.5:1', async () => {
        const [light, dark] = await Promise.all([readFile(shots[name]!.files.phone), readFile(shots[name]!.files.phoneDark)]);
        expect(dark.equals(light)).toBe(false);
        for (const scheme of ['light', 'dark'] as const) {
          const page = await open(name, 375, scheme);
          const worst = (await page.evaluate(WORST_CONTRAST_JS)) as { ratio: number; text: string };
          expect(worst.ratio, `${scheme}: "${worst.text}"`).toBeGreaterThanOrEqual(4.5);
          await page.context().close();
        }
      });

      it('every in-email link lands on an <a name> anchor', () => {
        const html = emails[name]!;
        const targets = [...html.matchAll(/href="#([^"]+)"/g)].map((m) => m[1]!);
        expect(targets.length).toBeGreaterThan(0);
        for (const t of targets) expect(html).toContain(`<a name="${t}"></a>`);
      });
    });
  }
});
