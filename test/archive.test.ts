/** The web archive: each issue's browser version, dist/index.html listing every issue, dist/feed.xml. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { newIssue } from '../src/authoring/new-issue.js';
import { makeProject } from './helpers.js';

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

  it('lists every built issue newest first, with title, date and contents; the feed has one entry each', async () => {
    const project = await makeProject();
    await buildIssue('july-2025', { root: project });
    await newIssue({ root: project, slug: 'august-2025', from: 'july-2025' });
    await buildIssue('august-2025', { root: project });
    const index = await readFile(path.join(project, 'dist/index.html'), 'utf8');
    const august = index.indexOf('August 2025 ISSUE');
    const july = index.indexOf('July 2025 ISSUE');
    expect(august).toBeGreaterThan(0);
    expect(july).toBeGreaterThan(august); // newest first
    expect(index).toContain('href="july-2025/"');
    expect(index).toContain('2025-07-01');
    expect(index).toContain('<li>Practice Spotlight at ALDCS 2025</li>');
    const feed = parseDocument(await readFile(path.join(project, 'dist/feed.xml'), 'utf8'), { xmlMode: true });
    const entries = (feed.children.find((c) => 'name' in c && c.name === 'feed') as unknown as { children: { name?: string }[] }).children.filter(
      (c) => c.name === 'entry',
    );
    expect(entries).toHaveLength(2);
    const feedText = await readFile(path.join(project, 'dist/feed.xml'), 'utf8');
    expect(feedText).toMatch(/^<\?xml version="1\.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">/);
    expect(feedText.indexOf('august-2025')).toBeLessThan(feedText.indexOf('july-2025'));
  });

  it('with archiveBaseUrl, the email links "View in your browser" (untracked) and the feed links the archive', async () => {
    const project = await makeProject();
    const cfg = path.join(project, 'newsletter.config.yaml');
    await writeFile(cfg, `${await readFile(cfg, 'utf8')}\narchiveBaseUrl: https://liia.london/newsletter\n`);
    const r = await buildIssue('july-2025', { root: project });
    expect(r.html).toMatch(/<a href="https:\/\/liia\.london\/newsletter\/july-2025\/"[^>]*>View in your browser<\/a>/);
    expect(r.text).toMatch(/^View in your browser \[(\d+)\]\n\n\[\1\] https:\/\/liia\.london\/newsletter\/july-2025\/$/m);
    // The browser version does not link to itself.
    expect(await readFile(path.join(r.dir, 'index.html'), 'utf8')).not.toContain('View in your browser');
    expect(await readFile(path.join(project, 'dist/feed.xml'), 'utf8')).toContain('<link href="https://liia.london/newsletter/july-2025/"/>');
    expect(r.report.counts.error).toBe(0);
  });
});
