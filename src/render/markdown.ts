/**
 * Markdown for issue content. One markdown-it instance, configured for email:
 * raw HTML is escaped (an issue file can never break the email's markup),
 * no typographic replacements (the editors' words come out verbatim), no
 * Markdown images (images go through the schema, which requires alt text).
 */
import markdownIt from 'markdown-it';
import type { MarkdownIt } from 'markdown-it';

export { hasForbiddenScheme } from '../issue/schema.js';

function createMarkdown(): MarkdownIt {
  const md = markdownIt({ html: false, linkify: false, typographer: false, breaks: false });
  md.disable(['image', 'table', 'code', 'fence', 'heading', 'lheading', 'hr', 'blockquote']);
  // Validation (load-issue.ts) has already rejected every link we would refuse, so let
  // markdown-it keep them all: a link it silently dropped would vanish from the email.
  md.validateLink = () => true;
  return md;
}

const md = createMarkdown();

/** A link found in Markdown: its target (as markdown-it normalised it) and its text. */
export interface MarkdownLink {
  href: string;
  text: string;
}

/** Every link in a Markdown text, for validation and reports. */
export function markdownLinks(source: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const block of md.parse(source, {})) {
    if (block.type !== 'inline' || !block.children) continue;
    let open: { href: string; text: string } | undefined;
    for (const t of block.children) {
      if (t.type === 'link_open') open = { href: String(t.attrGet('href') ?? ''), text: '' };
      else if (t.type === 'link_close' && open) {
        links.push(open);
        open = undefined;
      } else if (open) open.text += t.content;
    }
  }
  return links;
}

/**
 * markdown-it percent-encodes link targets ("Newsletter%20feedback"); decode them to
 * what the editor wrote, for messages and for finding the link in the source.
 */
export function safeDecode(href: string): string {
  try {
    return decodeURI(href);
  } catch {
    return href;
  }
}

/** The host of an address, without "www.", lower case; a bare "liia.london" counts too. */
export function hostOf(address: string): string | undefined {
  try {
    return new URL(/^[a-z]+:\/\//i.test(address) ? address : `https://${address}`).hostname.replace(/^www\./, '').toLowerCase();
  } catch {
    return undefined;
  }
}

/** Markdown to an HTML fragment, on one line (so MJML line numbers map back to partials). */
export function renderMarkdown(source: string): string {
  return md.render(source).replace(/\n+/g, ' ').trim();
}
