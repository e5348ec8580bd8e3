/**
 * Runs an smtp-sink in its own process, so a crash test can kill the SMTP client
 * (e.g. the CLI) without killing the server that recorded what it accepted.
 *
 *   SINK_OPTIONS='{"dataDelayMs":500}' SINK_LOG=/tmp/x/sink.log \
 *     node --import tsx test/smtp-sink-child.ts ['{"dropAfterEvery":3}']
 *
 * Options: JSON from SINK_OPTIONS, then a JSON argv[2] merged over it (both optional;
 * any SinkFaults plus `size`). SINK_LOG (or "logFile" in the options) receives
 * "<epoch ms> <rcpt>" per accepted message, written before the 250 is sent.
 * Prints "READY <port>" on stdout once listening; closes the server and exits 0 on
 * SIGTERM/SIGINT.
 */
import { startSink, type StartSinkOptions } from './smtp-sink.js';

function parseJson(text: string | undefined, what: string): StartSinkOptions {
  if (!text?.trim()) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as StartSinkOptions;
  } catch {
    /* fall through */
  }
  throw new Error(`smtp-sink-child: ${what} must be a JSON object, got ${JSON.stringify(text)}`);
}

const options: StartSinkOptions = {
  ...parseJson(process.env.SINK_OPTIONS, 'SINK_OPTIONS'),
  ...parseJson(process.argv[2], 'argv[2]'),
};
if (process.env.SINK_LOG) options.logFile = process.env.SINK_LOG;

const sink = await startSink(options);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  sink.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(`READY ${sink.port}\n`);
