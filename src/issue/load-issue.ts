/**
 * Loading an issue file: YAML (with source positions) -> schema check -> link
 * check inside Markdown. Every problem in the file is collected and reported at
 * once, each with `file:line:col`, the field path and the fix.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isPair, isSeq, visit, type Document, type Node as YamlNode } from 'yaml';
import type * as z from 'zod';
import { NewsletterError, type Problem } from '../errors.js';
import { IssueSchema, SECTION_KINDS, hasForbiddenScheme, type Issue } from './schema.js';
import { allowedKeys, nearest, schemaAt } from './schema-walk.js';
import { markdownLinks, safeDecode } from '../render/markdown.js';
import { CONTROL_CHARS, codePoint } from './text-safety.js';

/** Fields that hold Markdown, where links are checked. */
const MARKDOWN_FIELDS = new Set(['body', 'closing', 'intro', 'description']);

/** The largest issue or config file read (July 2025's issue is about 30 KB): a bigger one is refused before it is parsed. */
export const MAX_FILE_BYTES = 1_000_000;
/** The most sections an issue may have (July 2025 has 17). */
export const MAX_SECTIONS = 200;
/** The most problems one error lists; the rest are counted ("and N more"). */
export const MAX_PROBLEMS = 50;
/** How deep "[" and "{" may nest: YAML's parser takes seconds and hundreds of MB on 100,000 levels before it gives up. */
const MAX_FLOW_DEPTH = 200;
/** YAML aliases (*name) a file may use: enough for any real file, too few for an expansion bomb. */
const MAX_ALIASES = 100;


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

/** `sections[4].image.alt` */
export function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** Read and validate an issue file. Throws NewsletterError EISSUE_NOT_FOUND or EISSUE_INVALID. */
export async function loadIssue(file: string, shownAs = file): Promise<LoadedIssue> {
  let source: string;
  try {
    // Refuse a folder, a device or a huge file before reading it.
    const st = await stat(file);
    if (!st.isFile()) throw new NewsletterError('EISSUE_INVALID', `${shownAs}: is not a file`, { hint: 'Give the issue name (july-2025) or the path of its .yaml file.' });
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
  return parseValidatedDocument(source, file, IssueSchema, 'EISSUE_INVALID', (data, doc, lineCounter) =>
    checkMarkdownLinks(data, doc, lineCounter, file, source),
  { seq: 'sections', max: MAX_SECTIONS, what: 'sections' },
  );
}

/** The error for a file over MAX_FILE_BYTES. */
function tooBig(file: string, bytes: number): NewsletterError {
  return new NewsletterError('EISSUE_INVALID', `${file}: the file is ${(bytes / 1_000_000).toFixed(1)} MB, over the ${MAX_FILE_BYTES / 1_000_000} MB an issue or config file may be (July 2025's issue is 30 KB)`, {
    hint: 'Check it is the right file; an issue that long would be clipped by Gmail anyway: split it into two issues.',
  });
}

/**
 * Parse YAML and validate it against `schema`, collecting every problem with its
 * position. `extra` adds checks of its own on the raw data (run even when the
 * schema fails, so all problems are reported at once).
 */
export function parseValidated<S extends z.ZodType>(
  source: string,
  file: string,
  schema: S,
  code: 'EISSUE_INVALID' | 'ECONFIG',
  extra?: (data: unknown, doc: Document, lineCounter: LineCounter) => Problem[],
): z.output<S> {
  return parseValidatedDocument(source, file, schema, code, extra).data;
}

/** parseValidated, also returning the YAML document and its line counter (for later positions). */
function parseValidatedDocument<S extends z.ZodType>(
  source: string,
  file: string,
  schema: S,
  code: 'EISSUE_INVALID' | 'ECONFIG',
  extra?: (data: unknown, doc: Document, lineCounter: LineCounter) => Problem[],
  limit?: { seq: string; max: number; what: string },
): { data: z.output<S>; doc: Document; lineCounter: LineCounter } {
  if (source.length > MAX_FILE_BYTES) throw tooBig(file, Buffer.byteLength(source));
  const deep = tooDeep(source);
  if (deep !== undefined) {
    const before = source.slice(0, deep);
    const where = `${file}:${before.split('\n').length}:${deep - before.lastIndexOf('\n')}`;
    throw new NewsletterError(code, `${file}: 1 problem to fix`, {
      problems: [{ where, message: `the file nests "[" or "{" more than ${MAX_FLOW_DEPTH} deep: an issue needs a few levels only. Check the brackets here` }],
    });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  const fail = (problems: Problem[]): never => {
    const n = problems.length;
    // A file with thousands of faults is one fault repeated: the first ones say what to fix.
    const shown: Problem[] = n > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), { message: `and ${n - MAX_PROBLEMS} more problems: fix the ones above, then build again` }] : problems;
    throw new NewsletterError(code, `${file}: ${n} problem${n === 1 ? '' : 's'} to fix`, { problems: shown });
  };

  if (source.trim() === '' || doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    fail([{ where: `${file}:1:1`, message: 'the file is empty: start from an existing one (copy issues/july-2025.yaml) and change its content' }]);
  }
  if (doc.errors.length) {
    fail(
      doc.errors.map((e) => ({
        where: at(e.pos[0]),
        message:
          e.code === 'RESOURCE_EXHAUSTION'
            ? 'the file nests lists or fields too deeply to read: an issue needs a few levels only. Check the indentation and brackets here'
            : `invalid YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}. Check the indentation and quoting here (text containing ": " or starting with a symbol needs quotes or a "|" block)`,
      })),
    );
  }
  if (!isMap(doc.contents)) {
    fail([{ where: at(doc.contents!.range[0]), message: 'the file must be a mapping of fields ("name: value" lines), not a list or a single value' }]);
  }
  const items = limit && isMap(doc.contents) ? doc.contents.get(limit.seq, true) : undefined;
  if (limit && isSeq(items) && items.items.length > limit.max) {
    fail([{ where: at(items.range?.[0] ?? 0), path: limit.seq, message: `has ${items.items.length} ${limit.what}; an issue may have at most ${limit.max}: split it into two issues` }]);
  }

  // An alias inside the very thing it names (a: &a [*a]) makes data that never ends.
  let loop: number | undefined;
  visit(doc, {
    Alias(_k, node, ancestors) {
      if (loop === undefined && ancestors.includes(node.resolve(doc) as never)) loop = node.range?.[0] ?? 0;
    },
  });
  if (loop !== undefined) fail([{ where: at(loop), message: 'this alias (*name) is inside the anchor (&name) it repeats, so it would repeat itself for ever: write the text out instead' }]);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    // yaml refuses an alias expansion bomb ("billion laughs") with a ReferenceError.
    let first: number | undefined;
    visit(doc, { Alias: (_k, node) => void (first ??= node.range?.[0]) });
    fail([{ where: at(first ?? 0), message: `the file repeats its anchors (*name aliases) too often to read (${(err as Error).message}): write the text out instead of using aliases` }]);
  }
  const problems: (Problem & { suggests?: string })[] = [...controlCharacters(doc, source, at)];
  const result = schema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(schema, issue, data, doc, at));
  }
  // A misspelt key ("subjet") also leaves its field missing ("subject is required"):
  // the first message already says both, so drop the second.
  const suggested = new Set(problems.flatMap((pr) => (pr.suggests ? [pr.suggests] : [])));
  for (let i = problems.length - 1; i >= 0; i--) {
    if (problems[i]!.path && suggested.has(problems[i]!.path!) && problems[i]!.message.startsWith('is required')) problems.splice(i, 1);
  }
  for (const pr of problems) delete pr.suggests;
  if (extra) problems.push(...extra(data, doc, lineCounter));
  if (problems.length || !result.success) {
    // Report in file order, so the list reads top to bottom.
    problems.sort((a, b) => lineOf(a) - lineOf(b));
    fail(problems);
  }
  return { data: result.data as z.output<S>, doc, lineCounter };
}

