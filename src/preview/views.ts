/**
 * The ways readers' mail programs show the same email, as views the preview page offers
 * and the screenshots take:
 *   light       as built, with `prefers-color-scheme: light`
 *   dark        `prefers-color-scheme: dark` (Apple Mail, Outlook.com and others in dark mode)
 *   inverted    what the Gmail and Outlook apps do in dark mode to an email they do not trust
 *               with its own dark styles: every colour inverted, pictures put back
 *   no-style    every <style> element removed, inline styles kept: Gmail for an address
 *               that is not a Google account (and Gmail with an email past its 16 KB of CSS)
 *   images-off  pictures not loaded, so their alt text shows: Outlook's default
 *
 * Two ways to apply each, kept side by side here so they cannot drift apart:
 *   - viewHtml(html, view): the email's HTML rewritten, for the preview server (an iframe
 *     cannot be told to prefer a colour scheme, so the dark view's
 *     `@media (prefers-color-scheme: dark)` rules are rewritten to apply unconditionally);
 *   - applyView(page, view): the same change made to a page already loaded in Chromium,
 *     for the screenshots (no reload: the dark view is the browser's own emulation).
 */
import { Parser } from 'htmlparser2';
import type { Page } from 'playwright-core';

export const VIEW_IDS = ['light', 'dark', 'inverted', 'no-style', 'images-off'] as const;

export type ViewId = (typeof VIEW_IDS)[number];

/** Each view's name on the preview page's selector, and what it stands for. */
export const VIEWS: Record<ViewId, { label: string; about: string }> = {
  light: { label: 'Light', about: 'as built, in light mode' },
  dark: { label: 'Dark', about: "with the email's own dark-mode styles (prefers-color-scheme: dark)" },
  inverted: { label: 'Inverted', about: "colours inverted, pictures kept: the Gmail and Outlook apps' dark mode" },
  'no-style': { label: 'No <style>', about: 'every <style> element removed, inline styles kept: Gmail for non-Google accounts' },
  'images-off': { label: 'Images off', about: "pictures not loaded, so their alt text shows: Outlook's default" },
};

export const isViewId = (s: string): s is ViewId => (VIEW_IDS as readonly string[]).includes(s);

/**
 * The inverted view's style sheet: the whole page inverted and turned half way round the
 * colour wheel (so hues stay roughly the same, light and dark swap), and pictures given
 * the same filter again, which puts them back (nearly: hue-rotate is an approximation, so
 * they come back a little greyer). The white page behind an email that sets no
 * background is not part of <html>'s filtered box, so it gets one (at zero specificity:
 * any background the email gives <html> wins), which the filter then darkens.
 * Background images are pictures too (those apps leave them alone): an element with an
 * inline background-image is put back, and the pictures inside it are not turned twice.
 */
export const INVERT_CSS =
  ':where(html){background-color:#fff}html{filter:invert(1) hue-rotate(180deg) !important}' +
  'img,picture,video,[style*="background-image"]{filter:invert(1) hue-rotate(180deg) !important}' +
  '[style*="background-image"] img,[style*="background-image"] picture,[style*="background-image"] video{filter:none !important}';

/** The id of the <style> element the inverted view adds (applyView), to take it out again. */
const INVERT_STYLE_ID = 'build-issue-view-inverted';

// ---- CSS: force a colour scheme in media queries

/** A media feature that always matches, and one that never does (Chromium and the spec agree: no width is below 0). */
const ALWAYS = '(min-width:0px)';
const NEVER = '(max-width:-1px)';

/** Where the string starting at css[i] (a quote) ends: past its closing quote, or at the line's end (CSS: a bad string). */
function stringEnd(css: string, i: number): number {
  const quote = css[i];
  let j = i + 1;
  while (j < css.length) {
    const c = css[j];
    if (c === '\\') j += 2;
    else if (c === quote) return j + 1;
    else if (c === '\n') return j;
    else j++;
  }
  return css.length;
}

/**
 * A media query list with every `(prefers-color-scheme: <scheme>)` made always true and
 * the other scheme's made never true; everything else, `not` and `and` included, left
 * as written, so `not all and (prefers-color-scheme: dark)` still means "not dark".
 */
export function forceSchemeInMediaQuery(query: string, scheme: 'light' | 'dark'): string {
  // Comments may sit anywhere in a prelude; they mean nothing there, so they go.
  const clean = query.replace(/\/\*[\s\S]*?(?:\*\/|$)/g, ' ');
  const feature = /\(\s*prefers-color-scheme\s*:\s*(light|dark)\s*\)/gi;
  if (!feature.test(clean)) return query;
  return clean.replace(feature, (_, value: string) => (value.toLowerCase() === scheme ? ALWAYS : NEVER));
}

/**
 * `css` with the preludes of its `@media` rules passed through forceSchemeInMediaQuery.
 * A small scanner, not a regular expression over the whole text: comments and strings
 * are skipped (a "@media" in a string or a comment is not a rule), and a prelude ends at
 * its `{` (or at `;`, a broken rule) outside parentheses, strings and comments.
 */
