/**
 * `build-issue new <slug> [--from <previous>]`: start a new issue file.
 *
 *  - Without `from`: fill templates/starter.yaml (every section kind, commented, with
 *    placeholders) with the slug, label and date.
 *  - With `from`: copy the previous issue, keeping its comments and formatting (the
 *    `yaml` Document API edits the parsed file in place): the recurring sections stay as
 *    they are, the month's content is replaced by placeholders, the acceptances go.
 *    Each kept field that names a person or a date (the letter's signatory, the partners'
 *    highlights, "10 July", an address under july-2025/) gets a "# KEPT from ..." comment
 *    above it, which the `kept` check reports as an error until an editor deletes it.
 *
 * Either way the new file validates, so it builds at once; its "#" placeholder links (and
 * KEPT comments) are errors in the build's report, so it cannot be sent until they are all
 * dealt with.
 * An existing file is never overwritten.
 */
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Scalar, visit, YAMLMap, type Document, type Node as YamlNode } from 'yaml';
import { keptComment, KEPT_TAG } from '../check/rules-kept.js';
import { NewsletterError } from '../errors.js';
import { formatPath, parseIssue } from '../issue/load-issue.js';
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
  /**
   * What was kept from the previous issue as it was: `tiles "PRACTICE SPOTLIGHT"`, `footer`...,
   * then each field marked "# KEPT" (see `marked`): `sections[0].signature.name "Florence Kroll" (line 21, # KEPT: the signatory)`.
   */
  kept: string[];
  /** The kept fields that name a person or a date, each with a "# KEPT" comment above it in the new file. */
  marked: KeptField[];
  /** What was replaced by placeholders or dropped: `subject`, `letter body`, `article "VESS"`, `accept (1 accepted warning)`... */
  emptied: string[];
}

/** A field kept from the previous issue that may be out of date: it names a person or a date. */
export interface KeptField {
  /** Its path: `sections[0].signature.name`. */
  path: string;
  /** Its value (the first line, shortened). */
  value: string;
  /** Why it is marked: `the signatory`, `the partner's highlights`, `a date: "10 July"`, `mentions july-2025`. */
  why: string;
  /** Its line in the new file (the comment is on the line above). */
  line: number;
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
  quote: 'drop',
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
    result = { kept: [], marked: [], emptied: [] };
  } else {
    const made = await fromPrevious(root, o.from, dates, shownOf);
    text = made.text;
    result = { from: made.from, kept: made.kept, marked: made.marked, emptied: made.emptied };
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
): Promise<{ text: string; from: string; kept: string[]; marked: KeptField[]; emptied: string[] }> {
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
  const placeholder = placeholderArticle(doc, dates.month);
  items.splice(placeholderAt, 0, placeholder);
  sections.items = items;

  const accept = doc.get('accept', true);
  if (accept !== undefined) {
    const n = isSeq(accept) ? accept.items.length : 0;
    doc.delete('accept');
    emptied.push(`accept (${n} accepted warning${n === 1 ? '' : 's'}: acceptances are per issue)`);
  }
  // A new issue is a draft: it enters the archive when it is sent (or marked published again).
  if (doc.has('published')) {
    doc.delete('published');
    emptied.push('published (a new issue is a draft until it is sent)');
  }

  // Fields that name a person or a date: a comment above each, for the `kept` check.
  const marks = markKept(doc, from, placeholder);

  // A note under the yaml-language-server line, replacing the one the previous issue was made with.
  noteOrigin(
    doc,
    ` Started from ${prevShown}: write everything marked TODO; the build lists each "#" link left as an error${
      marks.length ? `, and each field marked "# ${KEPT_TAG}" (a person or a date) until you check it and delete its comment` : ''
    }.`,
  );

  const text = doc.toString({ lineWidth: 0 });
  const marked = marksAt(text, marks);
  for (const m of marked) kept.push(`${m.path} "${m.value}" (line ${m.line}, # KEPT: ${m.why})`);
  return { text, from: prevShown, kept, marked, emptied };
}

/** Month names as written in dates: "10 July", "Jul 10", "July 2025". */
const MONTH_WORD = '(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)';
/**
 * A date in text: "10 July", "1st of May", "Jul 10", "July 2025", "2025-07-10", "10/07/2025",
 * a weekday, or a month on its own ("June's meeting"; not "May", which is mostly the verb).
 * Case-sensitive: month and day names are capitalised.
 */
const DATE = new RegExp(
  [
    `\\b\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH_WORD}\\b`,
    `\\b${MONTH_WORD}\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?\\b`,
    `\\b${MONTH_WORD}\\s+\\d{4}\\b`,
    '\\b\\d{4}-\\d{2}-\\d{2}',
    '\\b\\d{1,2}/\\d{1,2}/\\d{2,4}\\b',
    '\\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?\\b',
    '\\b(?:January|February|March|April|June|July|August|September|October|November|December)\\b',
  ].join('|'),
);
/** An issue name for a month ("july-2025"), as in an address or a file under it. */
const MONTH_SLUG = new RegExp(`\\b(?:${MONTHS.join('|')})-\\d{4}\\b`, 'i');

