/**
 * The command line: a thin shell over the library. The only module that prints
 * or sets the exit code. `run(argv)` is what tests call in-process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { buildIssue, GMAIL_CLIP_BYTES, type BuildResult } from './build-issue.js';
import { NewsletterError, formatProblem } from './errors.js';
import { formatReport } from './check/index.js';
import { extraRules } from './check/extra-rules.js';

/** Exit codes, one table: 0 ok, 1 the build failed, 2 the command was used wrongly. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;

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

function reportError(err: unknown, io: Io, json: boolean): number {
  if (err instanceof NewsletterError) {
    const code = err.code === 'EUSAGE' ? ExitCode.USAGE : ExitCode.FAILED;
    if (json) {
      io.out(JSON.stringify({ ok: false, error: { code: err.code, message: err.message, problems: err.problems, hint: err.hint } }, null, 2) + '\n');
    } else {
      const lines = [`error: ${err.message}`, ...err.problems.map((p) => `  ${formatProblem(p)}`)];
      if (err.hint) lines.push(`  ${err.hint}`);
      io.err(lines.join('\n') + '\n');
    }
    if (io.env.DEBUG && err.cause instanceof Error) io.err(`${err.cause.stack}\n`);
    return code;
  }
  // A bug, not bad input: say so plainly, with the stack only under DEBUG.
  const e = err as Error;
  io.err(`error: unexpected failure: ${e?.message ?? String(err)}\n`);
  io.err(io.env.DEBUG ? `${e?.stack}\n` : '  Run again with DEBUG=1 for the stack trace, and report it.\n');
  return ExitCode.FAILED;
}

/** Run the CLI with `argv` (without node and script). Resolves to the exit code. */
export async function run(argv: string[], io: Io = defaultIo): Promise<number> {
  let json = false;
  let exitCode: number = ExitCode.OK;
  const program = new Command()
    .name('build-issue')
    .description('Build a newsletter issue from issues/<issue>.yaml into dist/<issue>/: email.html, email.txt and email.eml.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .argument('<issue>', 'the issue name (july-2025 for issues/july-2025.yaml) or a path to a .yaml file')
    .option('-o, --out <dir>', 'write into <dir>/<issue>/ instead of dist/<issue>/')
    .option('--json', 'print a machine-readable summary (JSON) instead of text, findings included')
    .option('--check', "run every check, SpamAssassin's score included, and print the full report with every link")
    .option('--check-links', 'also fetch every link and image online and report those that fail or redirect')
    .option('--allow-errors', 'exit 0 even when the checks find errors (the files are written either way)')
    .showHelpAfterError('(run build-issue --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .action(async (issue: string, opts: { out?: string; json?: boolean; check?: boolean; checkLinks?: boolean; allowErrors?: boolean }) => {
      json = Boolean(opts.json);
      const extra = await extraRules({ spam: opts.check, accessibility: opts.check, clientSupport: opts.check ? { root: io.cwd } : undefined, checkLinks: opts.checkLinks });
      if (!opts.check) extra.notes.push('SpamAssassin\'s score, the accessibility rules and the email-client support check run with --check; online link checks with --check-links.');
      const result = await buildIssue(issue, {
        root: io.cwd,
        outDir: opts.out ? path.resolve(io.cwd, opts.out) : undefined,
        extraRules: extra.rules,
        checkNotes: extra.notes,
      });
      const blocked = result.report.counts.error > 0 && !opts.allowErrors;
      if (blocked) exitCode = ExitCode.FAILED;
      if (json) {
        io.out(
          JSON.stringify(
            {
              ok: true,
              slug: result.slug,
              issueFile: path.relative(io.cwd, result.issueFile),
              files: Object.fromEntries(Object.entries(result.files).map(([k, f]) => [k, path.relative(io.cwd, f)])),
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
                ...(opts.check ? { links: result.report.links } : {}),
              },
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        io.out(summary(result, io.cwd));
        io.out('\n' + formatReport(result.report, { full: opts.check, max: 10 }));
        if (blocked) {
          io.err(`\nerror: the checks found ${result.report.counts.error} error${result.report.counts.error === 1 ? '' : 's'}: fix them before sending (the files are written, to look at). --allow-errors exits 0 anyway.\n`);
        }
      }
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0; real usage errors are already printed.
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    exitCode = reportError(err, io, json);
  }
  return exitCode;
}

/** Entry point for bin/build-issue.js. */
export async function main(): Promise<void> {
  process.exitCode = await run(process.argv.slice(2));
}
