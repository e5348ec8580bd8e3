/**
 * Stage 5: the plain-text alternative, from the final HTML. Headings stand out
 * (upper case, underlined), lists keep their bullets and nesting, images and layout
 * tables leave nothing behind, lines wrap at 78.
 *
 * Links are numbered references, so a sentence reads as a sentence:
 *
 * ```
 * Read the guidance on the Child First framework [1] and book a place [2].
 *
 * [1] https://example.org/guidance
 * [2] https://example.org/book
 * ```
 *
 * - The numbers run through the whole email ([1], [2] ... to the last link), so a
 *   reader can say "link 12"; an address used twice in one block keeps one number.
 * - The addresses follow the block they belong to: the paragraph, heading or
 *   layout cell (a button, a linked image); for a list, the whole list (top level),
 *   so the bullets stay together; for a blockquote, the whole quote.
 * - A reference line is `[n] address`; when that is wider than 78 characters, the
 *   address goes alone on the next line, never split, so it can be copied whole.
 * - Kept inline, with no reference: a mailto link whose text is the address (the
 *   address alone), a link whose text is its address (alone on its line when it
 *   does not fit the room left), and a link with no text (its address).
 * - In-email `#anchor` links (the contents list) show their text only.
 * - Tracking parameters are dropped from the addresses shown here (utm_source,
 *   utm_medium, utm_campaign, utm_content, utm_term, and any other names the config's
 *   `tracking.params` adds, passed as `dropParams`): they make an address
 *   unreadable, and nobody types a plain-text address to be counted. The HTML part
 *   keeps them. Every other query parameter stays as written.
 *
 * `links: 'inline'` keeps the older form, `text <address>` in the sentence, for
 * text that is not read at 78 columns (a calendar invite's description).
 */
import { convert, type FormatCallback, type HtmlToTextOptions } from 'html-to-text';

/** Plain-text line width: 78, as RFC 5322 recommends. */
export const TEXT_WIDTH = 78;

/** The query parameters dropped from the addresses shown in the text: the UTM set (src/render/track-links.ts adds the config's, by default the first three). */
export const TRACKING_PARAMS: readonly string[] = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term'];

export interface PlainTextOptions {
  /**
   * `references`: link text then ` [n]`, the addresses listed after the block.
   * `inline`: link text then ` <address>` (for a calendar description, which is not wrapped).
   * @default 'references'
   */
  links?: 'references' | 'inline';
  /** Query parameters to drop from the addresses shown, besides TRACKING_PARAMS (the config's tracking.params names). @default [] */
  dropParams?: readonly string[];
}

/** The references of one conversion (html-to-text's metadata, passed to every formatter). */
interface References {
  drop: ReadonlySet<string>;
  /** The last number given. */
  last: number;
  /** Numbered addresses waiting for the end of their block. */
  pending: { n: number; url: string }[];
  /** Open lists and quotes: their inner blocks leave the references to them. */
  holding: number;
}

