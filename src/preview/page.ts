/**
 * The preview page's own files: templates/preview/index.html, preview.css and
 * preview.js in the build-issue package (the tool's, not the project's: they are
 * found from this code's location, never from the project folder being previewed).
 *
 * Found from `import.meta.url`, as src/cli.ts finds package.json:
 *   - run from src/ (vitest, tsx): this file is src/preview/page.ts, two folders down;
 *   - run from the bundle (bin/build-issue.js runs lib/build-issue.cjs, where
 *     scripts/bundle.mjs makes import.meta.url the bundle's URL): one folder down.
 * The first of those two that has index.html is used.
 *
 * Read once, when the preview starts. index.html loses its comments (notes for whoever
 * edits it) and gets one value filled in, the issue's name, HTML-escaped, wherever it
 * says {{slug}}; the script needs none (it reads /state.json and /events).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NewsletterError } from '../errors.js';

/** The page folder, relative to this module (from src/preview/) or to the bundle (from lib/). */
const PAGE_DIRS = ['../../templates/preview/', '../templates/preview/'] as const;

export const PAGE_FILES = { html: 'index.html', css: 'preview.css', js: 'preview.js' } as const;

export interface PreviewPage {
  /** The folder the files came from. */
  dir: string;
  /** index.html, filled in. */
  html: string;
  css: string;
  js: string;
}

/** The folder that holds the page's files, or undefined when there is none (a broken install). */
export function findPageDir(from: string = import.meta.url): string | undefined {
  for (const rel of PAGE_DIRS) {
    const dir = fileURLToPath(new URL(rel, from));
    if (existsSync(dir + PAGE_FILES.html)) return dir;
  }
  return undefined;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * index.html as served: without its comments, and with each {{name}} replaced by its
 * value, HTML-escaped. A name without a value is an error, not left in the page.
 */
export function fillPage(html: string, values: Record<string, string>): string {
  return html.replace(/<!--[\s\S]*?-->\n?/g, '').replace(/\{\{\s*([A-Za-z]\w*)\s*\}\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new NewsletterError('ETEMPLATE', `the preview page (templates/preview/index.html) names {{${name}}}, which the preview server does not fill in`, {
        hint: `It fills in ${Object.keys(values)
          .map((k) => `{{${k}}}`)
          .join(', ')} only: the page's script reads everything else from /state.json.`,
      });
    }
    return escapeHtml(value);
  });
}

/** Read the page's three files and fill in the issue's name. Throws NewsletterError when they are missing. */
export function loadPreviewPage(slug: string, from: string = import.meta.url): PreviewPage {
  const hint =
    'build-issue is not installed completely: its templates/preview/ folder (index.html, preview.css, preview.js) belongs beside lib/ and src/. Reinstall it.';
  const dir = findPageDir(from);
  if (!dir) {
    const looked = PAGE_DIRS.map((rel) => fileURLToPath(new URL(rel, from))).join(' or ');
    throw new NewsletterError('ETEMPLATE', `the preview page's files are missing: no ${PAGE_FILES.html} in ${looked}`, { hint });
  }
  const read = (file: string) => {
    try {
      return readFileSync(dir + file, 'utf8');
    } catch (err) {
      throw new NewsletterError('ETEMPLATE', `the preview page's files are missing: no ${file} in ${dir}`, { hint, cause: err });
    }
  };
  return { dir, html: fillPage(read(PAGE_FILES.html), { slug }), css: read(PAGE_FILES.css), js: read(PAGE_FILES.js) };
}
