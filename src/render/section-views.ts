/**
 * View models: what each section partial receives. The logic lives here (Markdown
 * to HTML, anchors, the contents list, tile rows, image widths), so partials stay
 * declarative. Every field a partial may name is present, so Handlebars' strict
 * mode can tell a misspelt field from an empty one.
 */
import type { Config } from '../config.js';
import type { ImageData, Issue, IssueSection, SectionKind, SectionOf } from '../issue/schema.js';
import type { Assets } from '../issue/load-assets.js';
import { renderMarkdown } from './markdown.js';

/** Content width inside the 600px body, less 24px padding each side. */
export const CONTENT_WIDTH = 552;
/** Default width of an image beside text (covers, partner newsletters). */
const SIDE_IMAGE_WIDTH = 180;

export interface ImageView extends ImageData {
  width: number;
  /** Known for local images (their file is read): lets Outlook keep the space while images are blocked. */
  height: number | undefined;
  href?: string;
}

/**
 * What a partial shows of an image. A local image gets its web address, and its
 * width from its file when the issue gives none (never wider than the space, never
 * blown up past its own pixels), with the height that keeps its shape.
 */
function imageView(image: ImageData | undefined, defaultWidth: number, assets: Assets): ImageView | undefined {
  if (!image) return undefined;
  const asset = assets.get(image.src);
  if (!asset) return { src: image.src, alt: image.alt, width: image.width ?? defaultWidth, height: undefined, href: image.href };
  const width = image.width ?? Math.min(asset.width, defaultWidth);
  return { src: asset.url, alt: image.alt, width, height: Math.round((asset.height * width) / asset.width), href: image.href };
}

/**
 * Widths of a picture column and the text column beside it (hybrid, "fluid" columns):
 * each is width:100% up to its max-width, so at 600px they sit side by side and on a
 * phone they wrap to full width by themselves, with or without <style>. The picture
 * column carries the 16px gap; one pixel is kept spare so rounding never wraps them.
 */
export function sideColumns(image: { width: number } | undefined): { pic: number; text: number } | undefined {
  if (!image) return undefined;
  const pic = Math.min(image.width + 16, CONTENT_WIDTH - 250);
  return { pic, text: CONTENT_WIDTH - pic - 1 };
}

const optionalMarkdown = (s: string | undefined) => (s ? renderMarkdown(s) : undefined);

/** A URL-safe anchor from a heading: "Practice Spotlight at ALDCS 2025" -> "practice-spotlight-at-aldcs-2025". */
export function slugify(text: string): string {
  return (
    text
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 48) || 'section'
  );
}

/** Anchor ids for every section that has a heading (tiles and events may have none), unique within the issue. */
export function sectionIds(sections: readonly IssueSection[]): (string | undefined)[] {
  const used = new Set<string>();
  return sections.map((s) => {
    if (!('heading' in s) || s.heading === undefined) return undefined;
    const base = ('id' in s && s.id) || slugify(s.heading);
    let id = base;
    for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
    used.add(id);
    return id;
  });
}

type ViewBuilder<K extends SectionKind> = (section: SectionOf<K>, ctx: ViewContext) => object;

export interface ViewContext {
  issue: Issue;
  config: Config;
  /** The issue's slug (dist/<slug>/). */
  slug: string;
  /** The section's position in the issue. */
  index: number;
  /** This section's anchor id. */
  id: string | undefined;
  /** Entries of the contents list: sections after this one that have a `contents` label. */
  contentsAfter: { id: string; label: string }[];
  /** The issue's local images, by src as written. */
  assets: Assets;
}

