/**
 * Stage 3: MJML -> HTML, with strict validation. Errors are mapped back to the
 * partial and line they came from.
 */
import mjml2html from 'mjml';
import { NewsletterError, type Problem } from '../errors.js';
import { locate, type RenderedMjml } from './render-mjml.js';

interface MjmlIssue {
  line: number;
  message: string;
  tagName: string;
}

/**
 * Compile with MJML's strict validation. MJML's own minifier is off: it loads
 * cssnano (about 0.4 s before the first build) and its output is no smaller than
 * `minifyHtml`'s for our documents; see minify-html.ts.
 */
export async function compileMjml(rendered: RenderedMjml): Promise<string> {
  let result: { html: string; errors: MjmlIssue[] };
  try {
    result = (await mjml2html(rendered.mjml, {
      validationLevel: 'strict',
      keepComments: false,
      // No web fonts: Outlook ignores them and they cost a request; the brand font stack is system fonts.
      fonts: {},
      minify: false,
      beautify: false,
    })) as unknown as { html: string; errors: MjmlIssue[] };
  } catch (err) {
    const issues = (err as { errors?: MjmlIssue[] }).errors;
    if (Array.isArray(issues) && issues.length) throw mjmlError(issues, rendered, err);
    throw new NewsletterError('EMJML', `MJML could not compile the email: ${(err as Error).message}`, {
      hint: 'Check the partials in templates/ for unclosed or misplaced mj- tags.',
      cause: err,
    });
  }
  return tidyPreheader(result.html);
}

/**
 * MJML hides the preheader with display:none and colours it white. White text on
 * our pale background is what SpamAssassin's HTML_FONT_LOW_CONTRAST looks for
 * (+0.7 points, measured on the July issue); hidden text needs no colour at all.
 */
function tidyPreheader(html: string): string {
  return html.replace(/(<div style="display:none;[^"]*?)color:#ffffff;/, '$1');
}

function mjmlError(issues: MjmlIssue[], rendered: RenderedMjml, cause: unknown): NewsletterError {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const i of issues) {
    const at = locate(rendered.spans, i.line);
    const problem = { where: at ? `${at.name}:${at.line}` : `line ${i.line} of the rendered MJML`, message: `<${i.tagName}>: ${i.message}` };
    // A partial used by several sections repeats its fault once per use: report it once.
    const key = `${problem.where} ${problem.message}`;
    if (!seen.has(key)) problems.push(problem);
    seen.add(key);
  }
  return new NewsletterError('EMJML', `MJML rejected the email: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the templates`, {
    problems,
    hint: "Fix the partial named; the MJML reference at documentation.mjml.io lists each tag's attributes and where it may go.",
    cause,
  });
}
