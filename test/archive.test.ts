/** The web archive: each issue's browser version, dist/index.html listing every published issue, dist/feed.xml. */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { newIssue } from '../src/authoring/new-issue.js';
import { Ledger, wasSentToList } from '../src/send/ledger.js';
import { makeProject } from './helpers.js';

/** Mark issues/<slug>.yaml `published: true`, as an editor would (once: `new --from` may have copied the mark). */
async function publish(project: string, slug: string): Promise<void> {
  const file = path.join(project, 'issues', `${slug}.yaml`);
  await writeFile(file, `${(await readFile(file, 'utf8')).replace(/^published: .*\n/m, '')}\npublished: true\n`);
}

/** The issues dist/index.html links, in order. */
const indexSlugs = async (project: string) =>
  [...(await readFile(path.join(project, 'dist/index.html'), 'utf8')).matchAll(/<h2><a href="([^"]+)\/">/g)].map((m) => m[1]);

/** The issues dist/feed.xml has an entry for, in order (from each entry's id, tag:<domain>,<date>:<slug>). */
const feedSlugs = async (project: string) =>
  [...(await readFile(path.join(project, 'dist/feed.xml'), 'utf8')).matchAll(/<entry>\s*<id>tag:[^<]*:([a-z0-9-]+)<\/id>/g)].map((m) => m[1]);

/** sends/<slug>/ledger.jsonl as a send to the list writes it (through the Ledger itself): a start, then each recipient. */
async function ledgerOfSend(project: string, slug: string, outcomes: ('sent' | 'failed' | 'unknown')[], start: { dryRun?: boolean } = {}): Promise<string> {
  const file = path.join(project, 'sends', slug, 'ledger.jsonl');
  await mkdir(path.dirname(file), { recursive: true });
  const at = '2025-07-01T09:00:00.000Z';
  const ledger = new Ledger(file);
  try {
    ledger.append({ t: 'start', at, hash: 'a'.repeat(64), subject: 'July 2025', recipients: outcomes.length, pid: 1, ...start });
    outcomes.forEach((o, i) => {
      const email = `reader${i}@example.org`;
      ledger.append({ t: 'data', email, at });
      if (o === 'sent') ledger.append({ t: 'sent', email, at, response: '250 2.0.0 Ok: queued' });
      if (o === 'failed') ledger.append({ t: 'failed', email, at, code: 550, response: '550 5.1.1 No such user', temporary: false });
    });
    if (!outcomes.includes('unknown')) ledger.append({ t: 'end', at, sent: outcomes.filter((o) => o === 'sent').length, failed: 0, unknown: 0, unsent: 0 });
  } finally {
    ledger.close();
  }
  return file;
}

describe('web archive', () => {
  it('writes the browser version, without the hidden preheader', async () => {
    const project = await makeProject();
    const r = await buildIssue('july-2025', { root: project });
    const page = await readFile(path.join(r.dir, 'index.html'), 'utf8');
    expect(r.html).toContain(`>${r.issue.preheader}</div>`);
    expect(page).not.toContain(r.issue.preheader);
    expect(page).toContain('LONDON ADOLESCENT SAFEGUARDING AND YOUTH JUSTICE NEWSLETTER');
    expect(page).toContain('Florence Kroll');
  });

  it('lists every published issue newest first, with title, date and contents; the feed has one entry each', async () => {
    const project = await makeProject();
    await publish(project, 'july-2025');
    await buildIssue('july-2025', { root: project });
    await newIssue({ root: project, slug: 'august-2025', from: 'july-2025' });
    await publish(project, 'august-2025');
    await buildIssue('august-2025', { root: project });
    const index = await readFile(path.join(project, 'dist/index.html'), 'utf8');
    const august = index.indexOf('August 2025 ISSUE');
    const july = index.indexOf('July 2025 ISSUE');
    expect(august).toBeGreaterThan(0);
    expect(july).toBeGreaterThan(august); // newest first
    expect(index).toContain('href="july-2025/"');
    expect(index).toContain('2025-07-01');
    expect(index).toContain('<li>Practice Spotlight at ALDCS 2025</li>');
    expect(await feedSlugs(project)).toEqual(['august-2025', 'july-2025']);
    const feedText = await readFile(path.join(project, 'dist/feed.xml'), 'utf8');
    expect(feedText).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">/);
  });

  it('with archiveBaseUrl, the email links "View in your browser" (untracked) and the feed links the archive', async () => {
    const project = await makeProject();
    const cfg = path.join(project, 'newsletter.config.yaml');
    await writeFile(cfg, `${await readFile(cfg, 'utf8')}\narchiveBaseUrl: https://liia.london/newsletter\n`);
    await publish(project, 'july-2025');
    const r = await buildIssue('july-2025', { root: project });
    expect(r.html).toMatch(/<a href="https:\/\/liia\.london\/newsletter\/july-2025\/"[^>]*>View in your browser<\/a>/);
    expect(r.text).toMatch(/^View in your browser \[(\d+)\]\n\n\[\1\] https:\/\/liia\.london\/newsletter\/july-2025\/$/m);
    // The browser version does not link to itself.
    expect(await readFile(path.join(r.dir, 'index.html'), 'utf8')).not.toContain('View in your browser');
    expect(await readFile(path.join(project, 'dist/feed.xml'), 'utf8')).toContain('<link href="https://liia.london/newsletter/july-2025/"/>');
    expect(r.report.counts.error).toBe(0);
  });
});

