/**
 * The preview server (`build-issue <issue> --watch`): in a real headless Chromium
 * driven by playwright-core, and over plain HTTP for the routes, the watching and
 * the shutdown. Without Chromium the browser tests skip with a notice; the rest runs.
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NewsletterError } from '../src/errors.js';
import { fillPage, findPageDir, loadPreviewPage } from '../src/preview/page.js';
import { startPreview, type PreviewEvent, type PreviewServer } from '../src/preview/server.js';
import { CHROMIUM_ARGS } from '../src/preview/screenshots.js';
import { INVERT_CSS, VIEW_IDS, VIEWS, viewHtml } from '../src/preview/views.js';
import { lineOf, makeProject, replaceOnce, ROOT } from './helpers.js';

/**
 * How long a test waits for an event (a build, a frame's update, an alert) before it calls it
 * lost: a hang detector, far beyond any build on a loaded 2-core machine. How fast the preview
 * is belongs to `npm run bench` (test/bench/preview-bench.ts), never to a test.
 */
const EVENT_WAIT_MS = 20_000;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  console.warn(
    `\nNOTICE: the preview's browser tests are SKIPPED: no Chromium at ${CHROMIUM}.\n` +
      `  Install it (apt-get install chromium) or set CHROMIUM_PATH to run them; the other preview tests still run.\n`,
  );
}

const MASTHEAD = 'LONDON ADOLESCENT SAFEGUARDING AND YOUTH JUSTICE NEWSLETTER';
const LABEL_LINE = 'label: "July 2025 ISSUE"';
const PLACEHOLDER_FROM = '[Get in touch with LIA](https://liia.london/contact)';
const PLACEHOLDER_TO = '[Get in touch with LIA](#)';

