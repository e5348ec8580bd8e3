/**
 * Stage 2: fill the layout and the section partials with the issue -> one MJML
 * document, plus a map from its lines back to the partial each came from (so an
 * MJML error names the partial and its line).
 */
import type { Config } from '../config.js';
import type { Issue } from '../issue/schema.js';
import type { Assets } from '../issue/load-assets.js';
import { sectionViews } from './section-views.js';
import type { TemplateSet } from './templates.js';

/** Lines `start`..`start+lines-1` (1-based) of the MJML came from template `name`. */
export interface SourceSpan {
  name: string;
  start: number;
  lines: number;
  /** The template's own line number of the span's first line. */
  firstLine: number;
}

export interface RenderedMjml {
  mjml: string;
  spans: SourceSpan[];
  /** The CSS juice inlines after compiling (brand values filled in). */
  inlineCss: string;
}

const PLACEHOLDER = '<!--SECTIONS-->';
const lineCount = (s: string) => s.split('\n').length;

export function renderMjml(issue: Issue, config: Config, templates: TemplateSet, slug = 'issue', assets: Assets = new Map()): RenderedMjml {
  const colours = config.brand.colours;
  const brand = config.brand;
  const layout = templates.layout({
    lang: config.lang,
    title: issue.title,
    preheader: issue.preheader,
    masthead: issue.masthead,
    label: issue.label,
    brand,
    logoWidth: brand.logo.width ?? 120,
    logoTitle: brand.logo.title,
    headCss: templates.headCss({ ...colours, dark: brand.dark }),
    // "View in your browser", when config says where the archive is published.
    browserHref: config.archiveBaseUrl ? `${config.archiveBaseUrl}/${slug}/` : undefined,
  });
  const [before, after] = splitOnce(layout, PLACEHOLDER, templates.names.layout);

  const spans: SourceSpan[] = [{ name: templates.names.layout, start: 1, lines: lineCount(before), firstLine: 1 }];
  let line = lineCount(before);
  const parts = sectionViews(issue, config, slug, assets).map(({ kind, view }) => {
    // Each partial starts on a line of its own, so its line 1 is a line of the document.
    const out = templates.sections[kind]({ ...view, brand }).replace(/\n+$/, '');
    spans.push({ name: templates.names.sections[kind], start: line + 1, lines: lineCount(out), firstLine: 1 });
    line += lineCount(out);
    return out;
  });
  spans.push({ name: templates.names.layout, start: line + 1, lines: lineCount(after), firstLine: lineCount(before) + 2 });
  return {
    mjml: `${before}\n${parts.join('\n')}\n${after}`,
    spans,
    inlineCss: templates.emailCss({ ...colours, fontFamily: brand.fontFamily }),
  };
}

function splitOnce(text: string, marker: string, name: string): [string, string] {
  const i = text.indexOf(marker);
  if (i < 0) throw new Error(`${name} must contain the line ${marker}, where the sections go`);
  return [text.slice(0, i).replace(/\n$/, ''), text.slice(i + marker.length).replace(/^\n/, '')];
}

/** The template and line that produced `line` of the MJML document. */
export function locate(spans: readonly SourceSpan[], line: number): { name: string; line: number } | undefined {
  const span = spans.find((s) => line >= s.start && line < s.start + s.lines);
  return span && { name: span.name, line: line - span.start + span.firstLine };
}
