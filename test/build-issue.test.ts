/** The build's outputs: files on disk, the .eml as a mail client reads it, size and document basics. */
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile, mkdir, chmod } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildIssue, GMAIL_CLIP_BYTES, NewsletterError, type BuildResult } from '../src/index.js';
import { makeProject, replaceOnce, julyYaml, writeIssue } from './helpers.js';

/** What a build of July writes into dist/july-2025/, sorted. */
const JULY_FILES = [
  '.build-issue',
  '2025-07-10-applying-the-child-first-framework.ics',
  'email.eml',
  'email.html',
  'email.txt',
  'index.html',
  'issue.json',
  'report.json',
];

describe('building the July issue', () => {
  let project: string;
  let result: BuildResult;

  beforeAll(async () => {
    project = await makeProject();
    result = await buildIssue('july-2025', { root: project, date: new Date('2025-07-01T09:00:00Z') });
  });

  it("writes email.html, email.txt, email.eml, report.json, the event's invite and the web version into dist/july-2025/, and nothing else", async () => {
    const dir = path.join(project, 'dist', 'july-2025');
    expect((await readdir(dir)).sort()).toEqual(JULY_FILES);
    expect(await readFile(path.join(dir, 'email.html'), 'utf8')).toBe(result.html);
    expect(await readFile(path.join(dir, 'email.txt'), 'utf8')).toBe(result.text);
    expect(await readFile(path.join(dir, 'email.eml'))).toEqual(result.eml);
    // No staging or backup folders left behind; the archive's list and feed beside the issue.
    expect((await readdir(path.join(project, 'dist'))).sort()).toEqual(['feed.xml', 'index.html', 'july-2025']);
  });

  it(`keeps the HTML under Gmail's ${GMAIL_CLIP_BYTES}-byte clipping limit`, () => {
    expect(result.bytes.html).toBe(Buffer.byteLength(result.html));
    expect(result.bytes.html).toBeLessThanOrEqual(GMAIL_CLIP_BYTES);
  });

  it('sets lang, title and a hidden preheader', () => {
    expect(result.html).toMatch(/^<!doctype html><html lang="en-GB"/);
    expect(result.html).toContain('<title>London Adolescent Safeguarding and Youth Justice Newsletter</title>');
    const preheader = /<div style="display:none;[^"]*">([^<]*)<\/div>/.exec(result.html);
    expect(preheader?.[1]).toBe(result.issue.preheader);
    // The preheader is not part of the readable text.
    expect(result.text).not.toContain(result.issue.preheader);
  });

  it('produces email-client-safe markup: no scripts, absolute https images with width and alt, presentation tables', () => {
    expect(result.html).not.toMatch(/<(script|form|iframe|object|video)\b/i);
    expect(result.html).not.toMatch(/fonts\.googleapis|@import/);
    const images = [...result.html.matchAll(/<img\b[^>]*>/g)].map((m) => m[0]);
    expect(images.length).toBeGreaterThanOrEqual(6);
    for (const img of images) {
      expect(img).toMatch(/src="https:\/\//);
      // Alt text that says something: the logo's is the organisation's short name (it must fit its box).
      expect(img).toMatch(/alt="(LIIA|[^"]{8,})"/);
      expect(img).toMatch(/width="\d+"/);
    }
    const tables = [...result.html.matchAll(/<table\b[^>]*>/g)].map((m) => m[0]);
    expect(tables.filter((t) => !t.includes('role="presentation"'))).toEqual([]);
  });

  it('keeps every Outlook conditional comment balanced after minifying', () => {
    const opens = result.html.match(/<!--\[if [^\]]+\]>/g) ?? [];
    const closes = result.html.match(/<!\[endif\]-->/g) ?? [];
    expect(opens.length).toBeGreaterThan(10);
    expect(closes.length).toBe(opens.length);
    // Other comments are gone.
    expect(result.html.replace(/<!--\[if [\s\S]*?<!\[endif\]-->|<!--\[if !mso\]><!-->|<!--<!\[endif\]-->/g, '')).not.toContain('<!--');
  });

  it('inlines the Markdown styles, so Outlook shows links and lists as designed', () => {
    expect(result.html).toMatch(/<a href="mailto:referrals@saferlondon\.org\.uk" style="[^"]*color:#0b6e69/);
    expect(result.html).toMatch(/<ul style="[^"]*padding:0 0 0 24px/);
    // MJML's reset CSS stays in <style>, not copied onto every cell.
    expect(result.html.match(/mso-table-lspace/g)?.length ?? 0).toBeLessThan(5);
  });

  it('writes an .eml that a mail client reads as multipart/alternative with both parts and the headers', async () => {
    const mail = await simpleParser(result.eml);
    expect(mail.subject).toBe(result.issue.subject);
    expect(mail.from?.value).toEqual([{ name: 'London Innovation and Improvement Alliance', address: 'liiateam@londoncouncils.gov.uk' }]);
    expect(mail.date?.toISOString()).toBe('2025-07-01T09:00:00.000Z');
    expect(mail.messageId).toMatch(/^<july-2025\.[0-9a-f]{16}@londoncouncils\.gov\.uk>$/);
    expect(mail.html).toBe(result.html);
    expect(mail.text).toBe(result.text);
    expect(String(mail.headers.get('content-type') && (mail.headers.get('content-type') as { value: string }).value)).toBe('multipart/alternative');
  });

  it('is deterministic: the same issue builds to the same bytes and hash', async () => {
    const again = await buildIssue('july-2025', { root: project, write: false });
    expect(again.html).toBe(result.html);
    expect(again.text).toBe(result.text);
    expect(again.hash).toBe(result.hash);
  });
});

