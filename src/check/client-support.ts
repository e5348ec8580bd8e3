/**
 * Check: client support. HTML and CSS features that caniemail.com's data marks as
 * not supported (or only partly supported) in the clients most of our readers use:
 * Outlook for Windows, Gmail (webmail and apps), Apple Mail (macOS and iOS) and
 * Yahoo Mail (webmail and apps).
 *
 * Why a baseline: every email built by our templates already relies on features some
 * of those clients ignore (<style> and @media for phones, border-radius on buttons,
 * MJML's reset CSS...). Those are deliberate, tested choices, and listing them on every
 * build would be noise nobody reads. So we build an empty issue with our own templates
 * and config (every section kind, every optional part, the Markdown the schema
 * documents) and report only the features the real email uses *beyond* it: a new
 * template rule, a GIF or WebP image, Markdown that produces an element the templates
 * never make. Features are compared by caniemail's feature slug.
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
 * run-time dependencies. We use its data file only (caniemail/caniemail.json,
 * bundled in the package: nothing is fetched at run time), loaded lazily the first
 * time the rule runs, so builds that skip the check never pay for it.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { Parser } from 'htmlparser2';
import { CONFIG_FILE, loadConfig, type Config } from '../config.js';
import { IssueSchema, SECTION_KINDS, type Issue } from '../issue/schema.js';
import { compileMjml } from '../render/compile-mjml.js';
import { inlineCss } from '../render/inline-css.js';
import { minifyHtml } from '../render/minify-html.js';
import { renderMjml } from '../render/render-mjml.js';
import { loadTemplates } from '../render/templates.js';
import type { Finding, Rule } from './types.js';

export const RULE_ID = 'client-support';

// ---------------------------------------------------------------------------
// caniemail's data
// ---------------------------------------------------------------------------

/** One feature as caniemail.json has it (only the fields we read). */
interface RawFeature {
  slug: string;
  title: string;
  url: string;
  category: 'css' | 'html' | 'image' | 'others';
  /** family -> platform -> version -> "y" | "n" | "a" | "u", with "#1" note numbers. */
  stats: Record<string, Record<string, Record<string, string>> | undefined>;
  notes: string | null;
  notes_by_num: Record<string, string> | null;
}

interface RawData {
  api_version: string;
  last_update_date: string;
  data: RawFeature[];
}

/** A client we report on: a caniemail family and platform, and the name readers know. */
export interface EmailClient {
  family: string;
  platform: string;
  /** Shown in messages: "Gmail (iOS)". */
  name: string;
}

/**
 * The clients the spec names: Outlook for Windows (the Word engine, 2007-2021 and
 * Microsoft 365; not the new Outlook, which caniemail files under outlook.com), Gmail
 * everywhere, Apple Mail, Yahoo. Together they open most of our readers' mail.
 */
export const CLIENTS: readonly EmailClient[] = [
  { family: 'outlook', platform: 'windows', name: 'Outlook (Windows)' },
  { family: 'gmail', platform: 'desktop-webmail', name: 'Gmail (webmail)' },
  { family: 'gmail', platform: 'mobile-webmail', name: 'Gmail (mobile webmail)' },
  { family: 'gmail', platform: 'ios', name: 'Gmail (iOS)' },
  { family: 'gmail', platform: 'android', name: 'Gmail (Android)' },
  { family: 'apple-mail', platform: 'macos', name: 'Apple Mail (macOS)' },
  { family: 'apple-mail', platform: 'ios', name: 'Apple Mail (iOS)' },
  { family: 'yahoo', platform: 'desktop-webmail', name: 'Yahoo (webmail)' },
  { family: 'yahoo', platform: 'ios', name: 'Yahoo (iOS)' },
  { family: 'yahoo', platform: 'android', name: 'Yahoo (Android)' },
];

export type SupportLevel = 'y' | 'n' | 'a' | 'u';

/** A client's support for a feature, as of the latest version caniemail tested. */
export interface ClientSupport {
  client: EmailClient;
  level: SupportLevel;
  /** caniemail's notes for that result ("#1" -> the note's text). */
  notes: string[];
}

export interface FeatureSupport {
  slug: string;
  title: string;
  url: string;
  /** One entry per client in CLIENTS that caniemail has data for. */
  clients: ClientSupport[];
}

