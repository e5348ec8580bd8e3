/**
 * `--screenshots`: PNGs of the built email from the system's Chromium, and the render
 * checks only a real browser can do. Skipped (with a warning) where no Chromium is
 * installed; findChromium's own tests always run.
 */
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIssue, type BuildResult } from '../src/index.js';
import type { Finding } from '../src/check/types.js';
import { BrowserMissingError, CHROMIUM_INSTALL_HINT, findChromium, takeScreenshots, type ScreenshotResult } from '../src/preview/screenshots.js';
import { isRenderNote } from '../src/preview/render-checks.js';
import { makeProject, replaceOnce } from './helpers.js';

const CHROMIUM = findChromium();
if (!CHROMIUM) {
  console.warn(`screenshots.test.ts: no Chromium found, so the screenshot tests are SKIPPED. ${CHROMIUM_INSTALL_HINT}`);
}

const BROWSER_TIMEOUT = 60_000;

/** Standard deviation of luminance (0-255) over every 97th pixel. */
function lumaStdDev(png: PNG): number {
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  for (let i = 0; i < png.width * png.height; i += 97) {
    const o = i * 4;
    const y = 0.2126 * png.data[o]! + 0.7152 * png.data[o + 1]! + 0.0722 * png.data[o + 2]!;
    n++;
    sum += y;
    sum2 += y * y;
  }
  const mean = sum / n;
  return Math.sqrt(Math.max(0, sum2 / n - mean * mean));
}

/** Above this the picture has content; a blank (one-colour) page is 0. */
const NOT_BLANK = 15;

/** Temporary folders made here, removed after the file's tests (the PNGs are a few MB). */
const temps: string[] = [];
const tempDir = async (prefix: string) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

const readPng = async (file: string) => PNG.sync.read(await readFile(file));

const renderFindings = (r: ScreenshotResult) => r.findings.filter((f) => f.rule === 'render');
const sideways = (fs: Finding[], width: number) =>
  fs.filter((f) => f.severity === 'error' && f.message.startsWith(`at ${width} px wide the email scrolls sideways`));

