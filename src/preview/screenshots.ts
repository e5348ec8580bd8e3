/**
 * `build-issue <issue> --screenshots`: PNGs of the built email as a reader sees it,
 * taken with the system's Chromium through playwright-core, plus the checks only a
 * real browser can do.
 *
 * Files (written into the existing dist/<slug>/, each atomically: temp name + rename):
 *   screenshot-desktop.png     800 px viewport (the email's 600 px column), full page
 *   screenshot-phone.png       375 px phone (mobile viewport, touch), full page
 *   screenshot-phone-dark.png  the phone view with `prefers-color-scheme: dark`
 *
 * Findings (rule "render"):
 *   - the email scrolls sideways at 375 px or at 320 px: an error naming the widest
 *     element(s) that stick out (tag, class, width);
 *   - images that did not load: a warning. Screenshots block every request that leaves
 *     this machine (fast, deterministic, no network needed), so remote images are
 *     reported together as "not fetched"; `--check-links` checks their addresses.
 *
 * One browser is launched for the three shots and the checks, and always closed.
 * No Chromium is ever downloaded: when none is found, BrowserMissingError says how to
 * install Debian's.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import type { Finding } from '../check/types.js';
import { NewsletterError } from '../errors.js';

/** Where Chromium is looked for when CHROMIUM_PATH is not set, in order. */
export const CHROMIUM_CANDIDATES: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const CHROMIUM_INSTALL_HINT =
  "Install Debian's Chromium: sudo apt-get install chromium (or set CHROMIUM_PATH to a Chrome or Chromium executable)";

/** As recommended for this machine: no background traffic, no GPU, no sandbox (we run as root), no QUIC. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** The widths at which the email must not scroll sideways. */
export const RENDER_CHECK_WIDTHS: readonly number[] = [375, 320];

export type ShotName = 'desktop' | 'phone' | 'phoneDark';

export const SCREENSHOT_FILES: Record<ShotName, string> = {
  desktop: 'screenshot-desktop.png',
  phone: 'screenshot-phone.png',
  phoneDark: 'screenshot-phone-dark.png',
};

export interface ScreenshotResult {
  /** Absolute paths of the PNGs written. */
  files: Record<ShotName, string>;
  /** Pixel sizes of the PNGs (device scale factor 1, so CSS px). */
  sizes: Record<ShotName, { width: number; height: number }>;
  /** Rule "render" findings from the real browser. */
  findings: Finding[];
  /** Wall-clock time of the whole run (launch, three shots, checks, close), in ms. */
  ms: number;
}

export interface ScreenshotOptions {
  /** The browser to run; default findChromium(env). */
  chromiumPath?: string;
  /** Where CHROMIUM_PATH is read. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Let the page fetch from outside this machine (remote images). Off by default: shots
   * are then fast, deterministic and work offline, and remote images show their alt text.
   */
  allowNetwork?: boolean;
  /** Launch timeout, in ms. @default 30000 */
  timeoutMs?: number;
}

/**
 * No usable Chromium. `reason` is 'not-found' (nothing at CHROMIUM_PATH or the usual
 * places) or 'not-started' (found, but it would not launch). `hint` says what to do.
 */
export class BrowserMissingError extends Error {
  readonly hint = CHROMIUM_INSTALL_HINT;
  constructor(
    message: string,
    readonly reason: 'not-found' | 'not-started',
    readonly executablePath?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BrowserMissingError';
  }
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium to run: CHROMIUM_PATH when set (and undefined if it names no executable
 * file: an explicit choice is not silently replaced), else the first of
 * CHROMIUM_CANDIDATES that exists.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chosen = env.CHROMIUM_PATH?.trim();
  if (chosen) return isExecutableFile(chosen) ? chosen : undefined;
  return CHROMIUM_CANDIDATES.find(isExecutableFile);
}

function missingError(env: NodeJS.ProcessEnv): BrowserMissingError {
  const chosen = env.CHROMIUM_PATH?.trim();
  const message = chosen
    ? `screenshots need Chromium, and CHROMIUM_PATH (${chosen}) is not an executable file`
    : `screenshots need Chromium, and none was found (looked for ${CHROMIUM_CANDIDATES.join(', ')})`;
  return new BrowserMissingError(message, 'not-found', chosen || undefined);
}

