/**
 * The build, top to bottom.
 *
 *  1. Load the config and the issue file (validated; every problem with file:line:col),
 *     and its local images (issues/assets/: read, sized, named by content); refresh
 *     the schema.json its first line points the editor at
 *  2. Load the templates the issue uses (Handlebars, strict)
 *  3. Render: fill the layout and section partials -> one MJML document
 *  4. Compile MJML -> HTML (strict validation, errors mapped to partial:line)
 *  5. Inline our stylesheet with juice (scoped; MJML's CSS stays in <style>)
 *  6. Minify, keeping Outlook's conditional comments
 *  7. Plain-text alternative
 *  8. The .eml (multipart/alternative)
 *  9. Check: what would go wrong in recipients' inboxes (findings, not exceptions)
 * 10. Write dist/<slug>/ atomically, report.json and assets/ included (unless `write: false`),
 *     and only over a folder this tool wrote (checked in step 1, before any work); then the
 *     web archive, dist/index.html and feed.xml, listing the issues sent or marked published
 */
import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { CONFIG_FILE, loadConfig, type Config } from './config.js';
import { NewsletterError } from './errors.js';
import { loadIssue } from './issue/load-issue.js';
import { isSafeSlug, SLUG_RULE, suggestSlug } from './issue/issue-name.js';
import { loadAssets, replaceAssetUrls, type LocalAsset } from './issue/load-assets.js';
import { ensureSchemaJson, SCHEMA_LINE } from './issue/schema-file.js';
import type { Issue, SectionKind } from './issue/schema.js';
import { buildEml, listHeaders, senderDomain } from './render/build-eml.js';
import { compileMjml } from './render/compile-mjml.js';
import { inlineCss } from './render/inline-css.js';
import { minifyHtml } from './render/minify-html.js';
import { renderMjml } from './render/render-mjml.js';
import { loadTemplates } from './render/templates.js';
import { toPlainText } from './render/to-plain-text.js';
import { configLinks, trackLinks } from './render/track-links.js';
import { assertSafeLinks } from './render/link-guard.js';
import { renderMarkdown } from './render/markdown.js';
import { eventFileName } from './render/section-views.js';
import { eventIcs } from './authoring/calendar.js';
import { checkOutputFolder, checkReplaceable, replaceFile, writeOutputDir } from './output/write-output.js';
import { browserVersion, checkArchive, issueSummary, writeArchive } from './output/archive.js';
import { runChecks, type CheckReport, type Finding, type Rule } from './check/index.js';
import { SIZE_ERROR_BYTES } from './check/rules-document.js';

/** Gmail clips an HTML part larger than this and hides the rest, footer included (the size rule's limit). */
export const GMAIL_CLIP_BYTES = SIZE_ERROR_BYTES;

export interface BuildOptions {
  /** The project folder: holds newsletter.config.yaml, templates/ and issues/. @default process.cwd() */
  root?: string;
  /** Where `<slug>/` is written. @default `<root>/dist` */
  outDir?: string;
  /** Write the files; false builds in memory only (tests, preview). @default true */
  write?: boolean;
  /** The templates folder. @default `<root>/templates` */
  templatesDir?: string;
  /** The config file. @default `<root>/newsletter.config.yaml` */
  configFile?: string;
  /** The message's Date header. @default now */
  date?: Date;
  /** Run the checks. @default true */
  check?: boolean;
  /** Rules to run besides the standard ones (online link check, spam score...). */
  extraRules?: readonly Rule[];
  /** Notes about the checks to show in the report. */
  checkNotes?: string[];
  /**
   * Also take screenshots (desktop, phone, and the phone dark, inverted, without <style>
   * and with images off) into dist/<slug>/ with Chromium, and add the browser's checks
   * (render, a11y, tap-targets) to the report. Needs `write`.
   */
  screenshots?: boolean;
  /** Where CHROMIUM_PATH is read, for screenshots, else from `<root>/.env` (the environment wins). @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Called as soon as the email's HTML and text are made, before the .eml, the checks and
   * the writing: the preview shows them while the rest of the build goes on.
   */
  onEmail?: (email: BuiltEmail) => void;
}

/** The email as soon as it is made (BuildOptions.onEmail). */
export interface BuiltEmail {
  html: string;
  text: string;
  assets: LocalAsset[];
}