/** Save the issue as editors do: write a temporary file beside it, then rename it over the old one. */
async function atomicSave(file: string, text: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** The next event from `server` that matches, or a rejection after `ms`. Call before causing it. */
function nextEvent(server: PreviewServer, match: (e: PreviewEvent) => boolean, ms = EVENT_WAIT_MS): Promise<PreviewEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching preview event within ${ms} ms`));
    }, ms);
    const off = server.on((e) => {
      if (!match(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const handles = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;

/** A GET with a chosen Host header (fetch cannot set one). */
function rawGet(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether a TCP connection to host:port is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(EVENT_WAIT_MS); // a hang detector: a refusal comes at once
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

describe.skipIf(!haveChromium)('the preview page in headless Chromium', { timeout: 120_000 }, () => {
  let project: string;
  let issueFile: string;
  let original: string;
  let server: PreviewServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const mainNavigations: string[] = [];
  const pageErrors: string[] = [];
  /** What Chromium refused under the page's Content-Security-Policy (it says so on the console). */
  const cspViolations: string[] = [];
  const timings: Record<string, number[]> = {};
  const time = (what: string, ms: number) => (timings[what] ??= []).push(Math.round(ms));

  /** Wait (at most `ms`) until both email frames show `needle`. */
  const framesShow = (needle: string, ms = EVENT_WAIT_MS) =>
    page.waitForFunction(
      (n) =>
        ['frame-desktop', 'frame-phone'].every((id) => {
          const d = (document.getElementById(id) as HTMLIFrameElement | null)?.contentDocument;
          return Boolean(d?.body?.textContent.includes(n));
        }),
      needle,
      { timeout: ms },
    );
  /** Mark the current document; `stillSameDocument()` is false after any reload or navigation. */
  const markDocument = () => page.evaluate(() => void ((window as unknown as { __mark: number }).__mark = 42));
  const stillSameDocument = () => page.evaluate(() => (window as unknown as { __mark?: number }).__mark === 42);

  beforeAll(async () => {
    project = await makeProject();
    issueFile = path.join(project, 'issues', 'july-2025.yaml');
    // One placeholder link, so the checks tab has an error with its YAML line.
    original = replaceOnce(await readFile(issueFile, 'utf8'), PLACEHOLDER_FROM, PLACEHOLDER_TO);
    await writeFile(issueFile, original);
    server = await startPreview({ root: project, issue: 'july-2025' });
    server.on((e) => void ((e.type === 'built' || e.type === 'failed') && time(`build (${e.type})`, e.ms)));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [...CHROMIUM_ARGS],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // Hermetic: the email's images are on the web; only the preview server is reachable.
    const origin = new URL(server.url).origin;
    await context.route(
      (url) => url.origin !== origin,
      (route) => route.abort(),
    );
    page = await context.newPage();
    page.on('pageerror', (e) => void pageErrors.push(e.message));
    page.on('console', (m) => void (/Content.Security.Policy/i.test(m.text()) && cspViolations.push(m.text())));
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) mainNavigations.push(f.url());
    });
    await page.goto(server.url);
    await framesShow(MASTHEAD);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (project) await rm(project, { recursive: true, force: true });
    if (Object.keys(timings).length) console.log(`preview timings (ms): ${JSON.stringify(timings)}`);
  });

  it('runs its own script and style sheet, /preview.js and /preview.css, under a same-origin-only policy', async () => {
    const origin = new URL(server.url).origin;
    const loaded = await page.evaluate(() => ({
      scripts: [...document.scripts].map((s) => s.src),
      sheets: [...document.styleSheets].map((s) => s.href),
      background: getComputedStyle(document.body).backgroundColor,
      lineHeight: getComputedStyle(document.body).lineHeight,
      tabs: getComputedStyle(document.querySelector('[role=tablist]')!).display,
    }));
    expect(loaded).toEqual({
      scripts: [`${origin}/preview.js`],
      sheets: [`${origin}/preview.css`],
      background: 'rgb(244, 244, 246)',
      lineHeight: '24px',
      tabs: 'flex',
    });
    // The script ran: the event stream is open.
    await expect.poll(() => page.locator('#live').textContent(), { timeout: EVENT_WAIT_MS }).toMatch(/^Live/);
  });

  it('shows the email in a 600 px and a 375 px frame, each the full width of the email', async () => {
    // Each frame grows to its email's height once loaded, so no scrollbar takes width from the email.
    await page.waitForFunction(
      () => ['frame-desktop', 'frame-phone'].every((id) => (document.getElementById(id) as HTMLIFrameElement).style.height !== ''),
      null,
      { timeout: EVENT_WAIT_MS },
    );
    const measure = (id: string) =>
      page.$eval(`#${id}`, (f) => {
        const frame = f as HTMLIFrameElement;
        const d = frame.contentDocument!;
        return {
          viewport: frame.contentWindow!.innerWidth,
          client: d.documentElement.clientWidth,
          scroll: d.documentElement.scrollWidth,
          masthead: d.querySelector('h1')?.textContent ?? '',
          title: frame.title,
        };
      });
    const desktop = await measure('frame-desktop');
    const phone = await measure('frame-phone');
    expect(desktop).toMatchObject({ viewport: 600, client: 600, masthead: MASTHEAD });
    expect(phone).toMatchObject({ viewport: 375, client: 375, masthead: MASTHEAD });
    // The email fits each width: nothing sticks out sideways (the phone gets MJML's stacked layout).
    expect(desktop.scroll).toBeLessThanOrEqual(600);
    expect(phone.scroll).toBeLessThanOrEqual(375);
    expect(desktop.title).toMatch(/600 px/);
    expect(phone.title).toMatch(/375 px/);
    // Side by side in a 1280 px window.
    const [a, b] = await Promise.all(['#frame-desktop', '#frame-phone'].map((s) => page.locator(s).boundingBox()));
    expect(b!.x).toBeGreaterThan(a!.x + a!.width);
    expect(Math.abs(b!.y - a!.y)).toBeLessThan(5);
    // The frames hold exactly what was built.
    const html = await page.$eval('#frame-desktop', (f) => (f as HTMLIFrameElement).contentDocument!.documentElement.outerHTML);
    expect(html).toContain('July 2025 ISSUE');
    expect(server.state().result!.html).toContain('July 2025 ISSUE');
  });

  it("shows the HTML size against Gmail's 102 KB clipping limit, the build time and the issue", async () => {
    const bytes = server.state().result!.bytes.html;
    const size = page.locator('#size');
    await expect
      .poll(() => size.textContent(), { timeout: EVENT_WAIT_MS })
      .toContain(`HTML ${(bytes / 1000).toFixed(1)} KB of Gmail's 102.0 KB clipping limit (${Math.round((bytes / 102_000) * 100)}%)`);
    expect(await size.getAttribute('class')).toBe('size'); // well under 90 KB: no warning colour
    expect(await page.locator('#time').textContent()).toMatch(/^Built in \d+ ms at .+ \(build 1\)$/);
    expect(await page.locator('h1').textContent()).toContain('July 2025 ISSUE');
    expect(await page.locator('#subject').textContent()).toBe('Subject: July 2025: LASOB, VESS, Practice Spotlight, NRM');
    expect(await page.title()).toBe('Preview: july-2025');
  });

  it('has a plain-text tab with the text part', async () => {
    await page.getByRole('tab', { name: 'Plain text' }).click();
    const pre = page.locator('#panel-text pre');
    await expect.poll(() => pre.isVisible(), { timeout: EVENT_WAIT_MS }).toBe(true);
    expect(await pre.textContent()).toBe(server.state().result!.text);
    expect(await page.locator('#panel-email').isVisible()).toBe(false);
  });

  it('has a checks tab listing the findings with their YAML line, and the accepted ones apart', async () => {
    const tab = page.getByRole('tab', { name: /^Checks/ });
    expect(await tab.textContent()).toBe('Checks (1)');
    await tab.click();
    expect(await tab.getAttribute('aria-selected')).toBe('true');
    const panel = page.locator('#panel-checks');
    expect(await panel.isVisible()).toBe(true);
    const line = lineOf(original, PLACEHOLDER_TO);
    const errors = panel.locator('h2', { hasText: 'Errors (1)' });
    expect(await errors.count()).toBe(1);
    const finding = panel.locator('.finding.error');
    expect(await finding.count()).toBe(1);
    const text = (await finding.textContent())!;
    expect(text).toMatch(new RegExp(`\\[links\\] issues/july-2025\\.yaml:${line}:\\d+ sections\\[\\d+\\]\\.closing`));
    expect(text).toContain('placeholder');
    // The YAML line itself, numbered.
    expect(await finding.locator('pre').textContent()).toBe(`${line} | ${original.split('\n')[line - 1]}`);
    // The issue's accepted warning, with the editors' reason, listed apart.
    expect(await panel.locator('h2', { hasText: 'Accepted in the issue file (1)' }).count()).toBe(1);
    expect(await panel.locator('#accepted').textContent()).toContain("Accepted: The editors' wording, kept verbatim");
    // Arrow keys move between tabs.
    await tab.press('ArrowLeft');
    expect(await page.getByRole('tab', { name: 'Plain text' }).getAttribute('aria-selected')).toBe('true');
    await page.getByRole('tab', { name: 'Email' }).click();
    expect(await page.locator('#panel-email').isVisible()).toBe(true);
  });

  it('shows a saved change without reloading the page (how fast: npm run bench)', async () => {
    await markDocument();
    const navigationsBefore = mainNavigations.length;
    const edited = replaceOnce(original, LABEL_LINE, 'label: "July 2025 ISSUE (edited)"');
    const started = performance.now();
    await writeFile(issueFile, edited); // an in-place save
    await framesShow('July 2025 ISSUE (edited)');
    time('save to both frames updated', performance.now() - started);
    expect(await stillSameDocument()).toBe(true);
    expect(mainNavigations.length).toBe(navigationsBefore);
    await expect.poll(() => page.locator('h1').textContent(), { timeout: EVENT_WAIT_MS }).toContain('July 2025 ISSUE (edited)');
    expect(await page.locator('#time').textContent()).toMatch(/\(build 2\)$/);

    // Again, saved atomically (temporary file renamed over it), as many editors do; a few times for the timings.
    for (let i = 1; i <= 3; i++) {
      const label = `July 2025 ISSUE (edit ${i})`;
      const t0 = performance.now();
      await atomicSave(issueFile, replaceOnce(original, LABEL_LINE, `label: "${label}"`));
      await framesShow(label);
      time('save to both frames updated', performance.now() - t0);
    }
    expect(await stillSameDocument()).toBe(true);
    expect(mainNavigations.length).toBe(navigationsBefore);
  });

  it('shows a broken save in an alert with its file:line, keeps the last good email, and recovers on the next good save', async () => {
    await markDocument();
    const alert = page.getByRole('alert');
    expect(await alert.isVisible()).toBe(false);
    const failed = nextEvent(server, (e) => e.type === 'failed');

    // Invalid YAML: an unclosed quote.
    const broken = replaceOnce(original, LABEL_LINE, 'label: "July 2025 ISSUE (broken)');
    let t0 = performance.now();
    await atomicSave(issueFile, broken);
    await alert.waitFor({ state: 'visible', timeout: EVENT_WAIT_MS });
    time('save to error shown', performance.now() - t0);
    const event = await failed;
    expect(event.type === 'failed' && event.error instanceof NewsletterError && event.error.code).toBe('EISSUE_INVALID');
    const line = lineOf(broken, '(broken)');
    let text = (await alert.textContent())!;
    expect(text).toContain('The last save could not be built');
    expect(text).toMatch(new RegExp(`issues/july-2025\\.yaml:${line}:\\d+ invalid YAML`));
    expect(text).toContain(`${line} | label: "July 2025 ISSUE (broken)`);
    expect(text).not.toMatch(/\b(null|undefined)\b|\[object/);
    // The frames keep the last good build, dimmed.
    expect(await page.$eval('#frame-desktop', (f) => (f as HTMLIFrameElement).contentDocument!.body.textContent)).toContain('July 2025 ISSUE (edit 3)');
    expect(await page.locator('#panes').getAttribute('class')).toContain('stale');

    // A schema error next: the alert follows the newest error.
    const schemaBroken = replaceOnce(original, '  - kind: tiles', '  - kind: tilez');
    t0 = performance.now();
    await atomicSave(issueFile, schemaBroken);
    await page.waitForFunction(() => document.querySelector('[role=alert]')?.textContent?.includes('"tilez"'), null, { timeout: EVENT_WAIT_MS });
    time('save to error shown', performance.now() - t0);
    text = (await alert.textContent())!;
    expect(text).toMatch(
      new RegExp(`issues/july-2025\\.yaml:${lineOf(schemaBroken, 'kind: tilez')}:\\d+ sections\\[\\d+\\]\\.kind "tilez" is not a section kind`),
    );
    expect(text).not.toContain('(broken)');

    // The next good save: the alert goes, the new email shows, all without a reload.
    t0 = performance.now();
    await atomicSave(issueFile, replaceOnce(original, LABEL_LINE, 'label: "July 2025 ISSUE (fixed)"'));
    await framesShow('July 2025 ISSUE (fixed)');
    time('save to recovered', performance.now() - t0);
    await alert.waitFor({ state: 'hidden', timeout: EVENT_WAIT_MS });
    expect(await page.locator('#panes').getAttribute('class')).not.toContain('stale');
    expect(await stillSameDocument()).toBe(true);
    expect(server.state().error).toBeUndefined();
  });

  it('shows the size in the warning colour past 90 KB', async () => {
    // Enough extra letter paragraphs to take the HTML past 90 KB but not past 102 KB.
    const paragraph = `      ${'Practice Spotlight gathers examples of practice from across London. '.repeat(10).trim()}\n\n`;
    const anchor = '    signature:\n';
    const big = replaceOnce(original, anchor, `\n${paragraph.repeat(44)}${anchor}`);
    const built = nextEvent(server, (e) => e.type === 'built');
    await atomicSave(issueFile, big);
    const e = await built;
    const bytes = e.type === 'built' ? e.result.bytes.html : 0;
    expect(bytes).toBeGreaterThan(90_000);
    expect(bytes).toBeLessThanOrEqual(102_000);
    await expect.poll(() => page.locator('#size').getAttribute('class'), { timeout: EVENT_WAIT_MS }).toBe('size warn');
    expect(await page.locator('#size').textContent()).toContain(`HTML ${(bytes / 1000).toFixed(1)} KB`);
    expect(await page.locator('#size').textContent()).toContain('close to the limit');
    // Back under: the warning colour goes.
    await atomicSave(issueFile, original);
    await expect.poll(() => page.locator('#size').getAttribute('class'), { timeout: EVENT_WAIT_MS }).toBe('size');
  });

  it('offers the views beside the frames, and keeps the chosen one through a live update', async () => {
    await markDocument();
    const select = page.locator('#view');
    expect(await select.locator('option').allTextContents()).toEqual(VIEW_IDS.map((v) => VIEWS[v].label));
    expect(await select.locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual([...VIEW_IDS]);
    expect(await select.inputValue()).toBe('light');
    /** Wait until both frames show `view`, loaded, with `styles` <style> elements (or more than 0: 'some') and the inverting one or not. */
    const framesIn = (view: string, styles: number | 'some', inverted: boolean, text = '') =>
      page.waitForFunction(
        ([v, n, inv, t]) =>
          ['frame-desktop', 'frame-phone'].every((id) => {
            const f = document.getElementById(id) as HTMLIFrameElement;
            const d = f.contentDocument;
            if (!f.src.endsWith(`&view=${v}`) || d?.readyState !== 'complete' || !d.body?.textContent.includes(t)) return false;
            const count = d.querySelectorAll('style').length;
            return (n === 'some' ? count > 0 : count === n) && (d.getElementById('build-issue-view-inverted') !== null) === inv;
          }),
        [view, styles, inverted, text] as const,
        { timeout: EVENT_WAIT_MS },
      );
    await select.selectOption('no-style');
    await framesIn('no-style', 0, false);
    expect(await page.locator('#view-about').textContent()).toContain('Gmail');
    // A save while a view is chosen: the frames show the new build, in the same view, without a reload.
    await atomicSave(issueFile, replaceOnce(original, LABEL_LINE, 'label: "July 2025 ISSUE (viewed)"'));
    await framesIn('no-style', 0, false, 'July 2025 ISSUE (viewed)');
    await select.selectOption('inverted');
    await framesIn('inverted', 'some', true);
    expect(await page.$eval('#frame-phone', (f) => getComputedStyle((f as HTMLIFrameElement).contentDocument!.documentElement).filter)).toBe(
      'invert(1) hue-rotate(180deg)',
    );
    await select.selectOption('light');
    await framesIn('light', 'some', false, 'July 2025 ISSUE (viewed)');
    expect(await stillSameDocument()).toBe(true);
  });

  it('says so when the preview server stops, instead of showing a stale page as live', async () => {
    expect(pageErrors).toEqual([]); // the page's script never threw, through every state above
    expect(cspViolations).toEqual([]); // and nothing the page does was refused by its policy
    expect(await page.locator('#live').textContent()).toMatch(/^Live/);
    await server.close();
    await expect.poll(() => page.locator('#live').textContent(), { timeout: EVENT_WAIT_MS }).toMatch(/^Disconnected/);
  });
});

