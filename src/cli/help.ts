/** The words of --help that are not options: examples, environment, exit codes, old spellings. */

/** Names a first argument is read as a command, never an issue: `build-issue build <name>` builds an issue named like one. */
export const COMMAND_NAMES = [
  'build',
  'check',
  'preview',
  'screenshots',
  'test-send',
  'diff',
  'send',
  'status',
  'new',
  'inbox',
  'unsubscribe-server',
  'help',
] as const;

export const EXIT_CODES_SHORT = 'Exit codes: 0 ok, 1 failed, 2 used wrongly, 130 interrupted (Ctrl-C).';

/** Each example as a comment saying what it does, then the command line (short lines on a narrow terminal). */
const examples = (lines: [string, string][]) => lines.map(([c, what]) => `  # ${what}\n  ${c}`).join('\n');

export const MAIN_HELP = `
Examples:
${examples([
  ['build-issue july-2025', 'build issues/july-2025.yaml into dist/july-2025/'],
  ['build-issue new august-2025 --from july-2025', 'start the next issue from July'],
  ['build-issue preview august-2025', 'live preview while you write'],
  ['build-issue check august-2025 --links', 'every check, links fetched online'],
  ['build-issue test-send august-2025', 'to the editors, subject marked [TEST]'],
  ['build-issue diff august-2025', 'what changed since that test send'],
  ['build-issue send august-2025 --list lists/circulation.csv', 'to the list, after you confirm'],
])}

An issue named like a command (${COMMAND_NAMES.slice(0, 5).join(', ')},
${COMMAND_NAMES.slice(5, 10).join(', ')},
${COMMAND_NAMES.slice(10).join(', ')}) is built with "build-issue build <name>":
"build-issue check" means the command.

Project: newsletter.config.yaml is looked for in the folder you are in, then
in each folder above it (up to the top of a git repository, or /), or named by
--config. Its folder holds issues/, templates/, dist/, sends/ and .env. Paths
you type (--out, --list, --config, an issue's .yaml file) are read from the
folder you are in.

Environment (up to CHROMIUM_PATH, these may also be set in the project's .env):
  SMTP_URL          the mail server for test-send and send,
                    e.g. smtps://user:password@smtp.example.org:465
  SMTP_OAUTH2_...   an OAuth2 sign-in (Microsoft 365, Google Workspace):
                    _CLIENT_ID, _CLIENT_SECRET or _CERTIFICATE_FILE, _TENANT,
                    _SERVICE_ACCOUNT_FILE, _REFRESH_TOKEN, _TOKEN_URL, _SCOPE
  DKIM_PRIVATE_KEY  the DKIM key (PEM; \\n for line breaks), when the config's
                    dkim names no privateKeyFile
  UNSUBSCRIBE_SECRET  seals the personal unsubscribe links (send and
                    unsubscribe-server; openssl rand -base64 32)
  IMAP_URL          the mailbox inbox reads, imaps://user:password@host:993
  CHROMIUM_PATH     the Chrome or Chromium for screenshots (default: chromium)
  DEBUG             DEBUG=1 adds the stack trace to an error
  BUILD_ISSUE_NO_CODE_CACHE
                    1: do not keep V8's code cache beside the bundle in lib/

Exit codes:
  0    done: built (warnings allowed), sent to everyone, preview stopped
  1    failed: the issue is invalid, the checks found errors, a send left
       someone failed, unknown or unsent
  2    used wrongly: unknown command or option, missing or bad argument
       (with --json, said as a JSON object on stdout, as other errors are)
  130  interrupted by Ctrl-C (SIGTERM 143, SIGHUP 129). A send first finishes
       and records the messages in flight; Ctrl-C again stops at once.
       The preview is ended by Ctrl-C: exit 0.

Old spellings (until the next release; each run prints the new one on stderr):
  <issue> --check [--check-links]   is now  check <issue> [--links]
  <issue> --screenshots             is now  screenshots <issue>
  <issue> --watch [--port <n>]      is now  preview <issue> [--port <n>]
  <issue> --send-test [--to <a>]    is now  test-send <issue> [--to <a>]
  <issue> --send --list <file.csv>  is now  send <issue> --list <file.csv>
  <issue> --status                  is now  status <issue>
`;

/** A command's help after its options: examples, then the exit codes. */
export function commandHelp(lines: [string, string][], more = ''): string {
  return `\nExamples:\n${examples(lines)}\n${more ? `\n${more}\n` : ''}\n${EXIT_CODES_SHORT}\n`;
}