export interface BuildResult {
  slug: string;
  issueFile: string;
  issue: Issue;
  config: Config;
  /** The folder written, or that would be written. */
  dir: string;
  files: { html: string; text: string; eml: string; report: string };
  /** Calendar invites written beside the email (file names in dist/<slug>/). */
  invites: string[];
  /** The issue's local images, copied to dist/<slug>/assets/ (test sends attach them inline). */
  assets: LocalAsset[];
  /** The schema.json beside the issue file, when this build wrote it (it was missing or out of date). */
  schemaUpdated?: string;
  /** The checks' findings; empty when `check: false`. */
  report: CheckReport;
  /** The PNGs written when `screenshots` was asked for (desktop, phone, and the phone's dark, inverted, no-style and images-off views). */
  screenshots?: Record<import('./preview/screenshots.js').ShotName, string>;
  mjml: string;
  html: string;
  text: string;
  eml: Buffer;
  /** Byte sizes of the three outputs. */
  bytes: { html: number; text: number; eml: number };
  /** sha256 of subject, sender, HTML and text: the same email gives the same hash (the send gate's key). */
  hash: string;
  /** Milliseconds the build took. */
  ms: number;
}

/** The calendar invites of an issue's events: file name -> iCalendar text (src/authoring/calendar.ts). */
function calendarInvites(issue: Issue, config: Config, slug: string): Record<string, string> {
  const files: Record<string, string> = {};
  issue.sections.forEach((section, i) => {
    if (section.kind !== 'event' || !section.start) return;
    const file = eventFileName(section, i, issue.sections);
    try {
      files[file] = eventIcs({
        title: section.title,
        // Addresses inline: a calendar shows the description unwrapped, where "[1]" and a list below would only get in the way.
        description: toPlainText(renderMarkdown(section.description), { links: 'inline' }).trim(),
        start: section.start,
        end: section.end,
        url: /^https?:/.test(section.button.href) ? section.button.href : undefined,
        uid: `${slug}-${file.replace(/\.ics$/, '')}@${senderDomain(config)}`,
        organizer: { name: config.sender.name, email: config.sender.address },
      });
    } catch (err) {
      throw new NewsletterError('EISSUE_INVALID', `sections[${i}]: cannot make the calendar invite: ${(err as Error).message}`, {
        hint: 'Check start and end: London time as YYYY-MM-DDTHH:MM, the end after the start.',
        cause: err,
      });
    }
  });
  return files;
}

/** Add findings from a later stage (the browser's) to a report: errors first, counts updated. */
function addFindings(report: CheckReport, more: Finding[]): void {
  report.findings.push(...more);
  report.findings.sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  report.counts = {
    error: report.findings.filter((f) => f.severity === 'error').length,
    warning: report.findings.filter((f) => f.severity === 'warning').length,
  };
}

/**
 * `july-2025` -> `<root>/issues/july-2025.yaml`; a path to a .yaml file is used as it
 * is, its name (without .yaml) being the issue name. Either way the name must follow
 * the rule (SLUG_RULE): it names dist/<slug>/ and sends/<slug>/.
 */
export function resolveIssueFile(issue: string, root: string): { file: string; slug: string } {
  const isPath = /\.ya?ml$/i.test(issue) || issue.includes('/') || issue.includes(path.sep);
  const slug = isPath ? path.basename(issue).replace(/\.ya?ml$/i, '') : issue;
  if (!isSafeSlug(slug)) {
    const better = suggestSlug(slug);
    throw new NewsletterError('EUSAGE', isPath ? `${issue}: "${slug}" cannot be an issue name` : `"${issue}" is not an issue name`, {
      hint: `${SLUG_RULE}${isPath ? ` Rename the file${better ? ` to ${better}${path.extname(issue) || '.yaml'}` : ''}.` : better ? ` Did you mean ${better}?` : ''}`,
    });
  }
  return { file: isPath ? path.resolve(root, issue) : path.join(root, 'issues', `${issue}.yaml`), slug };
}

/**
 * Refuse a second issue file with the same name (`july-2025.yml` beside
 * `july-2025.yaml`, or `drafts/july-2025.yaml` while `issues/july-2025.yaml` exists):
 * both would build into dist/<slug>/ and share sends/<slug>/'s ledger.
 */
