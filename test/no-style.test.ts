/**
 * narrowTextColumns (src/preview/no-style.ts): without its <style> elements, as Gmail
 * shows an email to non-Google accounts, is any text squeezed into a column under
 * 250 px at 375 px? Fixed side-by-side cells are; hybrid (fluid) columns are not. In
 * real headless Chromium; skipped where none is installed.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_COLUMN_WIDTH, narrowColumnFindings, narrowTextColumns } from '../src/preview/no-style.js';
import { CHROMIUM_ARGS, CHROMIUM_INSTALL_HINT, findChromium } from '../src/preview/screenshots.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn(`no-style.test.ts: no Chromium found, so its tests are SKIPPED. ${CHROMIUM_INSTALL_HINT}`);

const TEXT = 'The Practice Spotlight gathers examples of good practice from across London boroughs every month.';

/** A media query stacks the columns on phones; without <style>, nothing does. */
const email = (body: string) => `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>t</title>
<style>@media (max-width: 480px) { .two { width: 100% !important } .col { display: block !important; width: 100% !important } }</style></head>
<body style="margin:0;font:16px/1.5 Arial,sans-serif">${body}</body></html>`;

/** Two fixed 95 px cells side by side (190 px of table at 375 px, but the text is in 95 px). */
const FIXED = email(`<table role="presentation" class="two" width="190" cellspacing="0" cellpadding="0" style="width:190px"><tr>
<td class="col" width="95" style="width:95px;padding:0">${TEXT}</td>
<td class="col" width="95" style="width:95px;padding:0"><p style="margin:0">${TEXT}</p></td></tr></table>`);

/** The hybrid technique: inline-block divs with a max-width and width:100%, which wrap under each other. */
const HYBRID = email(`<div style="font-size:0;text-align:left">
<div style="display:inline-block;width:100%;max-width:300px;vertical-align:top;font-size:16px">${TEXT}</div>
<div style="display:inline-block;width:100%;max-width:300px;vertical-align:top;font-size:16px"><p style="margin:0">${TEXT}</p></div></div>`);

describe.skipIf(!CHROMIUM)('narrow text columns without <style>, in headless Chromium', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    page = await browser.newPage({ viewport: { width: 800, height: 600 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('finds the text in fixed 95 px cells, once per column, and puts the page back', async () => {
    await page.setContent(FIXED);
    const found = await narrowTextColumns(page, 375);
    expect(found).toEqual([
      { text: `${TEXT.slice(0, 59)}…`, width: 95, excerpt: '<td class="col" width="95" style="width:95px;padding:0">' },
      { text: `${TEXT.slice(0, 59)}…`, width: 95, excerpt: '<p style="margin:0">' },
    ]);
    // The styles are back, and the page its own size again.
    expect(await page.evaluate(() => document.querySelectorAll('style').length)).toBe(1);
    expect(page.viewportSize()).toEqual({ width: 800, height: 600 });
    const [finding] = narrowColumnFindings(found, 375);
    expect(finding).toMatchObject({ rule: 'render', severity: 'warning' });
    expect(finding!.message).toBe(
      `without <style> (as Gmail shows it to non-Google accounts) at 375 px, '${TEXT.slice(0, 59)}…' is in a column 95 px wide: ` +
        'make side-by-side blocks fluid (hybrid columns: inline-block divs with max-width and width:100%) so they wrap',
    );
  });

  it('with the styles the media query stacks them, so the same page passes with <style> (the check is about its absence)', async () => {
    await page.setContent(FIXED);
    await page.setViewportSize({ width: 375, height: 600 });
    const widths = await page.$$eval('td.col', (tds) => tds.map((td) => td.getBoundingClientRect().width));
    expect(widths.every((w) => w > MIN_COLUMN_WIDTH)).toBe(true);
    await page.setViewportSize({ width: 800, height: 600 });
  });

  it('passes hybrid columns, which wrap under each other at 375 px', async () => {
    await page.setContent(HYBRID);
    expect(await narrowTextColumns(page, 375)).toEqual([]);
  });

  it('does not count a short label that fits on one line, however narrow its box', async () => {
    await page.setContent(email('<table><tr><td style="width:60px">Menu</td><td style="width:60px">Home</td></tr></table>'));
    expect(await narrowTextColumns(page, 375)).toEqual([]);
  });
});
