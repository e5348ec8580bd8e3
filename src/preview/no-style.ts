/**
 * The email without its <style> elements, as Gmail shows it to addresses that are not
 * Google accounts (IMAP and POP, and the Gmail app for Outlook.com or Yahoo addresses):
 * inline styles stay, media queries and classes go. Side-by-side columns that rely on
 * a media query to stack on phones then stay side by side, and at 375 px their text
 * runs down a strip a few words wide.
 *
 * narrowTextColumns() finds that text: every element that directly holds text, whose
 * nearest block (itself, or its nearest ancestor that is not inline) has a content box
 * narrower than `minWidth` and makes that text wrap. A short label that fits on one
 * line is no problem, however narrow its box.
 */
import type { Page } from 'playwright-core';
import type { Finding } from '../check/types.js';
import { applyView } from './views.js';

/** Below this content width (CSS px) a column of text is too narrow to read. */
export const MIN_COLUMN_WIDTH = 250;

export interface NarrowColumn {
  /** The start of the column's text. */
  text: string;
  /** The column's content width (without padding), in CSS px. */
  width: number;
  /** The column's opening tag, shortened. */
  excerpt: string;
}

/** In-page source (see render-checks.ts for why not a function). */
const NARROW_JS = `(function (min) {
  var found = [];
  var done = new Set();
  var blockOf = function (el) {
    for (var a = el; a && a !== document.documentElement; a = a.parentElement) {
      var d = getComputedStyle(a).display;
      if (d !== 'inline' && d !== 'contents') return a;
    }
    return document.body;
  };
  var lines = function (text) {
    var r = document.createRange();
    r.selectNodeContents(text);
    var tops = new Set();
    Array.prototype.forEach.call(r.getClientRects(), function (q) { if (q.width > 0) tops.add(Math.round(q.top)); });
    return tops.size;
  };
  if (!document.body) return found;
  var walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (var t = walker.nextNode(); t; t = walker.nextNode()) {
    if (!/\\S/.test(t.data) || !t.parentElement || t.parentElement.closest('script, style, noscript, template')) continue;
    var block = blockOf(t.parentElement);
    if (done.has(block)) continue;
    var cs = getComputedStyle(block);
    var width = block.clientWidth - (parseFloat(cs.paddingLeft) || 0) - (parseFloat(cs.paddingRight) || 0);
    if (width >= min) { done.add(block); continue; }
    if (lines(t) < 2) continue;
    done.add(block);
    var text = (block.textContent || '').replace(/\\s+/g, ' ').trim();
    var html = block.outerHTML;
    var open = html.slice(0, html.indexOf('>') + 1);
    found.push({ text: text.length > 60 ? text.slice(0, 59) + '\\u2026' : text, width: Math.round(width), excerpt: open.length > 200 ? open.slice(0, 199) + '\\u2026' : open });
  }
  return found;
})`;

/**
 * The text that runs in columns narrower than `minWidth` px when `page` is shown without
 * its <style> elements at `width` px. Takes the style elements out (unless they already
 * are) and resizes the page for the measurement, then puts both back.
 */
export async function narrowTextColumns(page: Page, width = 375, minWidth = MIN_COLUMN_WIDTH): Promise<NarrowColumn[]> {
  const before = page.viewportSize();
  const restore = await applyView(page, 'no-style');
  try {
    if (before?.width !== width) await page.setViewportSize({ width, height: before?.height ?? 667 });
    return (await page.evaluate(`${NARROW_JS}(${Number(minWidth)})`)) as NarrowColumn[];
  } finally {
    await restore();
    if (before && before.width !== width) await page.setViewportSize(before);
  }
}

/** Findings (rule "render", warnings): one per narrow column. */
export function narrowColumnFindings(columns: readonly NarrowColumn[], width: number): Finding[] {
  return columns.map((c) => ({
    rule: 'render',
    severity: 'warning',
    message:
      `without <style> (as Gmail shows it to non-Google accounts) at ${width} px, '${c.text}' is in a column ${c.width} px wide: ` +
      'make side-by-side blocks fluid (hybrid columns: inline-block divs with max-width and width:100%) so they wrap',
    where: { excerpt: c.excerpt },
  }));
}
