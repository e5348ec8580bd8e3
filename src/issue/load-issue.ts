/**
 * Loading an issue file: YAML (with source positions) -> schema check -> link
 * check inside Markdown. Every problem in the file is collected and reported at
 * once, each with `file:line:col`, the field path and the fix. The YAML parsing,
 * safety limits and schema messages, shared with the config, are in yaml-validate.ts.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { NewsletterError, type Problem } from '../errors.js';
import { hasForbiddenScheme } from './fields.js';
import { markdownLinks, safeDecode } from './markdown-links.js';
import { IssueSchema, SECTION_KINDS, type Issue } from './schema.js';
import { nearest } from './schema-walk.js';
import { formatPath, MAX_FILE_BYTES, parseValidatedDocument, quoted, tooBig, typeName, valueAt } from './yaml-validate.js';

export { formatPath, MAX_FILE_BYTES, MAX_PROBLEMS, parseValidated } from './yaml-validate.js';

/** Fields that hold Markdown, where links are checked. */
const MARKDOWN_FIELDS = new Set(['body', 'closing', 'intro', 'description', 'quotation']);

/** The most sections an issue may have (July 2025 has 17). */
export const MAX_SECTIONS = 200;

export interface LoadedIssue {
  /** The validated issue. */
  issue: Issue;
  /** The file it came from, as given. */
  file: string;
  /** The file as shown in messages (relative to the project). */
  shownAs: string;
  /** The file's text, for reports that quote it. */
  source: string;
  /** Where a field is in the file: `{ file, line, col, path }`, or undefined if it is not there. */
  locate(path: readonly (string | number)[]): SourcePosition | undefined;
  /** Where `needle` is written inside the field at `path` (its `occurrence`-th appearance, from 0); undefined if it is not there. */
  locateIn(path: readonly (string | number)[], needle: string, occurrence?: number): SourcePosition | undefined;
}

/** A place in a source file. */
export interface SourcePosition {
  file: string;
  line: number;
  col: number;
  path: string;
}

/** Read and validate an issue file. Throws NewsletterError EISSUE_NOT_FOUND or EISSUE_INVALID. */
export async function loadIssue(file: string, shownAs = file): Promise<LoadedIssue> {
  let source: string;
  try {
    // Refuse a folder, a device or a huge file before reading it.
    const st = await stat(file);
    if (!st.isFile())
      throw new NewsletterError('EISSUE_INVALID', `${shownAs}: is not a file`, { hint: 'Give the issue name (july-2025) or the path of its .yaml file.' });
    if (st.size > MAX_FILE_BYTES) throw tooBig(shownAs, st.size);
    source = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof NewsletterError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      const dir = path.dirname(shownAs);
      const existing = (await readdir(path.dirname(file)).catch(() => [] as string[]))
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => f.replace(/\.ya?ml$/, ''))
        .sort();
      throw new NewsletterError('EISSUE_NOT_FOUND', `${shownAs}: no such issue file`, {
        hint: existing.length
          ? `Issues in ${dir}/: ${existing.join(', ')}. Check the spelling, or create ${path.basename(file)}.`
          : `There are no issue files in ${dir}/. Create ${path.basename(file)} there.`,
        cause: err,
      });
    }
    throw new NewsletterError('EISSUE_NOT_FOUND', `${shownAs}: cannot read the issue file (${(err as Error).message})`, { cause: err });
  }
  const { data, doc, lineCounter } = parseIssueDocument(source, shownAs);
  const position = (offset: number, p: readonly (string | number)[]): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: shownAs, line, col, path: formatPath(p) };
  };
  const nodeRange = (p: readonly (string | number)[]) => (doc.getIn(p as unknown[], true) as YamlNode | undefined)?.range ?? undefined;
  return {
    issue: data,
    file,
    shownAs,
    source,
    locate: (p) => {
      const range = nodeRange(p);
      return range ? position(range[0], p) : undefined;
    },
    locateIn: (p, needle, occurrence = 0) => {
      const range = nodeRange(p);
      if (!range) return undefined;
      const raw = source.slice(range[0], range[1]);
      let i = -1;
      for (let n = 0; n <= occurrence; n++) {
        i = raw.indexOf(needle, i + 1);
        if (i < 0) return undefined;
      }
      return position(range[0] + i, p);
    },
  };
}