const builders: { [K in SectionKind]: ViewBuilder<K> } = {
  letter: (s, ctx) => {
    const image = imageView(s.signature.image, 120, ctx.assets);
    return { greeting: s.greeting, body: renderMarkdown(s.body), signature: { ...s.signature, image }, cols: sideColumns(image) };
  },
  contents: (s, ctx) => ({ heading: s.heading, items: ctx.contentsAfter }),
  article: (s, ctx) => ({
    id: ctx.id,
    heading: s.heading,
    subheading: s.subheading,
    body: renderMarkdown(s.body),
    image: imageView(s.image, CONTENT_WIDTH, ctx.assets),
    buttons: s.buttons ?? [],
    closing: optionalMarkdown(s.closing),
  }),
  tiles: (s, ctx) => {
    const width = Math.floor(100 / s.columns);
    const rows: { label: string; href: string; width: number }[][] = [];
    s.tiles.forEach((t, i) => {
      if (i % s.columns === 0) rows.push([]);
      rows[rows.length - 1]!.push({ label: s.numbered ? `${i + 1}. ${t.label}` : t.label, href: t.href, width });
    });
    return { id: ctx.id, heading: s.heading, intro: optionalMarkdown(s.intro), columns: s.columns, width, rows, closing: optionalMarkdown(s.closing) };
  },
  excerpt: (s, ctx) => {
    const image = imageView(s.image, SIDE_IMAGE_WIDTH, ctx.assets);
    return { image, cols: sideColumns(image), title: s.title, body: renderMarkdown(s.body) };
  },
  quote: (s) => ({ quotation: renderMarkdown(s.quotation), attribution: s.attribution, role: s.role }),
  event: (s, ctx) => ({
    // A heading starts a group (the band above it); the events after it without one sit under it.
    id: ctx.id,
    heading: s.heading,
    // "Add to calendar" needs the .ics on the web: only when config says where dist/ is published.
    calendarHref:
      s.start && ctx.config.archiveBaseUrl ? `${ctx.config.archiveBaseUrl}/${ctx.slug}/${eventFileName(s, ctx.index, ctx.issue.sections)}` : undefined,
    date: s.date,
    title: s.title,
    description: renderMarkdown(s.description),
    price: s.price,
    when: s.when,
    button: s.button,
  }),
  partners: (s, ctx) => ({
    id: ctx.id,
    heading: s.heading,
    intro: optionalMarkdown(s.intro),
    cards: s.cards.map((c) => {
      const image = imageView(c.image, SIDE_IMAGE_WIDTH, ctx.assets);
      return { image, cols: sideColumns(image), body: renderMarkdown(c.body) };
    }),
  }),
  notice: (s, ctx) => ({ id: ctx.id, heading: s.heading, body: renderMarkdown(s.body) }),
  footer: (s, ctx) => ({
    thanks: s.thanks,
    follow: s.follow,
    social: ctx.config.social,
    postalAddress: ctx.config.postalAddress,
    unsubscribeAddress: ctx.config.unsubscribe.mailto,
    // The visible link goes where List-Unsubscribe's first choice goes: the web page when there is one.
    unsubscribeHref: ctx.config.unsubscribe.url ?? `mailto:${ctx.config.unsubscribe.mailto}?subject=Unsubscribe`,
    unsubscribeUrl: ctx.config.unsubscribe.url,
  }),
};

/** Words a shortened title does not end on ("...-framework-in" reads as cut off). */
const TRAILING_SMALL_WORDS = new Set(['a', 'an', 'and', 'at', 'by', 'for', 'from', 'in', 'of', 'on', 'or', 'the', 'to', 'with']);

/** An event's name without its place in the issue: start date and title, "2025-07-10-applying-the-child-first-framework". */
function eventStem(event: SectionOf<'event'>): string {
  // The title cut at a word within 40 characters, not ending on a small word.
  const words = /[a-z0-9]/i.test(event.title.normalize('NFKD')) ? slugify(event.title).split('-') : ['event'];
  const kept = [words[0]!.slice(0, 40)];
  for (const w of words.slice(1)) {
    if (kept.join('-').length + 1 + w.length > 40) break;
    kept.push(w);
  }
  while (kept.length > 1 && TRAILING_SMALL_WORDS.has(kept[kept.length - 1]!)) kept.pop();
  const date = event.start?.slice(0, 10);
  return date ? `${date}-${kept.join('-')}` : kept.join('-');
}

/**
 * The file name of an event's calendar invite, from its start date and title only, so it
 * stays the same when sections are added or moved: `2025-07-10-applying-the-child-first-framework.ics`.
 * A second event of the same date and title in `sections` (the issue's) gets `-2`, a third `-3`...
 */
export function eventFileName(event: SectionOf<'event'>, index: number, sections: readonly IssueSection[]): string {
  // Named in issue order, each taking the first name not already taken. Only events with a start time have an invite.
  const earlier = sections.slice(0, index).filter((s): s is SectionOf<'event'> => s.kind === 'event' && Boolean(s.start));
  const used = new Set<string>();
  const take = (e: SectionOf<'event'>) => {
    const stem = eventStem(e);
    let name = stem;
    for (let n = 2; used.has(name); n++) name = `${stem}-${n}`;
    used.add(name);
    return `${name}.ics`;
  };
  for (const e of earlier) take(e);
  return take(event);
}

/** The view model of every section, in order. */
export function sectionViews(issue: Issue, config: Config, slug: string, assets: Assets = new Map()): { kind: SectionKind; view: object }[] {
  const ids = sectionIds(issue.sections);
  return issue.sections.map((section, i) => {
    const contentsAfter = issue.sections.flatMap((s, j) => (j > i && 'contents' in s && s.contents && ids[j] ? [{ id: ids[j]!, label: s.contents }] : []));
    const build = builders[section.kind] as ViewBuilder<typeof section.kind>;
    return { kind: section.kind, view: build(section, { issue, config, slug, index: i, id: ids[i], contentsAfter, assets }) };
  });
}
