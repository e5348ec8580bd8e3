/**
 * Images: alt text (checked on the issue source, since MJML always writes an alt
 * attribute, empty if need be), https only, a width in the HTML, and for a linked
 * image, alt text that says where the link goes: for a screen-reader user the alt
 * text *is* the link.
 */
import { hostOf } from '../render/markdown.js';
import { ASSET_WARN_BYTES, type LocalAsset } from '../issue/load-assets.js';
import { inventory } from '../issue/inventory.js';
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
      if (!alt)
        findings.push({
          rule: 'images',
          severity: 'error',
          message: 'image has no alt text: describe what it shows for screen-reader users and for clients that block images',
          where: altWhere,
        });
      else if (FILE_NAME.test(alt))
        findings.push({
          rule: 'images',
          severity: 'warning',
          message: `alt text "${alt}" is a file name, not a description: say what the image shows`,
          where: altWhere,
        });
      const asset = path.length ? ctx.assets?.get(image.src) : undefined;
      if (asset) findings.push(...localImage(asset, image.width, ctx.slug ?? 'issue', where));
      else if (!/^https:\/\//i.test(image.src)) {
        findings.push({
          rule: 'images',
          severity: 'error',
          message: `image "${alt}" loads over plain http (${image.src}): use its https:// address, or clients will block it or warn`,
          where,
        });
      }
      // The logo may keep a short alt (the organisation's name) when its link's title says where it goes.
      const logoTitle = path.length ? undefined : ctx.config.brand.logo.title;
      if (!path.length && alt) findings.push(...logoAltFits(alt, image.width ?? 120, altWhere));
      if (image.href !== undefined && alt && !DESTINATION.test(alt) && !(logoTitle && DESTINATION.test(logoTitle))) {
        findings.push({
          rule: 'images',
          severity: 'warning',
          message: `image "${alt}" is a link, so its alt text is the link text: say what the image shows and where the link goes, e.g. "... – read it on ${hostOf(image.href) ?? 'the website'}"${path.length ? '' : ', or give the logo a title that says it (brand.logo.title: "Go to the ... website")'}`,
          where: altWhere,
        });
      }
    }
    // In the HTML: every image needs a width (Outlook shows images at their file's size otherwise).
    for (const m of ctx.html.matchAll(/<img\b[^>]*>/gi)) {
      if (!/\swidth="\d+"/i.test(m[0])) {
        findings.push({
          rule: 'images',
          severity: 'error',
          message: 'an image has no width attribute: Outlook will show it at its full file size',
          where: { excerpt: excerpt(ctx.html, m.index) },
        });
      }
      if (!/\salt="/i.test(m[0])) {
        findings.push({ rule: 'images', severity: 'error', message: 'an image has no alt attribute', where: { excerpt: excerpt(ctx.html, m.index) } });
      }
    }
    return findings;
  },
};

/** Average width of a character of alt text, in em (Arial's mean over English text is about 0.5). */
const ALT_EM = 0.5;
/** The logo's alt text shows at 14px (email.css, .logo img). */
const LOGO_ALT_PX = 14;

/**
 * With images off (Outlook's default), the logo's alt text shows in the logo's box, which
 * is as wide as the logo: more than two lines of it push the masthead down and read as
 * clutter. The organisation's name fits; "go to the website" belongs in brand.logo.title.
 */
export function logoAltFits(alt: string, width: number, where: Finding['where']): Finding[] {
  const perLine = Math.floor(width / (LOGO_ALT_PX * ALT_EM));
  const lines = Math.ceil([...alt].length / perLine);
  if (lines <= 2) return [];
  return [
    {
      rule: 'images',
      severity: 'warning',
      message: `the logo's alt text "${alt}" takes about ${lines} lines in its ${width}px box when images are off (Outlook blocks them by default); at most 2 fit (${perLine * 2} characters): make it the organisation's short name, and say where the link goes in brand.logo.title`,
      where,
    },
  ];
}

/** A local image (issues/assets/): it needs a web address, a modest file size, and enough pixels. */
function localImage(asset: LocalAsset, width: number | undefined, slug: string, where: Finding['where']): Finding[] {
  const findings: Finding[] = [];
  const kb = (n: number) => `${Math.round(n / 1000)} KB`;
  // The config's base addresses are https:// by their schema; without one the address is relative.
  if (!/^https:\/\//.test(asset.url)) {
    findings.push({
      rule: 'images',
      severity: 'error',
      message: `local image ${asset.src} has no web address for recipients: set assetBaseUrl in newsletter.config.yaml to where you upload dist/${slug}/assets/ (or archiveBaseUrl to where dist/ is published)`,
      where,
    });
  }
  if (asset.content.length > ASSET_WARN_BYTES) {
    findings.push({
      rule: 'images',
      severity: 'warning',
      message: `image ${asset.src} is ${kb(asset.content.length)} (over ${kb(ASSET_WARN_BYTES)}): recipients on phones wait for it; export it smaller (JPEG for photos, at most twice the width it is shown at)`,
      where,
    });
  }
  if (width !== undefined && width > asset.width) {
    findings.push({
      rule: 'images',
      severity: 'warning',
      message: `image ${asset.src} is ${asset.width} px wide but shown at ${width} px: it will look blurred; use a file at least ${width} px wide, or leave width out`,
      where,
    });
  }
  return findings;
}
