/**
 * Rule "tap-targets": links and buttons that stand on their own must be big enough to
 * tap. Apple's Human Interface Guidelines ask 44 pt; WCAG 2.5.8 (AA) asks 24 px and
 * exempts links inside a sentence, whose size the line of text sets. Measured in the
 * browser at phone width.
 *
 * Standalone: an <a href> (or a <button>) that is an image link, or the only content
 * of its nearest block (p, li, td, div, h1-h6...: the block's text is the link's,
 * give or take punctuation and spaces), which covers an MJML button (an <a> alone in
 * its <td>). A link in running text is never reported.
 *
 * Its height is that of the box it and its content take on screen (the link's own box
 * unioned with its children's: an inline link around a picture is as tall as the picture).
 * An image link whose picture did not load is skipped: its size is not known (the
 * offline screenshots block remote pictures).
 */
import type { Page } from 'playwright-core';
import type { Finding } from '../check/types.js';

/** The smallest height for a standalone link or button, in CSS px (Apple's 44 pt). */
export const MIN_TAP_HEIGHT = 44;

export interface TapTarget {
  /** The link's text, or its picture's alt text. */
  text: string;
  /** Its height on screen, in CSS px (one decimal). */
  height: number;
  kind: 'link' | 'button' | 'image link';
  /** Its opening tag, shortened. */
  excerpt: string;
}

/** In-page source (see render-checks.ts for why not a function). */
const TAP_JS = `(function (min) {
  var norm = function (s) { return (s || '').replace(/[\\s\\u00a0|\\u00b7\\u2022,.;:!?()\\[\\]{}"'\\u2018\\u2019\\u201c\\u201d\\u2013\\u2014\\/\\\\-]+/g, ' ').trim(); };
  var box = function (el) {
    var r = el.getBoundingClientRect();
    var top = r.top, bottom = r.bottom, any = r.width > 0 || r.height > 0;
    el.querySelectorAll('*').forEach(function (c) {
      var q = c.getBoundingClientRect();
      if (q.width === 0 && q.height === 0) return;
      if (!any) { top = q.top; bottom = q.bottom; any = true; return; }
      top = Math.min(top, q.top); bottom = Math.max(bottom, q.bottom);
    });
    return any ? bottom - top : -1;
  };
  var blockOf = function (el) {
    for (var a = el.parentElement; a; a = a.parentElement) {
      var d = getComputedStyle(a).display;
      if (d !== 'inline' && d !== 'contents') return a;
    }
    return document.body;
  };
  var found = [];
  document.querySelectorAll('a[href], button, [role="button"]').forEach(function (a) {
    var st = getComputedStyle(a);
    if (st.visibility === 'hidden' || a.closest('[aria-hidden="true"]')) return;
    var h = box(a);
    if (h < 0 || h >= min) return;
    var own = norm(a.textContent);
    var img = a.querySelector('img');
    var kind;
    if (img && own === '') {
      // A picture that did not load (offline screenshots block remote ones) shows its alt text: its size is unknown.
      if (!(img.complete && img.naturalWidth > 0)) return;
      kind = 'image link';
    }
    else {
      var block = blockOf(a);
      if (norm(block.textContent) !== own || own === '') return;
      var cell = a.parentElement;
      var painted = cell && (cell.getAttribute('bgcolor') || (st.display === 'inline-block' && st.backgroundColor !== 'rgba(0, 0, 0, 0)'));
      kind = a.tagName === 'BUTTON' || a.getAttribute('role') === 'button' || painted ? 'button' : 'link';
    }
    var html = a.outerHTML;
    var open = html.slice(0, html.indexOf('>') + 1);
    var text = kind === 'image link' ? (img.getAttribute('alt') || '') : (a.textContent || '').replace(/\\s+/g, ' ').trim();
    found.push({ text: text, height: Math.round(h * 10) / 10, kind: kind, excerpt: open.length > 200 ? open.slice(0, 199) + '\\u2026' : open });
  });
  return found;
})`;

/** The standalone links and buttons of `page`, as it is laid out now, that are less than `min` px tall. */
export async function shortTapTargets(page: Page, min = MIN_TAP_HEIGHT): Promise<TapTarget[]> {
  return (await page.evaluate(`${TAP_JS}(${Number(min)})`)) as TapTarget[];
}

const FIX: Record<TapTarget['kind'], string> = {
  link: 'give it padding (display:inline-block; padding:12px 0) or make it a button',
  button: 'give the button more inner padding (mj-button inner-padding="14px 24px", or a line-height that adds up to 44 px)',
  'image link': 'make the picture at least 44 px tall, or pad the link around it (display:inline-block; padding:...)',
};

/** Findings (rule "tap-targets", warnings) for the short ones, measured at `width` px. */
export function tapTargetFindings(targets: readonly TapTarget[], width: number): Finding[] {
  return targets.map((t) => {
    const name = t.text ? `'${t.text.length > 50 ? `${t.text.slice(0, 49)}…` : t.text}'` : '(unnamed)';
    return {
      rule: 'tap-targets',
      severity: 'warning',
      message:
        `${name} ${t.kind} is ${t.height} px tall at ${width} px: standalone links and buttons need at least ${MIN_TAP_HEIGHT} px ` +
        `to be tapped without a miss (Apple's guideline; links inside a sentence are exempt): ${FIX[t.kind]}`,
      where: { excerpt: t.excerpt },
    } satisfies Finding;
  });
}
