/**
 * SMTP sinks (test/smtp-sink.ts) that close after each test: call once at a test file's top
 * level, then `const s = await sink({...})` in a test.
 */
import { afterEach } from 'vitest';
import { startSink, type SmtpSink, type StartSinkOptions } from './smtp-sink.js';

export function sinksPerTest(): (options?: StartSinkOptions) => Promise<SmtpSink> {
  const sinks: SmtpSink[] = [];
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });
  return async (options = {}) => {
    const s = await startSink(options);
    sinks.push(s);
    return s;
  };
}
