/**
 * Markdown for issue content, rendered to HTML with the one markdown-it instance
 * configured for email (issue/markdown-links.ts: raw HTML escaped, no typographic
 * replacements, no Markdown images).
 */
import { issueMarkdown as md } from '../issue/markdown-links.js';
import { memoByText } from '../memo.js';

// The Markdown dialect and its link helpers live in issue/ (loading an issue reads its links too).
export { markdownLinks, safeDecode, type MarkdownLink } from '../issue/markdown-links.js';
export { hasForbiddenScheme } from '../issue/fields.js';

/** The host of an address, without "www.", lower case; a bare "liia.london" counts too. */
export function hostOf(address: string): string | undefined {
  try {
    return new URL(/^[a-z]+:\/\//i.test(address) ? address : `https://${address}`).hostname.replace(/^www\./, '').toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * A paragraph or list item that is one link and nothing else (bar a marker such as
 * "▶" or "📌", or punctuation): a link that stands alone, which a finger must hit.
 * Links in a sentence are left alone (WCAG 2.5.8 exempts them).
 */
const STANDALONE = /(<(p|li)>)([^\p{L}\p{N}<]*)<a (href="[^"]*")>((?:(?!<\/?a\b)[\s\S])*)<\/a>([^\p{L}\p{N}<]*)(?=<\/\2>)/gu;

/** Markdown to an HTML fragment, on one line (so MJML line numbers map back to partials). */
export const renderMarkdown = memoByText((source: string): string => {
  return (
    md
      .render(source)
      .replace(/\n+/g, ' ')
      .trim()
      // class "tap" (email.css) pads a standalone link to 48px tall.
      .replace(STANDALONE, '$1$3<a class="tap" $4>$5</a>$6')
  );
});