/** Requests that stay on this machine; everything else is blocked unless allowNetwork. */
function isLocal(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'data:' || u.protocol === 'blob:' || u.protocol === 'about:') return true;
  if (u.protocol !== 'http:' && u.protocol !== 'https:' && u.protocol !== 'ws:' && u.protocol !== 'wss:') return false;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Why requests failed, by URL: 'blocked' (we blocked it), 'HTTP 404', or Chromium's net error. */
export type NetworkFailures = Map<string, string>;

/** Block what leaves the machine (unless allowed) and record every failed request. */
async function watchNetwork(context: BrowserContext, allowNetwork: boolean): Promise<NetworkFailures> {
  const failures: NetworkFailures = new Map();
  if (!allowNetwork) {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLocal(url)) return route.continue();
      failures.set(url, 'blocked');
      return route.abort('blockedbyclient');
    });
  }
  context.on('requestfailed', (req) => {
    if (!failures.has(req.url())) failures.set(req.url(), req.failure()?.errorText ?? 'failed');
  });
  context.on('response', (res) => {
    if (res.status() >= 400) failures.set(res.url(), `HTTP ${res.status()}`);
  });
  return failures;
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  if (png.length < 24 || png.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw new NewsletterError('EWRITE', `could not write ${file}: ${(err as Error).message}`, {
      hint: 'Check that the output folder is writable and the disk is not full.',
      cause: err,
    });
  }
}

const PHONE = { width: 375, height: 667 };

const CONTEXTS: Record<'desktop' | 'phone', BrowserContextOptions> = {
  desktop: { viewport: { width: 800, height: 1000 }, deviceScaleFactor: 1, colorScheme: 'light' },
  phone: { viewport: PHONE, deviceScaleFactor: 1, isMobile: true, hasTouch: true, colorScheme: 'light' },
};

/** Open `html` in a new context of `browser` set up as `shot`, loaded (images settled). */
async function openEmail(
  browser: Browser,
  shot: 'desktop' | 'phone',
  html: string,
  allowNetwork: boolean,
): Promise<{ context: BrowserContext; page: Page; failures: NetworkFailures }> {
  const context = await browser.newContext({ ...CONTEXTS[shot], reducedMotion: 'reduce', locale: 'en-GB' });
  const failures = await watchNetwork(context, allowNetwork);
  const page = await context.newPage();
  await page.setContent(html, { waitUntil: 'load', timeout: allowNetwork ? 60_000 : 30_000 });
  return { context, page, failures };
}

/**
 * Take the three screenshots of `html` into `outDir` and run the render checks.
 * Throws BrowserMissingError when there is no usable Chromium, NewsletterError
 * ('EWRITE') when a PNG cannot be written.
 */
