/**
 * Readability: body text at least 14px, and text/background contrast at least
 * 4.5:1 (3:1 for large text: 24px, or 18.66px bold), per WCAG 2.2 AA, which UK
 * public-sector bodies must meet.
 *
 * Written by hand rather than with a library: the colours and sizes are in inline
 * styles (after juice) and `bgcolor` attributes, inherited down MJML's nested
 * tables, which browser-free checkers (html-validate, axe without a browser) do not
 * compute. We walk the DOM once with htmlparser2, carrying the inherited font size,
 * weight, colour and background. Ignored, as a reader never sees them: anything
 * under display:none (the hidden preheader), and text inside MJML's font-size 0/1px
 * spacers.
 */
import { parseDocument } from 'htmlparser2';
import type { ChildNode, Element } from 'domhandler';
import type { CheckContext, Finding, Rule } from './types.js';

export const MIN_FONT_PX = 14;
export const MIN_CONTRAST = 4.5;
export const MIN_CONTRAST_LARGE = 3;

type Rgb = [number, number, number];

const NAMED: Record<string, Rgb> = {
  white: [255, 255, 255],
  black: [0, 0, 0],
  red: [255, 0, 0],
  green: [0, 128, 0],
  blue: [0, 0, 255],
  gray: [128, 128, 128],
  grey: [128, 128, 128],
  silver: [192, 192, 192],
  navy: [0, 0, 128],
  yellow: [255, 255, 0],
};

/** A CSS colour (hex, rgb(), a few names); undefined for transparent or unknown. */
export function parseColour(value: string | undefined): Rgb | undefined {
  if (!value) return undefined;
  const v = value
    .trim()
    .toLowerCase()
    .replace(/\s*!important$/, '');
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})\b/.exec(v)?.[1];
  if (hex) {
    const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
    return [0, 2, 4].map((i) => parseInt(full.slice(i, i + 2), 16)) as Rgb;
  }
  const rgb = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)(?:[\s,/]+([\d.]+%?))?\s*\)/.exec(v);
  if (rgb) {
    if (rgb[4] !== undefined && parseFloat(rgb[4]) === 0) return undefined;
    return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  }
  return NAMED[v];
}

/** WCAG relative luminance. */
function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio, 1 to 21. */
export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

const hex = (c: Rgb) => `#${c.map((n) => n.toString(16).padStart(2, '0')).join('')}`;

interface State {
  px: number;
  bold: boolean;
  colour: Rgb;
  background: Rgb;
}

function styleOf(el: Element): Map<string, string> {
  const map = new Map<string, string>();
  for (const decl of (el.attribs.style ?? '').split(';')) {
    const i = decl.indexOf(':');
    if (i > 0) map.set(decl.slice(0, i).trim().toLowerCase(), decl.slice(i + 1).trim());
  }
  return map;
}

function fontPx(value: string | undefined, parent: number): number | undefined {
  if (!value) return undefined;
  const m = /^([\d.]+)(px|pt|em|rem|%)?/.exec(value.trim().toLowerCase());
  if (!m) return undefined;
  const n = parseFloat(m[1]!);
  switch (m[2]) {
    case 'pt':
      return (n * 4) / 3;
    case 'em':
      return n * parent;
    case 'rem':
      return n * 16;
    case '%':
      return (n / 100) * parent;
    default:
      return n;
  }
}

const HEADING_EM: Record<string, number> = { h1: 2, h2: 1.5, h3: 1.17, h4: 1, h5: 0.83, h6: 0.67 };
const LINK_BLUE: Rgb = [0, 0, 238];

function hidden(style: Map<string, string>): boolean {
  return (
    /^none\b/.test(style.get('display') ?? '') ||
    /^hidden\b/.test(style.get('visibility') ?? '') ||
    style.get('opacity')?.trim() === '0' ||
    (/^0(px)?$/.test(style.get('max-height') ?? '') && /hidden/.test(style.get('overflow') ?? ''))
  );
}

export interface TextSample {
  text: string;
  px: number;
  bold: boolean;
  colour: Rgb;
  background: Rgb;
}

/** Every visible run of text with the size, weight and colours it is shown in. */
export function textSamples(html: string): TextSample[] {
  const samples: TextSample[] = [];
  const walk = (nodes: ChildNode[], state: State) => {
    for (const node of nodes) {
      if (node.type === 'text') {
        const text = node.data.replace(/&nbsp;|\s+/g, ' ').trim();
        // Text in a 0/1px box is MJML's spacer trick (or a hiding trick), never read.
        if (text && state.px > 1) samples.push({ text, ...state });
        continue;
      }
      if (node.type !== 'tag' && node.type !== 'script' && node.type !== 'style') continue;
      const el = node as Element;
      const name = el.name.toLowerCase();
      if (['head', 'style', 'script', 'title'].includes(name)) continue;
      const style = styleOf(el);
      if (hidden(style)) continue;
      const next: State = { ...state };
      const size = fontPx(style.get('font-size'), state.px) ?? (HEADING_EM[name] ? HEADING_EM[name]! * state.px : undefined);
      if (size !== undefined) next.px = size;
      const weight = style.get('font-weight');
      if (weight) next.bold = /bold|[6-9]00/.test(weight);
      else if (HEADING_EM[name] || name === 'strong' || name === 'b') next.bold = true;
      const colour = parseColour(style.get('color')) ?? (name === 'a' ? LINK_BLUE : undefined);
      if (colour) next.colour = colour;
      const background =
        parseColour(style.get('background-color')) ?? parseColour(style.get('background')?.split(/\s+(?![^(]*\))/)[0]) ?? parseColour(el.attribs.bgcolor);
      if (background) next.background = background;
      walk(el.children, next);
    }
  };
  const doc = parseDocument(html, { decodeEntities: true });
  walk(doc.children, { px: 16, bold: false, colour: [0, 0, 0], background: [255, 255, 255] });
  return samples;
}