/**
 * The offset where "[" and "{" first nest deeper than MAX_FLOW_DEPTH, counting every
 * bracket in the file (prose in Markdown has few, and balanced: "[text](url)"); one
 * pass, so a hostile file is refused before the YAML parser spends seconds on it.
 */
function tooDeep(source: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_FLOW_DEPTH) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return undefined;
}

/**
 * Every text value holding a control character (CONTROL_CHARS), at the character
 * itself when it is written raw, else at the value (an escape such as "\\u0001").
 */
function controlCharacters(doc: Document, source: string, at: (o: number) => string): Problem[] {
  const problems: Problem[] = [];
  visit(doc, {
    Scalar(_key, node, ancestors) {
      if (typeof node.value !== 'string' || !node.range) return;
      const m = CONTROL_CHARS.exec(node.value);
      if (!m) return;
      const raw = source.slice(node.range[0], node.range[1]).search(CONTROL_CHARS);
      // The field path, from the chain of maps, pairs and lists above the value.
      const chain: unknown[] = [...ancestors, node];
      const p: (string | number)[] = [];
      chain.forEach((a, i) => {
        const parent = chain[i - 1];
        if (isSeq(parent)) p.push(parent.items.indexOf(a as never));
        if (isPair(a) && isScalar(a.key)) p.push(String(a.key.value));
      });
      problems.push({
        where: at(node.range[0] + Math.max(raw, 0)),
        path: formatPath(p) || undefined,
        message: `holds the invisible control character ${codePoint(m[0])}, which is not text: delete it (it often comes with text pasted from another program)`,
      });
    },
  });
  return problems;
}

function lineOf(p: Problem): number {
  const m = /:(\d+):(\d+)$/.exec(p.where ?? '');
  return m ? Number(m[1]) * 10000 + Number(m[2]) : 0;
}

/** The YAML node at `p`, or the nearest ancestor that exists. */
function nodeAt(doc: Document, p: readonly PropertyKey[]): YamlNode | undefined {
  for (let n = p.length; n >= 0; n--) {
    const node = doc.getIn(p.slice(0, n) as unknown[], true) as YamlNode | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return node;
  }
  return undefined;
}