export async function takeScreenshots(html: string, outDir: string, options: ScreenshotOptions = {}): Promise<ScreenshotResult> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const executablePath = options.chromiumPath ?? findChromium(env);
  if (!executablePath || !isExecutableFile(executablePath)) {
    throw options.chromiumPath
      ? new BrowserMissingError(`screenshots need Chromium, and ${options.chromiumPath} is not an executable file`, 'not-found', options.chromiumPath)
      : missingError(env);
  }
  const allowNetwork = options.allowNetwork ?? false;
  await mkdir(outDir, { recursive: true });

  // Loaded here, not at the top: only --screenshots pays for playwright-core. require(),
  // not import(): the CLI runs as a CommonJS bundle in a vm.Script (for V8's code
  // cache), where import() would need an experimental loader hook.
  const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      timeout: options.timeoutMs ?? 30_000,
    });
  } catch (err) {
    const first = String((err as Error).message ?? err).split('\n')[0];
    throw new BrowserMissingError(`Chromium (${executablePath}) did not start: ${first}`, 'not-started', executablePath, { cause: err });
  }

  try {
    const files = Object.fromEntries(
      (Object.keys(SCREENSHOT_FILES) as ShotName[]).map((k) => [k, path.join(outDir, SCREENSHOT_FILES[k])]),
    ) as Record<ShotName, string>;
    const sizes: ScreenshotResult['sizes'] = { desktop: { width: 0, height: 0 }, phone: { width: 0, height: 0 }, phoneDark: { width: 0, height: 0 } };
    let findings: Finding[] = [];

    const shoot = async (page: Page, shot: ShotName): Promise<void> => {
      const png = await page.screenshot({ fullPage: true, type: 'png', animations: 'disabled', caret: 'hide' });
      sizes[shot] = pngSize(png);
      await writeAtomically(files[shot], png);
    };

    // One after the other: on two cores, side by side was no faster (PNG encoding is the work).
    const desktop = await openEmail(browser, 'desktop', html, allowNetwork);
    try {
      await shoot(desktop.page, 'desktop');
    } finally {
      await desktop.context.close();
    }
    // The dark shot is the phone page with the colour scheme switched: the same load, no reload.
    const phone = await openEmail(browser, 'phone', html, allowNetwork);
    try {
      await shoot(phone.page, 'phone');
      await phone.page.emulateMedia({ colorScheme: 'dark' });
      await shoot(phone.page, 'phoneDark');
      await phone.page.emulateMedia({ colorScheme: 'light' });
      // The checks resize the page, so they run after its screenshots.
      findings = await renderChecks(phone.page, { failures: phone.failures });
    } finally {
      await phone.context.close();
    }

    return { files, sizes, findings, ms: performance.now() - started };
  } finally {
    await browser.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------
// Render checks. The in-page code is kept as source text, not as functions: the CLI
// bundle is minified with keepNames, and the helpers that adds do not exist in the page.

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
  const attrs = [c.id ? ` id="${c.id}"` : '', c.cls ? ` class="${c.cls.length > 60 ? c.cls.slice(0, 57) + '...' : c.cls}"` : ''].join('');
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

function imageFindings(images: ImageState[], failures: NetworkFailures): Finding[] {
  const withSrc = images.filter((i) => i.src !== '');
  const failed = withSrc.filter((i) => !i.loaded);
  if (failed.length === 0) return [];
  const findings: Finding[] = [];
  const blocked = failed.filter((i) => failures.get(i.url) === 'blocked');
  const others = failed.filter((i) => failures.get(i.url) !== 'blocked');

  if (blocked.length > 0) {
    const all = blocked.length === withSrc.length;
    const names = blocked.map((i) => fileName(i.src));
    const what = all
      ? `none of the ${withSrc.length} images ${withSrc.length === 1 ? 'was' : 'were'} loaded`
      : `${blocked.length} of the ${withSrc.length} images ${blocked.length === 1 ? 'was' : 'were'} not loaded`;
    findings.push({
      rule: 'render',
      severity: 'warning',
      message:
        `${what}: screenshots are taken offline (requests that leave this machine are blocked), ` +
        `so the pictures show ${blocked.length === 1 ? 'its' : 'their'} alt text instead (${names.join(', ')}). ` +
        'Run --check-links to check the image addresses.',
      where: { excerpt: blocked[0]!.src },
    });
  }

  // Requests that went out and failed. All of them failing below HTTP looks like no network.
  const netErrors = others.filter((i) => /^net::/.test(failures.get(i.url) ?? ''));
  if (others.length > 1 && netErrors.length === withSrc.length) {
    findings.push({
      rule: 'render',
      severity: 'warning',
      message:
        `none of the ${withSrc.length} images could be loaded (${failures.get(others[0]!.url)}): this machine looks offline. ` +
        'Run --check-links when online to check the image addresses.',
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
      await page.setViewportSize({ width, height: before?.height ?? PHONE.height });
      const state = (await page.evaluate(OVERFLOW_JS)) as OverflowState;
      if (state.scrollWidth > state.viewport) findings.push(overflowFinding(width, state));
    }
  } finally {
    if (before) await page.setViewportSize(before);
  }
  findings.push(...imageFindings(images, options.failures ?? new Map()));
  return findings;
}
