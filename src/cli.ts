/**
 * The command line: a thin shell over the library. The only module that prints
 * or sets the exit code. `run(argv)` is what tests call in-process.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { buildIssue, GMAIL_CLIP_BYTES, type BuildResult } from './build-issue.js';
import { NewsletterError, formatProblem, printable } from './errors.js';
import { formatReport } from './check/index.js';
// Sending, the extra checks and the preview are loaded when asked for: an ordinary
// build (the common case, and the cold-start benchmark) does not initialise them.
import type { SendPlan, SendReport } from './send/send-issue.js';
import type { Progress } from './send/sender.js';

const sending = () => import('./send/send-issue.js');

/** Exit codes, one table: 0 ok, 1 the build failed, 2 the command was used wrongly. */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2 } as const;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Reads one line typed by the user (the send confirmation); undefined when there is no terminal. */
  ask?: (question: string) => Promise<string>;
  /** Whether stderr is a terminal (progress bar) or not (plain progress lines). */
  tty?: boolean;
  /** Aborted on Ctrl-C, SIGTERM or SIGHUP: a send stops taking recipients and finishes those in flight. */
  signal?: AbortSignal;
  /**
   * Called by a command that stops gracefully when `signal` is aborted (a send, the preview),
   * so the first signal waits for it; any other command is stopped at once.
   */
  graceful?: (kind: 'send' | 'watch') => void;
  /** The signal that aborted `signal` ("SIGINT", "SIGTERM", "SIGHUP"), for the summary. */
  stoppedBy?: () => string | undefined;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
  tty: process.stderr.isTTY,
  ask: process.stdin.isTTY
    ? async (question) => {
        const rl = createInterface({ input: process.stdin, output: process.stderr });
        try {
          return await rl.question(question);
        } finally {
          rl.close();
        }
      }
    : undefined,
};

function usage(message: string, hint?: string): NewsletterError {
  return new NewsletterError('EUSAGE', message, { hint });
}

function positive(name: string, integer: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw usage(`${name} must be a positive ${integer ? 'whole number' : 'number'}, not "${value}"`);
    }
    return n;
  };
}

/** A TCP port: a whole number from 1 to 65535. */
function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw usage(`--port must be a whole number from 1 to 65535, not "${value}"`, 'Leave --port out to use a free port.');
  return n;
}

/**
 * JSON for stdout, one value a run. Besides what JSON.stringify escapes, the C1 controls and
 * the characters that reorder text on screen are written as \u escapes: the output is read
 * in terminals and logs, and a value quoted from a hostile file must not steer them.
 */
