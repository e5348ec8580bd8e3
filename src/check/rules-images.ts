/**
 * Images: alt text (checked on the issue source, since MJML always writes an alt
 * attribute, empty if need be), https only, a width in the HTML, and for a linked
 * image, alt text that says where the link goes: for a screen-reader user the alt
 * text *is* the link.
 */
import { hostOf } from '../render/markdown.js';
import { inventory } from './inventory.js';
import { excerpt } from './rules-links.js';
import type { CheckContext, Finding, Rule } from './types.js';

/** Words that tell a reader a linked image leads somewhere. */
const DESTINATION = /\b(open|opens|read|view|visit|go to|goes to|learn|find|see|download|register|book|watch|explore|more about|website|page|site|link)\b/i;
const FILE_NAME = /^[\w-]+\.(png|jpe?g|gif|webp|svg)$|^(img|image|dsc|screenshot)[\s_-]?\d*$/i;

export const imagesRule: Rule = {
  id: 'images',
  description: 'images have meaningful alt text, load over https and have a width',
  run(ctx: CheckContext): Finding[] {
    const findings: Finding[] = [];
    const { images } = inventory(ctx);
    for (const { image, where, path } of images) {
      const altWhere = (path.length ? ctx.locate([...path, 'alt']) : undefined) ?? (path.length ? where : { ...where, path: 'brand.logo.alt' });
      const alt = image.alt.trim();
      if (!alt) findings.push({ rule: 'images', severity: 'error', message: 'image has no alt text: describe what it shows for screen-reader users and for clients that block images', where: altWhere });
      else if (FILE_NAME.test(alt)) findings.push({ rule: 'images', severity: 'warning', message: `alt text "${alt}" is a file name, not a description: say what the image shows`, where: altWhere });
      if (!/^https:\/\//i.test(image.src)) {
        findings.push({ rule: 'images', severity: 'error', message: `image "${alt}" loads over plain http (${image.src}): use its https:// address, or clients will block it or warn`, where });
      }
      if (image.href !== undefined && alt && !DESTINATION.test(alt)) {
        findings.push({
          rule: 'images',
          severity: 'warning',
          message: `image "${alt}" is a link, so its alt text is the link text: say what the image shows and where the link goes, e.g. "... – read it on ${hostOf(image.href) ?? 'the website'}"`,
          where: altWhere,
        });
      }
    }
    // In the HTML: every image needs a width (Outlook shows images at their file's size otherwise).
    for (const m of ctx.html.matchAll(/<img\b[^>]*>/gi)) {
      if (!/\swidth="\d+"/i.test(m[0])) {
        findings.push({ rule: 'images', severity: 'error', message: 'an image has no width attribute: Outlook will show it at its full file size', where: { excerpt: excerpt(ctx.html, m.index) } });
      }
      if (!/\salt="/i.test(m[0])) {
        findings.push({ rule: 'images', severity: 'error', message: 'an image has no alt attribute', where: { excerpt: excerpt(ctx.html, m.index) } });
      }
    }
    return findings;
  },
};
