/**
 * `build-issue screenshots <issue>`: PNGs of the built email as a reader sees it,
 * taken with the system's Chromium through playwright-core, plus the checks only a
 * real browser can do.
 *
 * Files (written into the existing dist/<slug>/, each atomically: temp name + rename):
 *   screenshot-desktop.png           800 px viewport (the email's 600 px column), full page
 *   screenshot-phone.png             375 px phone (mobile viewport, touch), full page
 *   screenshot-phone-dark.png        the phone view with `prefers-color-scheme: dark`
 *   screenshot-phone-inverted.png    inverted, as the Gmail and Outlook apps' dark mode
 *   screenshot-phone-nostyle.png     without <style> elements, as Gmail for non-Google accounts
 *   screenshot-phone-images-off.png  pictures not loaded (alt text), as Outlook; when none
 *                                    loaded anyway (offline), the phone picture itself
 * (the views: views.ts)
 *
 * Findings (rule "render", render-checks.ts and no-style.ts):
 *   - the email scrolls sideways at 375 px or at 320 px: an error naming the widest
 *     element(s) that stick out (tag, class, width);
 *   - images that did not load: a warning. Screenshots block every request that leaves
 *     this machine (fast, deterministic, no network needed), so remote images are
 *     reported together as "not fetched"; `check --links` checks their addresses;
 *   - without <style>, text in columns narrower than 250 px at 375 px: a warning each.
 * Rule "a11y" (a11y.ts): axe-core's WCAG A and AA rules at 600 px, at 375 px and at
 * 375 px in dark mode. Rule "tap-targets" (tap-targets.ts): standalone links and
 * buttons under 44 px tall at 375 px.
 *
 * One browser is launched for the shots and the checks, and always closed. Two pages:
 * the desktop one, and the phone one, which every phone view and check reuses in turn
 * (each view is undone before the next; none reloads the page). No Chromium is ever
 * downloaded: when none is found, BrowserMissingError says how to install Debian's.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import type { Finding } from '../check/types.js';
import { NewsletterError } from '../errors.js';
import { a11yFindings, runAxe, type AxeRun } from './a11y.js';
import { narrowColumnFindings, narrowTextColumns } from './no-style.js';
import { renderChecks, type NetworkFailures } from './render-checks.js';
import { shortTapTargets, tapTargetFindings } from './tap-targets.js';
import { applyView, type ViewId } from './views.js';

export { RENDER_CHECK_WIDTHS, renderChecks, type NetworkFailures, type RenderCheckOptions } from './render-checks.js';

/** Where Chromium is looked for when CHROMIUM_PATH is not set, in order. */
export const CHROMIUM_CANDIDATES: readonly string[] = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const CHROMIUM_INSTALL_HINT = "Install Debian's Chromium: sudo apt-get install chromium (or set CHROMIUM_PATH to a Chrome or Chromium executable)";

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

export type ShotName = 'desktop' | 'phone' | 'phoneDark' | 'phoneInverted' | 'phoneNoStyle' | 'phoneImagesOff';

export const SCREENSHOT_FILES: Record<ShotName, string> = {
  desktop: 'screenshot-desktop.png',
  phone: 'screenshot-phone.png',
  phoneDark: 'screenshot-phone-dark.png',
  phoneInverted: 'screenshot-phone-inverted.png',
  phoneNoStyle: 'screenshot-phone-nostyle.png',
  phoneImagesOff: 'screenshot-phone-images-off.png',
};

/** The view (views.ts) each phone shot shows, in the order they are taken. */
const PHONE_VIEWS: readonly [ShotName, ViewId][] = [
  ['phone', 'light'],
  ['phoneDark', 'dark'],
  ['phoneInverted', 'inverted'],
  ['phoneNoStyle', 'no-style'],
  ['phoneImagesOff', 'images-off'],
];

/** In-page: whether any picture of the page has loaded. */
const LOADED_IMAGES_JS = 'Array.prototype.some.call(document.images, function (i) { return i.complete && i.naturalWidth > 0; })';