describe('findChromium', () => {
  it('uses CHROMIUM_PATH when it names an executable file, and nothing else when it does not', async () => {
    const dir = await tempDir('chromium-path-');
    expect(findChromium({ CHROMIUM_PATH: path.join(dir, 'no-such-chromium') })).toBeUndefined();
    expect(findChromium({ CHROMIUM_PATH: dir })).toBeUndefined(); // a folder
    const notExecutable = path.join(dir, 'chromium');
    await writeFile(notExecutable, '#!/bin/sh\n');
    await chmod(notExecutable, 0o644);
    expect(findChromium({ CHROMIUM_PATH: notExecutable })).toBeUndefined();
    // Any executable file is taken as given (here: node itself).
    expect(findChromium({ CHROMIUM_PATH: process.execPath })).toBe(process.execPath);
    if (CHROMIUM) expect(findChromium({ CHROMIUM_PATH: CHROMIUM })).toBe(CHROMIUM);
  });

  it('without CHROMIUM_PATH looks in the usual places', () => {
    const found = findChromium({});
    if (found) expect(['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']).toContain(found);
    expect(findChromium({ CHROMIUM_PATH: '' })).toBe(found);
  });

  it('takeScreenshots without a Chromium throws BrowserMissingError that says how to install one, and writes nothing', async () => {
    const dir = await tempDir('no-chromium-');
    const err = await takeScreenshots('<p>x</p>', dir, { env: { CHROMIUM_PATH: path.join(dir, 'missing') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrowserMissingError);
    const e = err as BrowserMissingError;
    expect(e.reason).toBe('not-found');
    expect(e.message).toContain('CHROMIUM_PATH');
    expect(e.hint).toBe(CHROMIUM_INSTALL_HINT);
    expect(e.hint).toContain('apt-get install chromium');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe.skipIf(!CHROMIUM)('screenshots of the July issue', () => {
  let result: BuildResult;
  let shots: ScreenshotResult;

  beforeAll(async () => {
    const project = await makeProject();
    temps.push(project);
    result = await buildIssue('july-2025', { root: project, write: true, date: new Date('2025-07-01T09:00:00Z') });
    shots = await takeScreenshots(result.html, result.dir);
  }, BROWSER_TIMEOUT);

  it('writes the six PNGs into dist/july-2025/ beside the build, and no temporary files', async () => {
    expect((await readdir(result.dir)).sort()).toEqual([
      '.build-issue',
      ...result.invites,
      'email.eml',
      'email.html',
      'email.txt',
      'index.html',
      'issue.json',
      'report.json',
      'screenshot-desktop.png',
      'screenshot-phone-dark.png',
      'screenshot-phone-images-off.png',
      'screenshot-phone-inverted.png',
      'screenshot-phone-nostyle.png',
      'screenshot-phone.png',
    ]);
    expect(shots.files).toEqual({
      desktop: path.join(result.dir, 'screenshot-desktop.png'),
      phone: path.join(result.dir, 'screenshot-phone.png'),
      phoneDark: path.join(result.dir, 'screenshot-phone-dark.png'),
      phoneInverted: path.join(result.dir, 'screenshot-phone-inverted.png'),
      phoneNoStyle: path.join(result.dir, 'screenshot-phone-nostyle.png'),
      phoneImagesOff: path.join(result.dir, 'screenshot-phone-images-off.png'),
    });
    // The build's own files are untouched.
    expect(await readFile(result.files.html, 'utf8')).toBe(result.html);
    expect(shots.ms).toBeGreaterThan(0);
  });

  it('takes desktop at 800 px and the phone views at 375 px, full page', async () => {
    const desktop = await readPng(shots.files.desktop);
    const phone = await readPng(shots.files.phone);
    const dark = await readPng(shots.files.phoneDark);
    expect(desktop.width).toBe(800);
    for (const [shot, file] of Object.entries(shots.files)) if (shot !== 'desktop') expect((await readPng(file)).width, shot).toBe(375);
    // Full page: far taller than any viewport. The phone view is longer (text wraps more).
    expect(desktop.height).toBeGreaterThan(2000);
    expect(phone.height).toBeGreaterThan(2000);
    expect(phone.height).toBeGreaterThan(desktop.height);
    expect(shots.sizes.desktop).toEqual({ width: desktop.width, height: desktop.height });
    expect(shots.sizes.phone).toEqual({ width: phone.width, height: phone.height });
    expect(shots.sizes.phoneDark).toEqual({ width: dark.width, height: dark.height });
    const inverted = await readPng(shots.files.phoneInverted);
    expect(shots.sizes.phoneInverted).toEqual({ width: 375, height: inverted.height });
  });

  it('pictures the email, not a blank page (and the blank-page test does catch one)', async () => {
    for (const file of Object.values(shots.files)) {
      expect(lumaStdDev(await readPng(file)), path.basename(file)).toBeGreaterThan(NOT_BLANK);
    }
    // The same measure on a uniform picture of the same size is 0.
    const blank = new PNG({ width: 375, height: 3000 });
    blank.data.fill(0xf4);
    const decoded = PNG.sync.read(PNG.sync.write(blank));
    expect(lumaStdDev(decoded)).toBe(0);
    expect(lumaStdDev(decoded)).toBeLessThanOrEqual(NOT_BLANK);
  });

  it('changes the dark shot exactly when the email has dark-mode styles; the inverted one always', async () => {
    // Chromium does not darken pages by itself: without prefers-color-scheme rules (or a
    // color-scheme that allows dark) the dark shot is pixel for pixel the light one.
    const hasDark = /prefers-color-scheme|color-scheme\s*:[^;}]*dark/.test(result.html);
    const phone = await readPng(shots.files.phone);
    const dark = await readPng(shots.files.phoneDark);
    expect(dark.data.equals(phone.data)).toBe(!hasDark);
    const inverted = await readPng(shots.files.phoneInverted);
    expect(inverted.height).toBe(phone.height);
    expect(inverted.data.equals(phone.data)).toBe(false);
  });

  it('offline, with no picture loaded, writes the phone picture as the images-off one (turning images off changes nothing)', async () => {
    expect((await readFile(shots.files.phoneImagesOff)).equals(await readFile(shots.files.phone))).toBe(true);
  });

  it('finds no sideways scrolling at 375 px or 320 px', () => {
    const fs = renderFindings(shots);
    expect(sideways(fs, 375)).toEqual([]);
    expect(sideways(fs, 320)).toEqual([]);
    expect(fs.filter((f) => f.severity === 'error')).toEqual([]);
  });

  it('says once, as a note and not a warning, that the images were not loaded since screenshots are taken offline', () => {
    const images = result.html.match(/<img\b/g)?.length ?? 0;
    expect(images).toBeGreaterThanOrEqual(6);
    const notes = renderFindings(shots).filter(isRenderNote);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.message).toMatch(new RegExp(`^none of the ${images} images were loaded: screenshots are taken offline`));
    expect(notes[0]!.message).toContain('vess-leaflet.png');
    expect(notes[0]!.message).toContain('build-issue check <issue> --links');
    expect(notes[0]!.where?.excerpt).toMatch(/^https:\/\/liia\.london\//);
    // Nothing else about images: every one is remote, and blocked on purpose.
    expect(renderFindings(shots).filter((f) => f.severity === 'warning' && !isRenderNote(f))).toEqual([]);
  });

  it(
    'names a 700 px fixed-width table that makes the phone view scroll sideways',
    async () => {
      const wide = '<table role="presentation" class="too-wide" width="700" style="width:700px"><tr><td>A table someone pasted in</td></tr></table>';
      const html = replaceOnce(result.html, 'Dear colleagues,', `${wide}Dear colleagues,`);
      const dir = await tempDir('wide-email-');
      const r = await takeScreenshots(html, dir);
      const at375 = sideways(r.findings, 375);
      expect(at375).toHaveLength(1);
      expect(at375[0]!.rule).toBe('render');
      expect(at375[0]!.message).toContain('<table class="too-wide"> 700 px wide');
      expect(at375[0]!.where?.excerpt).toMatch(/^<table [^>]*class="too-wide"/);
      expect(sideways(r.findings, 320)).toHaveLength(1);
      expect(sideways(r.findings, 320)[0]!.message).toContain('<table class="too-wide"> 700 px wide');
      // The phone picture shows the overflow: it is wider than the phone.
      expect(r.sizes.phone.width).toBeGreaterThan(375);
    },
    BROWSER_TIMEOUT,
  );
});

describe.skipIf(!CHROMIUM)('render checks on a small email served from this machine', () => {
  let server: Server;
  let base: string;
  let shots: ScreenshotResult;
  let dir: string;

  beforeAll(async () => {
    const red = new PNG({ width: 40, height: 40 });
    for (let i = 0; i < red.data.length; i += 4) red.data.set([220, 30, 30, 255], i);
    const redPng = PNG.sync.write(red);
    server = createServer((req, res) => {
      if (req.url === '/ok.png') res.writeHead(200, { 'content-type': 'image/png' }).end(redPng);
      else res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const html = `<!doctype html><html lang="en-GB"><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{background:#fff;color:#111;font:16px sans-serif}@media (prefers-color-scheme: dark){body{background:#111;color:#eee}a{color:#8ecae6}}</style></head>
<body><h1>Dark-aware email</h1><p>Some text to see.</p><p><a href="https://example.org/more">Read more</a></p>
<img src="${base}/ok.png" alt="A red square" width="40">
<img src="${base}/missing.png" alt="The missing chart" width="40">
<img src="https://liia.london/newsletter/images/elsewhere.png" alt="From the internet" width="40">
</body></html>`;
    dir = await tempDir('small-email-');
    shots = await takeScreenshots(html, dir);
  }, BROWSER_TIMEOUT);

  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('darkens the dark shot when the email has dark-mode styles (the emulation works)', async () => {
    const light = await readPng(shots.files.phone);
    const dark = await readPng(shots.files.phoneDark);
    expect(dark.data.equals(light.data)).toBe(false);
    const mean = (p: PNG) => {
      let s = 0;
      for (let i = 0; i < p.data.length; i += 4) s += p.data[i + 1]!;
      return s / (p.data.length / 4);
    };
    expect(mean(light)).toBeGreaterThan(200);
    expect(mean(dark)).toBeLessThan(60);
  });

  it('takes the inverted, no-style and images-off views of the phone', async () => {
    const phone = await readPng(shots.files.phone);
    const red = (p: PNG) => {
      let n = 0;
      for (let i = 0; i < p.data.length; i += 4) if (p.data[i]! > 200 && p.data[i + 1]! < 60 && p.data[i + 2]! < 60) n++;
      return n;
    };
    expect(red(phone), 'phone').toBeGreaterThanOrEqual(40 * 40); // the red square loaded
    const inverted = await readPng(shots.files.phoneInverted);
    expect(inverted.data.equals(phone.data)).toBe(false);
    // Pictures are put back, not inverted (a little greyer: hue-rotate is an approximation).
    let reddish = 0;
    for (let i = 0; i < inverted.data.length; i += 4) if (inverted.data[i]! > 150 && inverted.data[i + 1]! < 90 && inverted.data[i + 2]! < 90) reddish++;
    expect(reddish, 'inverted').toBeGreaterThanOrEqual(40 * 40);
    // Without <style> the page loses its sans-serif font: the text is drawn differently.
    expect((await readPng(shots.files.phoneNoStyle)).data.equals(phone.data)).toBe(false);
    expect(red(await readPng(shots.files.phoneImagesOff))).toBe(0);
  });

  it('adds the a11y and tap-targets findings: the missing <title>, and the short standalone link', () => {
    const a11y = shots.findings.filter((f) => f.rule === 'a11y');
    expect(a11y.map((f) => f.message.split(' (axe ')[1]?.split(',')[0])).toEqual(['document-title']);
    expect(a11y[0]!.message).toMatch(/\(axe document-title, serious\) at 600 and 375 px and 375 px in dark mode: /);
    expect(a11y[0]!.severity).toBe('error');
    const taps = shots.findings.filter((f) => f.rule === 'tap-targets');
    expect(taps.map((f) => f.message.split(':')[0])).toEqual([expect.stringMatching(/^'Read more' link is \d+(\.\d)? px tall at 375 px$/)]);
  });

  it('loads images from this machine, warns of a broken one by alt and address, and notes the blocked one apart', () => {
    // A local image that fails is a warning: it will fail for readers too.
    const warnings = renderFindings(shots).filter((f) => f.severity === 'warning' && !isRenderNote(f));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe(
      `image "The missing chart" (${base}/missing.png) could not be loaded from here (HTTP 404): check the address or upload it`,
    );
    // The remote one was blocked on purpose: a note.
    const notes = renderFindings(shots).filter(isRenderNote);
    expect(notes).toHaveLength(1);
    expect(notes[0]!.message).toMatch(/^1 of the 3 images was not loaded: screenshots are taken offline/);
    expect(notes[0]!.message).toContain('elsewhere.png');
    // The one that loaded is not mentioned.
    expect(renderFindings(shots).some((f) => f.message.includes('ok.png'))).toBe(false);
    expect(renderFindings(shots).filter((f) => f.severity === 'error')).toEqual([]);
  });
});
