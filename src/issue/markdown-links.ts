/**
 * The Markdown of issue content, as one markdown-it instance configured for email:
 * raw HTML is escaped (an issue file can never break the email's markup), no
 * typographic replacements (the editors' words come out verbatim), no Markdown images
 * (images go through the schema, which requires alt text).
 *
 * Here, in the bottom layer, because loading an issue already reads its Markdown (to
 * refuse a `javascript:` link at its line) and the checks list its links; render/
 * renders with this same instance, so what is checked is what is rendered.
 */
import markdownIt from 'markdown-it';
import type { MarkdownIt } from 'markdown-it';
import { memoByText } from '../memo.js';

function createMarkdown(): MarkdownIt {
  const md = markdownIt({ html: false, linkify: false, typographer: false, breaks: false });
  md.disable(['image', 'table', 'code', 'fence', 'heading', 'lheading', 'hr', 'blockquote']);
  // Validation (load-issue.ts) has already rejected every link we would refuse, so let
  // markdown-it keep them all: a link it silently dropped would vanish from the email.
  md.validateLink = () => true;
  return md;
}

/** The one markdown-it instance for issue content (render/markdown.ts renders with it). */
export const issueMarkdown: MarkdownIt = createMarkdown();

/** A link found in Markdown: its target (as markdown-it normalised it) and its text. */
export interface MarkdownLink {
  href: string;
  text: string;
}

/** Every link in a Markdown text, for validation and reports (frozen: callers share it). */
export const markdownLinks = memoByText((source: string): readonly Readonly<MarkdownLink>[] => {
  const links: MarkdownLink[] = [];
  for (const block of issueMarkdown.parse(source, {})) {
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
  return Object.freeze(links.map((l) => Object.freeze(l)));
});

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