type Path = (string | number)[];

/** A field to mark, before the new text is written: its path and the comment's reason. */
interface Mark {
  path: Path;
  value: string;
  why: string;
}

/**
 * Put a "# KEPT" comment above every field kept from `from` that names a person or a date:
 * the letter's signature, the partners' cards' highlights, and any text with a date in it
 * (a notice's "Friday 31 October"; an event's date, when and start, were events kept), the
 * previous issue's name (an address under july-2025/) or the signatory's name. The fields the new issue sets (label, date, subject, preheader) and
 * the placeholder article are new, so never marked. Comments left from an earlier
 * `new --from` are replaced, not stacked.
 */
function markKept(doc: Document, from: string, placeholder: YAMLMap): Mark[] {
  doc.commentBefore = withoutMark(doc.commentBefore) ?? null;
  visit(doc, {
    Node(_, node) {
      node.commentBefore = withoutMark(node.commentBefore);
      node.comment = withoutMark(node.comment);
    },
  });
  const sections = doc.get('sections', true);
  const signatory = isSeq(sections)
    ? sections.items.map((s) => (isMap(s) && s.get('kind') === 'letter' ? s.getIn(['signature', 'name']) : undefined)).find((n) => typeof n === 'string')
    : undefined;
  const named = typeof signatory === 'string' && signatory.trim().length > 2 && !/^TODO\b/.test(signatory) ? signatory.trim() : undefined;
  // An issue name is letters, digits and hyphens (checked above): nothing to escape.
  const fromSlug = new RegExp(`(?:^|[^a-z0-9-])${from}(?:$|[^a-z0-9-])`, 'i');

  const marks: Mark[] = [];
  const why = (value: string, path: Path, kind: unknown): string | undefined => {
    const key = path.at(-1);
    if (kind === 'letter' && path.includes('signature')) return 'the signatory';
    if (kind === 'partners' && path[2] === 'cards' && key === 'body') return "the partner's highlights";
    const date = DATE.exec(value)?.[0];
    if (date) return `a date: "${date}"`;
    const month = MONTH_SLUG.exec(value)?.[0];
    if (month) return `mentions ${month}`;
    if (fromSlug.test(value)) return `mentions ${from}`;
    if (named && value.includes(named)) return `names ${named}`;
    return undefined;
  };
  const walk = (node: unknown, path: Path, kind: unknown, seqItem: boolean): void => {
    if (node === placeholder) return;
    if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item, [...path, i], path.length === 1 && path[0] === 'sections' && isMap(item) ? item.get('kind') : kind, true);
      });
    } else if (isMap(node)) {
      node.items.forEach((pair, i) => {
        if (!isPair(pair) || !isScalar(pair.key)) return;
        const p = [...path, String(pair.key.value)];
        if (path.length === 0 && ['label', 'date', 'subject', 'preheader'].includes(String(pair.key.value))) return;
        if (isScalar(pair.value) && typeof pair.value.value === 'string') {
          const reason = why(pair.value.value, p, kind);
          if (!reason) return;
          // Above "key:"; for the first key of a list item, above its "- ".
          const holder: YamlNode = i === 0 && seqItem ? node : pair.key;
          holder.commentBefore = [holder.commentBefore, keptComment(from, reason)].filter(Boolean).join('\n');
          marks.push({ path: p, value: firstLine(pair.value.value), why: reason });
        } else walk(pair.value, p, kind, false);
      });
    }
  };
  walk(doc.contents, [], undefined, false);
  return marks;
}

/** A comment without the lines a previous `new --from` wrote. */
function withoutMark(comment: string | null | undefined): string | undefined {
  if (comment == null) return undefined;
  const lines = comment.split('\n').filter((l) => !l.startsWith(` ${KEPT_TAG} `));
  return lines.length ? lines.join('\n') : undefined;
}

const firstLine = (value: string): string => {
  const full = value.trim();
  const line = full.split('\n')[0]!;
  const cut = line.length > 50 ? line.slice(0, 49) : line;
  return cut === full ? cut : `${cut}…`;
};

/** The marks with their line in the written text. */
function marksAt(text: string, marks: Mark[]): KeptField[] {
  const lineCounter = new LineCounter();
  const written = parseDocument(text, { lineCounter });
  return marks.map((m) => {
    const range = (written.getIn(m.path, true) as YamlNode | undefined)?.range;
    return { path: formatPath(m.path), value: m.value, why: m.why, line: range ? lineCounter.linePos(range[0]).line : 0 };
  });
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
