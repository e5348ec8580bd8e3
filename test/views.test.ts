/**
 * The views (src/preview/views.ts): the HTML rewrites the preview server serves, and the
 * same views applied in place to a page in real headless Chromium, as the screenshots
 * take them. The rewrites are tested as text; the browser then checks that each rewrite
 * shows what the in-place view shows, pixel for pixel, and what the view stands for
 * (dark rules applied, no style sheets, alt text instead of pictures).
 */
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_INSTALL_HINT, findChromium } from '../src/preview/screenshots.js';
import { applyView, forceColorScheme, forceSchemeInMediaQuery, INVERT_CSS, VIEW_IDS, VIEWS, viewHtml, type ViewId } from '../src/preview/views.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) console.warn(`views.test.ts: no Chromium found, so the browser tests are SKIPPED. ${CHROMIUM_INSTALL_HINT}`);

/** A 40 x 40 red PNG as a data: address. */
function redSquare(): string {
  const png = new PNG({ width: 40, height: 40 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([220, 30, 30, 255], i);
  return `data:image/png;base64,${PNG.sync.write(png).toString('base64')}`;
}
const RED = redSquare();

/** A small email with dark-mode styles, a class-styled column, and a picture. */
const EMAIL = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Views</title>
<meta name="color-scheme" content="light dark">
<style type="text/css">
  body { margin: 0; background: #ffffff; color: #111111; font: 16px/1.5 sans-serif }
  .box { width: 300px; padding: 10px; background: #eeeeee }
  /* @media (prefers-color-scheme: dark) { .box { color: lime } } -- a comment, not a rule */
  @media (prefers-color-scheme: dark) { body { background: #111111 !important; color: #eeeeee !important } .box { background: #333333 } }
  @media (prefers-color-scheme: light) { .box { border: 2px solid #0000ff } }
</style>
<style media="(prefers-color-scheme: dark)">h1 { color: #ffcc00 }</style>
</head><body><h1 style="font-size:24px">Hello</h1><div class="box">A box of text</div>
<img src="${RED}" srcset="${RED} 2x" alt="Quarterly chart" width="40" style="display:block">
<p>Written in the text: &lt;style&gt; and src="x" stay as they are.</p></body></html>`;

describe('forceColorScheme: @media (prefers-color-scheme) made unconditional', () => {
  it('makes the chosen scheme always match and the other never, in every query of a list', () => {
    expect(forceColorScheme('@media (prefers-color-scheme: dark){a{color:red}}', 'dark')).toBe('@media (min-width:0px){a{color:red}}');
    expect(forceColorScheme('@media (prefers-color-scheme: dark){a{color:red}}', 'light')).toBe('@media (max-width:-1px){a{color:red}}');
    expect(forceColorScheme('@MEDIA screen and (PREFERS-COLOR-SCHEME:Dark) { a{} }', 'dark')).toBe('@MEDIA screen and (min-width:0px) { a{} }');
    expect(forceColorScheme('@media print, ( prefers-color-scheme : light ){a{}}', 'dark')).toBe('@media print, (max-width:-1px){a{}}');
    expect(forceColorScheme('@media (prefers-color-scheme: dark) and (max-width: 480px){a{}}', 'dark')).toBe(
      '@media (min-width:0px) and (max-width: 480px){a{}}',
    );
  });

  it('keeps "not": not-dark stays false in the dark view', () => {
    expect(forceSchemeInMediaQuery(' not all and (prefers-color-scheme: dark)', 'dark')).toBe(' not all and (min-width:0px)');
  });

  it('leaves comments, strings, other at-rules and queries without the feature alone', () => {
    const css = [
      '/* @media (prefers-color-scheme: dark) { a { color: red } } */',
      '.a::after { content: "@media (prefers-color-scheme: dark)" }',
      "@import url('x.css') screen;",
      '@media only screen and (max-width:479px){.b{width:100%}}',
      '@supports (display: grid) { .c { display: grid } }',
      '.d { color: red }',
    ].join('\n');
    expect(forceColorScheme(css, 'dark')).toBe(css);
    expect(forceColorScheme(css, 'light')).toBe(css);
  });

  it('rewrites nested rules and a prelude with a comment in it', () => {
    expect(forceColorScheme('@media screen { @media /* x */ (prefers-color-scheme: dark) { a {} } }', 'dark')).toBe(
      '@media screen { @media   (min-width:0px) { a {} } }',
    );
  });
});

describe('viewHtml: the views as HTML rewrites (the preview server)', () => {
  it('lists the five views with their selector labels', () => {
    expect([...VIEW_IDS]).toEqual(['light', 'dark', 'inverted', 'no-style', 'images-off']);
    expect(VIEW_IDS.map((v) => VIEWS[v].label)).toEqual(['Light', 'Dark', 'Inverted', 'No <style>', 'Images off']);
  });

  it('dark: rewrites the dark rules to apply, in <style> and in a media attribute, and darkens the page as the browser would', () => {
    const out = viewHtml(EMAIL, 'dark');
    expect(out).toContain('@media (min-width:0px) { body { background: #111111 !important');
    expect(out).toContain('@media (max-width:-1px) { .box { border');
    expect(out).toContain('<style media="(min-width:0px)">h1 { color: #ffcc00 }</style>');
    expect(out).toContain('/* @media (prefers-color-scheme: dark) { .box { color: lime } } -- a comment, not a rule */');
    // The email says it has a dark design (color-scheme: light dark), so the page itself turns dark too.
    expect(out).toContain('<style>:root{color-scheme:dark !important}</style></head>');
    expect(viewHtml(EMAIL.replace('<meta name="color-scheme" content="light dark">', ''), 'dark')).not.toContain('color-scheme:dark');
  });

  it('light: the dark rules never apply, whatever the computer prefers; nothing else changes', () => {
    const out = viewHtml(EMAIL, 'light');
    expect(out).toContain('@media (max-width:-1px) { body');
    expect(out).toContain('@media (min-width:0px) { .box { border');
    expect(out).toBe(
      EMAIL.replace('@media (prefers-color-scheme: dark) { body', '@media (max-width:-1px) { body')
        .replace('@media (prefers-color-scheme: light)', '@media (min-width:0px)')
        .replace('<style media="(prefers-color-scheme: dark)">', '<style media="(max-width:-1px)">'),
    );
    const plain = '<!doctype html><p style="color:red">No style sheet</p><img src="a.png" alt="A">';
    expect(viewHtml(plain, 'light')).toBe(plain);
  });

  it('no-style: every <style> element and style sheet link goes, inline styles and text stay', () => {
    const html = `${EMAIL.replace('</head>', '<link rel="stylesheet" href="x.css"><link rel="icon" href="i.png"><STYLE>p{color:red}</STYLE></head>')}`;
    const out = viewHtml(html, 'no-style');
    expect(out).not.toMatch(/<style\b/i);
    expect(out).not.toContain('x.css');
    expect(out).not.toContain('.box {');
    expect(out).toContain('<link rel="icon" href="i.png">');
    expect(out).toContain('<h1 style="font-size:24px">Hello</h1>');
    expect(out).toContain('Written in the text: &lt;style&gt; and src="x" stay as they are.');
  });

  it('inverted: adds the inverting style sheet at the end of <head>', () => {
    const out = viewHtml(EMAIL, 'inverted');
    expect(out).toContain(`<style id="build-issue-view-inverted">${INVERT_CSS}</style></head>`);
    expect(INVERT_CSS).toMatch(/(^|\})html\{filter:invert\(1\) hue-rotate\(180deg\)/);
    expect(INVERT_CSS).toMatch(/img[^{]*\{filter:invert\(1\) hue-rotate\(180deg\)/);
  });

  it('images-off: img loses src and srcset, keeps alt and size; an alt that says src= is left alone', () => {
    const out = viewHtml(`${EMAIL}<img alt='src="nope"' src=plain.png width=10>`, 'images-off');
    expect(out).toContain('<img alt="Quarterly chart" width="40" style="display:block">');
    expect(out).toContain(`<img alt='src="nope"' width=10>`);
    expect(out).not.toContain('data:image/png');
  });
});

describe.skipIf(!CHROMIUM)('the views in headless Chromium', () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS] });
    page = await browser.newPage({ viewport: { width: 375, height: 400 }, deviceScaleFactor: 1, colorScheme: 'light' });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  const shot = async () => page.screenshot({ fullPage: true, type: 'png', animations: 'disabled', caret: 'hide' });
  const colours = () =>
    page.evaluate(() => ({
      body: getComputedStyle(document.body).backgroundColor,
      box: getComputedStyle(document.querySelector('.box')!).backgroundColor,
      border: getComputedStyle(document.querySelector('.box')!).borderTopColor,
      h1: getComputedStyle(document.querySelector('h1')!).color,
    }));

  it("the dark rewrite, in a light browser, shows what the browser's own dark mode shows", async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setContent(EMAIL);
    const emulated = await colours();
    const emulatedPng = await shot();
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await colours();
    await page.setContent(viewHtml(EMAIL, 'dark'));
    const rewritten = await colours();
    expect(emulated).toEqual({ body: 'rgb(17, 17, 17)', box: 'rgb(51, 51, 51)', border: 'rgb(238, 238, 238)', h1: 'rgb(255, 204, 0)' });
    expect(rewritten).toEqual(emulated);
    expect(light.body).toBe('rgb(255, 255, 255)');
    expect((await shot()).equals(emulatedPng)).toBe(true);
    // And the light view stays light in a browser that prefers dark.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setContent(viewHtml(EMAIL, 'light'));
    expect(await colours()).toEqual(light);
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('each view applied in place looks exactly like its rewritten HTML, and undoing it puts the page back', async () => {
    for (const view of ['inverted', 'no-style', 'images-off'] as ViewId[]) {
      await page.setContent(EMAIL);
      const before = await shot();
      const undo = await applyView(page, view);
      const inPlace = await shot();
      expect(inPlace.equals(before), `${view} changes the picture`).toBe(false);
      await undo();
      expect((await shot()).equals(before), `${view} undone`).toBe(true);
      await page.setContent(viewHtml(EMAIL, view));
      expect((await shot()).equals(inPlace), `${view}: in place = rewritten`).toBe(true);
    }
  });

  it('applying a view twice and undoing the inner one leaves the outer in place', async () => {
    await page.setContent(EMAIL);
    const undoOuter = await applyView(page, 'no-style');
    const undoInner = await applyView(page, 'no-style');
    await undoInner();
    expect(await page.evaluate(() => document.querySelectorAll('style').length)).toBe(0);
    await undoOuter();
    expect(await page.evaluate(() => document.querySelectorAll('style').length)).toBe(2);
  });

  it('no-style: the page has no style sheets, and class styles are gone while inline ones stay', async () => {
    await page.setContent(viewHtml(EMAIL, 'no-style'));
    const state = await page.evaluate(() => ({
      sheets: document.styleSheets.length,
      boxWidth: document.querySelector('.box')!.getBoundingClientRect().width,
      h1: getComputedStyle(document.querySelector('h1')!).fontSize,
    }));
    expect(state).toEqual({ sheets: 0, boxWidth: 375 - 16, h1: '24px' });
  });

  it('images-off: the picture is not loaded and its alt text shows in its place', async () => {
    const redPixels = (png: Buffer) => {
      const p = PNG.sync.read(png);
      let n = 0;
      for (let i = 0; i < p.data.length; i += 4) if (p.data[i]! > 200 && p.data[i + 1]! < 60 && p.data[i + 2]! < 60) n++;
      return n;
    };
    await page.setContent(EMAIL);
    expect(redPixels(await shot())).toBeGreaterThanOrEqual(40 * 40);
    await page.setContent(viewHtml(EMAIL, 'images-off'));
    expect(redPixels(await shot())).toBe(0);
    const img = await page.evaluate(() => {
      const i = document.querySelector('img')!;
      return { loaded: i.complete && i.naturalWidth > 0, alt: i.alt, height: i.getBoundingClientRect().height };
    });
    expect(img).toMatchObject({ loaded: false, alt: 'Quarterly chart' });
    expect(img.height).toBeGreaterThan(0); // a box with the alt text, not nothing
  });
});