/** The key node of `key` inside the map at `p` (for pointing at a misspelt key). */
function keyNode(doc: Document, p: readonly PropertyKey[], key: string): YamlNode | undefined {
  const map = p.length ? doc.getIn(p as unknown[], true) : doc.contents;
  if (!isMap(map)) return undefined;
  const pair = map.items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === key);
  return pair && isScalar(pair.key) ? pair.key : undefined;
}

/** A value quoted in a message: on one line (line breaks and controls escaped), cut to `max` characters. */
function quoted(v: string, max = 60): string {
  return JSON.stringify(v.length > max ? `${v.slice(0, max - 3)}...` : v);
}

function typeName(v: unknown): string {
  if (v === null) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `text ${quoted(v, 30)}`;
  return `${typeof v} ${String(v)}`;
}

const expectedName: Record<string, string> = {
  string: 'text',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping (indented "key: value" lines)',
  array: 'a list ("- " items)',
};

function valueAt(data: unknown, p: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describeIssue(root: z.ZodType, issue: z.core.$ZodIssue, data: unknown, doc: Document, at: (o: number) => string): (Problem & { suggests?: string })[] {
  const p = issue.path;
  const where = (node = nodeAt(doc, p)) => (node?.range ? at(node.range[0]) : undefined);
  const field = schemaAt(root, p, data);
  const hint = field?.description ? `: ${lowerFirst(field.description)}` : '';
  const value = valueAt(data, p);
  const pathText = formatPath(p);

  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(schemaAt(root, p, data)?.schema);
      return issue.keys.map((key) => {
        const guess = nearest(key, allowed);
        return {
          suggests: guess && valueAt(data, [...p, guess]) === undefined ? formatPath([...p, guess]) : undefined,
          where: where(keyNode(doc, p, key)),
          path: formatPath([...p, key]),
          message: `is not a known field${guess ? `; did you mean "${guess}"?` : ''} Fields allowed here: ${allowed.join(', ')}`,
        };
      });
    }
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator === 'kind') {
        const kindPath = p[p.length - 1] === 'kind' ? p : [...p, 'kind'];
        const kind = valueAt(data, kindPath);
        const section = valueAt(data, kindPath.slice(0, -1));
        if (section === null || typeof section !== 'object' || Array.isArray(section)) {
          return [{ where: where(nodeAt(doc, kindPath.slice(0, -1))), path: formatPath(kindPath.slice(0, -1)), message: `must be a mapping with a "kind:" (one of ${SECTION_KINDS.join(', ')}), not ${typeName(section)}` }];
        }
        if (kind === undefined) {
          return [{ where: where(nodeAt(doc, kindPath)), path: formatPath(kindPath), message: `is required: say which kind of section this is, one of ${SECTION_KINDS.join(', ')}` }];
        }
        const guess = typeof kind === 'string' ? nearest(kind, SECTION_KINDS) : undefined;
        return [{ where: where(nodeAt(doc, kindPath)), path: formatPath(kindPath), message: `${typeof kind === 'string' ? quoted(kind) : `"${String(kind)}"`} is not a section kind${guess ? `; did you mean "${guess}"?` : ''} Kinds that exist: ${SECTION_KINDS.join(', ')} (each is a template in templates/sections/)` }];
      }
      return [{ where: where(), path: pathText, message: `does not match any allowed form${hint}` }];
    }
    case 'invalid_type': {
      if (value === undefined) return [{ where: where(), path: pathText, message: `is required${hint}` }];
      const expected = expectedName[issue.expected] ?? issue.expected;
      return [{ where: where(), path: pathText, message: `must be ${expected}, not ${typeName(value)}${hint}` }];
    }
    case 'too_small': {
      const what = issue.origin === 'array' ? `needs at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}` : issue.origin === 'string' ? 'is empty' : `must be at least ${String(issue.minimum)}`;
      return [{ where: where(), path: pathText, message: `${what}${hint}` }];
    }
    case 'too_big':
      return [{ where: where(), path: pathText, message: `must be at most ${String(issue.maximum)}${issue.origin === 'string' ? ' characters' : ''}${hint}` }];
    case 'invalid_value':
      return [{ where: where(), path: pathText, message: `must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}${hint}` }];
    case 'custom':
    case 'invalid_format': {
      const shown = typeof value === 'string' ? ` (${quoted(value)})` : '';
      const msg = issue.message.startsWith('Invalid') ? `is not in the right form${shown}` : `${issue.message}${shown}`;
      return [{ where: where(), path: pathText, message: `${msg}${hint}` }];
    }
    default:
      return [{ where: where(), path: pathText, message: `${issue.message}${hint}` }];
  }
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
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
    if (Array.isArray(v)) v.forEach((item, i) => visit(item, [...p, i]));
    else if (v !== null && typeof v === 'object') {
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
      const needles: [string, number][] = [[written, 0], [l.href, 0], ...(scheme ? [[scheme, 0] as [string, number]] : []), [`[${l.text}](`, `[${l.text}](`.length]];
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