describe('the preview server', { timeout: 120_000 }, () => {
  const projects: string[] = [];
  const servers: PreviewServer[] = [];
  const start = async (opts: { issue?: string; port?: number; debounceMs?: number; prepare?: (project: string) => Promise<void> } = {}) => {
    const project = await makeProject();
    projects.push(project);
    await opts.prepare?.(project);
    const server = await startPreview({ root: project, issue: opts.issue ?? 'july-2025', port: opts.port, debounceMs: opts.debounceMs });
    servers.push(server);
    return { project, server, issueFile: path.join(project, 'issues', 'july-2025.yaml') };
  };

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all(projects.splice(0).map((p) => rm(p, { recursive: true, force: true })));
  });

  it('serves the page, the email, its text, the state and server-sent events, and 404 for anything else', async () => {
    const { server, project } = await start();
    const r = server.state().result!;
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const pageHtml = await page.text();
    expect(pageHtml).toContain('<title>Preview: july-2025</title>');
    expect(pageHtml).toContain('<span class="slug">july-2025</span>');
    expect(pageHtml).not.toMatch(/\{\{|<!--/); // filled in, and its notes for editors left out
    // Its style and script are its own files, from this server only: nothing inline, nothing from elsewhere.
    const links = [...pageHtml.matchAll(/<(link|script)\b[^>]*\b(?:href|src)="([^"]*)"/gi)].map((m) => `${m[1]} ${m[2]}`);
    expect(links).toEqual(['link /preview.css', 'script /preview.js']);
    expect(pageHtml).not.toMatch(/<style\b|\sstyle=|<script\b[^>]*>[^<]/i);
    expect(pageHtml).not.toMatch(/https?:\/\//);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp.split('; ')).toEqual(
      expect.arrayContaining(["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-src 'self'", "base-uri 'none'"]),
    );
    expect(csp).not.toMatch(/unsafe|nonce-/);
    const css = await fetch(`${server.url}preview.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toContain('.finding');
    const js = await fetch(`${server.url}preview.js`);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    const script = await js.text();
    expect(script).toContain("new EventSource('/events')");
    expect(script).not.toMatch(/https?:\/\//);
    // Exactly the files in templates/preview/, read once at start: a change there shows after a restart.
    expect(script).toBe(await readFile(path.join(ROOT, 'templates', 'preview', 'preview.js'), 'utf8'));
    expect((await rawGet(`${server.url}preview.js`, {}, 'HEAD')).body).toBe('');

    const html = await fetch(`${server.url}email.html`);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await html.text()).toBe(r.html);
    expect(await (await fetch(`${server.url}email.txt`)).text()).toBe(r.text);
    // Built with write: true, so dist/ stays current.
    expect(await readFile(path.join(project, 'dist', 'july-2025', 'email.html'), 'utf8')).toBe(r.html);

    const state = (await (await fetch(`${server.url}state.json`)).json()) as Record<string, unknown>;
    expect(state).toMatchObject({
      build: 1,
      ok: true,
      error: null,
      limit: 102_000,
      size: r.bytes,
      findings: [],
      label: 'July 2025 ISSUE',
      issueFile: 'issues/july-2025.yaml',
    });
    expect(state.ms).toEqual(expect.any(Number));
    expect((state.accepted as unknown[]).length).toBe(1);

    const events = await fetch(`${server.url}events`);
    expect(events.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = events.body!.getReader();
    let stream = '';
    while (!stream.includes('\n\nevent: build\n')) stream += new TextDecoder().decode((await reader.read()).value);
    expect(stream).toMatch(/^retry: 1000\n\nevent: build\ndata: \{"build":1,"ms":\d+\}\n\n/);
    await reader.cancel();

    for (const p of [
      'nope',
      'email.eml',
      'dist/july-2025/email.html',
      '../newsletter.config.yaml',
      'index.html',
      'preview.html',
      'templates/preview/preview.js',
    ]) {
      expect((await fetch(server.url + p)).status, p).toBe(404);
    }
    expect((await rawGet(`${server.url}state.json`, {}, 'POST')).status).toBe(405);
    expect((await rawGet(`${server.url}preview.js`, {}, 'POST')).status).toBe(405);
  });

  it('serves each view of the email at /email.html?view=<id>, and refuses an unknown view with the list', async () => {
    const { server } = await start();
    const asBuilt = await (await fetch(`${server.url}email.html`)).text();
    expect(asBuilt).toBe(server.state().result!.html);
    const view = async (v: string) => {
      const res = await fetch(`${server.url}email.html?build=1&view=${encodeURIComponent(v)}`);
      return { status: res.status, csp: res.headers.get('content-security-policy'), body: await res.text() };
    };
    for (const v of VIEW_IDS) {
      const r = await view(v);
      expect(r.status, v).toBe(200);
      expect(r.csp, v).toContain("script-src 'none'");
      expect(r.body, v).toBe(viewHtml(asBuilt, v));
      expect(r.body, v).toContain('LONDON ADOLESCENT SAFEGUARDING AND YOUTH JUSTICE NEWSLETTER');
    }
    expect(asBuilt).toMatch(/<style\b/);
    // Left in Outlook's conditional comments (<!--[if mso]><style>...), which no other client reads; gone everywhere else.
    expect((await view('no-style')).body.replace(/<!--[\s\S]*?-->/g, '')).not.toMatch(/<style\b/i);
    expect((await view('inverted')).body).toContain(INVERT_CSS);
    expect(asBuilt).toMatch(/<img\b[^>]*\ssrc=/);
    expect((await view('images-off')).body).not.toMatch(/<img\b[^>]*\ssrc=/);
    const bad = await view('sepia');
    expect(bad.status).toBe(400);
    expect(bad.body).toBe('Unknown view "sepia": use one of light, dark, inverted, no-style, images-off\n');
  });

  it('binds 127.0.0.1 only, and answers only to its own host name', async () => {
    const { server } = await start();
    expect(await connects('127.0.0.1', server.port)).toBe(true);
    // 127.0.0.2 is this machine too, but not the address bound: refused, as every other interface is.
    expect(await connects('127.0.0.2', server.port)).toBe(false);
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal);
    for (const a of others) expect(await connects(a!.address, server.port), a!.address).toBe(false);
    expect((await rawGet(server.url, { Host: `localhost:${server.port}` })).status).toBe(200);
    // A page elsewhere that rebinds its own name to 127.0.0.1 gets nothing.
    const rebound = await rawGet(`${server.url}state.json`, { Host: `attacker.example:${server.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.body).not.toContain('july-2025');
  });

  it('rebuilds once for a burst of saves, and not again for its own output', async () => {
    // A burst is saves closer together than the debounce. The default 30 ms is for editors; here
    // it is long enough that a loaded machine cannot spread five writes past it.
    const debounceMs = 500;
    const { server, issueFile } = await start({ debounceMs });
    const builds: PreviewEvent[] = [];
    const order: string[] = [];
    server.on((e) => {
      if (e.type === 'built' || e.type === 'failed') builds.push(e);
      if (e.type !== 'listening') order.push(`${e.type} ${e.build}`);
    });
    const text = await readFile(issueFile, 'utf8');
    for (let i = 1; i <= 5; i++) await writeFile(issueFile, replaceOnce(text, LABEL_LINE, `label: "Burst ${i}"`));
    await expect.poll(() => builds.length, { timeout: EVENT_WAIT_MS }).toBe(1);
    await sleep(debounceMs + 400); // writing dist/ must not trigger a build, nor must a late event
    expect(builds.length).toBe(1);
    const e = builds[0]!;
    expect(e.type).toBe('built');
    if (e.type === 'built') {
      expect(e.result.issue.label).toBe('Burst 5');
      expect(e.changed).toEqual(['issues/july-2025.yaml']);
      expect(e.build).toBe(2);
      expect(e.ms).toBeGreaterThan(0);
    }
    // The email went to the page before the checks and the writing were done.
    expect(order).toEqual(['email 2', 'built 2']);
    // Another issue's file in the same folder is not this preview's business.
    await writeFile(path.join(path.dirname(issueFile), 'august-2025.yaml'), text);
    await sleep(debounceMs + 300);
    expect(builds.length).toBe(1);
  });

  it('runs exactly one more build when changes come in during a build', async () => {
    const { server, issueFile } = await start();
    const labels: string[] = [];
    server.on((e) => void (e.type === 'built' && labels.push(e.result.issue.label)));
    // rebuild() calls during a running build coalesce into one more.
    await Promise.all([server.rebuild(), server.rebuild(), server.rebuild(), server.rebuild()]);
    expect(labels).toEqual(['July 2025 ISSUE', 'July 2025 ISSUE']);
    expect(server.state().build).toBe(3);

    // A save while a build runs is built right after it, with the newest text. (The running
    // build may read the old text, the new one, or half of it and fail: the one after it counts.)
    const text = await readFile(issueFile, 'utf8');
    const outcomes: string[] = [];
    server.on((e) => void ((e.type === 'built' || e.type === 'failed') && outcomes.push(e.type === 'built' ? e.result.issue.label : 'failed')));
    const running = server.rebuild();
    expect(server.state().building).toBe(true);
    await writeFile(issueFile, replaceOnce(text, LABEL_LINE, 'label: "During"'));
    await running;
    await expect.poll(() => outcomes.length, { timeout: EVENT_WAIT_MS }).toBe(2);
    await sleep(300);
    expect(outcomes).toHaveLength(2);
    expect(outcomes[1]).toBe('During');
    expect(server.state().result!.issue.label).toBe('During');
    expect(server.state().error).toBeUndefined();
  });

  it('rebuilds when a template, the config or a picture under issues/assets/ changes', async () => {
    const { server, project } = await start();
    const changedBy = async (cause: () => Promise<void>) => {
      const e = nextEvent(server, (x) => x.type === 'built' || x.type === 'failed');
      await cause();
      return (await e) as Extract<PreviewEvent, { changed: string[] }>;
    };
    const template = path.join(project, 'templates', 'sections', 'letter.mjml.hbs');
    let e = await changedBy(() => appendFile(template, '\n'));
    expect(e.changed).toEqual(['templates/sections/letter.mjml.hbs']);
    // A template saved atomically, by rename.
    const layout = path.join(project, 'templates', 'layout.mjml.hbs');
    e = await changedBy(async () => atomicSave(layout, await readFile(layout, 'utf8')));
    expect(e.changed).toEqual(['templates/layout.mjml.hbs']);
    // The config: a change to it shows in the build.
    const config = path.join(project, 'newsletter.config.yaml');
    const configText = await readFile(config, 'utf8');
    e = await changedBy(() => writeFile(config, configText.replace(/postalAddress: .*/, 'postalAddress: "1 Test Street, London"')));
    expect(e.changed).toEqual(['newsletter.config.yaml']);
    expect(e.type === 'built' && e.result.text).toContain('1 Test Street, London');
    // A new folder of subsections in templates is watched too.
    await changedBy(() => mkdir(path.join(project, 'templates', 'extra')));
    e = await changedBy(() => writeFile(path.join(project, 'templates', 'extra', 'note.hbs'), 'x'));
    expect(e.changed).toEqual(['templates/extra/note.hbs']);
    // issues/assets/<slug>/, created after the start, and a file in it.
    await changedBy(async () => void (await mkdir(path.join(project, 'issues', 'assets', 'july-2025'), { recursive: true })));
    e = await changedBy(() => writeFile(path.join(project, 'issues', 'assets', 'july-2025', 'photo.png'), 'png'));
    expect(e.changed).toEqual(['issues/assets/july-2025/photo.png']);
    // Another month's folder too: an issue made --from last month's keeps pictures there.
    await changedBy(async () => void (await mkdir(path.join(project, 'issues', 'assets', 'june-2025'))));
    e = await changedBy(() => writeFile(path.join(project, 'issues', 'assets', 'june-2025', 'partner.png'), 'png'));
    expect(e.changed).toEqual(['issues/assets/june-2025/partner.png']);
  });

  it('starts with a broken issue, serves the error, and recovers on the next good save', async () => {
    let good = '';
    const { server, issueFile } = await start({
      prepare: async (project) => {
        const file = path.join(project, 'issues', 'july-2025.yaml');
        good = await readFile(file, 'utf8');
        await writeFile(file, replaceOnce(good, LABEL_LINE, 'label: "unclosed'));
      },
    });
    expect(server.state().result).toBeUndefined();
    expect((server.state().error as NewsletterError).code).toBe('EISSUE_INVALID');
    expect((await fetch(`${server.url}email.html`)).status).toBe(503);
    const state = (await (await fetch(`${server.url}state.json`)).json()) as {
      ok: boolean;
      error: { problems: { where: string; source: string }[]; text: string };
    };
    expect(state.ok).toBe(false);
    expect(state.error.problems[0]!.where).toMatch(new RegExp(`^issues/july-2025\\.yaml:${lineOf(good, LABEL_LINE)}:\\d+$`));
    expect(state.error.problems[0]!.source).toBe('label: "unclosed');
    expect(state.error.text).toMatch(/^error: issues\/july-2025\.yaml: 1 problem to fix\n {2}issues\/july-2025\.yaml:/);

    // The event stream says it straight away to a page that connects now.
    const events = await fetch(`${server.url}events`);
    const reader = events.body!.getReader();
    let stream = '';
    while (!stream.includes('\nevent: error\n')) stream += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    const built = nextEvent(server, (e) => e.type === 'built');
    await atomicSave(issueFile, good);
    await built;
    expect(server.state().error).toBeUndefined();
    expect((await fetch(`${server.url}email.html`)).status).toBe(200);
  });

  it('meets a 25 MB save and 10,000 broken sections with a short error, and keeps answering (issue 10)', async () => {
    const { server, issueFile } = await start();
    const good = await readFile(issueFile, 'utf8');
    // 25 MB: refused by its size before it is read as YAML (it used to take two minutes and 2 GB).
    let failed = nextEvent(server, (e) => e.type === 'failed', 120_000);
    await atomicSave(issueFile, good + `# ${'x'.repeat(98)}\n`.repeat(250_000));
    let error = ((await failed) as Extract<PreviewEvent, { type: 'failed' }>).error as NewsletterError;
    expect(error.code).toBe('EISSUE_INVALID');
    expect(error.message).toMatch(/25\.\d MB, over the 1 MB/);
    expect((await rawGet(`${server.url}state.json`)).status).toBe(200);

    // 10,000 broken sections (under 1 MB): refused by their number, one problem, not 400,000 lines.
    failed = nextEvent(server, (e) => e.type === 'failed', 120_000);
    await atomicSave(issueFile, `${good.split('\nsections:\n')[0]}\nsections:\n${'  - kind: notice\n    headin: x\n'.repeat(10_000)}`);
    error = ((await failed) as Extract<PreviewEvent, { type: 'failed' }>).error as NewsletterError;
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.message).toMatch(/has 10000 sections; an issue may have at most 200/);
    const state = (await (await fetch(`${server.url}state.json`)).json()) as { ok: boolean; error: { text: string } };
    expect(state.ok).toBe(false);

    const built = nextEvent(server, (e) => e.type === 'built', 120_000);
    await atomicSave(issueFile, good);
    await built;
    expect((await rawGet(`${server.url}email.html`)).status).toBe(200);
  });

  it('refuses a missing issue, a wrong issue name and a port in use, leaving nothing open', async () => {
    const watchersBefore = handles('FSEventWrap');
    const serversBefore = handles('TCPServerWrap');
    await expect(start({ issue: 'no-such-issue' })).rejects.toMatchObject({ code: 'EISSUE_NOT_FOUND' });
    await expect(start({ issue: 'Not An Issue!' })).rejects.toMatchObject({ code: 'EUSAGE' });
    const { server } = await start();
    await expect(start({ port: server.port })).rejects.toMatchObject({ code: 'EUSAGE', message: expect.stringContaining('in use') });
    await server.close();
    // Handles are released as their close callbacks run: waited for, not timed.
    await expect.poll(() => handles('FSEventWrap'), { timeout: EVENT_WAIT_MS }).toBe(watchersBefore);
    await expect.poll(() => handles('TCPServerWrap'), { timeout: EVENT_WAIT_MS }).toBe(serversBefore);
  });

  it('close() ends the event streams, stops watching and frees the port', async () => {
    const watchersBefore = handles('FSEventWrap');
    const serversBefore = handles('TCPServerWrap');
    const { server, issueFile } = await start();
    expect(handles('FSEventWrap')).toBeGreaterThan(watchersBefore);
    expect(handles('TCPServerWrap')).toBe(serversBefore + 1);
    const reader = (await fetch(`${server.url}events`)).body!.getReader();
    await reader.read();
    const events: PreviewEvent[] = [];
    server.on((e) => void events.push(e));

    await server.close();
    // The open event stream ends rather than hangs.
    let done = false;
    while (!done) done = (await reader.read()).done;
    // Handles are released as their close callbacks run: waited for, not timed.
    await expect.poll(() => handles('FSEventWrap'), { timeout: EVENT_WAIT_MS }).toBe(watchersBefore);
    await expect.poll(() => handles('TCPServerWrap'), { timeout: EVENT_WAIT_MS }).toBe(serversBefore);
    expect(await connects('127.0.0.1', server.port)).toBe(false);
    // Saves after close build nothing.
    await writeFile(issueFile, `${await readFile(issueFile, 'utf8')}\n`);
    await sleep(300);
    expect(events).toEqual([]);
    await server.close(); // twice is fine
  });
});

