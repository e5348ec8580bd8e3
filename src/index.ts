/**
 * The library: what the CLI uses, for other front ends (preview server, scripts, tests).
 */
export { buildIssue, resolveIssueFile, GMAIL_CLIP_BYTES, type BuildOptions, type BuildResult } from './build-issue.js';
export { loadConfig, ConfigSchema, CONFIG_FILE, type Config } from './config.js';
export { NewsletterError, ErrorCodes, formatProblem, type ErrorCode, type Problem } from './errors.js';
export { loadIssue, parseIssue, type LoadedIssue } from './issue/load-issue.js';
export { IssueSchema, SECTION_KINDS, issueJsonSchema, type Issue, type IssueSection, type SectionKind } from './issue/schema.js';
export { loadTemplates, type TemplateSet } from './render/templates.js';
export { renderMjml, type RenderedMjml } from './render/render-mjml.js';
export { compileMjml } from './render/compile-mjml.js';
export { inlineCss } from './render/inline-css.js';
export { minifyHtml } from './render/minify-html.js';
export { toPlainText, type PlainTextOptions } from './render/to-plain-text.js';
export { buildEml } from './render/build-eml.js';
