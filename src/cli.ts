/**
 * The command line: a thin shell over the library, and the only module (with src/cli/)
 * that prints or sets the exit code. `run(argv, io)` is what tests call in-process;
 * `main()` is what bin/build-issue.js calls. The commands are in src/cli/program.ts.
 */
import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { defaultIo, ExitCode, jsonText, reportError, type Io } from './cli/io.js';
import { COMMAND_NAMES } from './cli/help.js';
import { makeProgram, type RunState } from './cli/program.js';
import { watchSignals } from './cli/signals.js';

export { ExitCode, type Io } from './cli/io.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Whether the command line asks for JSON (before a "--"): usage errors are then JSON too. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** The command named on the command line, for the "--help" hint of a JSON usage error. */
function commandOf(argv: string[]): string {
  const first = argv.find((a) => !a.startsWith('-'));
  return first && (COMMAND_NAMES as readonly string[]).includes(first) && first !== 'help' ? `${first} ` : '';
}

/** Run the CLI with `argv` (without node and script). Resolves to the exit code. */
export async function run(argv: string[], io: Io = defaultIo): Promise<number> {
  const json = wantsJson(argv);
  const state: RunState = { code: ExitCode.OK, notes: [] };
  try {
    await makeProgram(io, json, version(), state).parseAsync(argv, { from: 'user' });
    return state.code;
  } catch (err) {
    if (!(err instanceof CommanderError)) return reportError(err, io, json);
    // --help and --version "fail" with exit code 0; usage errors are printed already, as text, unless --json.
    if (err.exitCode === 0) return ExitCode.OK;
    if (json) {
      const message = err.message.replace(/^error: /, '');
      io.out(jsonText({ ok: false, error: { code: 'EUSAGE', message, problems: [], hint: `Run "build-issue ${commandOf(argv)}--help" for usage.` } }));
    }
    return ExitCode.USAGE;
  } finally {
    // Old spellings: how to write it now, once, after the command's own output.
    for (const note of state.notes) io.err(note);
  }
}

/** Entry point for bin/build-issue.js: signals (src/cli/signals.ts), exit code, a closed pipe. */
export async function main(): Promise<void> {
  const signals = watchSignals();
  // Output piped into `head` and the like: stop quietly when the reader goes away.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  try {
    const code = await run(process.argv.slice(2), { ...defaultIo, ...signals.io });
    process.exitCode = signals.exitCode(code);
  } finally {
    signals.close();
  }
}
