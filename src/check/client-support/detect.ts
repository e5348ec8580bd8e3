/**
 * Detection: which caniemail features an email's HTML uses, and where first. A small
 * HTML parse (htmlparser2) and CSS scanner over the tables in features.ts.
 *
 * Why our own detection and not the `caniemail` package's analyzer (v1.0.5): its
 * analyzer throws when a used feature lacks data for a requested client (any
 * `word-wrap` with Gmail iOS selected), never looks inside @media blocks, misses
 * properties whose caniemail title ends in "property" (`height`, `max-height`: Yahoo
 * drops `height`), matches names by substring (`text-transform` counts as `transform`,
 * `tbody` as `<body>`), never detects the HTML5 semantic elements, media features
 * (prefers-color-scheme) or image formats, treats "support unknown" as partial, and
 * picks a client's "latest" test by sorting version keys as strings. It also takes
 * ~60 ms on the July email where this takes ~3 ms, and declares prettier and babel as
 * run-time dependencies. We use its data file only (vendored: caniemail.ts).
 */
import { Parser } from 'htmlparser2';
import {
  AT_RULES,
  ATTRIBUTES,
  BUTTON_TYPES,
  ELEMENTS,
  FUNCTIONS,
  IMAGE_FORMATS,
  INPUT_TYPES,
  KEYWORDS,
  MEDIA_FEATURES,
  PROPERTIES,
  PROPERTY_VALUES,
  PSEUDO,
  UNIT_RE,
  UNITS,
} from './features.js';

export { DETECTED_SLUGS } from './features.js';

/** A feature the HTML uses: where it is first used (an offset into the HTML). */
export interface FeatureUse {
  slug: string;
  /** Offset of the first use. */
  offset: number;
  /** Offset of the tag or CSS rule around it, where an excerpt should start. */
  anchor: number;
}

type Add = (slug: string, offset: number, anchor: number) => void;

/** Blank a range (comments, string contents) with spaces, keeping every offset. */
const blank = (s: string) => s.replace(/[^\n]/g, ' ');

