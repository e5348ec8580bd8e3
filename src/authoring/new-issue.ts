/**
 * `build-issue new <slug> [--from <previous>]`: start a new issue file.
 *
 *  - Without `from`: fill templates/starter.yaml (every section kind, commented, with
 *    placeholders) with the slug, label and date.
 *  - With `from`: copy the previous issue, keeping its comments and formatting (the
 *    `yaml` Document API edits the parsed file in place): the recurring sections stay as
 *    they are, the month's content is replaced by placeholders, the acceptances go.
 *
 * Either way the new file validates, so it builds at once; its "#" placeholder links are
 * errors in the build's report, so it cannot be sent until they are all replaced.
 * An existing file is never overwritten.
 */
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, Scalar, YAMLMap, type Document } from 'yaml';
import { NewsletterError } from '../errors.js';
import { parseIssue } from '../issue/load-issue.js';
import { SCHEMA_LINE } from '../issue/schema-file.js';
import type { SectionKind } from '../issue/schema.js';
import { isSafeSlug, SLUG_RULE } from '../issue/issue-name.js';

export interface NewIssueOptions {
  /** The project folder (holds issues/ and templates/). */
  root: string;
  /** The new issue's name, e.g. "august-2025": the file is issues/<slug>.yaml. */
  slug: string;
  /** The previous issue's slug, to carry its recurring sections over. */
  from?: string;
  /** Today, for the label and date when the slug does not name a month. @default new Date() */
  today?: Date;
}

export interface NewIssueResult {
  /** The file written (absolute). */
  file: string;
  /** The file relative to root, for messages. */
  shown: string;
  /** The issue's pictures folder, relative to root: issues/assets/<slug> (made if missing). */
  assets: string;
  /** The previous issue's file (relative to root), when made `from` one. */
  from?: string;
  /** What was kept from the previous issue as it was: `tiles "PRACTICE SPOTLIGHT"`, `footer`... */
  kept: string[];
  /** What was replaced by placeholders or dropped: `subject`, `letter body`, `article "VESS"`, `accept (1 accepted warning)`... */
  emptied: string[];
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** The starter issue, in the project's templates folder. */
export const STARTER_FILE = path.join('templates', 'starter.yaml');

/**
 * What happens to each kind of section when an issue is made from the previous one.
 * A Record over every kind: adding a kind to the schema makes this fail to compile
 * until someone decides whether it recurs.
 */
const CARRY: Record<SectionKind, 'keep' | 'letter' | 'drop'> = {
  letter: 'letter',
  contents: 'keep',
  article: 'drop',
  tiles: 'keep',
  excerpt: 'drop',
  event: 'drop',
  partners: 'keep',
  notice: 'keep',
  footer: 'keep',
};

export { isSafeSlug };

/** "august-2025" -> "August 2025 ISSUE"; undefined for a slug that is not month-year. */
export function labelFor(slug: string): string | undefined {
  const m = monthOf(slug);
  return m ? `${monthName(m.month)} ${m.year} ISSUE` : undefined;
}

function monthOf(slug: string): { month: number; year: number } | undefined {
  const m = /^([a-z]+)-(\d{4})$/.exec(slug);
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!);
  return month < 0 ? undefined : { month, year: Number(m[2]) };
}