/** Validate issue text. `file` is used only in messages. */
export function parseIssue(source: string, file: string): Issue {
  return parseIssueDocument(source, file).data;
}

function parseIssueDocument(source: string, file: string) {
  return parseValidatedDocument(source, file, IssueSchema, 'EISSUE_INVALID', {
    extra: (data, doc, lineCounter) => checkMarkdownLinks(data, doc, lineCounter, file, source),
    limit: { seq: 'sections', max: MAX_SECTIONS, what: 'sections' },
    describeKind: describeSectionKind,
  });
}

/** A section whose `kind:` is missing, misspelt or not a mapping at all: name the kinds that exist. */
function describeSectionKind(kindPath: readonly PropertyKey[], data: unknown, where: (p: readonly PropertyKey[]) => string | undefined): Problem[] {
  const kind = valueAt(data, kindPath);
  const section = valueAt(data, kindPath.slice(0, -1));
  if (section === null || typeof section !== 'object' || Array.isArray(section)) {
    return [
      {
        where: where(kindPath.slice(0, -1)),
        path: formatPath(kindPath.slice(0, -1)),
        message: `must be a mapping with a "kind:" (one of ${SECTION_KINDS.join(', ')}), not ${typeName(section)}`,
      },
    ];
  }
  if (kind === undefined) {
    return [
      { where: where(kindPath), path: formatPath(kindPath), message: `is required: say which kind of section this is, one of ${SECTION_KINDS.join(', ')}` },
    ];
  }
  const guess = typeof kind === 'string' ? nearest(kind, SECTION_KINDS) : undefined;
  return [
    {
      where: where(kindPath),
      path: formatPath(kindPath),
      message: `${typeof kind === 'string' ? quoted(kind) : `"${String(kind)}"`} is not a section kind${guess ? `; did you mean "${guess}"?` : '.'} Kinds that exist: ${SECTION_KINDS.join(', ')} (each is a template in templates/sections/)`,
    },
  ];
}

/**
 * Links inside Markdown fields: a scheme other than https/http/mailto
 * (`javascript:` and friends) is rejected here, each at the place it is written:
 * we look for the link's target, as the editor wrote it, in the field's source
 * text (so this works for "|" and ">" blocks and quoted strings alike, and a
 * target written twice is reported twice, at each place).
 */
function checkMarkdownLinks(data: unknown, doc: Document, lineCounter: LineCounter, file: string, source: string): Problem[] {
  const problems: Problem[] = [];
  const visit = (v: unknown, p: PropertyKey[]): void => {
    if (Array.isArray(v)) {
      v.forEach((item, i) => {
        visit(item, [...p, i]);
      });
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (typeof child === 'string' && MARKDOWN_FIELDS.has(k)) problems.push(...linksIn(child, [...p, k]));
        else visit(child, [...p, k]);
      }
    }
  };
  const linksIn = (text: string, p: PropertyKey[]): Problem[] => {
    const bad = markdownLinks(text).filter((l) => hasForbiddenScheme(safeDecode(l.href)));
    if (!bad.length) return [];
    const node = doc.getIn(p, true) as YamlNode | undefined;
    const [start, end] = node?.range ?? [0, 0];
    const raw = source.slice(start, end);
    const searchFrom = new Map<string, number>();
    return bad.map((l) => {
      const written = safeDecode(l.href);
      const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(written)?.[0];
      let where = node?.range ? at(start) : file;
      // The target as written, as markdown-it gave it, its scheme, or (when it is spelt
      // with entities or escapes) just after its link text: "[text](" then the target.
      const needles: [string, number][] = [
        [written, 0],
        [l.href, 0],
        ...(scheme ? [[scheme, 0] as [string, number]] : []),
        [`[${l.text}](`, `[${l.text}](`.length],
      ];
      for (const [needle, skip] of needles) {
        const i = raw.indexOf(needle, searchFrom.get(needle) ?? 0);
        if (i >= 0) {
          searchFrom.set(needle, i + needle.length);
          where = at(start + i + skip);
          break;
        }
      }
      return {
        where,
        path: formatPath(p),
        message: `link "${l.text}" goes to "${written}": only https://, http:// and mailto: links can go in an email (other schemes can run code or fetch files). Use the page's https:// address`,
      };
    });
  };
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  visit(data, []);
  return problems;
}