describe("the preview page's own files (templates/preview/)", () => {
  const pageDir = path.join(ROOT, 'templates', 'preview') + path.sep;

  it('are found from the source (src/preview/) and from the bundle (lib/build-issue.cjs) alike', () => {
    expect(findPageDir()).toBe(pageDir);
    expect(findPageDir(pathToFileURL(path.join(ROOT, 'lib', 'build-issue.cjs')).href)).toBe(pageDir);
    expect(findPageDir(pathToFileURL(path.join(ROOT, 'src', 'preview', 'page.ts')).href)).toBe(pageDir);
  });

  it("fill in the issue's name, escaped, and nothing else", async () => {
    const page = loadPreviewPage('july-2025');
    expect(page.html).toContain('<title>Preview: july-2025</title>');
    expect(page.css).toBe(await readFile(path.join(pageDir, 'preview.css'), 'utf8'));
    expect(page.js).toBe(await readFile(path.join(pageDir, 'preview.js'), 'utf8'));
    expect(fillPage('<title>{{slug}}</title><h1>{{ slug }}</h1>', { slug: '<a href="x">&\'' })).toBe(
      '<title>&#60;a href=&#34;x&#34;&#62;&#38;&#39;</title><h1>&#60;a href=&#34;x&#34;&#62;&#38;&#39;</h1>',
    );
    expect(() => fillPage('<p>{{port}}</p>', { slug: 'x' })).toThrow(/\{\{port\}\}/);
    expect(fillPage('<!doctype html>\n<!--\n  a note on {{slug}}\n-->\n<p>{{slug}}</p>', { slug: 'x' })).toBe('<!doctype html>\n<p>x</p>');
  });

  it('when missing (an incomplete install), make startPreview fail at once and say so', async () => {
    const nowhere = pathToFileURL(path.join(os.tmpdir(), 'no-build-issue-here', 'lib', 'build-issue.cjs')).href;
    expect(findPageDir(nowhere)).toBeUndefined();
    expect(() => loadPreviewPage('july-2025', nowhere)).toThrow(expect.objectContaining({ code: 'ETEMPLATE', message: expect.stringContaining('index.html') }));
  });
});
