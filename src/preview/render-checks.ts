/**
 * The checks only a real browser can do, on a page the screenshots loaded (see
 * screenshots.ts): images that did not load, and sideways scrolling at phone widths.
 * Findings use rule "render".
 *
 * The in-page code is kept as source text, not as functions: the CLI bundle is
 * minified with keepNames, and the helpers that adds do not exist in the page.
 */
import type { Page } from 'playwright-core';
import type { Finding } from '../check/types.js';

/** The widths at which the email must not scroll sideways. */
export const RENDER_CHECK_WIDTHS: readonly number[] = [375, 320];

/** Why requests failed, by URL: 'blocked' (we blocked it), 'HTTP 404', or Chromium's net error. */
export type NetworkFailures = Map<string, string>;

/** The viewport height while resizing a page that has no viewport size: a phone's (screenshots.ts). */
const FALLBACK_HEIGHT = 667;

interface ImageState {
  /** As written in the HTML. */
  src: string;
  /** Resolved, as requested. */
  url: string;
  alt: string | null;
  loaded: boolean;
}

const IMAGES_JS = `Array.from(document.images).map(function (img) {
  return {
    src: img.getAttribute('src') || '',
    url: img.currentSrc || img.src || '',
    alt: img.getAttribute('alt'),
    loaded: img.complete && img.naturalWidth > 0
  };
})`;

interface Culprit {
  tag: string;
  cls: string;
  id: string;
  width: number;
  right: number;
  /** The element's opening tag, shortened. */
  excerpt: string;
}

interface OverflowState {
  viewport: number;
  scrollWidth: number;
  culprits: Culprit[];
}

/**
 * Does the page scroll sideways? If so, which elements cause it. Found by taking
 * elements out (display:none) one at a time, from the top down through those that
 * stick out: the deepest ones whose removal narrows the page are named. When that
 * finds none, elements with a fixed width (inline style or width attribute) that stick
 * out, outermost first; else the innermost elements past the right edge. Elements
 * clipped by an overflow:hidden ancestor that fits do not count. Every style is put
 * back as it was.
 */
const OVERFLOW_JS = `(function () {
  var root = document.scrollingElement || document.documentElement;
  var vw = document.documentElement.clientWidth;
  var sw = root.scrollWidth;
  var result = { viewport: vw, scrollWidth: sw, culprits: [] };
  if (sw <= vw || !document.body) return result;
  var sx = window.scrollX;
  var extent = function (el) {
    var r = el.getBoundingClientRect();
    var w = el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible' ? Math.max(r.width, el.scrollWidth) : r.width;
    return { left: r.left + sx, right: Math.max(r.right, r.left + w) + sx, width: w, empty: r.width === 0 && r.height === 0 };
  };
  var clipped = function (el) {
    for (var a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible' && a.getBoundingClientRect().right + sx <= vw + 0.5) return true;
    }
    return false;
  };
  var over = [];
  var all = document.body.querySelectorAll('*');
  for (var i = 0; i < all.length; i++) {
    var e = extent(all[i]);
    if (!e.empty && e.right > vw + 0.5 && !clipped(all[i])) over.push(all[i]);
  }
  var overSet = new Set(over);
  var onPath = new Set();
  over.forEach(function (el) { for (var a = el; a && a !== document.body; a = a.parentElement) onPath.add(a); });

  var narrows = function (el) {
    var style = el.getAttribute('style');
    el.style.setProperty('display', 'none', 'important');
    var w = root.scrollWidth;
    if (style === null) el.removeAttribute('style'); else el.setAttribute('style', style);
    return w < sw;
  };
  var deepest = function (parent) {
    var found = [];
    for (var c = parent.firstElementChild; c; c = c.nextElementSibling) {
      if (!onPath.has(c) || !narrows(c)) continue;
      var inner = deepest(c);
      if (inner.length) found.push.apply(found, inner); else if (overSet.has(c)) found.push(c);
    }
    return found;
  };
  var picked = deepest(document.body);

  if (picked.length === 0) {
    var fixedWidth = function (el) {
      var s = el.style.width || el.style.minWidth;
      if (s) return /^\\d+(\\.\\d+)?px$/.test(s.trim());
      var a = el.getAttribute('width');
      return a !== null && /^\\s*\\d+(\\.\\d+)?\\s*(px)?\\s*$/.test(a);
    };
    var fixed = over.filter(fixedWidth);
    var fixedSet = new Set(fixed);
    picked = fixed.filter(function (el) {
      for (var a = el.parentElement; a; a = a.parentElement) if (fixedSet.has(a)) return false;
      return true;
    });
  }
  if (picked.length === 0) {
    picked = over.filter(function (el) {
      for (var c = el.firstElementChild; c; c = c.nextElementSibling) if (overSet.has(c)) return false;
      return true;
    });
  }
  picked.sort(function (a, b) { return extent(b).width - extent(a).width; });
  result.culprits = picked.slice(0, 3).map(function (el) {
    var e = extent(el);
    var html = el.outerHTML;
    var open = html.slice(0, html.indexOf('>') + 1);
    return {
      tag: el.tagName.toLowerCase(),
      cls: (el.getAttribute('class') || '').trim().replace(/\\s+/g, ' '),
      id: el.id || '',
      width: Math.round(e.width),
      right: Math.round(e.right),
      excerpt: open.length > 160 ? open.slice(0, 157) + '...' : open
    };
  });
  return result;
})()`;