describe('what the archive lists: issues sent to the list or marked published, never drafts', () => {
  it('a draft is built, with its browser version, but stays out of dist/index.html and feed.xml', async () => {
    const project = await makeProject();
    const r = await buildIssue('july-2025', { root: project });
    // The browser version is written all the same: the email's "View in your browser" and the test send link to it.
    expect(existsSync(path.join(r.dir, 'index.html'))).toBe(true);
    expect(await indexSlugs(project)).toEqual([]);
    expect(await feedSlugs(project)).toEqual([]);
    const index = await readFile(path.join(project, 'dist/index.html'), 'utf8');
    expect(index).not.toContain('July 2025 ISSUE');
    expect(index).toContain('No issue has been published yet.');
    expect(await readFile(path.join(project, 'dist/feed.xml'), 'utf8')).not.toContain('<entry>');
  });

  it('published: true lists it; taking the mark off takes it out again', async () => {
    const project = await makeProject();
    await publish(project, 'july-2025');
    await buildIssue('july-2025', { root: project });
    expect(await indexSlugs(project)).toEqual(['july-2025']);
    expect(await feedSlugs(project)).toEqual(['july-2025']);
    expect(JSON.parse(await readFile(path.join(project, 'dist/july-2025/issue.json'), 'utf8'))).toMatchObject({ slug: 'july-2025', published: true });

    const file = path.join(project, 'issues', 'july-2025.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('\npublished: true\n', '\n'));
    await buildIssue('july-2025', { root: project });
    expect(await indexSlugs(project)).toEqual([]);
  });

  it('a send to the list, as its ledger records it, lists it without the mark', async () => {
    const project = await makeProject();
    const ledger = await ledgerOfSend(project, 'july-2025', ['sent', 'failed']);
    expect(wasSentToList(ledger)).toBe(true);
    await buildIssue('july-2025', { root: project });
    expect(await indexSlugs(project)).toEqual(['july-2025']);
    expect(await feedSlugs(project)).toEqual(['july-2025']);
  });

  it('a send still going (or paused) counts once a message was accepted; a dry run, a send that reached nobody and test sends do not', async () => {
    const project = await makeProject();
    expect(wasSentToList(path.join(project, 'sends/july-2025/ledger.jsonl'))).toBe(false); // none at all
    // Cut short after the first acceptance: no "end" record.
    expect(wasSentToList(await ledgerOfSend(project, 'in-progress', ['sent', 'unknown']))).toBe(true);
    expect(wasSentToList(await ledgerOfSend(project, 'refused', ['failed', 'failed']))).toBe(false);
    expect(wasSentToList(await ledgerOfSend(project, 'dry-run', ['sent'], { dryRun: true }))).toBe(false);

    // A long ledger (it is read a piece at a time): a dry run to 3,000 first, then a real
    // send that is refused 1,000 times before one message is accepted, far past the first
    // 64 KB, with records across every piece's edge. False until that last record, then true.
    const long = await ledgerOfSend(project, 'long', Array(3000).fill('sent'), { dryRun: true });
    const refusals = await ledgerOfSend(project, 'refusals', Array(1000).fill('failed'));
    await appendFile(long, await readFile(refusals));
    expect((await stat(long)).size).toBeGreaterThan(6 * 64 * 1024);
    expect(wasSentToList(long)).toBe(false);
    await appendFile(long, `${JSON.stringify({ t: 'sent', email: 'reader999@example.org', at: '2025-07-01T09:00:00.000Z', response: '250 2.0.0 Ok' })}\n`);
    expect(wasSentToList(long)).toBe(true);
    // A last line without its newline is torn (the ledger counts it as damage), whole as it looks: not sent.
    await writeFile(
      refusals,
      `${(await readFile(refusals, 'utf8')).trimEnd()}\n{"t":"sent","email":"reader1@example.org","at":"2025-07-01T09:00:00.000Z","response":"250 Ok"}`,
    );
    expect(wasSentToList(refusals)).toBe(false);

    // A test send is recorded beside the ledger, in test-sends.jsonl: the issue is still a draft.
    await mkdir(path.join(project, 'sends/july-2025'), { recursive: true });
    await writeFile(
      path.join(project, 'sends/july-2025/test-sends.jsonl'),
      `${JSON.stringify({ at: '2025-07-01T09:00:00.000Z', hash: 'a'.repeat(64), to: ['editor@example.org'] })}\n`,
    );
    await ledgerOfSend(project, 'july-2025', ['failed']);
    await buildIssue('july-2025', { root: project });
    expect(await indexSlugs(project)).toEqual([]);
  });

  it('building a draft keeps the published issues listed; an issue sent since its build joins at the next build of any issue', async () => {
    const project = await makeProject();
    await publish(project, 'july-2025');
    await buildIssue('july-2025', { root: project });
    await newIssue({ root: project, slug: 'august-2025', from: 'july-2025' });
    // new --from copies the file: make August a draft whatever it copied.
    const august = path.join(project, 'issues', 'august-2025.yaml');
    await writeFile(august, (await readFile(august, 'utf8')).replace(/\npublished: true\n/g, '\n'));
    await buildIssue('august-2025', { root: project });
    expect(await indexSlugs(project)).toEqual(['july-2025']);
    expect(await feedSlugs(project)).toEqual(['july-2025']);

    // August goes out to the list; the next build (of July here) lists it, newest first.
    await ledgerOfSend(project, 'august-2025', ['sent']);
    await buildIssue('july-2025', { root: project });
    expect(await indexSlugs(project)).toEqual(['august-2025', 'july-2025']);
    expect(await feedSlugs(project)).toEqual(['august-2025', 'july-2025']);
  });

  it('reads the ledger of the project, wherever the build is written (--out)', async () => {
    const project = await makeProject();
    await ledgerOfSend(project, 'july-2025', ['sent']);
    await buildIssue('july-2025', { root: project, outDir: 'site' });
    const index = await readFile(path.join(project, 'site/index.html'), 'utf8');
    expect(index).toContain('href="july-2025/"');
  });
});
