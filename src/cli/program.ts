/**
 * The commands: `build` (the default: `build-issue <issue>`), `check`, `preview`,
 * `screenshots`, `test-send`, `diff`, `send`, `status` and `new`, each with its options, examples
 * and exit codes in its --help. Global: --config, --version, --help.
 */
import { Command, Option } from 'commander';
import { runBuild } from './build-commands.js';
import { commandHelp, MAIN_HELP } from './help.js';
import { portNumber, positive, type Io } from './io.js';
import { OLD_FLAGS, oldRun, type OldOptions } from './old-flags.js';
import { runNew, runPreview } from './preview-command.js';
import { findProject, type Project } from './project.js';
import { runDiff, runSend, runStatus, runTestSend } from './send-commands.js';

/** What a run hands back: the exit code, and notes for stderr (old spellings). */
export interface RunState {
  code: number;
  notes: string[];
}

const ISSUE = ['<issue>', 'the issue name (july-2025 for issues/july-2025.yaml) or a path to its .yaml file'] as const;

/** --rate and --connections, for the commands that send. */
function addSendRate(cmd: Command): Command {
  return cmd
    .option('--rate <n>', 'messages per second (default: send.rate in the config)', positive('--rate', false))
    .option('--connections <n>', 'SMTP connections at once (default: send.connections in the config)', positive('--connections', true));
}