function describe(c: Culprit): string {
  const attrs = [c.id ? ` id="${c.id}"` : '', c.cls ? ` class="${c.cls.length > 60 ? `${c.cls.slice(0, 57)}...` : c.cls}"` : ''].join('');
  return `<${c.tag}${attrs}> ${c.width} px wide`;
}

function overflowFinding(width: number, state: OverflowState): Finding {
  const parts = state.culprits.map(describe);
  const widest = parts.length ? ` Sticking out: ${parts.join('; ')}.` : '';
  return {
    rule: 'render',
    severity: 'error',
    message:
      `at ${width} px wide the email scrolls sideways: its content is ${state.scrollWidth} px wide.${widest} ` +
      'Give it a fluid width (width:100% with a max-width), let its text wrap, or let it stack on phones.',
    ...(state.culprits[0] ? { where: { excerpt: state.culprits[0].excerpt } } : {}),
  };
}

const fileName = (src: string) => {
  const clean = src.split(/[?#]/)[0] ?? src;
  return clean.slice(clean.lastIndexOf('/') + 1) || src;
};

/**
 * A render finding that is only a note: what the offline screenshots could not show
 * (remote images, blocked on purpose), not a fault of the email. buildIssue lists it
 * under the report's notes ("Note: ..."), not among the warnings.
 */
export type RenderNote = Finding & { note: true };

/** Is this finding of renderChecks a note (see RenderNote)? */
export const isRenderNote = (f: Finding): f is RenderNote => (f as Partial<RenderNote>).note === true;

function imageFindings(images: ImageState[], failures: NetworkFailures): Finding[] {
  const withSrc = images.filter((i) => i.src !== '');
  const failed = withSrc.filter((i) => !i.loaded);
  if (failed.length === 0) return [];
  const findings: Finding[] = [];
  const blocked = failed.filter((i) => failures.get(i.url) === 'blocked');
  const others = failed.filter((i) => failures.get(i.url) !== 'blocked');

  // Blocked: remote, and kept out on purpose (the shots are offline). Said once, as a note.
  // A local image (served from this machine, a file, a data: address) that fails is not blocked: a warning below.
  if (blocked.length > 0) {
    const all = blocked.length === withSrc.length;
    const names = blocked.map((i) => fileName(i.src));
    const what = all
      ? `none of the ${withSrc.length} images ${withSrc.length === 1 ? 'was' : 'were'} loaded`
      : `${blocked.length} of the ${withSrc.length} images ${blocked.length === 1 ? 'was' : 'were'} not loaded`;
    const note: RenderNote = {
      rule: 'render',
      severity: 'warning',
      note: true,
      message:
        `${what}: screenshots are taken offline (requests that leave this machine are blocked), ` +
        `so the pictures show ${blocked.length === 1 ? 'its' : 'their'} alt text instead (${names.join(', ')}). ` +
        'Run "build-issue check <issue> --links" to check the image addresses.',
      where: { excerpt: blocked[0]!.src },
    };
    findings.push(note);
  }

  // Requests that went out and failed. All of them failing below HTTP looks like no network.
  const netErrors = others.filter((i) => /^net::/.test(failures.get(i.url) ?? ''));
  if (others.length > 1 && netErrors.length === withSrc.length) {
    findings.push({
      rule: 'render',
      severity: 'warning',
      message:
        `none of the ${withSrc.length} images could be loaded (${failures.get(others[0]!.url)}): this machine looks offline. ` +
        'Run "build-issue check <issue> --links" when online to check the image addresses.',
      where: { excerpt: others[0]!.src },
    });
    return findings;
  }
  for (const i of others) {
    const why = failures.get(i.url) ?? 'not a readable image';
    findings.push({
      rule: 'render',
      severity: 'warning',
      message: `image ${i.alt ? `"${i.alt}" ` : '(no alt text) '}(${i.src}) could not be loaded from here (${why}): check the address or upload it`,
      where: { excerpt: i.src },
    });
  }
  return findings;
}

export interface RenderCheckOptions {
  /** Widths at which the page must not scroll sideways. @default RENDER_CHECK_WIDTHS */
  widths?: readonly number[];
  /** Failed requests of the page's context (from the screenshot run), to say why an image is missing. */
  failures?: NetworkFailures;
}

/**
 * The checks only a browser can do, on a loaded page: images that did not load, and
 * sideways scrolling at each width (the page is resized for that, then put back).
 * Findings use rule "render".
 */
export async function renderChecks(page: Page, options: RenderCheckOptions = {}): Promise<Finding[]> {
  const findings: Finding[] = [];
  const images = (await page.evaluate(IMAGES_JS)) as ImageState[];
  const before = page.viewportSize();
  try {
    for (const width of options.widths ?? RENDER_CHECK_WIDTHS) {
      await page.setViewportSize({ width, height: before?.height ?? FALLBACK_HEIGHT });
      const state = (await page.evaluate(OVERFLOW_JS)) as OverflowState;
      if (state.scrollWidth > state.viewport) findings.push(overflowFinding(width, state));
    }
  } finally {
    if (before) await page.setViewportSize(before);
  }
  findings.push(...imageFindings(images, options.failures ?? new Map()));
  return findings;
}
