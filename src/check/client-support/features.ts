/**
 * What the detector (detect.ts) looks for: CSS properties, values, functions, units,
 * at-rules, selectors, HTML elements, attributes and image formats, each mapped to
 * the caniemail feature (its slug) that tests it. Tables only; no scanning here.
 */

/** Words of a space-separated list. */
export const list = (s: string) => s.split(/\s+/).filter(Boolean);

/** CSS property -> features. Longhands and sides count as their shorthand's feature, as caniemail tests them. */
export const PROPERTIES: Record<string, string[]> = {};
const addProperty = (slug: string, ...props: string[]) => {
  for (const p of props) (PROPERTIES[p] ??= []).includes(slug) || PROPERTIES[p]!.push(slug);
};
for (const [slug, props] of Object.entries({
  'css-accent-color': 'accent-color',
  'css-align-items': 'align-items',
  'css-animation':
    'animation animation-name animation-duration animation-delay animation-iteration-count animation-timing-function animation-direction animation-fill-mode animation-play-state',
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
  'css-border-inline-block-individual':
    'border-inline-color border-block-color border-inline-style border-block-style border-inline-width border-block-width border-inline-start border-inline-end border-block-start border-block-end',
  'css-border-inline-block-longhand':
    'border-inline-start-color border-block-start-color border-inline-start-style border-block-start-style border-inline-start-width border-block-start-width border-inline-end-color border-block-end-color border-inline-end-style border-block-end-style border-inline-end-width border-block-end-width',
  'css-border-inline-block': 'border-inline border-block',
  'css-border-radius-logical': 'border-start-start-radius border-start-end-radius border-end-start-radius border-end-end-radius',
  'css-border-radius': 'border-radius border-top-left-radius border-top-right-radius border-bottom-left-radius border-bottom-right-radius',
  'css-border-spacing': 'border-spacing',
  'css-border':
    'border border-width border-style border-color border-top border-bottom border-left border-right border-top-width border-top-style border-top-color border-bottom-width border-bottom-style border-bottom-color border-left-width border-left-style border-left-color border-right-width border-right-style border-right-color',
  'css-box-shadow': 'box-shadow',
  'css-box-sizing': 'box-sizing',
  'css-caption-side': 'caption-side',
  'css-clear': 'clear',
  'css-clip-path': 'clip-path',
  'css-color-scheme': 'color-scheme',
  'css-column-count': 'column-count',
  'css-column-layout-properties':
    'columns column-count column-fill column-gap column-rule column-rule-color column-rule-style column-rule-width column-span column-width',
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
export const PROPERTY_VALUES: Record<string, Record<string, string>> = {
  display: {
    flex: 'css-display-flex',
    'inline-flex': 'css-display-flex',
    grid: 'css-display-grid',
    'inline-grid': 'css-display-grid',
    none: 'css-display-none',
  },
  'flex-direction': { column: 'css-flex-direction', 'column-reverse': 'css-flex-direction' },
  'flex-wrap': { wrap: 'css-flex-wrap', 'wrap-reverse': 'css-flex-wrap' },
};

/** Functions in values: `name(` -> feature. */
export const FUNCTIONS: Record<string, string> = {
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
export const KEYWORDS: Record<string, string> = {
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

export const UNITS: Record<string, string> = Object.fromEntries(list('ch cm em ex in mm pc pt px rem vh vmax vmin vw').map((u) => [u, `css-unit-${u}`]));
UNITS['%'] = 'css-unit-percent';
/** A number and its unit, not inside a word or a hex colour (hex colours are blanked first). */
export const UNIT_RE = /(?<![\w.-])[-+]?(?:\d+\.?\d*|\.\d+)(ch|cm|em|ex|in|mm|pc|pt|px|rem|vh|vmax|vmin|vw|%)(?![\w-])/gi;

export const AT_RULES: Record<string, string> = {
  media: 'css-at-media',
  'font-face': 'css-at-font-face',
  import: 'css-at-import',
  keyframes: 'css-at-keyframes',
  '-webkit-keyframes': 'css-at-keyframes',
  supports: 'css-at-supports',
};

/** Media features in an @media prelude. */
export const MEDIA_FEATURES: [RegExp, string][] = [
  [/\bprefers-color-scheme\b/i, 'css-at-media-prefers-color-scheme'],
  [/\bprefers-reduced-motion\b/i, 'css-at-media-prefers-reduced-motion'],
  [/\borientation\b/i, 'css-at-media-orientation'],
  [/\b(any-)?hover\b/i, 'css-at-media-hover'],
  [/device-pixel-ratio\b/i, 'css-at-media-device-pixel-ratio'],
];

/** Pseudo-classes and pseudo-elements (without colons). */
export const PSEUDO: Record<string, string> = {
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
export const ELEMENTS: Record<string, string> = {
  address: 'html-address',
  base: 'html-base',
  map: 'html-image-maps',
  area: 'html-image-maps',
  svg: 'html-svg',
  ul: 'html-lists',
  ol: 'html-lists',
  dl: 'html-lists',
};
for (const tag of list(
  'abbr acronym audio bdi blockquote body code del dfn dialog div form hr img link marquee meter object p picture pre progress rp rt ruby select small span strike strong style table textarea video wbr',
)) {
  ELEMENTS[tag] = `html-${tag}`;
}
for (const h of list('h1 h2 h3 h4 h5 h6')) ELEMENTS[h] = 'html-h1-h6';
for (const tag of list('article aside details figcaption figure footer header main mark nav section summary time')) ELEMENTS[tag] = 'html-semantics';

/** Attributes -> feature, on any element. */
export const ATTRIBUTES: Record<string, string> = { srcset: 'html-srcset', sizes: 'html-srcset', usemap: 'html-image-maps' };
for (const a of list(
  'align aria-describedby aria-hidden aria-label aria-labelledby aria-live background cellpadding cellspacing dir height hidden lang popover required role target valign width',
)) {
  ATTRIBUTES[a] = `html-${a}`;
}
ATTRIBUTES.loading = 'html-loading-attribute';

/** `<input type>` and `<button type>` values caniemail tests. */
export const INPUT_TYPES = new Set(list('checkbox hidden radio reset submit text'));
export const BUTTON_TYPES = new Set(list('reset submit'));

/** Image formats by file extension (or data: URL type). */
export const IMAGE_FORMATS: Record<string, string> = {
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
  ...list(
    'css-selector-adjacent-sibling css-selector-attribute css-selector-chaining css-selector-child css-selector-class css-selector-descendant css-selector-general-sibling css-selector-grouping css-selector-id css-selector-type css-selector-universal',
  ),
  ...list('html-doctype html-comments html-anchor-links html-mailto-links html-meta-color-scheme amp image-base64'),
  ...[...INPUT_TYPES].map((t) => `html-input-${t}`),
  ...[...BUTTON_TYPES].map((t) => `html-button-${t}`),
]);
