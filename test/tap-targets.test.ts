/**
 * Rule "tap-targets" (src/preview/tap-targets.ts): standalone links and buttons shorter
 * than 44 px at 375 px, measured in real headless Chromium. Links inside a sentence are
 * exempt. Skipped where no Chromium is installed.
 */
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_INSTALL_HINT, findChromium } from '../src/preview/screenshots.js';
import { MIN_TAP_HEIGHT, shortTapTargets, tapTargetFindings } from '../src/preview/tap-targets.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn(`tap-targets.test.ts: no Chromium found, so its tests are SKIPPED. ${CHROMIUM_INSTALL_HINT}`);

const png = (width: number, height: number) => {
  const p = new PNG({ width, height });
  p.data.fill(128);
  return `data:image/png;base64,${PNG.sync.write(p).toString('base64')}`;
};

/** 16 px text at line-height 17 px: a 17 px tall link. */
const page = (body: string) =>
  `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>t</title></head><body style="margin:0;font:16px/17px Arial,sans-serif">${body}</body></html>`;

/** MJML's mj-button, as it comes out of mjml 5 (the July issue's layout sets inner-padding="12px 24px"). */
const mjButton = (
  innerPadding: string,
) => `<table border="0" cellpadding="0" cellspacing="0" role="presentation" style="border-collapse:separate;line-height:100%"><tbody><tr>
<td align="center" bgcolor="#0b6e69" role="presentation" style="border:none;border-radius:4px;cursor:auto;background:#0b6e69" valign="middle">
<a href="https://example.org/register" style="display:inline-block;background:#0b6e69;color:#ffffff;font-family:Arial,sans-serif;font-size:16px;font-weight:bold;line-height:120%;margin:0;text-decoration:none;padding:${innerPadding};border-radius:4px" target="_blank">Register</a>
</td></tr></tbody></table>`;

describe.skipIf(!CHROMIUM)('tap targets at 375 px in headless Chromium', () => {
  let browser: Browser;
  let tab: Page;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    tab = await browser.newPage({ viewport: { width: 375, height: 667 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  const short = async (body: string) => {
    await tab.setContent(page(body));
    return shortTapTargets(tab);
  };

  it('reports a 17 px link alone in its paragraph, with its name, height and the fix', async () => {
    const found = await short('<p><a href="https://www.linkedin.com/company/x/">Linkedin</a></p><p>Some other text.</p>');
    expect(found).toEqual([{ text: 'Linkedin', height: 17, kind: 'link', excerpt: '<a href="https://www.linkedin.com/company/x/">' }]);
    const [finding] = tapTargetFindings(found, 375);
    expect(finding).toEqual({
      rule: 'tap-targets',
      severity: 'warning',
      message: expect.stringMatching(
        /^'Linkedin' link is 17 px tall at 375 px: standalone links and buttons need at least 44 px .*display:inline-block; padding:12px 0/,
      ),
      where: { excerpt: '<a href="https://www.linkedin.com/company/x/">' },
    });
  });

  it('counts a link as alone when only punctuation or spaces surround it, in a td, li, div or heading', async () => {
    const found = await short(
      '<table><tr><td> <a href="#a">In a cell</a>. </td></tr></table><ul><li>(<a href="#b">In a list</a>)</li></ul><div><a href="#c">In a div</a></div><h2 style="font-size:16px;line-height:17px;margin:0"><a href="#d">In a heading</a></h2>',
    );
    expect(found.map((t) => t.text)).toEqual(['In a cell', 'In a list', 'In a div', 'In a heading']);
  });

  it('does not report a link inside a sentence, nor a padded 44 px one', async () => {
    expect(
      await short(
        '<p>Read <a href="#r">the full report on GOV.UK</a> before the meeting.</p>' +
          '<p><a href="#p" style="display:inline-block;padding:13.5px 0">Padded to 44 px</a></p>' +
          '<p><a name="anchor">A named anchor is not a link</a></p>',
      ),
    ).toEqual([]);
  });

  it("measures MJML's button by its <a>: 12px padding makes 43.2 px (short), 14px makes 47.2 px", async () => {
    const found = await short(mjButton('12px 24px'));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ text: 'Register', kind: 'button', height: 43.2 });
    expect(tapTargetFindings(found, 375)[0]!.message).toMatch(/^'Register' button is 43.2 px tall at 375 px.*inner-padding/);
    expect(await short(mjButton('14px 24px'))).toEqual([]);
  });

  it('measures an image link by its picture, and skips one whose picture did not load', async () => {
    const found = await short(`<div><a href="#i"><img src="${png(120, 30)}" alt="Our logo" width="120" height="30"></a></div>`);
    expect(found).toEqual([expect.objectContaining({ text: 'Our logo', kind: 'image link' })]);
    // The picture's 30 px, plus the gap below it that an inline picture leaves for the line's descenders.
    expect(found[0]!.height).toBeGreaterThanOrEqual(30);
    expect(found[0]!.height).toBeLessThan(36);
    expect(await short(`<div><a href="#i"><img src="${png(120, 60)}" alt="Our logo" width="120" height="60"></a></div>`)).toEqual([]);
    expect(await short('<div><a href="#i"><img src="https://127.0.0.1:1/missing.png" alt="Not loaded" width="120" height="20"></a></div>')).toEqual([]);
  });

  it('uses 44 px as the minimum', () => {
    expect(MIN_TAP_HEIGHT).toBe(44);
  });
});
