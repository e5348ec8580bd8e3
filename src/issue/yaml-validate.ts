/**
 * YAML in, validated data out, for the issue file and the config alike: parse with
 * source positions, refuse what would make the parser or the data blow up (huge
 * files, deep nesting, alias bombs, control characters), validate against a zod
 * schema, and report every problem at once, each at `file:line:col` with its field
 * path and the fix (the field's `.describe()` text).
 */
import { LineCounter, parseDocument, isMap, isScalar, isPair, isSeq, visit, type Document, type Node as YamlNode } from 'yaml';
import type * as z from 'zod';
import { NewsletterError, type Problem } from '../errors.js';
import { allowedKeys, nearest, schemaAt } from './schema-walk.js';
import { CONTROL_CHARS, codePoint } from './text-safety.js';

/** The largest issue or config file read (July 2025's issue is about 30 KB): a bigger one is refused before it is parsed. */
export const MAX_FILE_BYTES = 1_000_000;
/** The most problems one error lists; the rest are counted ("and N more"). */
export const MAX_PROBLEMS = 50;
/** How deep "[" and "{" may nest: YAML's parser takes seconds and hundreds of MB on 100,000 levels before it gives up. */
const MAX_FLOW_DEPTH = 200;
/** YAML aliases (*name) a file may use: enough for any real file, too few for an expansion bomb. */
const MAX_ALIASES = 100;