/** Split at top-level `sep` (outside parentheses, brackets and quotes), with each part's offset. */
function splitTop(text: string, sep: string): { part: string; at: number }[] {
  const parts: { part: string; at: number }[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[') depth++;
    else if ((c === ')' || c === ']') && depth > 0) depth--;
    else if (c === sep && depth === 0) {
      parts.push({ part: text.slice(start, i), at: start });
      start = i + 1;
    }
  }
  parts.push({ part: text.slice(start), at: start });
  return parts;
}

/** One declaration `prop: value`, first used at `offset`. */
function declaration(text: string, offset: number, anchor: number, add: Add): void {
  const colon = text.indexOf(':');
  if (colon < 0) return;
  const lead = text.length - text.trimStart().length;
  const at = offset + lead;
  const property = text.slice(0, colon).trim().toLowerCase();
  let value = text.slice(colon + 1).trim();
  if (!property) return;
  if (property.startsWith('--')) add('css-variables', at, anchor);
  for (const slug of PROPERTIES[property] ?? []) add(slug, at, anchor);
  if (/!\s*important\s*$/i.test(value)) {
    add('css-important', at, anchor);
    value = value.replace(/!\s*important\s*$/i, '').trim();
  }
  const pair = PROPERTY_VALUES[property]?.[value.toLowerCase()];
  if (pair) add(pair, at, anchor);
  // Words inside url() and quotes are not keywords or units ("x.png", "Segoe UI").
  const bare = value
    .replace(/url\([^)]*\)/gi, 'url()')
    .replace(/"[^"]*"|'[^']*'/g, '""')
    .replace(/#[0-9a-f]{3,8}\b/gi, '#');
  for (const m of bare.matchAll(/([a-z-]+)\(/gi)) {
    const slug = FUNCTIONS[m[1]!.toLowerCase()];
    if (slug) add(slug, at, anchor);
  }
  for (const m of bare.matchAll(/[a-z-]+/gi)) {
    const slug = KEYWORDS[m[0].toLowerCase()];
    if (slug) add(slug, at, anchor);
  }
  for (const m of bare.matchAll(UNIT_RE)) {
    const slug = UNITS[m[1]!.toLowerCase()];
    if (slug) add(slug, at, anchor);
  }
}

/** Declarations separated by `;` (a style attribute, or a rule's block). */
function declarations(text: string, offset: number, anchor: number, add: Add): void {
  for (const { part, at } of splitTop(text, ';')) if (part.trim()) declaration(part, offset + at, anchor, add);
}

/** A selector list: `.a, td.b > p:hover`. */
function selectors(text: string, offset: number, add: Add): void {
  const all = splitTop(text, ',').filter((s) => s.part.trim());
  if (all.length > 1) add('css-selector-grouping', offset, offset);
  for (const { part } of all) {
    const attributes = part.match(/\[[^\]]*\]/g) ?? [];
    if (attributes.length) add('css-selector-attribute', offset, offset);
    // Without attribute values and pseudo-class arguments, what is left is structure.
    let s = part.replace(/\[[^\]]*\]/g, '[]');
    for (const m of s.matchAll(/::?([a-z-]+)/gi)) {
      const slug = PSEUDO[m[1]!.toLowerCase()];
      if (slug) add(slug, offset, offset);
    }
    while (/\([^()]*\)/.test(s)) s = s.replace(/\([^()]*\)/g, '');
    s = s
      .replace(/::?[a-z-]+/gi, ':')
      .replace(/\s*([>+~])\s*/g, '$1')
      .trim();
    if (/[>]/.test(s)) add('css-selector-child', offset, offset);
    if (/[+]/.test(s)) add('css-selector-adjacent-sibling', offset, offset);
    if (/[~]/.test(s)) add('css-selector-general-sibling', offset, offset);
    if (/\s/.test(s)) add('css-selector-descendant', offset, offset);
    for (const compound of s.split(/[\s>+~]+/).filter(Boolean)) {
      const classes = compound.match(/\.[^.#:[\s]+/g)?.length ?? 0;
      if (classes) add('css-selector-class', offset, offset);
      if (classes >= 2) add('css-selector-chaining', offset, offset);
      if (/#[^.#:[\s]+/.test(compound)) add('css-selector-id', offset, offset);
      if (/^[a-z][\w-]*/i.test(compound)) add('css-selector-type', offset, offset);
      if (compound.startsWith('*')) add('css-selector-universal', offset, offset);
    }
  }
}

/**
 * A stylesheet (the text of a <style> element at `base`). A small scanner, not a full
 * CSS parser: it finds at-rules, rules, their selectors and declarations, nested
 * blocks included, which is all caniemail's features need.
 */
function stylesheet(css: string, base: number, add: Add): void {
  let text = css.replace(/\/\*[\s\S]*?(\*\/|$)/g, (c, _end, at: number) => {
    add('css-comments', base + at, base + at);
    return blank(c);
  });
  // String contents cannot open or close a block.
  text = text.replace(/"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/g, (s) => s[0] + blank(s.slice(1, -1)) + s[0]);
  block(text, 0, text.length, 'rules', base, add);
}

/** Offset just past the `}` closing the block opened at `open`. */
function closeOf(text: string, open: number, end: number): number {
  let depth = 0;
  for (let i = open; i < end; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i + 1;
  }
  return end;
}

/** The items of a block from `start` to `end`; `ruleAt` is where the rule owning a declarations block starts (for excerpts). */
function block(text: string, start: number, end: number, mode: 'rules' | 'declarations' | 'keyframes', base: number, add: Add, ruleAt?: number): void {
  let i = start;
  while (i < end) {
    // The next item: up to `{`, `;` or `}`.
    let j = i;
    while (j < end && text[j] !== '{' && text[j] !== ';' && text[j] !== '}') j++;
    const prelude = text.slice(i, j);
    const lead = prelude.length - prelude.trimStart().length;
    const at = base + i + lead;
    const head = prelude.trim();
    if (j >= end || text[j] !== '{') {
      // A statement: a declaration, or an at-rule without a block (@import, @charset).
      if (head.startsWith('@')) {
        const slug = AT_RULES[/^@([\w-]+)/.exec(head)?.[1]?.toLowerCase() ?? ''];
        if (slug) add(slug, at, at);
      } else if (head && mode !== 'rules') declaration(prelude, base + i, ruleAt ?? at, add);
      i = j + 1;
      continue;
    }
    const close = closeOf(text, j, end);
    const inner = [j + 1, close - 1] as const;
    if (head.startsWith('@')) {
      const name = /^@([\w-]+)/.exec(head)?.[1]?.toLowerCase() ?? '';
      const slug = AT_RULES[name];
      if (slug) add(slug, at, at);
      if (name === 'media') for (const [re, s] of MEDIA_FEATURES) if (re.test(head)) add(s, at, at);
      const innerMode = name === 'font-face' || name === 'page' ? 'declarations' : name.endsWith('keyframes') ? 'keyframes' : 'rules';
      block(text, inner[0], inner[1], innerMode, base, add);
    } else {
      if (mode === 'declarations') add('css-nesting', at, at);
      // Keyframe selectors (from, to, 50%) are not selectors in caniemail's sense.
      if (mode !== 'keyframes') selectors(head, at, add);
      block(text, inner[0], inner[1], 'declarations', base, add, at);
    }
    i = close;
  }
}

/** An image URL's format: its extension, or a data: URL's type. */
function imageFormats(src: string): string[] {
  const data = /^\s*data:image\/([\w.+-]+)[;,]/i.exec(src);
  if (data) return ['image-base64', ...(IMAGE_FORMATS[data[1]!.toLowerCase()] ? [IMAGE_FORMATS[data[1]!.toLowerCase()]!] : [])];
  const ext = /\.([a-z0-9]+)$/i.exec(src.replace(/[?#].*$/, ''))?.[1]?.toLowerCase();
  const slug = ext ? IMAGE_FORMATS[ext] : undefined;
  return slug ? [slug] : [];
}

/**
 * The caniemail features `html` uses, each with its first use. Markup inside
 * Outlook's conditional comments (<!--[if mso]>...) is not looked at: only Outlook
 * reads it, and it is written for Outlook on purpose (VML, fixed-width tables).
 */
export function detectFeatures(html: string): Map<string, FeatureUse> {
  const found = new Map<string, FeatureUse>();
  const add: Add = (slug, offset, anchor) => {
    if (!found.has(slug)) found.set(slug, { slug, offset, anchor });
  };
  let inStyle = false;
  let styleText = '';
  let styleAt = -1;
  const parser: Parser = new Parser(
    {
      onprocessinginstruction(name, text) {
        if (name.toLowerCase() === '!doctype' && /^!doctype\s+html\s*$/i.test(text)) add('html-doctype', parser.startIndex, parser.startIndex);
      },
      oncomment() {
        add('html-comments', parser.startIndex, parser.startIndex);
      },
      onopentag(name, attribs) {
        const at = parser.startIndex;
        const tag = html.slice(at, parser.endIndex + 1);
        const element = ELEMENTS[name];
        if (element) add(element, at, at);
        for (const attr of Object.keys(attribs)) {
          const slug = ATTRIBUTES[attr];
          if (slug) add(slug, at, at);
        }
        const type = attribs.type?.toLowerCase() ?? '';
        if (name === 'input' && INPUT_TYPES.has(type)) add(`html-input-${type}`, at, at);
        if (name === 'button' && BUTTON_TYPES.has(type)) add(`html-button-${type}`, at, at);
        if (name === 'a') {
          const href = attribs.href?.trim() ?? '';
          if (href.startsWith('#') || 'name' in attribs) add('html-anchor-links', at, at);
          if (/^mailto:/i.test(href)) add('html-mailto-links', at, at);
        }
        if (name === 'meta' && /^(color-scheme|supported-color-schemes)$/i.test(attribs.name ?? '')) add('html-meta-color-scheme', at, at);
        if (name === 'html' && ('amp4email' in attribs || '⚡4email' in attribs)) add('amp', at, at);
        if (name === 'img' && attribs.src) for (const slug of imageFormats(attribs.src)) add(slug, at, at);
        if (name === 'style') {
          inStyle = true;
          styleText = '';
          styleAt = -1;
        }
        if (attribs.style) {
          // Point at the declaration itself when the raw tag shows it; else at the tag.
          const rawStyle = /\sstyle\s*=\s*("([^"]*)"|'([^']*)')/i.exec(tag);
          const inTag = rawStyle ? rawStyle.index + rawStyle[0].indexOf(rawStyle[2] ?? rawStyle[3] ?? '') : -1;
          if (inTag >= 0 && (rawStyle![2] ?? rawStyle![3]) === attribs.style) declarations(attribs.style, at + inTag, at, add);
          else declarations(attribs.style, at, at, (slug) => add(slug, at, at));
        }
      },
      ontext(text) {
        if (!inStyle) return;
        if (styleAt < 0) styleAt = parser.startIndex;
        styleText += text;
      },
      onclosetag(name) {
        if (name !== 'style' || !inStyle) return;
        inStyle = false;
        if (styleAt >= 0) stylesheet(styleText, styleAt, add);
      },
    },
    { decodeEntities: true },
  );
  parser.write(html);
  parser.end();
  return found;
}

/** Detection is pure, and the rule runs it on the same baseline every build: keep the last few. */
const detected = new Map<string, Map<string, FeatureUse>>();
export function detectCached(html: string): Map<string, FeatureUse> {
  let hit = detected.get(html);
  if (!hit) {
    hit = detectFeatures(html);
    if (detected.size >= 4) detected.delete(detected.keys().next().value!);
    detected.set(html, hit);
  }
  return hit;
}