async function checkOnlyFileNamed(file: string, slug: string, root: string, shown: (f: string) => string): Promise<void> {
  const same = await realpath(file).catch(() => file);
  const others: string[] = [];
  for (const dir of new Set([path.dirname(file), path.join(root, 'issues')])) {
    for (const ext of ['.yaml', '.yml']) {
      const candidate = path.join(dir, slug + ext);
      const real = await realpath(candidate).catch(() => undefined);
      if (real && real !== same && !others.includes(candidate)) others.push(candidate);
    }
  }
  if (others.length) {
    throw new NewsletterError('EUSAGE', `${[file, ...others].map(shown).join(' and ')} are both named ${slug}`, {
      hint: `Both would build into dist/${slug}/ and share the send ledger sends/${slug}/. Rename or remove one of them.`,
    });
  }
}

/** Build one issue. Throws NewsletterError; on any error nothing is written. */
export async function buildIssue(issueArg: string, options: BuildOptions = {}): Promise<BuildResult> {
  const started = performance.now();
  const root = path.resolve(options.root ?? process.cwd());
  const { file, slug } = resolveIssueFile(issueArg, root);
  const outDir = path.resolve(root, options.outDir ?? 'dist');
  const dir = path.join(outDir, slug);
  // Messages name files relative to the project folder, as the user knows them.
  const shown = (f: string) => path.relative(root, f) || f;
  await checkOnlyFileNamed(file, slug, root, shown);
  // The fence, checked before any work: only folders and files this tool wrote are replaced.
  if (options.write !== false) {
    await checkOutputFolder(outDir, root, shown);
    await checkReplaceable(dir, shown);
    await checkArchive(outDir, shown);
  }

  // 1. Load the config and the issue
  const [config, loaded] = await Promise.all([loadConfig(options.configFile ?? path.join(root, CONFIG_FILE), root), loadIssue(file, shown(file))]);
  const issue = loaded.issue;
  // The schema the editor autocompletes from, when the file points at one beside it.
  const wantsSchema = options.write !== false && loaded.source.startsWith(SCHEMA_LINE);
  const [assets, schemaUpdated] = await Promise.all([
    loadAssets(loaded, config, slug),
    // A folder it cannot write to costs the editor its hints, not the build.
    wantsSchema ? ensureSchemaJson(path.dirname(file)).catch(() => undefined) : undefined,
  ]);

  // 2. Load the templates this issue uses
  const kinds = [...new Set(issue.sections.map((s) => s.kind))] as SectionKind[];
  const templates = await loadTemplates(options.templatesDir ?? path.join(root, 'templates'), kinds, root);

  // 3. Render the MJML document
  const rendered = renderMjml(issue, config, templates, slug, assets);

  // 4. Compile MJML
  const compiled = await compileMjml(rendered);

  // 5. Inline our stylesheet, 6. minify, 6b. tracking parameters on the issue's links
  const html = trackLinks(minifyHtml(inlineCss(compiled, rendered.inlineCss)), slug, config.tracking, configLinks(config), config.archiveBaseUrl);
  // 6c. No script address by any route (issue and config links were refused at their line already)
  assertSafeLinks(html, shown(file));

  // 7. Plain text (links as numbered references, without the tracking parameters this build added)
  const text = toPlainText(html, { dropParams: config.tracking.enabled ? Object.keys(config.tracking.params) : [] });
  options.onEmail?.({ html, text, assets: [...assets.values()] });

  // 8. The .eml
  // What the editors review: subject, sender and both parts. The send gate compares it.
  const hash = createHash('sha256').update([issue.subject, config.sender.name, config.sender.address, html, text].join('\0')).digest('hex');
  const eml = await buildEml(config, {
    // The review copy is addressed to the editors; a send addresses each recipient.
    to: config.editors,
    subject: issue.subject,
    html,
    text,
    date: options.date ?? new Date(),
    messageId: `<${slug}.${hash.slice(0, 16)}@${senderDomain(config)}>`,
    // The editors review what recipients get: the sends carry the same list headers.
    headers: listHeaders(config),
  });

  // 8b. Calendar invites: one .ics per event that has a start time
  const invites = calendarInvites(issue, config, slug);
  const inviteCount = Object.keys(invites).length;

  // 9. Check
  const report: CheckReport =
    options.check === false
      ? { findings: [], counts: { error: 0, warning: 0 }, off: [], accepted: [], notes: [], links: [] }
      : await runChecks(
          { issue, config, slug, issueFile: loaded.shownAs, html, text, eml, locate: loaded.locate, locateIn: loaded.locateIn, assets },
          { extraRules: options.extraRules, notes: options.checkNotes },
        );
  // Once per build, however many events: the email is not wrong, it only lacks the link, so a note, not a warning.
  if (inviteCount && !config.archiveBaseUrl) {
    const what =
      inviteCount === 1
        ? `the calendar invite ${shown(path.join(dir, Object.keys(invites)[0]!))} is`
        : `the ${inviteCount} calendar invites in ${shown(dir)}/ are`;
    report.notes.push(
      `${what} written, but the email cannot link to ${inviteCount === 1 ? 'it' : 'them'}: ` +
        `set archiveBaseUrl in ${shown(options.configFile ?? path.join(root, CONFIG_FILE))} to where dist/ is published, so the email can link "Add to calendar".`,
    );
  }

  // 10. Write
  const files = {
    html: path.join(dir, 'email.html'),
    text: path.join(dir, 'email.txt'),
    eml: path.join(dir, 'email.eml'),
    report: path.join(dir, 'report.json'),
  };
  const reportJson = () => `${JSON.stringify({ slug, hash, ...report }, null, 2)}\n`;
  if (options.write !== false) {
    await writeOutputDir(
      dir,
      {
        'email.html': html,
        'email.txt': text,
        'email.eml': eml,
        'report.json': reportJson(),
        // The web archive: this issue's browser version, and what dist/index.html and feed.xml list.
        // Its images point at assets/ beside it: they show from disk, and wherever dist/ is published.
        'index.html': browserVersion(replaceAssetUrls(html, assets.values(), (a) => `assets/${a.name}`)),
        'issue.json': `${JSON.stringify(issueSummary(slug, issue), null, 2)}\n`,
        ...invites,
        ...Object.fromEntries([...assets.values()].map((a) => [`assets/${a.name}`, a.content])),
      },
      shown,
    );
    // Drafts are written above but listed only once sent to the list or marked published (output/archive.ts).
    await writeArchive(outDir, config, root);
  }

  // 11. Screenshots, and the browser's own checks (loaded lazily: most builds never start a browser)
  let screenshots: BuildResult['screenshots'];
  if (options.screenshots && options.write !== false) {
    const { takeScreenshots, BrowserMissingError } = await import('./preview/screenshots.js');
    const { isRenderNote } = await import('./preview/render-checks.js');
    try {
      // Local images go in as data: addresses: they show before they are uploaded, and nothing leaves the machine.
      const shown = replaceAssetUrls(html, assets.values(), (a) => `data:${a.contentType};base64,${a.content.toString('base64')}`);
      // CHROMIUM_PATH from the environment, else .env: read only when a browser is wanted.
      const { readEnv } = await import('./env-file.js');
      const { env } = await readEnv(root, options.env);
      const shots = await takeScreenshots(shown, dir, { env });
      screenshots = shots.files;
      // Remote images blocked offline are a note, said once; anything else the browser found is a finding.
      const found = shots.findings.filter((f) => !isRenderNote(f));
      addFindings(report, found);
      report.notes.push(...shots.findings.filter(isRenderNote).map((f) => f.message));
      await replaceFile(files.report, reportJson());
    } catch (err) {
      if (err instanceof BrowserMissingError) throw new NewsletterError('EBROWSER', err.message, { hint: err.hint, cause: err });
      throw err;
    }
  }
  return {
    slug,
    issueFile: file,
    issue,
    config,
    dir,
    files,
    invites: Object.keys(invites),
    assets: [...assets.values()],
    schemaUpdated,
    report,
    screenshots,
    mjml: rendered.mjml,
    html,
    text,
    eml,
    bytes: { html: Buffer.byteLength(html), text: Buffer.byteLength(text), eml: eml.length },
    hash,
    ms: performance.now() - started,
  };
}