function monthName(month: number): string {
  const name = MONTHS[month]!;
  return name.charAt(0).toUpperCase() + name.slice(1);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Label, date and "Month Year" for a new issue: from a month-year slug, else from today. */
function issueDates(slug: string, today: Date): { label: string; date: string; month: string } {
  const m = monthOf(slug);
  if (m) return { label: `${monthName(m.month)} ${m.year} ISSUE`, date: `${m.year}-${pad(m.month + 1)}-01`, month: `${monthName(m.month)} ${m.year}` };
  const month = `${monthName(today.getMonth())} ${today.getFullYear()}`;
  return { label: `${month} ISSUE`, date: `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`, month };
}

/** Write issues/<slug>.yaml, from the starter or from the previous issue. Throws NewsletterError. */
export async function newIssue(o: NewIssueOptions): Promise<NewIssueResult> {
  const root = path.resolve(o.root);
  const shownOf = (f: string) => path.relative(root, f).split(path.sep).join('/') || f;
  if (!isSafeSlug(o.slug)) {
    throw new NewsletterError('EUSAGE', `"${o.slug}" cannot be an issue name`, {
      hint: SLUG_RULE,
    });
  }
  const file = path.join(root, 'issues', `${o.slug}.yaml`);
  const shown = shownOf(file);
  const refuse = (cause?: unknown) =>
    new NewsletterError('EUSAGE', `${shown} already exists: it was left as it is`, {
      hint: `Pick another name, or edit ${shown} itself.`,
      cause,
    });
  if (await exists(file)) throw refuse();

  const dates = issueDates(o.slug, o.today ?? new Date());
  let text: string;
  let result: Omit<NewIssueResult, 'file' | 'shown' | 'assets'>;
  if (o.from === undefined) {
    text = await fillStarter(root, { slug: o.slug, ...dates });
    result = { kept: [], emptied: [] };
  } else {
    const made = await fromPrevious(root, o.from, dates, shownOf);
    text = made.text;
    result = { from: made.from, kept: made.kept, emptied: made.emptied };
  }

  // Never write a file that would not load: that is a bug here or in the starter.
  parseIssue(text, shown);

  await mkdir(path.dirname(file), { recursive: true });
  try {
    // "wx": fail if the file appeared meanwhile, never overwrite it.
    await writeFile(file, text, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw refuse(err);
    throw new NewsletterError('EWRITE', `${shown}: cannot write the new issue (${(err as Error).message})`, { cause: err });
  }
  // The issue's pictures folder, ready to drop files into (src: assets/<slug>/photo.jpg).
  const assets = path.join(path.dirname(file), 'assets', o.slug);
  await mkdir(assets, { recursive: true });
  return { file, shown, assets: path.relative(root, assets), ...result };
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** templates/starter.yaml with {{slug}}, {{label}}, {{date}} and {{month}} filled in. */
async function fillStarter(root: string, values: { slug: string; label: string; date: string; month: string }): Promise<string> {
  const starter = path.join(root, STARTER_FILE);
  let text: string;
  try {
    text = await readFile(starter, 'utf8');
  } catch (err) {
    throw new NewsletterError('ETEMPLATE', `${STARTER_FILE}: cannot read the starter issue (${(err as Error).message})`, {
      hint: 'Restore templates/starter.yaml from the newsletter repository, or start from the last issue with --from <slug>.',
      cause: err,
    });
  }
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`{{${key}}}`, value);
  return text;
}

/** The previous issue, with the month's content emptied (see CARRY). */
async function fromPrevious(
  root: string,
  from: string,
  dates: { label: string; date: string; month: string },
  shownOf: (f: string) => string,
): Promise<{ text: string; from: string; kept: string[]; emptied: string[] }> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(from)) {
    throw new NewsletterError('EUSAGE', `--from "${from}" is not an issue name`, {
      hint: "Give the previous issue's file name without .yaml, such as july-2025.",
    });
  }
  const prevFile = path.join(root, 'issues', `${from}.yaml`);
  const prevShown = shownOf(prevFile);
  let source: string;
  try {
    source = await readFile(prevFile, 'utf8');
  } catch (err) {
    const dir = path.join(root, 'issues');
    const existing = (await readdir(dir).catch(() => [] as string[]))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => f.replace(/\.ya?ml$/, ''))
      .sort();
    throw new NewsletterError('EISSUE_NOT_FOUND', `${prevShown}: no such issue to start from`, {
      hint: existing.length
        ? `Issues in ${shownOf(dir)}/: ${existing.join(', ')}. Check the spelling, or leave out --from to start from templates/starter.yaml.`
        : `There are no issues in ${shownOf(dir)}/ yet: leave out --from to start from templates/starter.yaml.`,
      cause: err,
    });
  }
  // The previous issue must load: its problems would be copied into the new one.
  parseIssue(source, prevShown);

  const doc = parseDocument(source, { uniqueKeys: true });
  const kept: string[] = [];
  const emptied: string[] = [];

  setText(doc, 'label', dates.label);
  setText(doc, 'date', dates.date);
  setText(doc, 'subject', `TODO: subject for ${dates.month}`);
  setText(doc, 'preheader', 'TODO: one line on what is in this issue');
  emptied.push('subject', 'preheader');

  const sections = doc.get('sections', true);
  if (!isSeq(sections)) throw new Error('sections is not a list'); // parseIssue has checked it
  const items: unknown[] = [];
  let placeholderAt: number | undefined;
  for (const item of sections.items) {
    if (!isMap(item)) throw new Error('a section is not a mapping');
    const kind = String(item.get('kind')) as SectionKind;
    const name = describe(item);
    const carry = CARRY[kind] ?? 'keep';
    if (carry === 'keep') {
      kept.push(name);
      items.push(item);
    } else if (carry === 'letter') {
      const body = item.get('body', true);
      if (isScalar(body)) body.value = LETTER_BODY;
      else item.set('body', blockText(doc, LETTER_BODY));
      emptied.push(`${name} body`);
      items.push(item);
    } else {
      emptied.push(name);
      placeholderAt ??= items.length;
    }
  }
  // The month's sections go where the previous issue's first one was; if it had none,
  // after the contents list (or the letter, or at the top).
  if (placeholderAt === undefined) {
    const after = Math.max(...['contents', 'letter'].map((k) => items.findIndex((it) => isMap(it) && it.get('kind') === k)));
    placeholderAt = after + 1;
  }
  items.splice(placeholderAt, 0, placeholderArticle(doc, dates.month));
  sections.items = items;

  const accept = doc.get('accept', true);
  if (accept !== undefined) {
    const n = isSeq(accept) ? accept.items.length : 0;
    doc.delete('accept');
    emptied.push(`accept (${n} accepted warning${n === 1 ? '' : 's'}: acceptances are per issue)`);
  }

  // A note under the yaml-language-server line, replacing the one the previous issue was made with.
  noteOrigin(doc, ` Started from ${prevShown}: write everything marked TODO; the build lists each "#" link left as an error.`);

  return { text: doc.toString({ lineWidth: 0 }), from: prevShown, kept, emptied };
}