export function forceColorScheme(css: string, scheme: 'light' | 'dark'): string {
  let out = '';
  let i = 0;
  while (i < css.length) {
    const c = css[i];
    if (c === '/' && css[i + 1] === '*') {
      const end = css.indexOf('*/', i + 2);
      const j = end < 0 ? css.length : end + 2;
      out += css.slice(i, j);
      i = j;
    } else if (c === '"' || c === "'") {
      const j = stringEnd(css, i);
      out += css.slice(i, j);
      i = j;
    } else if (c === '\\') {
      out += css.slice(i, i + 2);
      i += 2;
    } else if (c === '@' && /^@media(?![\w-])/i.test(css.slice(i, i + 7))) {
      let j = i + 6;
      let depth = 0;
      while (j < css.length) {
        const d = css[j];
        if (d === '/' && css[j + 1] === '*') {
          const end = css.indexOf('*/', j + 2);
          j = end < 0 ? css.length : end + 2;
        } else if (d === '"' || d === "'") j = stringEnd(css, j);
        else if (d === '\\') j += 2;
        else if (d === '(') {
          depth++;
          j++;
        } else if (d === ')') {
          depth = Math.max(0, depth - 1);
          j++;
        } else if (depth === 0 && (d === '{' || d === ';')) break;
        else j++;
      }
      out += css.slice(i, i + 6) + forceSchemeInMediaQuery(css.slice(i + 6, j), scheme);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

// ---- HTML: the views as rewrites of the email's source

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** One attribute of a start tag as written: its name (lower case), its value (entities as written), and where it is. */
interface AttrSpan {
  name: string;
  value: string;
  start: number;
  end: number;
}

/** The attributes of the start tag `tag` (its source, from "<" to ">"), where they are in it. */
function attributeSpans(tag: string): AttrSpan[] {
  const spans: AttrSpan[] = [];
  const nameEnd = /^<[^\s/>]+/.exec(tag)?.[0].length ?? 1;
  const attr = /[\s/]*([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/y;
  attr.lastIndex = nameEnd;
  for (let m = attr.exec(tag); m; m = attr.exec(tag)) {
    // From the space before it: taking an attribute out takes its space too.
    spans.push({ name: m[1]!.toLowerCase(), value: m[2] ?? m[3] ?? m[4] ?? '', start: m.index, end: attr.lastIndex });
  }
  return spans;
}

/** `tag` (a start tag's source) without the named attributes, and with `media` passed through `media()` when given. */
function editTag(tag: string, drop: ReadonlySet<string>, media?: (q: string) => string): string {
  let out = tag;
  for (const a of attributeSpans(tag).reverse()) {
    if (drop.has(a.name)) out = out.slice(0, a.start) + out.slice(a.end);
    else if (media && a.name === 'media') {
      const forced = media(a.value);
      if (forced !== a.value) out = `${out.slice(0, a.start)} media="${forced.replace(/"/g, '&quot;')}"${out.slice(a.end)}`;
    }
  }
  return out;
}

const NO_ATTRS: ReadonlySet<string> = new Set();
const IMAGE_ATTRS: ReadonlySet<string> = new Set(['src', 'srcset']);

/** Whether the email says it has a dark design: a color-scheme meta tag or CSS property that names dark. */
const declaresDark = (html: string) =>
  /<meta\b[^>]*\bname\s*=\s*["']?(?:supported-)?color-scheme\b[^>]*\bdark\b/i.test(html) || /(?<![\w-])color-scheme\s*:[^;}"']*\bdark\b/i.test(html);

/**
 * The email's HTML as the view shows it (see the top of this file). 'light' and every
 * view but 'dark' get the light scheme forced, so what the preview shows does not depend
 * on whether the computer itself is in dark mode.
 */
export function viewHtml(html: string, view: ViewId): string {
  const scheme = view === 'dark' ? 'dark' : 'light';
  const edits: Edit[] = [];
  let styleOpen: { start: number; contentStart: number } | undefined;
  let headClose: number | undefined;
  const parser = new Parser(
    {
      onopentag(name) {
        const start = parser.startIndex;
        const end = parser.endIndex + 1;
        const tag = html.slice(start, end);
        if (name === 'style') {
          styleOpen = { start, contentStart: end };
          if (view !== 'no-style') {
            const edited = editTag(tag, NO_ATTRS, (q) => forceSchemeInMediaQuery(q, scheme));
            if (edited !== tag) edits.push({ start, end, text: edited });
          }
        } else if (name === 'link') {
          const rel = attributeSpans(tag).find((a) => a.name === 'rel')?.value ?? '';
          if (/(^|\s)stylesheet(\s|$)/i.test(rel)) {
            if (view === 'no-style') edits.push({ start, end, text: '' });
            else {
              const edited = editTag(tag, NO_ATTRS, (q) => forceSchemeInMediaQuery(q, scheme));
              if (edited !== tag) edits.push({ start, end, text: edited });
            }
          }
        } else if (name === 'img' && view === 'images-off') {
          edits.push({ start, end, text: editTag(tag, IMAGE_ATTRS) });
        }
      },
      onclosetag(name, isImplied) {
        if (name === 'style' && styleOpen) {
          const contentEnd = isImplied ? html.length : parser.startIndex;
          const closeEnd = isImplied ? html.length : parser.endIndex + 1;
          if (view === 'no-style') {
            // The whole element goes (its start tag got no edit of its own in this view).
            edits.push({ start: styleOpen.start, end: closeEnd, text: '' });
          } else {
            const css = html.slice(styleOpen.contentStart, contentEnd);
            const forced = forceColorScheme(css, scheme);
            if (forced !== css) edits.push({ start: styleOpen.contentStart, end: contentEnd, text: forced });
          }
          styleOpen = undefined;
        } else if (name === 'head' && !isImplied && headClose === undefined) {
          headClose = parser.startIndex;
        }
      },
    },
    { decodeEntities: false, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);

  const added =
    view === 'inverted'
      ? `<style id="${INVERT_STYLE_ID}">${INVERT_CSS}</style>`
      : view === 'dark' && declaresDark(html)
        ? // The browser in dark mode darkens what the email leaves unstyled (the page behind it, form controls) when the email says it has a dark design.
          '<style>:root{color-scheme:dark !important}</style>'
        : '';
  if (added) edits.push({ start: headClose ?? html.length, end: headClose ?? html.length, text: added });

  let out = html;
  for (const e of edits.sort((a, b) => b.start - a.start || b.end - a.end)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

// ---- A loaded page: the views applied in place

/**
 * In-page source (not functions: the CLI bundle is minified with keepNames, and the
 * helpers that adds do not exist in the page). APPLY_JS[view] changes the page and
 * returns a token; UNDO_JS[view] is a function of that token that undoes exactly that
 * change, so applying a view twice and undoing the inner one leaves the outer in place.
 */
const APPLY_JS: Record<'inverted' | 'no-style' | 'images-off', string> = {
  inverted: `(function (css) {
    if (document.getElementById(${JSON.stringify(INVERT_STYLE_ID)})) return false;
    var s = document.createElement('style');
    s.id = ${JSON.stringify(INVERT_STYLE_ID)};
    s.textContent = css;
    (document.head || document.documentElement).appendChild(s);
    return true;
  })(${JSON.stringify(INVERT_CSS)})`,
  // Each removed element is replaced by a marker comment and kept, to be put back.
  'no-style': `(function () {
    var kept = window.__buildIssueNoStyle || (window.__buildIssueNoStyle = []);
    var batch = [];
    document.querySelectorAll('style, link[rel~="stylesheet" i]').forEach(function (el) {
      var mark = document.createComment('build-issue: no-style view');
      el.replaceWith(mark);
      batch.push([mark, el]);
    });
    kept.push(batch);
    return kept.length - 1;
  })()`,
  'images-off': `(function () {
    var n = (window.__buildIssueImagesOff = (window.__buildIssueImagesOff || 0) + 1);
    document.querySelectorAll('img[src], img[srcset]').forEach(function (img) {
      img.setAttribute('data-build-issue-off', String(n));
      ['src', 'srcset'].forEach(function (a) {
        if (!img.hasAttribute(a)) return;
        img.setAttribute('data-build-issue-' + a, img.getAttribute(a));
        img.removeAttribute(a);
      });
    });
    return n;
  })()`,
};

const UNDO_JS: Record<keyof typeof APPLY_JS, string> = {
  inverted: `(function (added) {
    var s = document.getElementById(${JSON.stringify(INVERT_STYLE_ID)});
    if (added && s) s.remove();
  })`,
  'no-style': `(function (i) {
    var kept = window.__buildIssueNoStyle || [];
    (kept[i] || []).forEach(function (p) { p[0].replaceWith(p[1]); });
    kept[i] = [];
  })`,
  'images-off': `(function (n) {
    document.querySelectorAll('img[data-build-issue-off="' + n + '"]').forEach(function (img) {
      img.removeAttribute('data-build-issue-off');
      ['src', 'srcset'].forEach(function (a) {
        var v = img.getAttribute('data-build-issue-' + a);
        if (v === null) return;
        img.removeAttribute('data-build-issue-' + a);
        img.setAttribute(a, v);
      });
    });
  })`,
};

/**
 * Show `view` on a page already loaded (light, as screenshots load it); returns the
 * function that puts the page back as it was. 'dark' is Chromium's own emulation of
 * `prefers-color-scheme: dark`; the others change the page as viewHtml changes the HTML
 * (an added style sheet, <style> elements taken out, img src taken out).
 */
export async function applyView(page: Page, view: ViewId): Promise<() => Promise<void>> {
  if (view === 'light') return async () => {};
  if (view === 'dark') {
    await page.emulateMedia({ colorScheme: 'dark' });
    return async () => void (await page.emulateMedia({ colorScheme: 'light' }));
  }
  const token: unknown = await page.evaluate(APPLY_JS[view]);
  return async () => void (await page.evaluate(`${UNDO_JS[view]}(${JSON.stringify(token)})`));
}