describe('the plain-text part', () => {
  let text: string;
  beforeAll(async () => {
    text = (await buildIssue('july-2025', { root: await makeProject(), write: false })).text;
  });

  it('wraps every line at 78 characters, except lines that are a single unbreakable URL', () => {
    const long = text.split('\n').filter((l) => [...l].length > 78);
    expect(long.every((l) => /^<?https?:\/\/\S+>?[.,]?$/.test(l.trim()))).toBe(true);
  });

  it('underlines headings so they stand out', () => {
    expect(text).toMatch(/^GET IN TOUCH\n={12}$/m);
    expect(text).toMatch(/^Youth Justice: New Insights into Desistance Practice\n-{52}$/m);
  });

  it('keeps bullets and their nesting', () => {
    expect(text).toMatch(/^ - Progress on Pan-London initiatives, including:\n {3}- The revised protocol/m);
  });

  it('keeps the URL of every link and button (as a numbered reference, without the tracking parameters), and no image file names or layout junk', () => {
    const page = 'https://liia.london/newsletter/july-2025/child-first-webinar'.replace(/[./]/g, '\\$&');
    expect(text).toMatch(new RegExp(`^Get tickets \\[(\\d+)\\]\n\n\\[\\1\\] ${page}$`, 'm'));
    expect(text).toMatch(new RegExp(`^Register here on Eventbrite\\. \\[(\\d+)\\]\n\n\\[\\1\\] ${page}$`, 'm'));
    expect(text).not.toMatch(/\.(png|jpe?g|gif)\b/);
    expect(text).not.toMatch(/\[if mso|<\/?(table|td|div)|&nbsp;|&amp;/);
  });
});

describe('atomic output', () => {
  it('replaces the previous build as a whole', async () => {
    const project = await makeProject();
    const dir = path.join(project, 'dist', 'july-2025');
    await mkdir(dir, { recursive: true });
    // An invite for an event the issue no longer has: a build's own kind of file, so the folder is an earlier build.
    await writeFile(path.join(dir, 'cancelled-event.ics'), 'from an old build');
    await buildIssue('july-2025', { root: project });
    expect((await readdir(dir)).sort()).toEqual(JULY_FILES);
  });

  it('leaves the previous build untouched when writing fails', async () => {
    const project = await makeProject();
    await buildIssue('july-2025', { root: project });
    const dir = path.join(project, 'dist', 'july-2025');
    const before = await readFile(path.join(dir, 'email.html'), 'utf8');
    // Change the issue, then make dist/ unwritable so the new build cannot be staged.
    await writeIssue(project, 'july-2025', replaceOnce(await julyYaml(), 'July 2025 ISSUE', 'July 2025 ISSUE (revised)'));
    const dist = path.join(project, 'dist');
    await chmod(dist, 0o555);
    try {
      if (process.getuid?.() === 0) return; // root ignores permissions; covered by the EWRITE path below
      await expect(buildIssue('july-2025', { root: project })).rejects.toMatchObject({ code: 'EWRITE' });
      expect(await readFile(path.join(dir, 'email.html'), 'utf8')).toBe(before);
    } finally {
      await chmod(dist, 0o755);
    }
  });

  it('leaves the previous build untouched when the output folder cannot be created', async () => {
    const project = await makeProject();
    await buildIssue('july-2025', { root: project });
    const before = await readFile(path.join(project, 'dist', 'july-2025', 'email.html'), 'utf8');
    // A file where the output's parent folder should be: writing must fail cleanly.
    await writeFile(path.join(project, 'blocked'), 'a file, not a folder');
    const err = await buildIssue('july-2025', { root: project, outDir: 'blocked/dist' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NewsletterError);
    expect((err as NewsletterError).code).toBe('EWRITE');
    expect(await readFile(path.join(project, 'dist', 'july-2025', 'email.html'), 'utf8')).toBe(before);
    expect(existsSync(path.join(project, 'blocked', 'dist'))).toBe(false);
  });
});
