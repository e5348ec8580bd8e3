/**
 * Field types shared by the issue schema (schema.ts) and the config schema
 * (config.ts): links and images, with the link-scheme rule they enforce. Here, not in
 * schema.ts, so the config depends on these fields only, not on the schema.
 */
import * as z from 'zod';

/** Schemes a link may use. Anything else (javascript:, data:, file:...) is rejected. */
export const LINK_SCHEMES = ['https:', 'http:', 'mailto:'] as const;

/**
 * The scheme of a link as a browser reads it, lower case, without the colon; undefined
 * when it has none ("#vess", "", "www.x.org"). Follows the WHATWG URL standard's
 * first steps: leading and trailing C0 controls and spaces are stripped and tabs and
 * newlines removed anywhere, so "\u0001java\tscript:" is read as "javascript".
 */
export function linkScheme(href: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const cleaned = href.replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '').replace(/[\t\n\r]/g, '');
  return /^([a-z][a-z0-9+.-]*):/i.exec(cleaned)?.[1]?.toLowerCase();
}

/**
 * True when a link target names a scheme other than https:, http: or mailto:
 * (javascript:, data:, vbscript:, file:..., in any disguise a browser sees through).
 * Those are refused when the issue is loaded, for safety. Targets without a scheme
 * ("#", "", "www.x.org", "{{url}}") are not dangerous, just broken: the checks
 * report them, and the build still writes its files so the editors can look.
 */
export function hasForbiddenScheme(href: string): boolean {
  const scheme = linkScheme(href);
  return scheme !== undefined && !(LINK_SCHEMES as readonly string[]).includes(`${scheme}:`);
}

/**
 * A link. Only the scheme is enforced here (for safety); a placeholder such as "#"
 * or "" passes, and the checks report it as an error, so a draft still builds.
 */
export const Href = z
  .string()
  .refine((h) => !hasForbiddenScheme(h), { message: 'uses a scheme that cannot go in an email (only https://, http:// and mailto:)' })
  .describe('An absolute link starting https:// (or mailto: for an email address)');

export const Image = z
  .strictObject({
    src: z
      .string()
      .regex(/^(?:https?:\/\/\S+|[^:\s][^:]*\.(?:png|jpe?g|gif))$/i, {
        message: 'must be an absolute https:// URL, or a PNG, JPEG or GIF file under issues/assets/ such as assets/july-2025/leaflet.png',
      })
      .describe(
        'The image: an absolute https:// URL, or a PNG, JPEG or GIF file in issues/assets/<issue>/ written relative to the issue file (assets/july-2025/leaflet.png): the build copies it and writes its web address',
      ),
    alt: z.string().trim().min(1).describe('Describe the image for screen-reader users (and for recipients whose email client blocks images)'),
    width: z.number().int().min(16).max(600).optional().describe('Display width in pixels (at most 600); defaults to the width of the space it sits in'),
    href: Href.optional().describe('Where the image links to, if it is clickable: an absolute https:// link'),
  })
  .describe('An image: src (https URL or a file in issues/assets/), alt (what it shows), optional width and href');

/** An image that must already be on the web (the config's logo, shared by every issue). */
export const RemoteImage = Image.extend({
  src: z
    .string()
    .regex(/^https?:\/\/\S+$/i, { message: 'must be an absolute https:// URL' })
    .describe('The image address: an absolute https:// URL, so every email client can load it'),
}).describe('An image: src (https URL), alt (what it shows), optional width and href');