function jsonText(value: unknown): string {
  // eslint-disable-next-line no-control-regex
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

/**
 * The environment with the project's .env merged under it (read once, by the library's
 * readEnv), for the commands that use its variables; its warnings (a .env other users
 * can read) go to stderr.
 */
async function projectEnv(io: Io): Promise<NodeJS.ProcessEnv> {
  const { readEnv } = await import('./env-file.js');
  const view = await readEnv(io.cwd, io.env);
  for (const w of view.warnings) io.err(`warning: ${w}\n`);
  return view.env;
}

/** One line of progress: sent, failed, remaining, rate, time left. */
function progressLine(p: Progress): string {
  const left = p.rate > 0 ? Math.round(p.remaining / p.rate) : 0;
  const done = p.total ? Math.round(((p.total - p.remaining) / p.total) * 100) : 100;
  const bar = '#'.repeat(Math.round(done / 5)).padEnd(20, '.');
  return `[${bar}] ${done}%  sent ${p.sent}  failed ${p.failed}${p.unknown ? `  unknown ${p.unknown}` : ''}  remaining ${p.remaining}  ${p.rate.toFixed(1)}/s  ${left ? `~${left}s left` : ''}`;
}

function progressReporter(io: Io, json: boolean): (p: Progress) => void {
  if (json) return () => {};
  let lastPlain = 0;
  return (p) => {
    if (io.tty) io.err(`\r${progressLine(p)}\x1b[K`);
    else if (p.remaining === 0 || p.elapsedMs - lastPlain >= 5000) {
      lastPlain = p.elapsedMs;
      io.err(`${progressLine(p)}\n`);
    }
  };
}

function planText(plan: SendPlan, listFile: string): string {
  const l = plan.list;
  const lines = [
    `Send ${plan.build.slug}: "${plan.build.issue.subject}"`,
    `  build        ${plan.build.hash.slice(0, 12)}${plan.testSent ? ` (test-sent ${plan.testSent.at} to ${plan.testSent.to.length})` : plan.skipTestGate ? '  NEVER TEST-SENT: --skip-test-gate, recorded in the ledger' : ''}`,
    `  list         ${listFile}: ${l.rows} rows, ${l.recipients.length} recipients (${l.invalid.length} invalid, ${l.duplicates.length} duplicates, ${l.suppressed.length} unsubscribed)`,
    `  already sent ${plan.alreadySent}`,
    ...(plan.unknownKept.length ? [`  unknown      ${plan.unknownKept.length} from an earlier run, not sent again (--resend-unknown to send them)`] : []),
    ...(plan.failedKept ? [`  failed       ${plan.failedKept} earlier, not retried (--retry-failed retries temporary failures)`] : []),
    `  to send now  ${plan.todo.length}`,
    `  via          ${plan.smtp?.shown ?? 'SMTP_URL not set'}`,
  ];
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  for (const p of l.invalid.slice(0, 5)) lines.push(`  skipped line ${p.line}: ${p.reason}`);
  if (l.invalid.length > 5) lines.push(`  ... and ${l.invalid.length - 5} more invalid rows`);
  for (const w of l.warnings.slice(0, 5)) lines.push(`  warning line ${w.line}: ${w.reason}`);
  if (l.warnings.length > 5) lines.push(`  ... and ${l.warnings.length - 5} more rows with a warning`);
  return lines.join('\n') + '\n';
}

/** How the user stopped it, in their words: Ctrl-C for SIGINT. */
const stopName = (io: Io) => {
  const sig = io.stoppedBy?.();
  return !sig || sig === 'SIGINT' ? 'Ctrl-C' : sig;
};

function sendSummary(r: SendReport, io: Io): string {
  const res = r.result!;
  const kept = r.plan.unknownKept.length;
  // A pause with nobody left to send is the end of the send, not a pause.
  const paused = res.paused && res.unsent.length > 0 ? res.paused : undefined;
  const lines = [
    '',
    `${paused ? 'Paused' : res.interrupted ? 'Stopped' : 'Done'}: ${res.sent.length} sent now (${r.plan.alreadySent} earlier), ${res.failed.length} failed, ${res.unknown.length + kept} unknown${kept ? ` (${kept} from an earlier run)` : ''}, ${res.unsent.length} not sent yet, in ${(res.elapsedMs / 1000).toFixed(1)} s`,
  ];
  for (const f of res.failed.slice(0, 20)) lines.push(`  failed  ${f.email}: ${f.response}${f.temporary ? ' (temporary: --retry-failed tries again)' : ''}`);
  if (res.failed.length > 20) lines.push(`  ... and ${res.failed.length - 20} more failed (see --status)`);
  for (const u of [...res.unknown, ...r.plan.unknownKept]) lines.push(`  unknown ${u}: the connection dropped before the server answered; it may or may not have arrived (not re-sent unless --resend-unknown)`);
  if (paused) lines.push('', `The send paused itself: ${paused}. Check the failures above (and your mail provider's status), then run the same command to resume.`);
  else if (res.interrupted) lines.push('', `Stopped by ${stopName(io)} after the messages in flight, which are recorded. Run the same command to resume: nobody is sent twice.`);
  else if (res.unsent.length) lines.push('', 'Some recipients were not sent. Run the same command to resume.');
  for (const w of res.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;

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

function reportError(err: unknown, io: Io, json: boolean): number {
  if (err instanceof NewsletterError) {
    const code = err.code === 'EUSAGE' ? ExitCode.USAGE : ExitCode.FAILED;
    if (json) {
      io.out(jsonText({ ok: false, error: { code: err.code, message: err.message, problems: err.problems, hint: err.hint } }));
    } else {
      const lines = [`error: ${err.message}`, ...err.problems.map((p) => `  ${formatProblem(p)}`)];
      if (err.hint) lines.push(`  ${err.hint}`);
      io.err(printable(lines.join('\n')) + '\n');
    }
    if (io.env.DEBUG && err.cause instanceof Error) io.err(`${err.cause.stack}\n`);
    return code;
  }
  // A bug, not bad input: say so plainly, with the stack only under DEBUG.
  const e = err as Error;
  io.err(`error: unexpected failure: ${printable(e?.message ?? String(err))}\n`);
  io.err(io.env.DEBUG ? `${e?.stack}\n` : '  Run again with DEBUG=1 for the stack trace, and report it.\n');
  return ExitCode.FAILED;
}

interface Options {
  out?: string;
  json?: boolean;
  check?: boolean;
  checkLinks?: boolean;
  allowErrors?: boolean;
  sendTest?: boolean;
  to?: string;
  send?: boolean;
  list?: string;
  yes?: boolean;
  dryRun?: boolean;
  rate?: number;
  connections?: number;
  retryFailed?: boolean;
  resendUnknown?: boolean;
  skipTestGate?: boolean;
  status?: boolean;
  screenshots?: boolean;
  watch?: boolean;
  port?: number;
}

/** --watch: the preview server until Ctrl-C. Prints each rebuild (or its error) as it happens. */
async function doWatch(issue: string, opts: Options, io: Io): Promise<number> {
  io.graceful?.('watch');
  const { startPreview, formatError } = await import('./preview/server.js');
  const server = await startPreview({
    root: io.cwd,
    issue,
    port: opts.port ?? 0,
    onEvent: (e) => {
      if (e.type === 'built') {
        const { error, warning } = e.result.report.counts;
        const changed = e.changed.length ? ` (${e.changed.join(', ')})` : '';
        io.out(`Built ${e.result.slug} in ${Math.round(e.ms)} ms${changed}: ${kb(e.result.bytes.html)} HTML, ${error} error${error === 1 ? '' : 's'}, ${warning} warning${warning === 1 ? '' : 's'}\n`);
        if (e.result.schemaUpdated) io.out(`Updated ${path.relative(io.cwd, e.result.schemaUpdated)} (the schema your editor autocompletes from).\n`);
      } else if (e.type === 'failed') {
        io.err(`${printable(formatError(e.error))}\n  (the preview keeps the last good build; fix the file and save again)\n`);
      }
    },
  });
  io.out(`Preview: ${server.url}  (watching ${server.watching.join(', ')}; Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    if (!io.signal) return; // no way to be stopped: run until the process ends
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.close();
  io.out('Preview stopped.\n');
  return ExitCode.OK;
}

async function showStatus(issue: string, io: Io, json: boolean): Promise<number> {
  const st = (await sending()).sendStatus(issue, io.cwd);
  if (json) {
    io.out(jsonText({ ok: true, ...st, ledgerFile: path.relative(io.cwd, st.ledgerFile) }));
    return ExitCode.OK;
  }
  const lines = [`${st.slug}:`, ...st.warnings.map((w) => `  warning: ${w}`)];
  for (const t of st.testSends) lines.push(`  test-sent  ${t.at}  build ${t.hash.slice(0, 12)}  to ${t.to.join(', ')}`);
  if (!st.started) lines.push('  not sent to the list yet');
  else {
    const state = st.last === 'end' ? 'finished' : st.last === 'paused' ? 'paused (run the same --send command to resume)' : 'stopped or running (run the same --send command to resume)';
    lines.push(`  send       started ${st.started}, build ${st.hash?.slice(0, 12)}, ${state}`);
    lines.push(`  sent       ${st.sent}`, `  failed     ${st.failed.length}`, `  unknown    ${st.unknown.length}`);
    for (const f of st.failed) lines.push(`    failed  ${f.email}: ${f.response}`);
    for (const u of st.unknown) lines.push(`    unknown ${u}`);
  }
  io.out(lines.join('\n') + '\n');
  return ExitCode.OK;
}

async function doSendTest(issue: string, opts: Options, io: Io, json: boolean): Promise<number> {
  io.graceful?.('send');
  const to = opts.to?.split(',').map((a) => a.trim()).filter(Boolean);
  const r = await (await sending()).sendTest(issue, { root: io.cwd, env: await projectEnv(io), to, rate: opts.rate, connections: opts.connections, signal: io.signal });
  const ok = r.result.sent.length === r.to.length;
  if (json) io.out(jsonText({ ok, slug: r.build.slug, hash: r.build.hash, to: r.to, sent: r.result.sent, failed: r.result.failed, unknown: r.result.unknown, ...(r.result.paused ? { paused: r.result.paused } : {}) }));
  else {
    io.out(`Test send of ${r.build.slug} (build ${r.build.hash.slice(0, 12)}) via ${r.smtp}: "[TEST] ${r.build.issue.subject}"\n`);
    for (const e of r.result.sent) io.out(`  sent    ${e}\n`);
    for (const f of r.result.failed) io.out(`  failed  ${f.email}: ${f.response}\n`);
    for (const u of r.result.unknown) io.out(`  unknown ${u}\n`);
    if (r.result.paused) io.out(`\nThe send stopped: ${r.result.paused}.\n`);
    if (r.build.report.counts.error) io.out(`\nNote: the checks found ${r.build.report.counts.error} error(s); fix them before the real send (build-issue ${r.build.slug} --check).\n`);
    io.out(ok ? `\nRecorded: this version may now be sent with --send once the editors approve it.\n` : `\nNot recorded as test-sent: not every editor received it.\n`);
  }
  return ok ? ExitCode.OK : ExitCode.FAILED;
}

async function doSend(issue: string, opts: Options, io: Io, json: boolean): Promise<number> {
  if (!opts.list) throw usage('--send needs --list <file.csv>: the circulation list to send to');
  io.graceful?.('send');
  if (!opts.yes && !opts.dryRun && !io.ask) {
    throw usage('--send asks for confirmation, and there is no terminal to ask on', 'Run it in a terminal, or add --yes (for scripts).');
  }
  const report = await (await sending()).sendIssue(issue, {
    root: io.cwd,
    env: await projectEnv(io),
    listFile: opts.list,
    dryRun: opts.dryRun,
    retryFailed: opts.retryFailed,
    resendUnknown: opts.resendUnknown,
    skipTestGate: opts.skipTestGate,
    rate: opts.rate,
    connections: opts.connections,
    signal: io.signal,
    onProgress: progressReporter(io, json),
    confirm: async (plan) => {
      if (!json) io.err(planText(plan, opts.list!));
      if (opts.skipTestGate && !plan.testSent) io.err('\nWARNING: this version was never test-sent. No editor has seen it. This is recorded in the ledger.\n');
      if (opts.yes) return true;
      const typed = (await io.ask!(`\nType ${plan.build.slug} to send to ${plan.todo.length} recipients (anything else cancels): `)).trim();
      return typed === plan.build.slug;
    },
  });
  if (json) {
    const res = report.result;
    io.out(
      jsonText(
        {
          ok: report.outstanding === 0 && !report.cancelled,
          dryRun: Boolean(opts.dryRun),
          cancelled: report.cancelled,
          slug: report.plan.build.slug,
          hash: report.plan.build.hash,
          // Line numbers and reasons only: the rows themselves are personal data, and JSON output ends up in logs.
          list: { rows: report.plan.list.rows, recipients: report.plan.list.recipients.length, invalid: report.plan.list.invalid.map(({ line, reason }) => ({ line, reason })), warnings: report.plan.list.warnings.map(({ line, reason }) => ({ line, reason })), duplicates: report.plan.list.duplicates.length, suppressed: report.plan.list.suppressed.length },
          warnings: [...report.plan.warnings, ...(res?.warnings ?? [])],
          alreadySent: report.plan.alreadySent,
          toSend: report.plan.todo.length,
          ...(res ? { sent: res.sent.length, failed: res.failed, unknown: [...res.unknown, ...report.plan.unknownKept], unsent: res.unsent.length, paused: res.paused, interrupted: res.interrupted } : {}),
          outstanding: report.outstanding,
        }
      ),
    );
  } else if (opts.dryRun) {
    io.out(planText(report.plan, opts.list) + '\nDry run: nothing was sent. Without --dry-run, these recipients would be sent the email now.\n');
  } else if (report.cancelled) {
    io.err('Cancelled: nothing was sent.\n');
  } else {
    if (io.tty) io.err('\n');
    io.out(sendSummary(report, io));
  }
  if (opts.dryRun) return ExitCode.OK;
  return report.cancelled || report.outstanding > 0 ? ExitCode.FAILED : ExitCode.OK;
}

/** `build-issue new <slug> [--from <previous>]`: start the next issue from the starter or a previous issue. */
async function runNew(argv: string[], io: Io): Promise<number> {
  let json = false;
  let exitCode: number = ExitCode.OK;
  const program = new Command()
    .name('build-issue new')
    .description('Start a new issue file, issues/<slug>.yaml: from a commented starter, or from a previous issue with its recurring sections kept.')
    .helpOption('-h, --help', 'show this help')
    .argument('<slug>', 'the new issue name, e.g. august-2025 (lower-case letters, digits and hyphens)')
    .option('--from <previous>', 'start from this issue (e.g. july-2025): keeps the masthead, contents, Practice Spotlight, partners, notices and footer; empties the dated content')
    .option('--json', 'print a machine-readable summary')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .action(async (slug: string, opts: { from?: string; json?: boolean }) => {
      json = Boolean(opts.json);
      const { newIssue } = await import('./authoring/new-issue.js');
      const { ensureSchemaJson } = await import('./issue/schema-file.js');
      const r = await newIssue({ root: io.cwd, slug, from: opts.from });
      await ensureSchemaJson(path.dirname(r.file));
      if (json) io.out(jsonText({ ok: true, file: r.shown, assets: r.assets, from: r.from, kept: r.kept, emptied: r.emptied }));
      else {
        io.out(`Wrote ${r.shown}${r.from ? ` from ${r.from}` : ' from the starter'}\n`);
        if (r.kept.length) io.out(`  kept:    ${r.kept.join(', ')}\n`);
        if (r.emptied.length) io.out(`  emptied: ${r.emptied.join(', ')}\n`);
        io.out(`  pictures: put them in ${r.assets}/ and write src: assets/${slug}/<file>\n`);
        io.out(`Next: write the new content (every TODO and "#" link), then npx build-issue ${slug} --watch to see it as you go.\n`);
      }
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    exitCode = reportError(err, io, json);
  }
  return exitCode;
}

/** Run the CLI with `argv` (without node and script). Resolves to the exit code. */
export async function run(argv: string[], io: Io = defaultIo): Promise<number> {
  if (argv[0] === 'new') return runNew(argv.slice(1), io);
  let json = false;
  let exitCode: number = ExitCode.OK;
  const program = new Command()
    .name('build-issue')
    .description('Build a newsletter issue from issues/<issue>.yaml into dist/<issue>/: email.html, email.txt and email.eml.\nStart the next issue with: build-issue new <slug> [--from <previous>]')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .argument('<issue>', 'the issue name (july-2025 for issues/july-2025.yaml) or a path to a .yaml file')
    .option('-o, --out <dir>', 'write into <dir>/<issue>/ instead of dist/<issue>/')
    .option('--json', 'print a machine-readable summary (JSON) instead of text, findings included')
    .option('--check', "run every check, SpamAssassin's score included, and print the full report with every link")
    .option('--check-links', 'also fetch every link and image online and report those that fail or redirect')
    .option('--allow-errors', 'exit 0 even when the checks find errors (the files are written either way)')
    .option('--send-test', 'send the built issue to the editors in config, subject marked [TEST]')
    .option('--to <addresses>', 'with --send-test: send to these comma-separated addresses instead of the editors')
    .option('--send', 'send to the circulation list given by --list (asks for confirmation; resumes where a previous run stopped)')
    .option('--list <file.csv>', 'with --send: the circulation list, a CSV with an email column')
    .option('--yes', 'with --send: do not ask for confirmation (for scripts)')
    .option('--dry-run', 'with --send: do everything except talk to the mail server, and print what would happen')
    .option('--rate <n>', 'messages per second (default from config, send.rate)', positive('--rate', false))
    .option('--connections <n>', 'SMTP connections at once (default from config, send.connections)', positive('--connections', true))
    .option('--retry-failed', 'with --send: try again the recipients that failed temporarily in an earlier run')
    .option('--resend-unknown', 'with --send: send again to recipients whose earlier message has an unknown fate')
    .option('--skip-test-gate', 'with --send: send a version that was never test-sent (recorded in the ledger)')
    .option('--status', "show a send's state from its ledger")
    .option('--screenshots', 'also write PNGs of the email (desktop, phone, phone in dark mode) with Chromium, and check it renders on phones')
    .option('--watch', 'build, serve a live preview on 127.0.0.1 and rebuild on every save (Ctrl-C stops)')
    .option('--port <n>', 'with --watch: the port for the preview (default: a free one)', portNumber)
    .showHelpAfterError('(run build-issue --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .action(async (issue: string, opts: Options) => {
      json = Boolean(opts.json);
      const modes = [opts.sendTest && '--send-test', opts.send && '--send', opts.status && '--status', opts.watch && '--watch'].filter(Boolean);
      if (modes.length > 1) throw usage(`${modes.join(' and ')} cannot be used together`);
      if (opts.to && !opts.sendTest) throw usage('--to goes with --send-test');
      if (opts.list && !opts.send) throw usage('--list goes with --send');
      for (const flag of ['yes', 'dryRun', 'retryFailed', 'resendUnknown', 'skipTestGate'] as const) {
        if (opts[flag] && !opts.send) throw usage(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} goes with --send`);
      }
      if (opts.port && !opts.watch) throw usage('--port goes with --watch');
      if (opts.status) return void (exitCode = await showStatus(issue, io, json));
      if (opts.watch) return void (exitCode = await doWatch(issue, opts, io));
      if (opts.sendTest) return void (exitCode = await doSendTest(issue, opts, io, json));
      if (opts.send) return void (exitCode = await doSend(issue, opts, io, json));
      const extra =
        opts.check || opts.checkLinks
          ? await (await import('./check/extra-rules.js')).extraRules({ spam: opts.check, accessibility: opts.check, clientSupport: opts.check ? { root: io.cwd } : undefined, checkLinks: opts.checkLinks })
          : { rules: [], notes: [] as string[] };
      if (!opts.check) extra.notes.push('SpamAssassin\'s score, the accessibility rules and the email-client support check run with --check; online link checks with --check-links.');
      const result = await buildIssue(issue, {
        root: io.cwd,
        outDir: opts.out ? path.resolve(io.cwd, opts.out) : undefined,
        extraRules: extra.rules,
        checkNotes: extra.notes,
        screenshots: opts.screenshots,
        env: opts.screenshots ? await projectEnv(io) : io.env,
      });
      const blocked = result.report.counts.error > 0 && !opts.allowErrors;
      if (blocked) exitCode = ExitCode.FAILED;
      if (json) {
        io.out(
          jsonText(
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
              assets: result.assets.map((a) => ({ src: a.src, file: path.relative(io.cwd, path.join(result.dir, 'assets', a.name)), url: a.url, bytes: a.content.length, width: a.width, height: a.height })),
              ...(result.screenshots ? { screenshots: Object.fromEntries(Object.entries(result.screenshots).map(([k, f]) => [k, path.relative(io.cwd, f)])) } : {}),
            }
          ),
        );
      } else {
        io.out(summary(result, io.cwd));
        if (result.schemaUpdated) io.out(`  ${path.relative(io.cwd, result.schemaUpdated)}  (updated: the schema your editor autocompletes from)\n`);
        for (const f of result.invites) io.out(`  ${path.relative(io.cwd, path.join(result.dir, f))}  (calendar invite)\n`);
        if (result.assets.length) io.out(assetsLine(result, io.cwd));
        if (result.screenshots) for (const f of Object.values(result.screenshots)) io.out(`  ${path.relative(io.cwd, f)}\n`);
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

/** The signals that stop a run, with their numbers (exit code 128 + n, as shells report them). */
const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
type StopSignal = keyof typeof STOP_SIGNALS;

/** Entry point for bin/build-issue.js. */
export async function main(): Promise<void> {
  // Ctrl-C, SIGTERM (systemctl stop, docker stop, timeout) or SIGHUP (the terminal closed),
  // once, during a send: stop taking recipients, settle and record the messages in flight,
  // release the lock, print the summary, exit 128 + the signal's number. Twice: stop at
  // once; every record written so far is in the ledger, so the next run resumes without
  // duplicates. Any other command (a build) stops at once: its output is written whole or not at all.
  const controller = new AbortController();
  let graceful: 'send' | 'watch' | undefined;
  let stoppedBy: StopSignal | undefined;
  const onSignal = (name: StopSignal) => {
    if (!graceful || controller.signal.aborted) process.exit(128 + STOP_SIGNALS[name]);
    stoppedBy = name;
    controller.abort();
    const how = name === 'SIGINT' ? 'Ctrl-C' : name;
    if (graceful === 'send') process.stderr.write(`\nStopping (${how}): finishing and recording the messages in flight (${how === 'Ctrl-C' ? 'Ctrl-C' : 'the same signal'} again stops at once)...\n`);
  };
  const handlers = Object.keys(STOP_SIGNALS).map((name) => [name, () => onSignal(name as StopSignal)] as const);
  for (const [name, handler] of handlers) process.on(name, handler);
  // Output piped into `head` and the like: stop quietly when the reader goes away.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  try {
    const code = await run(process.argv.slice(2), {
      ...defaultIo,
      signal: controller.signal,
      graceful: (kind) => (graceful = kind),
      stoppedBy: () => stoppedBy,
    });
    // A send stopped by a signal says so in its exit code, as a process killed by it would.
    process.exitCode = graceful === 'send' && stoppedBy ? 128 + STOP_SIGNALS[stoppedBy] : code;
  } finally {
    for (const [name, handler] of handlers) process.off(name, handler);
  }
}
