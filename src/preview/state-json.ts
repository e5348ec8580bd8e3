/**
 * What the preview page reads: /state.json (the build's size against Gmail's limit,
 * findings, time, error) and the data of the `error` event, and the terminal text of
 * an error. The page (templates/preview/preview.js) renders these fields.
 */
import path from 'node:path';
import { GMAIL_CLIP_BYTES } from '../build-issue.js';
import { formatWhere, type ReportedFinding } from '../check/index.js';
// The page shows the size in the warning colour where the `size` rule warns.
import { SIZE_WARNING_BYTES } from '../check/rules-document.js';
import type { Finding } from '../check/types.js';
import { NewsletterError, formatProblem } from '../errors.js';
import type { Builder, FailedBuild, Sources } from './builder.js';

/** An error as terminal or page text: message, one line per problem, then the hint. */
export function formatError(err: NewsletterError | Error): string {
  if (err instanceof NewsletterError) {
    const lines = [`error: ${err.message}`, ...err.problems.map((p) => `  ${formatProblem(p)}`)];
    if (err.hint) lines.push(`  ${err.hint}`);
    return lines.join('\n');
  }
  return `error: unexpected failure: ${err.message}`;
}

/** `where` of a finding: file:line:col path, and the YAML line it points at. */
function findingJson(f: ReportedFinding | Finding, sources: Sources) {
  const w = f.where;
  const source = w?.file && w.line ? sources.get(w.file)?.[w.line - 1] : undefined;
  return {
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    where: w ?? null,
    whereText: formatWhere(w),
    source: source ?? null,
    relevelled: 'relevelled' in f ? (f.relevelled ?? null) : null,
  };
}

/** An error for the page: message, problems (each with the YAML line it points at), hint, and the terminal text. */
export function errorJson(err: NewsletterError | Error, sources: Sources) {
  const isOurs = err instanceof NewsletterError;
  return {
    code: isOurs ? err.code : null,
    message: isOurs ? err.message : `unexpected failure: ${err.message}`,
    problems: isOurs
      ? err.problems.map((p) => {
          const m = p.where ? /^(.*?):(\d+)(?::\d+)?$/.exec(p.where) : null;
          const line = m ? Number(m[2]) : undefined;
          const source = m && line ? sources.get(m[1]!)?.[line - 1] : undefined;
          return { where: p.where ?? null, path: p.path ?? null, message: p.message, text: formatProblem(p), line: line ?? null, source: source ?? null };
        })
      : [],
    hint: isOurs ? (err.hint ?? null) : null,
    text: formatError(err),
  };
}

/** The data of the `error` event: the failed build, its time, and the error. */
export function errorEventJson(failed: FailedBuild) {
  return { build: failed.build, ms: Math.round(failed.ms), ...errorJson(failed.error, failed.sources) };
}

/** /state.json. */
export function stateJson(builder: Builder, info: { slug: string; root: string; issueFile: string; watching: string[] }) {
  const rel = (f: string) => path.relative(info.root, f) || f;
  const { lastGood, lastError, latest } = builder;
  const r = lastGood?.result;
  const sources = lastGood?.sources ?? new Map<string, string[]>();
  return {
    slug: info.slug,
    issueFile: rel(info.issueFile),
    build: builder.count,
    building: builder.building,
    ok: builder.count > 0 && !lastError,
    ms: latest ? Math.round(latest.ms) : null,
    at: latest?.at.toISOString() ?? null,
    emailBuild: lastGood?.build ?? 0,
    emailMs: lastGood ? Math.round(lastGood.ms) : null,
    emailAt: lastGood?.at.toISOString() ?? null,
    label: r?.issue.label ?? null,
    subject: r?.issue.subject ?? null,
    size: r ? r.bytes : null,
    limit: GMAIL_CLIP_BYTES,
    warnAt: SIZE_WARNING_BYTES,
    files: r ? { html: rel(r.files.html), text: rel(r.files.text), eml: rel(r.files.eml), report: rel(r.files.report) } : null,
    counts: r?.report.counts ?? null,
    findings: r ? r.report.findings.map((f) => findingJson(f, sources)) : [],
    accepted: r ? r.report.accepted.map((f) => ({ ...findingJson(f, sources), reason: f.reason })) : [],
    off: r?.report.off ?? [],
    notes: r?.report.notes ?? [],
    error: lastError ? { build: lastError.build, ...errorJson(lastError.error, lastError.sources) } : null,
    watching: info.watching,
  };
}
