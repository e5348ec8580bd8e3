/**
 * Every link and image of an issue, with where it is written: in the issue file
 * (with its YAML position) or in the config. The link and image rules, the report's
 * link list and the online link check all read this one list, so a finding points
 * at the line the editor has to change rather than at the compiled HTML; loading the
 * issue's local images (load-assets.ts) reads its images from it too.
 */
import { CONFIG_FILE, type Config } from '../config.js';
import type { LoadedIssue } from './load-issue.js';
import { markdownLinks, safeDecode } from './markdown-links.js';
import type { ImageData, Issue } from './schema.js';

/** Where a finding comes from: a place in a file (and field), or an excerpt of the HTML. */
export interface Where {
  /** File shown to the user, relative to the project: issues/july-2025.yaml */
  file?: string;
  line?: number;
  col?: number;
  /** Field path in the issue (or config) file: sections[4].image.alt */
  path?: string;
  /** A short excerpt of the HTML or text, when the problem is not in a file we own. */
  excerpt?: string;
}

export interface LinkEntry {
  href: string;
  /** The words the reader sees (for an image link, its alt text). */
  text: string;
  /** How the link is shown. */
  kind: 'text' | 'button' | 'image' | 'tile';
  where: Where;
}

export interface ImageEntry {
  image: ImageData;
  where: Where;
  /** The field path of the image (for pointing at its alt, src...). */
  path: (string | number)[];
}

const MARKDOWN_KEYS = ['body', 'closing', 'intro', 'description', 'quotation'] as const;

/** What the inventory reads: the issue, the config, and where the issue's fields are written. */
export interface InventoryInput {
  issue: Issue;
  config: Config;
  /** The issue file as shown to the user (relative path). */
  issueFile: string;
  locate: LoadedIssue['locate'];
  locateIn: LoadedIssue['locateIn'];
}
export type Inventory = { links: LinkEntry[]; images: ImageEntry[] };

// Several rules read the inventory of the same build: make it once per issue and config.
const made = new WeakMap<object, WeakMap<object, Inventory>>();

/** Links and images of the issue and the config, in reading order. */
export function inventory(ctx: InventoryInput): Inventory {
  let byConfig = made.get(ctx.issue);
  if (!byConfig) made.set(ctx.issue, (byConfig = new WeakMap()));
  let result = byConfig.get(ctx.config);
  if (!result) byConfig.set(ctx.config, (result = makeInventory(ctx)));
  return result;
}

function makeInventory(ctx: InventoryInput): Inventory {
  const links: LinkEntry[] = [];
  const images: ImageEntry[] = [];
  const at = (p: (string | number)[]): Where => ctx.locate(p) ?? { file: ctx.issueFile, path: pathText(p) };

  const markdown = (text: string | undefined, p: (string | number)[]) => {
    if (!text) return;
    const seen = new Map<string, number>();
    for (const l of markdownLinks(text)) {
      const href = safeDecode(l.href);
      const n = seen.get(href) ?? 0;
      seen.set(href, n + 1);
      // Point at the "(" of the target as written ("](https://...)"), whether markdown-it
      // percent-encoded it ("%20") or the editor did (decoded above).
      const found = [`](${href}`, `](${l.href}`, `](<${href}>`].reduce<Where | undefined>((w, needle) => w ?? ctx.locateIn(p, needle, n), undefined);
      const where = found?.col !== undefined ? { ...found, col: found.col + 1 } : href ? ctx.locateIn(p, href, n) : undefined;
      links.push({ href, text: l.text, kind: 'text', where: where ?? at(p) });
    }
  };
  const image = (img: ImageData | undefined, p: (string | number)[]) => {
    if (!img) return;
    images.push({ image: img, where: at([...p, 'src']), path: p });
    if (img.href !== undefined) links.push({ href: img.href, text: img.alt, kind: 'image', where: at([...p, 'href']) });
  };

  ctx.issue.sections.forEach((section, i) => {
    const p = ['sections', i];
    const s = section as Record<string, unknown>;
    for (const key of MARKDOWN_KEYS) markdown(s[key] as string | undefined, [...p, key]);
    switch (section.kind) {
      case 'letter':
        image(section.signature.image, [...p, 'signature', 'image']);
        break;
      case 'article':
        image(section.image, [...p, 'image']);
        section.buttons?.forEach((b, j) => {
          links.push({ href: b.href, text: b.label, kind: 'button', where: at([...p, 'buttons', j, 'href']) });
        });
        break;
      case 'tiles':
        section.tiles.forEach((t, j) => {
          links.push({ href: t.href, text: t.label, kind: 'tile', where: at([...p, 'tiles', j, 'href']) });
        });
        break;
      case 'excerpt':
        image(section.image, [...p, 'image']);
        break;
      case 'event':
        links.push({ href: section.button.href, text: section.button.label, kind: 'button', where: at([...p, 'button', 'href']) });
        break;
      case 'partners':
        section.cards.forEach((c, j) => {
          image(c.image, [...p, 'cards', j, 'image']);
          markdown(c.body, [...p, 'cards', j, 'body']);
        });
        break;
      default:
        break;
    }
  });

  // The config's links and logo appear in every issue.
  const cfg = (path: string): Where => ({ file: CONFIG_FILE, path });
  const config: Config = ctx.config;
  images.push({ image: { ...config.brand.logo, href: config.brand.website }, where: cfg('brand.logo.src'), path: [] });
  links.push({ href: config.brand.website, text: config.brand.logo.alt, kind: 'image', where: cfg('brand.website') });
  config.social.forEach((s, i) => {
    links.push({ href: s.href, text: s.label, kind: 'text', where: cfg(`social[${i}].href`) });
  });
  links.push({ href: `mailto:${config.unsubscribe.mailto}`, text: config.unsubscribe.mailto, kind: 'text', where: cfg('unsubscribe.mailto') });
  if (config.unsubscribe.url) links.push({ href: config.unsubscribe.url, text: 'unsubscribe online', kind: 'text', where: cfg('unsubscribe.url') });
  return { links, images };
}

function pathText(p: readonly (string | number)[]): string {
  return p.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : String(k)), '');
}
