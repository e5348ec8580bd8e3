/**
 * The last look at the built email's links before anything is written: every
 * address in an href, src or similar attribute, read as a browser reads it
 * (entities decoded, then the WHATWG URL standard's stripping), must be https:,
 * http:, mailto: or have no scheme (#anchors, the build's own relative assets/
 * paths). Links from the issue file and the config are already refused at their
 * line when they are loaded; this catches what a template adds, so no script
 * address reaches an inbox or the web archive by any route.
 */
import { Parser } from 'htmlparser2';
import { NewsletterError } from '../errors.js';
import { hasForbiddenScheme, linkScheme } from '../issue/fields.js';

/** Attributes that hold an address a client may follow or fetch. */
const URL_ATTRIBUTES = new Set(['href', 'src', 'background', 'action', 'formaction', 'poster', 'srcset', 'xlink:href', 'longdesc', 'cite', 'data']);

/** Every (attribute, address) of `html` with a scheme an email must not carry. */
export function forbiddenLinks(html: string): { attribute: string; value: string }[] {
  const found: { attribute: string; value: string }[] = [];
  const parser = new Parser(
    {
      onattribute(name, value) {
        if (URL_ATTRIBUTES.has(name.toLowerCase()) && hasForbiddenScheme(value)) found.push({ attribute: name, value });
      },
    },
    { decodeEntities: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  return found;
}

/** Throw EISSUE_INVALID when the built email holds a link with a forbidden scheme. */
export function assertSafeLinks(html: string, where: string): void {
  const bad = forbiddenLinks(html);
  if (!bad.length) return;
  throw new NewsletterError(
    'EISSUE_INVALID',
    `${where}: the built email has ${bad.length} link${bad.length === 1 ? '' : 's'} with a scheme that cannot go in an email; nothing was written`,
    {
      problems: bad.slice(0, 10).map((b) => ({
        message: `${b.attribute}="${JSON.stringify(b.value.slice(0, 60)).slice(1, -1)}" uses "${linkScheme(b.value)}:": only https://, http:// and mailto: links (and #anchors) can go in an email`,
      })),
      hint: "Find the address in the templates (templates/*.mjml.hbs), the issue file or newsletter.config.yaml, and replace it with the page's https:// address.",
    },
  );
}