export function makeProgram(io: Io, json: boolean, version: string, state: RunState): Command {
  const quiet = () => {};
  const program = new Command('build-issue')
    .usage('[options] <issue>\n       build-issue <command> [options] <issue>')
    .description('Build, check, preview and send the newsletter: one YAML file per issue, issues/<issue>.yaml.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help ("build-issue <command> --help" for a command\'s)')
    .helpCommand('help [command]', 'show the help of a command')
    .option('--config <file>', 'the newsletter.config.yaml to use (default: found from this folder up)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    // Under --json a usage error is one JSON object on stdout (src/cli.ts), not text on stderr.
    .configureOutput({ writeOut: io.out, writeErr: json ? quiet : io.err, outputError: json ? quiet : (s, write) => write(s) })
    .addHelpText('after', MAIN_HELP);

  const project = (cmd: Command): Project => findProject(io.cwd, (cmd.optsWithGlobals() as { config?: string }).config);
  const command = (name: string, summary: string, description: string, options: { isDefault?: boolean } = {}) =>
    program
      .command(name, options)
      .summary(summary)
      .description(description)
      .argument(...ISSUE)
      .helpOption('-h, --help', 'show this help')
      .showHelpAfterError(`(run "build-issue ${name} --help" for usage)`);
  const out = () => new Option('-o, --out <dir>', 'write into <dir>/<issue>/ instead of dist/<issue>/ (from the folder you are in)');
  const allowErrors = () => new Option('--allow-errors', 'exit 0 even when the checks find errors (the files are written either way)');

  // build: the default command, which also takes the old flags (hidden; see old-flags.ts).
  const build = command(
    'build',
    'build it into dist/<issue>/ (the default command)',
    'Build the issue into dist/<issue>/ (email.html, email.txt, email.eml, report.json) with the offline checks. The default command.',
    { isDefault: true },
  )
    .addOption(out())
    .option('--json', 'print a machine-readable summary (JSON), check findings and errors included')
    .addOption(allowErrors())
    .addHelpText(
      'after',
      commandHelp(
        [
          ['build-issue july-2025', 'the same as "build-issue build july-2025"'],
          ['build-issue build check', 'an issue named "check" (a command name)'],
          ['build-issue july-2025 --out /tmp/preview --json', 'elsewhere, with a JSON summary'],
        ],
        'A first argument that names a command (check, send...) is the command;\n"build-issue build <issue>" builds an issue of any name.',
      ),
    );
  for (const [flag, value] of OLD_FLAGS) {
    const option = new Option(value ? `${flag} ${value}` : flag).hideHelp();
    if (flag === '--rate') option.argParser(positive('--rate', false));
    if (flag === '--connections') option.argParser(positive('--connections', true));
    if (flag === '--port') option.argParser(portNumber);
    build.addOption(option);
  }
  build.action(async (issue: string, o: OldOptions, cmd: Command) => {
    const old = oldRun(issue, { ...o, json }, io);
    if (!old) return void (state.code = await runBuild(issue, { ...o, json }, io, project(cmd)));
    if (old.noteFirst) io.err(old.note);
    else state.notes.push(old.note);
    state.code = await old.run(project(cmd));
  });

  command(
    'check',
    'build it with every check (--links: online too)',
    "Build the issue and run every check: SpamAssassin's score, the accessibility rules and email-client support too; print the full report, every link included.",
  )
    .option('--links', 'also fetch every link and image online and report those that fail or redirect (needs the network)')
    .option('--screenshots', "also take the screenshots, adding the browser's render checks")
    .addOption(out())
    .option('--json', 'print the summary and every finding as JSON')
    .addOption(allowErrors())
    .addHelpText(
      'after',
      commandHelp(
        [
          ['build-issue check july-2025', 'every check, offline'],
          ['build-issue check july-2025 --links', 'and every link fetched online'],
        ],
        "SpamAssassin's score needs SpamAssassin (apt-get install spamassassin).",
      ),
    )
    .action(async (issue: string, o: { links?: boolean; screenshots?: boolean; out?: string; allowErrors?: boolean }, cmd: Command) => {
      state.code = await runBuild(issue, { ...o, json, check: true, checkLinks: o.links }, io, project(cmd));
    });

  command(
    'preview',
    'live preview, rebuilt on every save',
    'Build the issue, serve a live preview on 127.0.0.1 and rebuild on every save, until Ctrl-C (exit 0).',
  )
    .option('--port <n>', 'the port (default: a free one)', portNumber)
    .addHelpText(
      'after',
      commandHelp([
        ['build-issue preview july-2025', 'prints the address to open'],
        ['build-issue preview july-2025 --port 8080', 'on http://127.0.0.1:8080/'],
      ]),
    )
    .action(async (issue: string, o: { port?: number }, cmd: Command) => {
      state.code = await runPreview(issue, o, io, project(cmd));
    });

  command(
    'screenshots',
    'build it and take PNGs with Chromium',
    "Build the issue and write PNGs of it (desktop, phone, phone in dark mode) with Chromium, adding the browser's render checks.",
  )
    .addOption(out())
    .option('--json', 'print the summary, the PNGs and the findings as JSON')
    .addOption(allowErrors())
    .addHelpText(
      'after',
      commandHelp(
        [['build-issue screenshots july-2025', 'dist/july-2025/screenshot-*.png']],
        'Needs Chromium: apt-get install chromium, or CHROMIUM_PATH naming one.',
      ),
    )
    .action(async (issue: string, o: { out?: string; allowErrors?: boolean }, cmd: Command) => {
      state.code = await runBuild(issue, { ...o, json, screenshots: true }, io, project(cmd));
    });

  addSendRate(
    command(
      'test-send',
      'send it to the editors, subject marked [TEST]',
      'Send the built issue to the editors in the config (or --to), subject marked [TEST], and record this version as test-sent.',
    ).option('--to <addresses>', 'send to these comma-separated addresses instead of the editors'),
  )
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      commandHelp(
        [
          ['build-issue test-send july-2025', 'to the editors'],
          ['build-issue test-send july-2025 --to a@example.org,b@example.org', 'to these two'],
        ],
        'The mail server is SMTP_URL (environment or .env).',
      ),
    )
    .action(async (issue: string, o: { to?: string; rate?: number; connections?: number }, cmd: Command) => {
      state.code = await runTestSend(issue, { ...o, json }, io, project(cmd));
    });

  command(
    'diff',
    'what changed since the last test send (--against: another issue)',
    'Show what changed in the issue since its last test send: sections added, removed and changed (by heading), and the words inserted [+like this+] and deleted [-like this-] in each. --against compares with another issue instead.',
  )
    .option('--against <other>', "compare with this issue's email instead (e.g. last month's: june-2025)")
    .option('--json', 'print the sections and word changes as JSON')
    .addHelpText(
      'after',
      commandHelp(
        [
          ['build-issue diff july-2025', 'since the last test send'],
          ['build-issue diff july-2025 --against june-2025', "against June's email"],
        ],
        'Every test send keeps what it said in sends/<issue>/; the test copies\nafter the first start with the same summary. Exit 0 whether or not\nanything changed; 1 when there is nothing to compare with.',
      ),
    )
    .action(async (issue: string, o: { against?: string }, cmd: Command) => {
      state.code = await runDiff(issue, { ...o, json }, io, project(cmd));
    });

  addSendRate(
    command(
      'send',
      'send it to the circulation list (resumable)',
      'Send the issue to the circulation list, one message each, after you confirm; run it again to resume where it stopped (nobody is sent twice).',
    ).requiredOption('--list <file.csv>', 'the circulation list: a CSV with an email column (from the folder you are in)'),
  )
    .option('--yes', 'do not ask for confirmation (for scripts)')
    .option('--dry-run', 'do everything except talk to the mail server, and print what would happen')
    .option('--retry-failed', 'try again the recipients that failed temporarily in an earlier run')
    .option('--resend-unknown', 'send again to recipients whose earlier message has an unknown fate')
    .option('--skip-test-gate', 'send a version that was never test-sent (recorded in the ledger)')
    .option('--at <time>', 'start at this London time ("2025-07-15 10:00"), after checking everything now')
    .option('--wait', 'when the daily cap is reached, wait for the window and go on (instead of stopping)')
    .option('--json', 'print the plan and the outcome as JSON')
    .addHelpText(
      'after',
      commandHelp(
        [
          ['build-issue send july-2025 --list lists/circulation.csv', 'asks, then sends'],
          ['build-issue send july-2025 --list lists/circulation.csv --dry-run', 'what would be sent'],
          ['build-issue send july-2025 --list list.csv --at "2025-07-15 10:00"', 'checks everything now, sends at 10:00 London time'],
        ],
        'Ctrl-C (SIGTERM, SIGHUP) finishes and records the messages in flight, then\nexits 130 (143, 129); a second one stops at once. Run the same command to\nresume. With --at, Ctrl-C before the start sends nothing. Exit 1 when anyone\nis left failed, unknown or unsent (the daily cap reached, say).',
      ),
    )
    .action(
      async (
        issue: string,
        o: {
          list: string;
          yes?: boolean;
          dryRun?: boolean;
          retryFailed?: boolean;
          resendUnknown?: boolean;
          skipTestGate?: boolean;
          rate?: number;
          connections?: number;
          at?: string;
          wait?: boolean;
        },
        cmd: Command,
      ) => {
        state.code = await runSend(issue, { ...o, json }, io, project(cmd));
      },
    );

  command(
    'status',
    'the test sends and the send, from the ledger',
    'Show the test sends and the state of the send to the list, from its ledger (sends/<issue>/).',
  )
    .option('--json', 'print it as JSON')
    .addHelpText('after', commandHelp([['build-issue status july-2025', "sent, failed (with the server's answer), unknown"]]))
    .action(async (issue: string, _o: unknown, cmd: Command) => {
      state.code = await runStatus(issue, { json }, io, project(cmd));
    });

  program
    .command('unsubscribe-server')
    .summary('run the one-click unsubscribe endpoint')
    .description(
      "Serve the page that unsubscribe.url points at: GET shows a button, POST (the one-click of RFC 8058, or the button) adds the address its link was made for to the suppression file. Until Ctrl-C (exit 0). Needs UNSUBSCRIBE_SECRET, the same as the sending machine's.",
    )
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError('(run "build-issue unsubscribe-server --help" for usage)')
    .option('--port <n>', 'the port (default: 8025)', portNumber)
    .option('--host <address>', 'the address to listen on (default: 127.0.0.1, for a web server in front)')
    .addHelpText(
      'after',
      commandHelp([
        ['build-issue unsubscribe-server', 'on http://127.0.0.1:8025/, behind your web server'],
        ['build-issue unsubscribe-server --port 9000', 'on another port'],
      ]),
    )
    .action(async (o: { port?: number; host?: string }, cmd: Command) => {
      const { runUnsubscribeServer } = await import('./unsubscribe-command.js');
      state.code = await runUnsubscribeServer(o, io, project(cmd));
    });

  program
    .command('inbox')
    .summary('read the bounces, complaints and unsubscribe mails that came back')
    .description(
      "Read the sender's mailbox (IMAP_URL) or an export (--from an mbox file or a Maildir folder): hard bounces, complaints and unsubscribe requests go into the suppression file with the reason, the date and the message; an address that soft-bounces on three sends too; auto-replies are ignored; the rest is left alone. Mail is never deleted; running it twice changes nothing.",
    )
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError('(run "build-issue inbox --help" for usage)')
    .option('--from <file>', 'read an mbox file or a Maildir folder instead of IMAP_URL (from the folder you are in)')
    .option('--folder <name>', 'the IMAP folder to read (default: INBOX)')
    .option(
      '--list <file.csv>',
      'the circulation list: a "please remove me" without a link counts when it is from an address on it (default: everyone a send went to)',
    )
    .option('--move-to <folder>', 'move the messages dealt with (all but "other") to this folder')
    .option('--dry-run', 'read and sort, but write and move nothing')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      commandHelp([
        ['build-issue inbox --dry-run', 'what it would do with the mailbox in IMAP_URL'],
        ['build-issue inbox --move-to Processed', 'and file what it dealt with'],
        ['build-issue inbox --from returns.mbox', 'an export instead'],
      ]),
    )
    .action(async (o: { from?: string; folder?: string; list?: string; moveTo?: string; dryRun?: boolean }, cmd: Command) => {
      const { runInbox } = await import('./unsubscribe-command.js');
      state.code = await runInbox({ ...o, json }, io, project(cmd));
    });

  program
    .command('new')
    .summary('start a new issue file (--from a previous one)')
    .description('Start a new issue file, issues/<issue>.yaml: from a commented starter, or from a previous issue with its recurring sections kept.')
    .argument('<issue>', 'the new issue name, e.g. august-2025 (lower-case letters, digits and hyphens)')
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError('(run "build-issue new --help" for usage)')
    .option(
      '--from <previous>',
      'start from this issue (e.g. july-2025): keeps the masthead, contents, Practice Spotlight, partners, notices and footer; empties the dated content',
    )
    .option('--json', 'print a machine-readable summary')
    .addHelpText(
      'after',
      commandHelp([
        ['build-issue new august-2025 --from july-2025', 'next month from this one'],
        ['build-issue new august-2025', 'from the commented starter'],
      ]),
    )
    .action(async (slug: string, o: { from?: string }, cmd: Command) => {
      state.code = await runNew(slug, { ...o, json }, io, project(cmd));
    });

  return program;
}