const SCHEMA_COMMENT = SCHEMA_LINE.slice(1);

/**
 * Put `note` on the line after the yaml-language-server comment (adding that comment
 * if the file has none), removing any earlier "Started from" note. The comments at
 * the top are the document's when a blank line follows them, else the first key's.
 */
function noteOrigin(doc: Document, note: string): void {
  const firstKey = (doc.contents as YAMLMap).items[0]?.key;
  const holders: { get: () => string | null | undefined; set: (c: string) => void }[] = [
    { get: () => doc.commentBefore, set: (c) => (doc.commentBefore = c || null) },
  ];
  if (isScalar(firstKey)) holders.push({ get: () => firstKey.commentBefore, set: (c) => (firstKey.commentBefore = c || undefined) });
  let placed = false;
  for (const h of holders) {
    const text = h.get();
    if (text == null) continue;
    const lines = text.split('\n').filter((l) => !/^ Started from /.test(l));
    const schema = lines.findIndex((l) => l.includes('yaml-language-server'));
    if (schema >= 0 && !placed) {
      lines.splice(schema + 1, 0, note);
      placed = true;
    }
    h.set(lines.join('\n'));
  }
  if (!placed) doc.commentBefore = [SCHEMA_COMMENT, note, doc.commentBefore].filter((c) => c != null && c !== '').join('\n');
}

const LETTER_BODY = [
  "TODO: write this month's letter here, in paragraphs separated by a blank line.",
  '',
  'Replace [this placeholder link](#) too: the build reports every "#" link as an error.',
  '',
].join('\n');

/** `article "VESS"`, `footer`: a section as the CLI names it. */
function describe(item: YAMLMap): string {
  const kind = String(item.get('kind'));
  const label = item.get('heading') ?? item.get('title');
  return typeof label === 'string' ? `${kind} "${label}"` : kind;
}

/** Set a top-level text field, keeping its quoting style. */
function setText(doc: Document, key: string, value: string): void {
  const node = doc.get(key, true);
  if (isScalar(node)) node.value = value;
  else doc.set(key, quoted(doc, value));
}

function quoted(doc: Document, value: string): Scalar {
  const node = doc.createNode(value) as Scalar;
  node.type = Scalar.QUOTE_DOUBLE;
  return node;
}

function blockText(doc: Document, value: string): Scalar {
  const node = doc.createNode(value) as Scalar;
  node.type = Scalar.BLOCK_LITERAL;
  return node;
}

/** One placeholder article standing for the month's articles, excerpts and events. */
function placeholderArticle(doc: Document, month: string): YAMLMap {
  const map = new YAMLMap();
  map.set('kind', 'article');
  map.set('heading', quoted(doc, 'TODO: FIRST ARTICLE HEADING'));
  map.set('contents', quoted(doc, "TODO: the article's entry in the contents list"));
  map.set('body', blockText(doc, `TODO: the article's text for ${month}, in Markdown, with [links to the pages it is about](#).\n`));
  map.spaceBefore = true;
  map.commentBefore = [
    ` ${month}'s articles, excerpts and events go here, in reading order, in place of this one.`,
    ' Every kind of section, with its fields explained, is in templates/starter.yaml.',
  ].join('\n');
  return map;
}