/** The width at which the phone checks (tap targets, no-style columns) measure. */
const PHONE_WIDTH = 375;
/** The desktop accessibility run's width: the email's own column. */
const DESKTOP_A11Y_WIDTH = 600;

export interface ScreenshotResult {
  /** Absolute paths of the PNGs written. */
  files: Record<ShotName, string>;
  /** Pixel sizes of the PNGs (device scale factor 1, so CSS px). */
  sizes: Record<ShotName, { width: number; height: number }>;
  /** Findings from the real browser: rules "render", "a11y" and "tap-targets". */
  findings: Finding[];
  /** Wall-clock time of the whole run (launch, the shots, the checks, close), in ms. */
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
  /** Run axe-core (rule "a11y"), its slowest check. @default true */
  a11y?: boolean;
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
 * Take the screenshots of `html` into `outDir` (SCREENSHOT_FILES) and run the browser's
 * checks: render (render-checks.ts, no-style.ts), a11y and tap-targets.
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

  // Loaded here, not at the top: only screenshots pay for playwright-core. require(),
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
    const files = Object.fromEntries((Object.keys(SCREENSHOT_FILES) as ShotName[]).map((k) => [k, path.join(outDir, SCREENSHOT_FILES[k])])) as Record<
      ShotName,
      string
    >;
    const sizes = Object.fromEntries(Object.keys(SCREENSHOT_FILES).map((k) => [k, { width: 0, height: 0 }])) as ScreenshotResult['sizes'];
    const findings: Finding[] = [];
    const axeRuns: AxeRun[] = [];
    const a11y = options.a11y ?? true;

    let phonePng: Buffer | undefined;
    const shoot = async (page: Page, shot: ShotName): Promise<void> => {
      const png = await page.screenshot({ fullPage: true, type: 'png', animations: 'disabled', caret: 'hide' });
      if (shot === 'phone') phonePng = png;
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
    // Every phone view is the one phone page changed in place and put back: the same load, no reload.
    const phone = await openEmail(browser, 'phone', html, allowNetwork);
    const { page } = phone;
    try {
      for (const [shot, view] of PHONE_VIEWS) {
        // With no picture loaded (offline, every one remote) turning images off changes nothing:
        // the phone picture is that view already, and a second full-page PNG costs about a second.
        if (view === 'images-off' && phonePng && !(await page.evaluate(LOADED_IMAGES_JS))) {
          sizes[shot] = pngSize(phonePng);
          await writeAtomically(files[shot], phonePng);
          continue;
        }
        const undo = await applyView(page, view);
        await shoot(page, shot);
        // The checks that belong to a view run while it shows; each puts back any resizing it does.
        if (view === 'light') {
          findings.push(...tapTargetFindings(await shortTapTargets(page), PHONE_WIDTH));
          findings.push(...(await renderChecks(page, { failures: phone.failures })));
          if (a11y) {
            axeRuns.push(await runAxe(page, `${PHONE_WIDTH} px`));
            // The 600 px run on this page too (a phone page 600 px wide lays out as the desktop one):
            // axe is put into one page only, which saves a second second-long injection.
            await page.setViewportSize({ width: DESKTOP_A11Y_WIDTH, height: PHONE.height });
            axeRuns.unshift(await runAxe(page, `${DESKTOP_A11Y_WIDTH} px`));
            await page.setViewportSize(PHONE);
          }
        } else if (view === 'dark' && a11y) {
          axeRuns.push(await runAxe(page, `${PHONE_WIDTH} px in dark mode`));
        } else if (view === 'no-style') {
          findings.push(...narrowColumnFindings(await narrowTextColumns(page, PHONE_WIDTH), PHONE_WIDTH));
        }
        // The last view needs no undoing: the page closes.
        if (shot !== PHONE_VIEWS[PHONE_VIEWS.length - 1]![0]) await undo();
      }
    } finally {
      await phone.context.close();
    }
    findings.push(...a11yFindings(axeRuns));

    return { files, sizes, findings, ms: performance.now() - started };
  } finally {
    await browser.close().catch(() => {});
  }
}