/** `href` without the named query parameters; the rest of it as written (not re-serialised, which would re-encode it). */
export function withoutParams(href: string, drop: ReadonlySet<string>): string {
  const hash = href.indexOf('#');
  const fragment = hash < 0 ? '' : href.slice(hash);
  const base = hash < 0 ? href : href.slice(0, hash);
  const q = base.indexOf('?');
  if (q < 0) return href;
  const kept = base
    .slice(q + 1)
    .split('&')
    .filter((pair) => pair && !drop.has(decodeURIComponentSafe(pair.split('=')[0]!)));
  return `${base.slice(0, q)}${kept.length ? `?${kept.join('&')}` : ''}${fragment}`;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const attribs = (elem: unknown) => (elem as { attribs?: Record<string, string> }).attribs ?? {};

/** The reference lines of a block: `[n] address`, or `[n]` and the address alone on the next line when that is too wide. */
function referenceLines(pending: References['pending']): string {
  return pending.map(({ n, url }) => (`[${n}] ${url}`.length <= TEXT_WIDTH ? `[${n}] ${url}` : `[${n}]\n${url}`)).join('\n');
}

/** A link: its text, then ` [n]` (the address waits for the end of the block), or its address inline when the text is the address. */
const referencedLink: FormatCallback = (elem, walk, builder) => {
  const refs = (builder as unknown as { metadata: References }).metadata;
  const href = attribs(elem).href?.trim() ?? '';
  if (!href || href.startsWith('#')) {
    walk(elem.children, builder);
    return;
  }
  let text = '';
  builder.pushWordTransform((word) => {
    text += word;
    return word;
  });
  walk(elem.children, builder);
  builder.popWordTransform();

  const mailto = /^mailto:/i.test(href);
  const url = mailto ? href : withoutParams(href, refs.drop);
  // A mailto link reads as its address; "x@y" needs no "[n] mailto:x@y" after it.
  if (mailto && text.toLowerCase() === href.slice(7).split('?')[0]!.toLowerCase()) return;
  if (text === url || text === url.replace(/\/$/, '') || text === href) return;
  if (!text) {
    builder.addInline(url, { noWordTransform: true });
    return;
  }
  let ref = refs.pending.find((p) => p.url === url);
  if (!ref) {
    ref = { n: ++refs.last, url };
    refs.pending.push(ref);
  }
  builder.addInline(` [${ref.n}]`, { noWordTransform: true });
};

/**
 * A block element (format: the built-in or own formatter to run) that lists its
 * references after itself, unless it is inside a list or quote, which lists them
 * after the whole list or quote.
 */
const withReferences: FormatCallback = (elem, walk, builder, options) => {
  const refs = (builder as unknown as { metadata: References }).metadata;
  const { format, holds } = options as { format: string; holds?: boolean };
  if (holds) refs.holding++;
  builder.options.formatters[format]!(elem, walk, builder, options);
  if (holds) refs.holding--;
  if (refs.holding || !refs.pending.length) return;
  builder.openBlock({ leadingLineBreaks: 2 });
  builder.addLiteral(referenceLines(refs.pending));
  builder.closeBlock({ trailingLineBreaks: 2 });
  refs.pending = [];
};

const linkedImageAlt: FormatCallback = (elem, _walk, builder) => {
  // Images say nothing in text, except a linked image, whose alt text names the link.
  const alt = attribs(elem).alt;
  const parent = (elem as { parent?: { name?: string } }).parent;
  if (alt && parent?.name === 'a') builder.addInline(alt);
};

const underlinedHeading: FormatCallback = (elem, walk, builder, opts) => {
  const char = String((opts as { char?: string }).char ?? '=');
  builder.openBlock({ leadingLineBreaks: 2 });
  walk(elem.children, builder);
  builder.closeBlock({
    trailingLineBreaks: 1,
    // Underline as long as the heading's longest line.
    blockTransform: (str) => `${str}\n${char.repeat(Math.max(...str.split('\n').map((l) => [...l].length)))}`,
  });
};

const common: HtmlToTextOptions = {
  wordwrap: TEXT_WIDTH,
  // html-to-text cuts its input at 16 MB by default, silently (a console warning):
  // the plain-text part would lose its end. The issue file's limits bound the input instead.
  limits: { maxInputLength: Infinity },
  preserveNewlines: false,
  formatters: { linkedImageAlt, underlinedHeading, referencedLink, withReferences },
};

const headingSelectors = [
  { selector: 'h1', format: 'heading', options: { uppercase: false, leadingLineBreaks: 1, trailingLineBreaks: 1 } },
  { selector: 'h2', format: 'underlinedHeading', options: { uppercase: false, char: '=' } },
  { selector: 'h3', format: 'underlinedHeading', options: { uppercase: false, char: '-' } },
];

const baseSelectors = [
  { selector: 'img', format: 'linkedImageAlt' },
  { selector: 'style', format: 'skip' },
  { selector: 'title', format: 'skip' },
  { selector: 'ul', options: { itemPrefix: ' - ' } },
  { selector: 'table', format: 'block' },
  { selector: 'tr', format: 'block' },
  { selector: 'td', format: 'block' },
];

const inlineOptions: HtmlToTextOptions = {
  ...common,
  selectors: [
    ...baseSelectors,
    ...headingSelectors,
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, noAnchorUrl: true, linkBrackets: ['<', '>'] } },
  ],
};

/** Each block runs its usual formatter through withReferences; lists and quotes hold their inner blocks' references. */
const referenceOptions: HtmlToTextOptions = {
  ...common,
  selectors: [
    ...baseSelectors.map((s) => (s.format === 'block' ? { ...s, format: 'withReferences', options: { format: 'block' } } : s)),
    ...headingSelectors.map((s) => ({ ...s, format: 'withReferences', options: { ...s.options, format: s.format } })),
    { selector: 'ul', format: 'withReferences', options: { format: 'unorderedList', holds: true, itemPrefix: ' - ' } },
    { selector: 'ol', format: 'withReferences', options: { format: 'orderedList', holds: true } },
    { selector: 'blockquote', format: 'withReferences', options: { format: 'blockquote', holds: true } },
    ...['p', 'div', 'h4', 'h5', 'h6', 'pre', 'article', 'aside', 'footer', 'header', 'main', 'nav', 'section'].map((selector) => ({
      selector,
      format: 'withReferences',
      options: { format: /^h\d$/.test(selector) ? 'heading' : selector === 'p' ? 'paragraph' : selector === 'pre' ? 'pre' : 'block' },
    })),
    { selector: 'a', format: 'referencedLink' },
  ],
};

/** The plain text of an email's (or a fragment's) HTML; see the module comment for how links come out. */
export function toPlainText(html: string, options: PlainTextOptions = {}): string {
  // The hidden preheader is for the inbox list, not for reading.
  const prepared = html.replace(/<div style="display:none;[^"]*">[\s\S]*?<\/div>/, '');
  const text =
    options.links === 'inline'
      ? convert(
          // A mailto link whose text is the address: the address alone, not "x@y <x@y>".
          prepared.replace(/<a\b[^>]*href="mailto:([^"?]+)(?:\?[^"]*)?"[^>]*>\s*\1\s*<\/a>/gi, '$1'),
          inlineOptions,
        )
      : convert(prepared, referenceOptions, {
          drop: new Set([...TRACKING_PARAMS, ...(options.dropParams ?? [])]),
          last: 0,
          pending: [],
          holding: 0,
        } satisfies References);
  return `${text.replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
