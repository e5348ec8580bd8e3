/**
 * Stage 5: the plain-text alternative, from the final HTML. Headings stand out
 * (upper case, underlined), lists keep their bullets and nesting, every link
 * keeps its URL, images and layout tables leave nothing behind, lines wrap at 78.
 */
import { convert, type HtmlToTextOptions } from 'html-to-text';

/** Plain-text line width: 78, as RFC 5322 recommends. */
export const TEXT_WIDTH = 78;

const options: HtmlToTextOptions = {
  wordwrap: TEXT_WIDTH,
  // html-to-text cuts its input at 16 MB by default, silently (a console warning):
  // the plain-text part would lose its end. The issue file's limits bound the input instead.
  limits: { maxInputLength: Infinity },
  preserveNewlines: false,
  selectors: [
    // Images say nothing in text, except a linked image, whose alt text names the link.
    { selector: 'img', format: 'linkedImageAlt' },
    { selector: 'style', format: 'skip' },
    { selector: 'title', format: 'skip' },
    { selector: 'a', options: { hideLinkIfSameAsText: true, noAnchorUrl: true, linkBrackets: ['<', '>'] } },
    { selector: 'h1', options: { uppercase: false, leadingLineBreaks: 1, trailingLineBreaks: 1 } },
    { selector: 'h2', format: 'underlinedHeading', options: { uppercase: false, char: '=' } },
    { selector: 'h3', format: 'underlinedHeading', options: { uppercase: false, char: '-' } },
    { selector: 'ul', options: { itemPrefix: ' - ' } },
    { selector: 'table', format: 'block' },
    { selector: 'tr', format: 'block' },
    { selector: 'td', format: 'block' },
  ],
  formatters: {
    linkedImageAlt(elem, _walk, builder) {
      const alt = (elem as { attribs?: Record<string, string> }).attribs?.alt;
      const parent = (elem as { parent?: { name?: string } }).parent;
      if (alt && parent?.name === 'a') builder.addInline(alt);
    },
    underlinedHeading(elem, walk, builder, opts) {
      const char = String((opts as { char?: string }).char ?? '=');
      builder.openBlock({ leadingLineBreaks: 2 });
      walk(elem.children, builder);
      builder.closeBlock({
        trailingLineBreaks: 1,
        // Underline as long as the heading's longest line.
        blockTransform: (str) => `${str}\n${char.repeat(Math.max(...str.split('\n').map((l) => [...l].length)))}`,
      });
    },
  },
};

export function toPlainText(html: string): string {
  const prepared = html
    // The hidden preheader is for the inbox list, not for reading.
    .replace(/<div style="display:none;[^"]*">[\s\S]*?<\/div>/, '')
    // A mailto link whose text is the address: the address alone, not "x@y <x@y>".
    .replace(/<a\b[^>]*href="mailto:([^"?]+)(?:\?[^"]*)?"[^>]*>\s*\1\s*<\/a>/gi, '$1');
  const text = convert(prepared, options);
  return `${text.replace(/\n{3,}/g, '\n\n').trim()}\n`;
}
