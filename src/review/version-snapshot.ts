/**
 * What a version of an issue says, kept so the next version can be compared with it:
 * its plain-text part and its sections, each with a key to match it by (its id, else
 * kind and heading), the heading a person knows it by, its words and a hash of all
 * it holds (words, link addresses, pictures). Nothing about recipients.
 *
 * A section's words come from the issue's fields (Markdown as plain text, links as
 * `text <address>`), in the order the section shows them; the subject, and the title,
 * preheader, masthead and label, are compared as two more entries.
 */
import { createHash } from 'node:crypto';
import type { Issue, IssueSection } from '../issue/schema.js';
import { renderMarkdown } from '../render/markdown.js';
import { toPlainText } from '../render/to-plain-text.js';

/** The snapshot file's format number: bumped when its fields change meaning. */
export const SNAPSHOT_FORMAT = 1;

export interface SectionSnapshot {
  /** `subject`, `header`, or the section's kind. */
  kind: string;
  /** What it is matched by across versions: `id:<id>`, else `<kind>:<heading>` (with `#2`... for a repeat). */
  key: string;
  /** How a person knows it: its heading, title, or what it is ("the letter (Jane Smith)"). */
  heading: string;
  /** sha256 of everything it holds, so a changed link or picture counts even when the words are the same. */
  hash: string;
  /** Its words, as plain text. */
  text: string;
}

export interface VersionSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  /** The build's hash (the send gate's key). */
  hash: string;
  subject: string;
  /** The plain-text part, as sent. */
  text: string;
  sections: SectionSnapshot[];
}

/** What a snapshot is made from: a build's issue, plain text and hash. */
export interface VersionSource {
  issue: Issue;
  text: string;
  hash: string;
}

/** Fields that are Markdown, shown as plain text. */
const MARKDOWN = new Set(['body', 'intro', 'closing', 'description', 'role']);
/** Fields that are not words a reader sees (layout settings, the calendar's machine times, the section's own name). */
const NOT_WORDS = new Set(['kind', 'id', 'columns', 'numbered', 'start', 'end', 'width']);

const markdownText = (md: string) => toPlainText(renderMarkdown(md), { links: 'inline' }).trim();

/** The words of one value of a section, in order: Markdown as text, addresses in <...>, pictures by their alt text. */
function valueText(key: string, value: unknown): string[] {
  if (NOT_WORDS.has(key) || value === undefined || value === null) return [];
  if (typeof value === 'string') {
    if (MARKDOWN.has(key)) return [markdownText(value)];
    if (key === 'href' || key === 'src') return [`<${value}>`];
    return [value];
  }
  if (Array.isArray(value)) return value.flatMap((v) => valueText('', v));
  if (typeof value === 'object') {
    const o = value as Record<string, unknown>;
    // A picture: its alt text is what a reader reads; its address changes the hash, not the words.
    if (typeof o.src === 'string' && typeof o.alt === 'string') return [`[picture: ${o.alt}]`, ...(typeof o.href === 'string' ? [`<${o.href}>`] : [])];
    // A button or a tile: its words, then where it goes.
    if (typeof o.href === 'string') {
      const label = typeof o.label === 'string' ? o.label : '';
      return [`${label} <${o.href}>`.trim()];
    }
    return Object.entries(o).flatMap(([k, v]) => valueText(k, v));
  }
  return [];
}

/** The heading a person knows a section by. */
export function sectionHeading(section: IssueSection): string {
  if ('heading' in section && section.heading) return section.heading;
  if ('title' in section && section.title) return section.title;
  if (section.kind === 'letter') return `the letter (${section.signature.name})`;
  if (section.kind === 'footer') return 'the footer';
  return `the ${section.kind}`;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** Text as a reader sees it: a line break inside a paragraph is a space (Markdown's soft break), a blank line a new paragraph. */
const asRead = (s: string) =>
  s
    .split(/\n[ \t]*\n\s*/)
    .map((p) => p.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .join('\n\n');

/** One entry of the snapshot; its hash does not change when only the line breaks of a paragraph do. */
function entry(kind: string, key: string, heading: string, text: string, data: unknown): SectionSnapshot {
  return { kind, key, heading, hash: sha(JSON.stringify(data, (_k, v: unknown) => (typeof v === 'string' ? asRead(v) : v))), text };
}

/** The snapshot of a built version. */
export function snapshotVersion(source: VersionSource): VersionSnapshot {
  const { issue } = source;
  const seen = new Map<string, number>();
  const sections = issue.sections.map((section) => {
    const heading = sectionHeading(section);
    const base = 'id' in section && section.id ? `id:${section.id}` : `${section.kind}:${heading}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return entry(section.kind, n === 1 ? base : `${base}#${n}`, heading, valueText('', section).join('\n\n'), section);
  });
  const header = { title: issue.title, preheader: issue.preheader, masthead: issue.masthead, label: issue.label };
  return {
    format: SNAPSHOT_FORMAT,
    hash: source.hash,
    subject: issue.subject,
    text: source.text,
    sections: [
      entry('subject', 'subject', 'the subject', issue.subject, issue.subject),
      entry('header', 'header', 'the title, preheader and masthead', Object.values(header).filter(Boolean).join('\n\n'), header),
      ...sections,
    ],
  };
}

/**
 * A snapshot of an email known only by its plain text (an issue's dist/<slug>/email.txt
 * whose YAML no longer builds): one entry, the whole text.
 */
export function snapshotOfText(text: string, subject = ''): VersionSnapshot {
  return { format: SNAPSHOT_FORMAT, hash: sha(text), subject, text, sections: [entry('text', 'text', 'the plain text', text, text)] };
}
