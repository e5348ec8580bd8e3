/**
 * Ctrl-C, SIGTERM (systemctl stop, docker stop, timeout) and SIGHUP (the terminal closed).
 *
 * - A send (test-send, send): the first signal stops taking recipients; the messages in flight
 *   are finished and recorded, the lock released, the summary printed, and the exit code is
 *   128 + the signal's number. A second signal stops at once: every record written so far is
 *   in the ledger, so the next run resumes without duplicates.
 * - The preview, once serving: the first signal stops it cleanly ("Preview stopped.", exit 0).
 * - Anything else (a build, a check, the preview's first build): stops at once, exit 128 + n
 *   (130 for Ctrl-C), without a word: its output is written whole or not at all.
 */
import type { Io } from './io.js';

/** The signals that stop a run, with their numbers (exit code 128 + n, as shells report them). */
export const STOP_SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

export interface SignalWatch {
  /** What the Io gets: the signal to abort, and the hooks a graceful command calls. */
  io: Pick<Io, 'signal' | 'graceful' | 'stoppedBy'>;
  /** The exit code for the run's `code`: 128 + n for a send a signal stopped. */
  exitCode: (code: number) => number;
  /** Stop listening. */
  close: () => void;
}

export function watchSignals(write: (text: string) => void = (t) => process.stderr.write(t), exit: (code: number) => never = process.exit): SignalWatch {
  const controller = new AbortController();
  let graceful: 'send' | 'watch' | undefined;
  let stoppedBy: StopSignal | undefined;
  const onSignal = (name: StopSignal) => {
    if (!graceful || controller.signal.aborted) exit(128 + STOP_SIGNALS[name]);
    stoppedBy = name;
    controller.abort();
    if (graceful === 'send') {
      const how = name === 'SIGINT' ? 'Ctrl-C' : name;
      write(
        `\nStopping (${how}): finishing and recording the messages in flight (${name === 'SIGINT' ? 'Ctrl-C' : 'the same signal'} again stops at once)...\n`,
      );
    }
  };
  const handlers = Object.keys(STOP_SIGNALS).map((name) => [name, () => onSignal(name as StopSignal)] as const);
  for (const [name, handler] of handlers) process.on(name, handler);
  return {
    io: { signal: controller.signal, graceful: (kind) => (graceful = kind), stoppedBy: () => stoppedBy },
    // A send stopped by a signal says so in its exit code, as a process killed by it would.
    exitCode: (code) => (graceful === 'send' && stoppedBy ? 128 + STOP_SIGNALS[stoppedBy] : code),
    close: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
