/**
 * What every command shares: the Io it prints through, the exit codes, JSON output
 * and the error report. Only the CLI (src/cli.ts, src/cli/) prints or sets exit codes.
 */
import { createInterface } from 'node:readline/promises';
import { NewsletterError, formatProblem, printable } from '../errors.js';

/** Exit codes, one table (also in --help): 0 ok, 1 failed, 2 used wrongly, 130 interrupted (128 + SIGINT's 2). */
export const ExitCode = { OK: 0, FAILED: 1, USAGE: 2, INTERRUPTED: 130 } as const;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** The folder the user is in: relative paths they type (--out, --list, --config, an issue file) are read from it. */
  cwd: string;
  /** Reads one line typed by the user (the send confirmation); undefined when there is no terminal. */
  ask?: (question: string) => Promise<string>;
  /** Whether stderr is a terminal (progress bar) or not (plain progress lines). */
  tty?: boolean;
  /** The terminal's width in columns (the progress bar is cut to it); undefined when unknown. */
  columns?: () => number | undefined;
  /** Aborted on Ctrl-C, SIGTERM or SIGHUP: a send stops taking recipients and finishes those in flight. */
  signal?: AbortSignal;
  /**
   * Called by a command that stops gracefully when `signal` is aborted (a send, the preview),
   * so the first signal waits for it; any other command is stopped at once (exit 130 for Ctrl-C).
   */
  graceful?: (kind: 'send' | 'watch') => void;
  /** The signal that aborted `signal` ("SIGINT", "SIGTERM", "SIGHUP"), for the summary. */
  stoppedBy?: () => string | undefined;
}

export const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
  tty: process.stderr.isTTY,
  columns: () => process.stderr.columns,
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

export function usage(message: string, hint?: string): NewsletterError {
  return new NewsletterError('EUSAGE', message, { hint });
}

/**
 * JSON for stdout, one value a run. Besides what JSON.stringify escapes, the C1 controls and
 * the characters that reorder text on screen are written as \u escapes: the output is read
 * in terminals and logs, and a value quoted from a hostile file must not steer them.
 */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/**
 * An error, as the user reads it: under --json one object on stdout ({ ok: false, error }),
 * else `error: ...` lines on stderr. Returns the exit code (2 for EUSAGE, else 1).
 */
export function reportError(err: unknown, io: Io, json: boolean): number {
  if (err instanceof NewsletterError) {
    const code = err.code === 'EUSAGE' ? ExitCode.USAGE : ExitCode.FAILED;
    if (json) {
      io.out(jsonText({ ok: false, error: { code: err.code, message: err.message, problems: err.problems, hint: err.hint } }));
    } else {
      const lines = [`error: ${err.message}`, ...err.problems.map((p) => `  ${formatProblem(p)}`)];
      if (err.hint) lines.push(`  ${err.hint}`);
      io.err(`${printable(lines.join('\n'))}\n`);
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

/** A number option's parser: positive (and whole, for `integer`), else a usage error. */
export function positive(name: string, integer: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
      throw usage(`${name} must be a positive ${integer ? 'whole number' : 'number'}, not "${value}"`);
    }
    return n;
  };
}

/** A TCP port: a whole number from 1 to 65535. */
export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw usage(`--port must be a whole number from 1 to 65535, not "${value}"`, 'Leave --port out to use a free port.');
  return n;
}

export const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