let data: { raw: RawData; bySlug: Map<string, RawFeature> } | undefined;

/** caniemail's data, read on first use (about 5 ms): the file ships in the npm package. */
function caniemail(): { raw: RawData; bySlug: Map<string, RawFeature> } {
  if (!data) {
    // createRequire, not a JSON import: the CLI bundle (scripts/bundle.mjs) then loads the
    // 640 KB file from node_modules when the rule runs instead of carrying it in its code.
    const raw = createRequire(import.meta.url)('caniemail/caniemail.json') as RawData;
    data = { raw, bySlug: new Map(raw.data.map((f) => [f.slug, f])) };
  }
  return data;
}

/** The date of caniemail's data, for reports: "2025-09-09". */
export function caniemailDataDate(): string {
  return caniemail().raw.last_update_date.slice(0, 10);
}

/** Every feature slug in caniemail's data. */
export function caniemailSlugs(): string[] {
  return [...caniemail().bySlug.keys()];
}

/**
 * Order caniemail's version keys. They mix dates ("2024-05"), years ("2019") and
 * version numbers ("16.0", "6.21.1"); caniemail moved to dated tests in 2019, so a
 * version number is older than any date, and numbers compare part by part.
 */
function versionRank(key: string): number[] {
  const date = /^(\d{4})(?:-(\d{2}))?/.exec(key);
  if (date && Number(date[1]) >= 2000) return [1, Number(date[1]), Number(date[2] ?? 0)];
  return [0, ...key.split('.').map((n) => Number.parseInt(n, 10) || 0)];
}

