/**
 * The web archive: dist/<slug>/index.html is the browser version of each issue,
 * dist/index.html lists every published issue (newest first, with its contents), and
 * dist/feed.xml is the same list as an Atom feed. Publishing dist/ at config's
 * archiveBaseUrl makes them public; the emails then link to their browser version.
 *
 * Published: sent to the list (its send ledger says so), or marked `published: true` in
 * its issue file. A draft still gets its browser version (the email's "View in your
 * browser" link and the test send point at it), but is not listed until then.
 */
import { readFile, readdir } from 'node:fs/promises';
import { checkOwnFile, replaceFile } from './write-output.js';
import path from 'node:path';
import type { Config } from '../config.js';
import { isSafeSlug } from '../issue/issue-name.js';
import type { Issue } from '../issue/schema.js';
import { wasSentToList } from '../send/ledger.js';

/** What the archive needs to know of one issue: dist/<slug>/issue.json. */
export interface IssueSummary {
  slug: string;
  title: string;
  label: string;
  date: string;
  subject: string;
  contents: string[];
  /** The issue file's `published: true` when it was built (absent in issue.json of earlier versions). */
  published?: boolean;
}

export function issueSummary(slug: string, issue: Issue): IssueSummary {
  return {
    slug,
    title: issue.title,
    label: issue.label,
    date: issue.date,
    subject: issue.subject,
    contents: issue.sections.flatMap((s) => ('contents' in s && s.contents ? [s.contents] : [])),
    ...(issue.published ? { published: true } : {}),
  };
}

/** The browser version: the email without its hidden preheader and its "View in your browser" line. */
export function browserVersion(emailHtml: string): string {
  return emailHtml.replace(/<div style="display:none;[^"]*">[\s\S]*?<\/div>/, '').replace(/<div class="view-online"[\s\S]*?<\/div>/, '');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Every built issue in `distDir` (those with an issue.json), newest first. */
export async function builtIssues(distDir: string): Promise<IssueSummary[]> {
  const entries = await readdir(distDir, { withFileTypes: true }).catch(() => []);
  const found: IssueSummary[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const text = await readFile(path.join(distDir, e.name, 'issue.json'), 'utf8').catch(() => undefined);
    if (!text) continue;
    try {
      found.push(JSON.parse(text) as IssueSummary);
    } catch {
      // a torn or foreign file: not an issue of ours
    }
  }
  return found.sort((a, b) => (a.date === b.date ? b.slug.localeCompare(a.slug) : b.date.localeCompare(a.date)));
}

function indexHtml(issues: IssueSummary[], config: Config): string {
  const name = issues[0]?.title ?? config.sender.name;
  const items = issues
    .map(
      (i) =>
        `<li><h2><a href="${esc(i.slug)}/">${esc(i.label)}</a></h2><p class="date">${esc(i.date)}: ${esc(i.subject)}</p>${
          i.contents.length ? `<ul>${i.contents.map((c) => `<li>${esc(c)}</li>`).join('')}</ul>` : ''
        }</li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="${esc(config.lang)}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="generator" content="build-issue">
<title>${esc(name)}: all issues</title>
<link rel="alternate" type="application/atom+xml" href="feed.xml" title="${esc(name)}">
<style>body{font-family:${esc(config.brand.fontFamily)};max-width:40rem;margin:2rem auto;padding:0 1rem;color:${config.brand.colours.text};line-height:1.5}h1{color:${config.brand.colours.primary}}h2{margin:1.5rem 0 .25rem;font-size:1.25rem}a{color:${config.brand.colours.accent}}.date{margin:0;color:${config.brand.colours.muted}}ol{list-style:none;padding:0}</style>
</head>
<body>
<h1>${esc(name)}</h1>
<p>Every issue, newest first. <a href="feed.xml">Atom feed</a>.</p>
${issues.length ? `<ol>\n${items}\n</ol>` : '<p>No issue has been published yet.</p>'}
</body>
</html>
`;
}

function feedXml(issues: IssueSummary[], config: Config, now: Date): string {
  const base = config.archiveBaseUrl;
  const link = (slug?: string) => (base ? `${base}/${slug ? `${slug}/` : ''}` : slug ? `${slug}/` : './');
  const domain = config.sender.address.split('@')[1];
  const updated = issues[0] ? `${issues[0].date}T00:00:00Z` : now.toISOString();
  const entries = issues
    .map(
      (i) => `  <entry>
    <id>tag:${esc(domain ?? 'newsletter')},${esc(i.date)}:${esc(i.slug)}</id>
    <title>${esc(i.label)}: ${esc(i.subject)}</title>
    <link href="${esc(link(i.slug))}"/>
    <updated>${esc(i.date)}T00:00:00Z</updated>
    <summary>${esc(i.contents.join('; ') || i.subject)}</summary>
  </entry>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:${esc(domain ?? 'newsletter')},2025:${esc(config.listId ?? 'newsletter')}</id>
  <title>${esc(issues[0]?.title ?? config.sender.name)}</title>
  <link href="${esc(link())}"/>
  <link rel="self" href="${esc(base ? `${base}/feed.xml` : 'feed.xml')}"/>
  <updated>${updated}</updated>
  <author><name>${esc(config.sender.name)}</name></author>
  <generator>build-issue</generator>
${entries}
</feed>
`;
}

/** The archive's own files, each with what marks it as ours (this version's, and the first version's). */
const ARCHIVE_FILES = {
  'index.html': ['<meta name="generator" content="build-issue">', '<p>Every issue, newest first. <a href="feed.xml">Atom feed</a>.</p>'],
  'feed.xml': ['<generator>build-issue</generator>', '<feed xmlns="http://www.w3.org/2005/Atom">\n  <id>tag:'],
} as const;

/** Refuse (EWRITE) when dist/index.html or dist/feed.xml exists and was not written by this tool. */
export async function checkArchive(distDir: string, shown: (f: string) => string): Promise<void> {
  for (const [name, marks] of Object.entries(ARCHIVE_FILES)) await checkOwnFile(path.join(distDir, name), marks, shown);
}

/**
 * The built issues in `distDir` that are published: marked `published: true` when built,
 * or sent to the list, by the send ledger under `root` (sends/<slug>/ledger.jsonl, as
 * send-issue keeps it). Read afresh each time: an issue sent since its build is listed at
 * the next build of any issue, and a draft's build never takes another issue out.
 */
export async function publishedIssues(distDir: string, root: string): Promise<IssueSummary[]> {
  const built = await builtIssues(distDir);
  // A slug that could not name an issue (a hand-edited issue.json) is no way into sends/.
  return built.filter((i) => isSafeSlug(i.slug) && (i.published === true || wasSentToList(path.join(root, 'sends', i.slug, 'ledger.jsonl'))));
}

/** Rewrite dist/index.html and dist/feed.xml from every published issue (`root`: the project, whose sends/ says what was sent). */
export async function writeArchive(distDir: string, config: Config, root: string, now = new Date()): Promise<IssueSummary[]> {
  const issues = await publishedIssues(distDir, root);
  await replaceFile(path.join(distDir, 'index.html'), indexHtml(issues, config));
  await replaceFile(path.join(distDir, 'feed.xml'), feedXml(issues, config, now));
  return issues;
}