/** `sections[4].image.alt` */
export function formatPath(p: readonly PropertyKey[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

/** The error for a file over MAX_FILE_BYTES. */
export function tooBig(file: string, bytes: number): NewsletterError {
  return new NewsletterError(
    'EISSUE_INVALID',
    `${file}: the file is ${(bytes / 1_000_000).toFixed(1)} MB, over the ${MAX_FILE_BYTES / 1_000_000} MB an issue or config file may be (July 2025's issue is 30 KB)`,
    {
      hint: 'Check it is the right file; an issue that long would be clipped by Gmail anyway: split it into two issues.',
    },
  );
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
  extra?: ValidateOptions['extra'],
): z.output<S> {
  return parseValidatedDocument(source, file, schema, code, { extra }).data;
}

/** What a file type adds to parseValidated's checks. */
export interface ValidateOptions {
  /** Checks of its own on the raw data, run even when the schema fails. */
  extra?: (data: unknown, doc: Document, lineCounter: LineCounter) => Problem[];
  /** A top-level list that may hold at most `max` items, refused before validation. */
  limit?: { seq: string; max: number; what: string };
  /**
   * The message for a discriminated union on `kind:` that matches no member (the
   * issue's sections): given the path of the `kind` field, the data and where a path
   * is written. Without it the generic "does not match any allowed form" is used.
   */
  describeKind?: (kindPath: readonly PropertyKey[], data: unknown, where: (p: readonly PropertyKey[]) => string | undefined) => Problem[];
}

/** parseValidated, also returning the YAML document and its line counter (for later positions). */
export function parseValidatedDocument<S extends z.ZodType>(
  source: string,
  file: string,
  schema: S,
  code: 'EISSUE_INVALID' | 'ECONFIG',
  options: ValidateOptions = {},
): { data: z.output<S>; doc: Document; lineCounter: LineCounter } {
  // A warm rebuild (the preview, after a save elsewhere) reads the same text again: parsed once.
  const key = `${code}\0${file}\0${JSON.stringify(options.limit ?? null)}\0${source}`;
  const memo = parsed.get(schema);
  const hit = memo?.find((m) => m.key === key && m.extra === options.extra && m.describeKind === options.describeKind);
  if (hit) return hit.result as { data: z.output<S>; doc: Document; lineCounter: LineCounter };
  const result = parseValidatedDocumentOnce(source, file, schema, code, options);
  // Frozen: every later build gets the same objects, so none may change them.
  deepFreeze(result.data);
  const list = memo ?? [];
  list.unshift({ key, extra: options.extra, describeKind: options.describeKind, result });
  list.length = Math.min(list.length, 4);
  parsed.set(schema, list);
  return result;
}

/** The last few texts parsed, by schema (the issue, the config; a preview of two issues). */
const parsed = new WeakMap<
  z.ZodType,
  {
    key: string;
    extra: ValidateOptions['extra'];
    describeKind: ValidateOptions['describeKind'];
    result: { data: unknown; doc: Document; lineCounter: LineCounter };
  }[]
>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

function parseValidatedDocumentOnce<S extends z.ZodType>(
  source: string,
  file: string,
  schema: S,
  code: 'EISSUE_INVALID' | 'ECONFIG',
  options: ValidateOptions,
): { data: z.output<S>; doc: Document; lineCounter: LineCounter } {
  const { extra, limit } = options;
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
    const shown: Problem[] =
      n > MAX_PROBLEMS
        ? [...problems.slice(0, MAX_PROBLEMS), { message: `and ${n - MAX_PROBLEMS} more problems: fix the ones above, then build again` }]
        : problems;
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
    fail([
      {
        where: at(items.range?.[0] ?? 0),
        path: limit.seq,
        message: `has ${items.items.length} ${limit.what}; an issue may have at most ${limit.max}: split it into two issues`,
      },
    ]);
  }

  // An alias inside the very thing it names (a: &a [*a]) makes data that never ends.
  let loop: number | undefined;
  visit(doc, {
    Alias(_k, node, ancestors) {
      if (loop === undefined && ancestors.includes(node.resolve(doc) as never)) loop = node.range?.[0] ?? 0;
    },
  });
  if (loop !== undefined)
    fail([
      {
        where: at(loop),
        message: 'this alias (*name) is inside the anchor (&name) it repeats, so it would repeat itself for ever: write the text out instead',
      },
    ]);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (err) {
    // yaml refuses an alias expansion bomb ("billion laughs") with a ReferenceError.
    let first: number | undefined;
    visit(doc, { Alias: (_k, node) => void (first ??= node.range?.[0]) });
    fail([
      {
        where: at(first ?? 0),
        message: `the file repeats its anchors (*name aliases) too often to read (${(err as Error).message}): write the text out instead of using aliases`,
      },
    ]);
  }
  const problems: (Problem & { suggests?: string })[] = [...controlCharacters(doc, source, at)];
  const result = schema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(...describeIssue(schema, issue, data, doc, at, options.describeKind));
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
export function nodeAt(doc: Document, p: readonly PropertyKey[]): YamlNode | undefined {
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
export function quoted(v: string, max = 60): string {
  return JSON.stringify(v.length > max ? `${v.slice(0, max - 3)}...` : v);
}

export function typeName(v: unknown): string {
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

export function valueAt(data: unknown, p: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function describeIssue(
  root: z.ZodType,
  issue: z.core.$ZodIssue,
  data: unknown,
  doc: Document,
  at: (o: number) => string,
  describeKind?: ValidateOptions['describeKind'],
): (Problem & { suggests?: string })[] {
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
          message: `is not a known field${guess ? `; did you mean "${guess}"?` : '.'} Fields allowed here: ${allowed.join(', ')}`,
        };
      });
    }
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator === 'kind' && describeKind) {
        const kindPath = p[p.length - 1] === 'kind' ? p : [...p, 'kind'];
        return describeKind(kindPath, data, (q) => where(nodeAt(doc, q)));
      }
      return [{ where: where(), path: pathText, message: `does not match any allowed form${hint}` }];
    }
    case 'invalid_type': {
      if (value === undefined) return [{ where: where(), path: pathText, message: `is required${hint}` }];
      const expected = expectedName[issue.expected] ?? issue.expected;
      return [{ where: where(), path: pathText, message: `must be ${expected}, not ${typeName(value)}${hint}` }];
    }
    case 'too_small': {
      const what =
        issue.origin === 'array'
          ? `needs at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`
          : issue.origin === 'string'
            ? 'is empty'
            : `must be at least ${String(issue.minimum)}`;
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