const short = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s);

export const readabilityRule: Rule = {
  id: 'readability',
  description: `text is at least ${MIN_FONT_PX}px, and contrasts with its background (WCAG AA)`,
  run(ctx: CheckContext): Finding[] {
    const findings: Finding[] = [];
    const small = new Map<number, TextSample[]>();
    const low = new Map<string, { s: TextSample[]; ratio: number; need: number }>();
    for (const s of textSamples(ctx.html)) {
      if (s.px < MIN_FONT_PX - 0.01) small.set(s.px, [...(small.get(s.px) ?? []), s]);
      const large = s.px >= 24 || (s.bold && s.px >= 18.66);
      const need = large ? MIN_CONTRAST_LARGE : MIN_CONTRAST;
      const ratio = contrast(s.colour, s.background);
      if (ratio < need) {
        const key = `${hex(s.colour)} on ${hex(s.background)}`;
        const entry = low.get(key) ?? { s: [], ratio, need };
        entry.s.push(s);
        low.set(key, entry);
      }
    }
    for (const [px, list] of small) {
      findings.push({
        rule: 'readability',
        severity: 'warning',
        message: `${list.length} piece${list.length === 1 ? '' : 's'} of text at ${+px.toFixed(1)}px, under ${MIN_FONT_PX}px: hard to read on a phone. First: "${short(list[0]!.text)}"`,
        where: { excerpt: short(list[0]!.text) },
      });
    }
    // Name the config colours involved, so the fix is obvious ("accent", not "#7fd3cf").
    const names = new Map<string, string>([['#ffffff', 'white']]);
    for (const [name, value] of Object.entries(ctx.config.brand.colours)) names.set(value.toLowerCase(), `brand.colours.${name}`);
    const label = (c: Rgb) => (names.has(hex(c)) ? `${hex(c)} (${names.get(hex(c))})` : hex(c));
    for (const { s, ratio, need } of low.values()) {
      const first = s[0]!;
      const darker = luminance(first.colour) < luminance(first.background) ? 'text' : 'background';
      findings.push({
        rule: 'readability',
        severity: 'error',
        message: `text ${label(first.colour)} on ${label(first.background)} has a contrast of ${ratio.toFixed(2)}:1, under ${need}:1 (WCAG AA), in ${s.length} place${s.length === 1 ? '' : 's'}, first "${short(first.text)}": make the ${darker} colour darker or the other lighter, in newsletter.config.yaml`,
        where: { file: 'newsletter.config.yaml', path: 'brand.colours', excerpt: short(s[0]!.text) },
      });
    }
    findings.push(...darkPaletteFindings(ctx.config.brand.dark));
    return findings;
  },
};

/**
 * Where each colour of the dark palette is drawn on which (templates/head.css.hbs): the
 * HTML carries only the light colours inline, so the dark ones are checked from the
 * config. Headings include 18px h3s, so they need 4.5:1 too. The browser pass's axe-core
 * run in dark mode checks the same as painted.
 */
const DARK_PAIRS: readonly [fg: keyof DarkPalette, bg: keyof DarkPalette, what: string][] = [
  ['text', 'section', 'body text'],
  ['text', 'panel', 'text in tiles, cards and quotes'],
  ['heading', 'section', 'headings'],
  ['link', 'section', 'links'],
  ['link', 'panel', 'tile links'],
  ['muted', 'section', 'roles, dates and the footer'],
  ['link', 'background', '"View in your browser"'],
];

type DarkPalette = CheckContext['config']['brand']['dark'];

export function darkPaletteFindings(dark: DarkPalette): Finding[] {
  const findings: Finding[] = [];
  for (const [fg, bg, what] of DARK_PAIRS) {
    const [a, b] = [parseColour(dark[fg]), parseColour(dark[bg])];
    if (!a || !b) continue;
    const ratio = contrast(a, b);
    if (ratio >= MIN_CONTRAST) continue;
    findings.push({
      rule: 'readability',
      severity: 'error',
      message: `in dark mode, ${what} (brand.dark.${fg}, ${dark[fg]}) on brand.dark.${bg} (${dark[bg]}) has a contrast of ${ratio.toFixed(2)}:1, under ${MIN_CONTRAST}:1 (WCAG AA): make brand.dark.${fg} lighter or brand.dark.${bg} darker, in newsletter.config.yaml`,
      where: { file: 'newsletter.config.yaml', path: `brand.dark.${fg}` },
    });
  }
  return findings;
}