function compareVersions(a: string, b: string): number {
  const x = versionRank(a);
  const y = versionRank(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/**
 * What caniemail says about `slug` for each of our clients, using the latest version
 * it tested (as caniemail.com's summary does). A client with no data is left out.
 */
export function featureSupport(slug: string): FeatureSupport | undefined {
  const feature = caniemail().bySlug.get(slug);
  if (!feature) return undefined;
  const clients: ClientSupport[] = [];
  for (const client of CLIENTS) {
    const versions = feature.stats[client.family]?.[client.platform];
    if (!versions) continue;
    const latest = Object.keys(versions).sort(compareVersions).at(-1);
    const result = latest === undefined ? undefined : versions[latest];
    if (!result) continue;
    const level = result.trim().charAt(0) as SupportLevel;
    if (!'ynau'.includes(level)) continue;
    const notes = [...result.matchAll(/#(\d+)/g)].flatMap((m) => feature.notes_by_num?.[m[1]!] ?? []);
    clients.push({ client, level, notes });
  }
  return { slug, title: feature.title, url: feature.url, clients };
}

// ---------------------------------------------------------------------------
// Detection: which caniemail features an email uses, and where first
// ---------------------------------------------------------------------------

/** A feature the HTML uses: where it is first used (an offset into the HTML). */
export interface FeatureUse {
  slug: string;
  /** Offset of the first use. */
  offset: number;
  /** Offset of the tag or CSS rule around it, where an excerpt should start. */
  anchor: number;
}

const list = (s: string) => s.split(/\s+/).filter(Boolean);

/** CSS property -> features. Longhands and sides count as their shorthand's feature, as caniemail tests them. */
const PROPERTIES: Record<string, string[]> = {};
const addProperty = (slug: string, ...props: string[]) => {
  for (const p of props) (PROPERTIES[p] ??= []).includes(slug) || PROPERTIES[p]!.push(slug);
};
for (const [slug, props] of Object.entries({
  'css-accent-color': 'accent-color',
  'css-align-items': 'align-items',
  'css-animation': 'animation animation-name animation-duration animation-delay animation-iteration-count animation-timing-function animation-direction animation-fill-mode animation-play-state',
  'css-aspect-ratio': 'aspect-ratio',
  'css-backdrop-filter': 'backdrop-filter -webkit-backdrop-filter',
  'css-background-blend-mode': 'background-blend-mode',
  'css-background-clip': 'background-clip -webkit-background-clip',
  'css-background-color': 'background-color',
  'css-background-image': 'background-image',
  'css-background-origin': 'background-origin',
  'css-background-position': 'background-position background-position-x background-position-y',
  'css-background-repeat': 'background-repeat',
  'css-background-size': 'background-size',
  'css-background': 'background',
  'css-block-inline-size': 'block-size inline-size',
  'css-border-collapse': 'border-collapse',
  'css-border-image': 'border-image border-image-source border-image-slice border-image-width border-image-outset border-image-repeat',
  'css-border-inline-block-individual': 'border-inline-color border-block-color border-inline-style border-block-style border-inline-width border-block-width border-inline-start border-inline-end border-block-start border-block-end',
  'css-border-inline-block-longhand': 'border-inline-start-color border-block-start-color border-inline-start-style border-block-start-style border-inline-start-width border-block-start-width border-inline-end-color border-block-end-color border-inline-end-style border-block-end-style border-inline-end-width border-block-end-width',
  'css-border-inline-block': 'border-inline border-block',
  'css-border-radius-logical': 'border-start-start-radius border-start-end-radius border-end-start-radius border-end-end-radius',
  'css-border-radius': 'border-radius border-top-left-radius border-top-right-radius border-bottom-left-radius border-bottom-right-radius',
  'css-border-spacing': 'border-spacing',
  'css-border': 'border border-width border-style border-color border-top border-bottom border-left border-right border-top-width border-top-style border-top-color border-bottom-width border-bottom-style border-bottom-color border-left-width border-left-style border-left-color border-right-width border-right-style border-right-color',
  'css-box-shadow': 'box-shadow',
  'css-box-sizing': 'box-sizing',
  'css-caption-side': 'caption-side',
  'css-clear': 'clear',
  'css-clip-path': 'clip-path',
  'css-color-scheme': 'color-scheme',
  'css-column-count': 'column-count',
  'css-column-layout-properties': 'columns column-count column-fill column-gap column-rule column-rule-color column-rule-style column-rule-width column-span column-width',
  'css-cursor': 'cursor',
  'css-direction': 'direction',
  'css-display': 'display',
  'css-empty-cells': 'empty-cells',
  'css-filter': 'filter',
  'css-float': 'float',
  'css-font-kerning': 'font-kerning',
  'css-font-size': 'font-size',
  'css-font-stretch': 'font-stretch',
  'css-font-weight': 'font-weight',
  'css-font': 'font',
  'css-gap': 'gap column-gap row-gap grid-gap grid-column-gap grid-row-gap',
  'css-grid-template': 'grid-template grid-template-areas grid-template-columns grid-template-rows',
  'css-height': 'height',
  'css-hyphenate-character': 'hyphenate-character -webkit-hyphenate-character',
  'css-hyphenate-limit-chars': 'hyphenate-limit-chars',
  'css-hyphens': 'hyphens -webkit-hyphens',
  'css-inline-size': 'inline-size',
  'css-inset': 'inset inset-block inset-inline inset-inline-start inset-inline-end inset-block-start inset-block-end',
  'css-justify-content': 'justify-content',
  'css-left-right-top-bottom': 'left right top bottom',
  'css-letter-spacing': 'letter-spacing',
  'css-line-height': 'line-height',
  'css-list-style-image': 'list-style-image',
  'css-list-style-position': 'list-style-position',
  'css-list-style-type': 'list-style-type',
  'css-list-style': 'list-style',
  'css-margin-block-start-end': 'margin-block-start margin-block-end',
  'css-margin-inline-block': 'margin-inline margin-block',
  'css-margin-inline-start-end': 'margin-inline-start margin-inline-end',
  'css-margin': 'margin margin-left margin-right margin-top margin-bottom',
  'css-mask-image': 'mask-image -webkit-mask-image',
  'css-max-block-size': 'max-block-size',
  'css-max-height': 'max-height',
  'css-max-inline-size': 'max-inline-size',
  'css-max-width': 'max-width',
  'css-min-block-size': 'min-block-size',
  'css-min-height': 'min-height',
  'css-min-inline-size': 'min-inline-size',
  'css-min-width': 'min-width',
  'css-mix-blend-mode': 'mix-blend-mode',
  'css-object-fit': 'object-fit',
  'css-object-position': 'object-position',
  'css-opacity': 'opacity',
  'css-orphans': 'orphans',
  'css-outline-offset': 'outline-offset',
  'css-outline': 'outline outline-width outline-style outline-color',
  'css-overflow-wrap': 'overflow-wrap',
  'css-overflow': 'overflow overflow-x overflow-y overflow-block overflow-inline',
  'css-padding-block-start-end': 'padding-block-start padding-block-end',
  'css-padding-inline-block': 'padding-inline padding-block',
  'css-padding-inline-start-end': 'padding-inline-start padding-inline-end',
  'css-padding': 'padding padding-left padding-right padding-top padding-bottom',
  'css-position': 'position',
  'css-resize': 'resize',
  'css-scroll-snap': 'scroll-snap-type scroll-snap-align scroll-snap-stop',
  'css-shape-margin': 'shape-margin',
  'css-shape-outside': 'shape-outside',
  'css-tab-size': 'tab-size',
  'css-table-layout': 'table-layout',
  'css-text-align-last': 'text-align-last',
  'css-text-align': 'text-align',
  'css-text-decoration-color': 'text-decoration-color',
  'css-text-decoration-line': 'text-decoration-line',
  'css-text-decoration-skip-ink': 'text-decoration-skip-ink',
  'css-text-decoration-style': 'text-decoration-style',
  'css-text-decoration-thickness': 'text-decoration-thickness',
  'css-text-decoration': 'text-decoration',
  'css-text-emphasis-position': 'text-emphasis-position',
  'css-text-emphasis': 'text-emphasis text-emphasis-style text-emphasis-color',
  'css-text-indent': 'text-indent',
  'css-text-justify': 'text-justify',
  'css-text-orientation': 'text-orientation',
  'css-text-overflow': 'text-overflow',
  'css-text-shadow': 'text-shadow',
  'css-text-transform': 'text-transform',
  'css-text-underline-offset': 'text-underline-offset',
  'css-text-underline-position': 'text-underline-position',
  'css-text-wrap': 'text-wrap',
  'css-transform': 'transform transform-origin',
  'css-transition': 'transition transition-property transition-duration transition-delay transition-timing-function',
  'css-user-select': 'user-select -webkit-user-select',
  'css-vertical-align': 'vertical-align',
  'css-visibility': 'visibility',
  'css-white-space-collapse': 'white-space-collapse',
  'css-white-space': 'white-space',
  'css-widows': 'widows',
  'css-width': 'width',
  'css-word-break': 'word-break',
  'css-word-spacing': 'word-spacing',
  'css-word-wrap': 'word-wrap',
  'css-writing-mode': 'writing-mode',
  'css-z-index': 'z-index',
})) {
  addProperty(slug, ...list(props));
}

/** `property:value` pairs caniemail tests on their own. */
const PROPERTY_VALUES: Record<string, Record<string, string>> = {
  display: { flex: 'css-display-flex', 'inline-flex': 'css-display-flex', grid: 'css-display-grid', 'inline-grid': 'css-display-grid', none: 'css-display-none' },
  'flex-direction': { column: 'css-flex-direction', 'column-reverse': 'css-flex-direction' },
  'flex-wrap': { wrap: 'css-flex-wrap', 'wrap-reverse': 'css-flex-wrap' },
};

/** Functions in values: `name(` -> feature. */
const FUNCTIONS: Record<string, string> = {
  rgb: 'css-rgb',
  rgba: 'css-rgba',
  calc: 'css-unit-calc',
  min: 'css-function-min',
  max: 'css-function-max',
  clamp: 'css-function-clamp',
  'light-dark': 'css-function-light-dark',
  'linear-gradient': 'css-linear-gradient',
  'repeating-linear-gradient': 'css-linear-gradient',
  'radial-gradient': 'css-radial-gradient',
  'repeating-radial-gradient': 'css-radial-gradient',
  'conic-gradient': 'css-conic-gradient',
  'repeating-conic-gradient': 'css-conic-gradient',
  lch: 'css-modern-color',
  oklch: 'css-modern-color',
  lab: 'css-modern-color',
  oklab: 'css-modern-color',
  var: 'css-variables',
};

/** Keywords in values. */
const KEYWORDS: Record<string, string> = {
  initial: 'css-unit-initial',
  'fit-content': 'css-intrinsic-size',
  'min-content': 'css-intrinsic-size',
  'max-content': 'css-intrinsic-size',
  'system-ui': 'css-sytem-ui',
  'ui-serif': 'css-sytem-ui',
  'ui-sans-serif': 'css-sytem-ui',
  'ui-rounded': 'css-sytem-ui',
  'ui-monospace': 'css-sytem-ui',
};

const UNITS: Record<string, string> = Object.fromEntries(
  list('ch cm em ex in mm pc pt px rem vh vmax vmin vw').map((u) => [u, `css-unit-${u}`]),
);
UNITS['%'] = 'css-unit-percent';
/** A number and its unit, not inside a word or a hex colour (hex colours are blanked first). */
const UNIT_RE = /(?<![\w.-])[-+]?(?:\d+\.?\d*|\.\d+)(ch|cm|em|ex|in|mm|pc|pt|px|rem|vh|vmax|vmin|vw|%)(?![\w-])/gi;

const AT_RULES: Record<string, string> = {
  media: 'css-at-media',
  'font-face': 'css-at-font-face',
  import: 'css-at-import',
  keyframes: 'css-at-keyframes',
  '-webkit-keyframes': 'css-at-keyframes',
  supports: 'css-at-supports',
};

/** Media features in an @media prelude. */
const MEDIA_FEATURES: [RegExp, string][] = [
  [/\bprefers-color-scheme\b/i, 'css-at-media-prefers-color-scheme'],
  [/\bprefers-reduced-motion\b/i, 'css-at-media-prefers-reduced-motion'],
  [/\borientation\b/i, 'css-at-media-orientation'],
  [/\b(any-)?hover\b/i, 'css-at-media-hover'],
  [/device-pixel-ratio\b/i, 'css-at-media-device-pixel-ratio'],
];

/** Pseudo-classes and pseudo-elements (without colons). */
const PSEUDO: Record<string, string> = {
  active: 'css-pseudo-class-active',
  checked: 'css-pseudo-class-checked',
  'first-child': 'css-pseudo-class-first-child',
  'first-of-type': 'css-pseudo-class-first-of-type',
  focus: 'css-pseudo-class-focus',
  has: 'css-pseudo-class-has',
  hover: 'css-pseudo-class-hover',
  lang: 'css-pseudo-class-lang',
  'last-child': 'css-pseudo-class-last-child',
  'last-of-type': 'css-pseudo-class-last-of-type',
  link: 'css-pseudo-class-link',
  not: 'css-pseudo-class-not',
  'nth-child': 'css-pseudo-class-nth-child',
  'nth-last-child': 'css-pseudo-class-nth-last-child',
  'nth-last-of-type': 'css-pseudo-class-nth-last-of-type',
  'nth-of-type': 'css-pseudo-class-nth-of-type',
  'only-child': 'css-pseudo-class-only-child',
  'only-of-type': 'css-pseudo-class-only-of-type',
  target: 'css-pseudo-class-target',
  visited: 'css-pseudo-class-visited',
  after: 'css-pseudo-element-after',
  before: 'css-pseudo-element-before',
  'first-letter': 'css-pseudo-element-first-letter',
  'first-line': 'css-pseudo-element-first-line',
  marker: 'css-pseudo-element-marker',
  placeholder: 'css-pseudo-element-placeholder',
};

/** Elements -> feature. */
const ELEMENTS: Record<string, string> = {
  address: 'html-address',
  base: 'html-base',
  map: 'html-image-maps',
  area: 'html-image-maps',
  svg: 'html-svg',
  ul: 'html-lists',
  ol: 'html-lists',
  dl: 'html-lists',
};
for (const tag of list('abbr acronym audio bdi blockquote body code del dfn dialog div form hr img link marquee meter object p picture pre progress rp rt ruby select small span strike strong style table textarea video wbr')) {
  ELEMENTS[tag] = `html-${tag}`;
}
for (const h of list('h1 h2 h3 h4 h5 h6')) ELEMENTS[h] = 'html-h1-h6';
for (const tag of list('article aside details figcaption figure footer header main mark nav section summary time')) ELEMENTS[tag] = 'html-semantics';

/** Attributes -> feature, on any element. */
const ATTRIBUTES: Record<string, string> = { srcset: 'html-srcset', sizes: 'html-srcset', usemap: 'html-image-maps' };
for (const a of list('align aria-describedby aria-hidden aria-label aria-labelledby aria-live background cellpadding cellspacing dir height hidden lang popover required role target valign width')) {
  ATTRIBUTES[a] = `html-${a}`;
}
ATTRIBUTES.loading = 'html-loading-attribute';

/** `<input type>` and `<button type>` values caniemail tests. */
const INPUT_TYPES = new Set(list('checkbox hidden radio reset submit text'));
const BUTTON_TYPES = new Set(list('reset submit'));

/** Image formats by file extension (or data: URL type). */
const IMAGE_FORMATS: Record<string, string> = {
  png: 'image-png',
  apng: 'image-apng',
  jpg: 'image-jpg',
  jpeg: 'image-jpg',
  gif: 'image-gif',
  webp: 'image-webp',
  avif: 'image-avif',
  svg: 'image-svg',
  'svg+xml': 'image-svg',
  bmp: 'image-bmp',
  ico: 'image-ico',
  'x-icon': 'image-ico',
  tif: 'image-tiff',
  tiff: 'image-tiff',
  heic: 'image-heif',
  heif: 'image-heif',
  mp4: 'image-mp4',
};

/** Every slug the detector can report: a test checks each still exists in caniemail's data. */
export const DETECTED_SLUGS: ReadonlySet<string> = new Set([
  ...Object.values(PROPERTIES).flat(),
  ...Object.values(PROPERTY_VALUES).flatMap((v) => Object.values(v)),
  ...Object.values(FUNCTIONS),
  ...Object.values(KEYWORDS),
  ...Object.values(UNITS),
  ...Object.values(AT_RULES),
  ...MEDIA_FEATURES.map(([, s]) => s),
  ...Object.values(PSEUDO),
  ...Object.values(ELEMENTS),
  ...Object.values(ATTRIBUTES),
  ...Object.values(IMAGE_FORMATS),
  ...list('css-important css-variables css-comments css-nesting'),
  ...list('css-selector-adjacent-sibling css-selector-attribute css-selector-chaining css-selector-child css-selector-class css-selector-descendant css-selector-general-sibling css-selector-grouping css-selector-id css-selector-type css-selector-universal'),
  ...list('html-doctype html-comments html-anchor-links html-mailto-links html-meta-color-scheme amp image-base64'),
  ...[...INPUT_TYPES].map((t) => `html-input-${t}`),
  ...[...BUTTON_TYPES].map((t) => `html-button-${t}`),
]);

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
    s = s.replace(/::?[a-z-]+/gi, ':').replace(/\s*([>+~])\s*/g, '$1').trim();
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
function detectCached(html: string): Map<string, FeatureUse> {
  let hit = detected.get(html);
  if (!hit) {
    hit = detectFeatures(html);
    if (detected.size >= 4) detected.delete(detected.keys().next().value!);
    detected.set(html, hit);
  }
  return hit;
}

// ---------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------

export interface ClientSupportOptions {
  /**
   * Also report features that are only partly supported (caniemail's "a"), when no
   * client lacks them entirely. On by default: past the baseline, a partial result
   * usually is a real degradation (a GIF's first frame only, max-width ignored), and
   * caniemail's note, quoted in the message, says which part.
   */
  partial?: boolean;
}

const EXCERPT_MAX = 120;

/** A short excerpt of `html` at `offset`, starting at its tag or rule when that is close. */
export function excerptAt(html: string, offset: number, anchor = offset): string {
  // Far into a long tag or rule: keep the tag's name, then jump to the feature itself.
  const start = offset - anchor <= 50 ? anchor : offset;
  const lead = start > anchor ? `${/^<[\w-]+/.exec(html.slice(anchor, anchor + 40))?.[0] ?? ''} …` : '';
  const raw = html.slice(start, start + EXCERPT_MAX * 2).replace(/\s+/g, ' ');
  const room = EXCERPT_MAX - lead.length;
  return lead + (raw.length > room ? raw.slice(0, room - 1) + '…' : raw);
}

/** "Gmail (webmail, iOS)" for clients of one family; families joined with commas and "and". */
function clientList(clients: readonly EmailClient[]): string {
  const families = new Map<string, string[]>();
  for (const c of clients) {
    const [family, platform] = /^(.*?) \((.*)\)$/.exec(c.name)?.slice(1) ?? [c.name, ''];
    const platforms = families.get(family!) ?? [];
    if (platform) platforms.push(platform);
    families.set(family!, platforms);
  }
  const names = [...families].map(([family, platforms]) => (platforms.length ? `${family} (${platforms.join(', ')})` : family));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
}

/**
 * caniemail's notes are written for its site: keep the short ones (a long note is one
 * click away, at the URL we give), on one line, without Markdown links, each once with
 * the clients it is about.
 */
function shortNotes(support: readonly ClientSupport[]): string[] {
  const notes = new Map<string, EmailClient[]>();
  for (const s of support) {
    for (const n of s.notes) {
      const text = n.replace(/\[([^\]]+)\]\([^)]+\)/g, '$1').replace(/`/g, '').replace(/\s+/g, ' ').trim().replace(/\.$/, '');
      if (text && text.length <= 160) notes.set(text, [...(notes.get(text) ?? []), s.client]);
    }
  }
  return [...notes].slice(0, 2).map(([text, clients]) => `${clientList(clients)}: ${text}`);
}

/**
 * Features `html` uses that caniemail marks unsupported (or partly supported, see
 * `options.partial`) in Outlook for Windows, Gmail, Apple Mail or Yahoo, leaving out
 * every feature `baselineHtml` uses too (same caniemail slug): what our templates
 * already rely on is known and accepted. One warning per feature, at its first use,
 * in the order the email uses them.
 */
export function clientSupportFindings(html: string, baselineHtml: string, options: ClientSupportOptions = {}): Finding[] {
  const partial = options.partial ?? true;
  const baseline = detectCached(baselineHtml);
  const uses = [...detectFeatures(html).values()].filter((u) => !baseline.has(u.slug)).sort((a, b) => a.offset - b.offset);
  const findings: Finding[] = [];
  for (const use of uses) {
    const support = featureSupport(use.slug);
    if (!support) continue;
    const none = support.clients.filter((c) => c.level === 'n');
    const some = support.clients.filter((c) => c.level === 'a');
    if (!none.length && !(partial && some.length)) continue;
    const parts: string[] = [];
    if (none.length) parts.push(`not supported in ${clientList(none.map((c) => c.client))}`);
    if (some.length) parts.push(`${none.length ? 'only partly' : 'only partly supported'} in ${clientList(some.map((c) => c.client))}`);
    const notes = shortNotes([...none, ...some]);
    const url = `https://www.caniemail.com/features/${use.slug}/`;
    findings.push({
      rule: RULE_ID,
      severity: 'warning',
      message:
        `"${support.title.trim()}" is ${parts.join('; ')} (caniemail.com). ` +
        (notes.length ? `Notes: ${notes.join('; ')}. ` : '') +
        `Our templates do not use it: check the email in those clients, or do without it. ${url}`,
      where: { excerpt: excerptAt(html, use.offset, use.anchor) },
    });
  }
  return findings;
}

// ---------------------------------------------------------------------------
// The baseline: an issue with nothing in it, built by our own templates
// ---------------------------------------------------------------------------

/** Markdown using what the schema documents for editors: paragraphs, bold, italic, links (web and mailto), bullet lists. */
const MD = [
  'A paragraph with **bold** and *italic* words, a [link](https://example.org/) and an [email address](mailto:someone@example.org).',
  '- A bullet point\n- Another point\n  - A nested point',
].join('\n\n');
const IMAGE = { src: 'https://example.org/baseline.png', alt: 'An image', href: 'https://example.org/' };
const BUTTON = { label: 'Read more', href: 'https://example.org/' };

/**
 * One section of every kind, with every optional part filled in: what "our templates
 * use" is everything they can produce. A new section kind fails to compile here until
 * it is given a sample, so the baseline cannot fall behind the templates.
 */
const BASELINE_SECTIONS: { [K in (typeof SECTION_KINDS)[number]]: Record<string, unknown>[] } = {
  letter: [{ greeting: 'Dear colleagues,', body: MD, signature: { name: 'A Name', role: 'A role', image: { ...IMAGE, href: undefined } } }],
  contents: [{ heading: 'Contents' }],
  article: [
    { id: 'article', heading: 'Article', contents: 'Article', subheading: 'Subheading', body: MD, image: IMAGE, buttons: [BUTTON, BUTTON], closing: MD },
    { heading: 'Plain article', body: MD },
  ],
  tiles: [{ heading: 'Tiles', contents: 'Tiles', intro: MD, tiles: [1, 2, 3, 4].map((n) => ({ label: `Tile ${n}`, href: 'https://example.org/' })), closing: MD }],
  excerpt: [{ image: IMAGE, title: 'A document', body: MD }],
  event: [{ date: 'Thursday, 10 July', title: 'An event', description: MD, price: 'Free', when: 'Jul 10 - 14:00 BST', start: '2025-07-10T14:00', end: '2025-07-10T15:30', button: BUTTON }],
  partners: [{ heading: 'Partners', contents: 'Partners', intro: MD, cards: [{ image: IMAGE, body: MD }, { body: MD }] }],
  notice: [{ heading: 'Notice', contents: 'Notice', body: MD }],
  footer: [{ thanks: 'THANKS FOR READING!', follow: 'FOLLOW US' }],
};

/** The baseline issue: a header and every section kind (validated, so schema defaults apply). */
export function baselineIssue(): Issue {
  const order = ['letter', 'contents', ...SECTION_KINDS.filter((k) => k !== 'letter' && k !== 'contents' && k !== 'footer'), 'footer'] as const;
  return IssueSchema.parse({
    title: 'Baseline',
    masthead: 'BASELINE',
    label: 'Baseline ISSUE',
    date: '2025-01-01',
    subject: 'Baseline',
    preheader: 'What our own templates use',
    sections: order.flatMap((kind) => BASELINE_SECTIONS[kind].map((s) => ({ kind, ...s }))),
  });
}

export interface BaselineOptions {
  /** The templates folder. @default `<root>/templates` */
  templatesDir?: string;
  /** The config to build with (the build's own, so brand, footer and social links match). @default loaded from `configFile` */
  config?: Config;
  /** @default `<root>/newsletter.config.yaml`; not read when `config` is given */
  configFile?: string;
}

/**
 * Compiled baselines, by the MJML they were compiled from: compiling is the slow part
 * (MJML and juice, ~0.1 s), rendering the templates is not. Keyed by content, not by
 * folder, so a template edited in a long-running process (preview) is picked up.
 */
const baselines = new Map<string, Promise<string>>();

/**
 * The email HTML our templates and config make for the baseline issue: the same steps
 * as buildIssue (render, compile, inline, minify), nothing written. Needs the project
 * folder only to find `templates/` and the config; it never depends on process.cwd()
 * when `root` is given.
 */
export async function baselineHtml(root: string, options: BaselineOptions = {}): Promise<string> {
  const dir = path.resolve(root, options.templatesDir ?? 'templates');
  const [config, templates] = await Promise.all([
    options.config ?? loadConfig(path.resolve(root, options.configFile ?? CONFIG_FILE), root),
    loadTemplates(dir, SECTION_KINDS, root),
  ]);
  const rendered = renderMjml(baselineIssue(), config, templates);
  const key = `${rendered.mjml}\0${rendered.inlineCss}`;
  let html = baselines.get(key);
  if (!html) {
    html = compileMjml(rendered).then((compiled) => minifyHtml(inlineCss(compiled, rendered.inlineCss)));
    html.catch(() => baselines.delete(key));
    if (baselines.size >= 4) baselines.delete(baselines.keys().next().value!);
    baselines.set(key, html);
  }
  return html;
}

export interface ClientSupportRuleOptions extends ClientSupportOptions {
  /** The project folder (templates/ and the config). @default process.cwd() when the rule runs, like buildIssue */
  root?: string;
  /** The templates folder, as buildIssue's `templatesDir`. @default `<root>/templates` */
  templatesDir?: string;
}

/**
 * The rule, for a project folder. The baseline is built with the build's own config
 * (ctx.config) and `templatesDir`: wire it from buildIssue as
 * `makeClientSupportRule({ root, templatesDir: options.templatesDir })`.
 */
export function makeClientSupportRule(options: ClientSupportRuleOptions = {}): Rule {
  return {
    id: RULE_ID,
    description: "HTML and CSS that Outlook, Gmail, Apple Mail or Yahoo do not support (caniemail.com's data), beyond what our templates already use",
    async run(ctx) {
      const root = path.resolve(options.root ?? process.cwd());
      const base = await baselineHtml(root, { templatesDir: options.templatesDir, config: ctx.config });
      return clientSupportFindings(ctx.html, base, options);
    },
  };
}

/** The rule with default options: the project in process.cwd(). Prefer makeClientSupportRule({ root }). */
export const clientSupportRule: Rule = makeClientSupportRule();
