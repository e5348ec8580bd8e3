/**
 * `build`, `check` and `screenshots`: build the issue into dist/<slug>/, with the offline
 * checks (build), every check (check) or the browser's pictures and render checks (screenshots).
 */
import path from 'node:path';
import { buildIssue, GMAIL_CLIP_BYTES, type BuildResult } from '../build-issue.js';
import { formatReport } from '../check/index.js';
import { printable } from '../errors.js';
import { ExitCode, jsonText, kb, type Io } from './io.js';
import { issueArg, type Project } from './project.js';

export interface BuildFlags {
  out?: string;
  json?: boolean;
  allowErrors?: boolean;
  /** Every check: SpamAssassin, the accessibility rules, client support; the full report. */
  check?: boolean;
  /** Fetch every link and image online. */
  checkLinks?: boolean;
  /** The PNGs and the browser's render checks. */
  screenshots?: boolean;
}

/**
 * The environment with the project's .env merged under it (read once, by the library's
 * readEnv), for the commands that use its variables; its warnings (a .env other users
 * can read) go to stderr.
 */
export async function projectEnv(io: Io, root: string): Promise<NodeJS.ProcessEnv> {
  const { readEnv } = await import('../env-file.js');
  const view = await readEnv(root, io.env);
  for (const w of view.warnings) io.err(`warning: ${w}\n`);
  return view.env;
}

/** The local images line of the build summary: how many, how big, where they must be uploaded. */
function assetsLine(result: BuildResult, cwd: string): string {
  const bytes = result.assets.reduce((n, a) => n + a.content.length, 0);
  const first = result.assets[0]!.url;
  const where = /^https:/.test(first) ? `upload to ${first.slice(0, first.lastIndexOf('/') + 1)}` : 'set assetBaseUrl to where they will be uploaded';
  const n = result.assets.length;
  return `  ${path.relative(cwd, path.join(result.dir, 'assets'))}/  ${n} image${n === 1 ? '' : 's'}, ${kb(bytes)}  (${where})\n`;
}

function summary(r: BuildResult, cwd: string): string {
  const rel = (f: string) => path.relative(cwd, f) || f;
  const pct = Math.round((r.bytes.html / GMAIL_CLIP_BYTES) * 100);
  const clip =
    r.bytes.html > GMAIL_CLIP_BYTES
      ? `OVER Gmail's ${kb(GMAIL_CLIP_BYTES)} clipping limit: Gmail will hide the end of the email, unsubscribe link included`
      : `${pct}% of Gmail's ${kb(GMAIL_CLIP_BYTES)} clipping limit`;
  const width = Math.max(...Object.values(r.files).map((f) => rel(f).length));
  return [
    `Built ${r.slug} in ${Math.round(r.ms)} ms`,
    `  ${rel(r.files.html).padEnd(width)}  ${kb(r.bytes.html).padStart(8)}  (${clip})`,
    `  ${rel(r.files.text).padEnd(width)}  ${kb(r.bytes.text).padStart(8)}`,
    `  ${rel(r.files.eml).padEnd(width)}  ${kb(r.bytes.eml).padStart(8)}`,
    `  ${rel(r.files.report).padEnd(width)}  (check findings)`,
    '',
  ].join('\n');
}

function jsonSummary(result: BuildResult, o: BuildFlags, cwd: string): unknown {
  const rel = (f: string) => path.relative(cwd, f);
  return {
    ok: true,
    slug: result.slug,
    issueFile: rel(result.issueFile),
    files: Object.fromEntries(Object.entries(result.files).map(([k, f]) => [k, rel(f)])),
    bytes: result.bytes,
    gmailClipBytes: GMAIL_CLIP_BYTES,
    hash: result.hash,
    ms: Math.round(result.ms),
    checks: {
      counts: result.report.counts,
      findings: result.report.findings,
      accepted: result.report.accepted,
      off: result.report.off,
      notes: result.report.notes,
      ...(o.check ? { links: result.report.links } : {}),
    },
    assets: result.assets.map((a) => ({
      src: a.src,
      file: rel(path.join(result.dir, 'assets', a.name)),
      url: a.url,
      bytes: a.content.length,
      width: a.width,
      height: a.height,
    })),
    ...(result.screenshots ? { screenshots: Object.fromEntries(Object.entries(result.screenshots).map(([k, f]) => [k, rel(f)])) } : {}),
  };
}

/** Build (and check) the issue; exit 1 when the checks find errors, unless --allow-errors. */
export async function runBuild(issue: string, o: BuildFlags, io: Io, project: Project): Promise<number> {
  const { root, cwd } = project;
  const extra =
    o.check || o.checkLinks
      ? await (await import('../check/extra-rules.js')).extraRules({
          spam: o.check,
          accessibility: o.check,
          clientSupport: o.check ? { root } : undefined,
          checkLinks: o.checkLinks,
        })
      : { rules: [], notes: [] as string[] };
  if (!o.check)
    extra.notes.push(
      'SpamAssassin\'s score, the accessibility rules and the email-client support check run with "build-issue check"; online link checks with "build-issue check --links".',
    );
  const result = await buildIssue(issueArg(issue, project), {
    root,
    configFile: project.configFile,
    outDir: o.out ? path.resolve(cwd, o.out) : undefined,
    extraRules: extra.rules,
    checkNotes: extra.notes,
    screenshots: o.screenshots,
    env: o.screenshots ? await projectEnv(io, root) : io.env,
  });
  const blocked = result.report.counts.error > 0 && !o.allowErrors;
  if (o.json) {
    io.out(jsonText(jsonSummary(result, o, cwd)));
  } else {
    const rel = (f: string) => path.relative(cwd, f);
    io.out(summary(result, cwd));
    if (result.schemaUpdated) io.out(`  ${rel(result.schemaUpdated)}  (updated: the schema your editor autocompletes from)\n`);
    for (const f of result.invites) io.out(`  ${rel(path.join(result.dir, f))}  (calendar invite)\n`);
    if (result.assets.length) io.out(assetsLine(result, cwd));
    if (result.screenshots) for (const f of Object.values(result.screenshots)) io.out(`  ${rel(f)}\n`);
    // printable(): a finding may quote a hostile field; no control character reaches the terminal.
    io.out(`\n${printable(formatReport(result.report, { full: o.check, max: 10 }))}`);
    if (blocked) {
      const n = result.report.counts.error;
      io.err(
        `\nerror: the checks found ${n} error${n === 1 ? '' : 's'}: fix them before sending (the files are written, to look at). --allow-errors exits 0 anyway.\n`,
      );
    }
  }
  return blocked ? ExitCode.FAILED : ExitCode.OK;
}
