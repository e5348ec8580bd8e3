/**
 * One racer for test/lock.test.ts: runs several trials, each on its own lock folder.
 *
 *   node --import tsx test/lock-child.ts <work dir> <trials> [hold ms] [jitter from]
 *
 * For trial t it waits at the barrier <work>/go-<t> (a FIFO: opening it for reading
 * blocks until the test opens it for writing, so every racer is released at the same
 * moment), then calls takeLock(<work>/lock-<t>, 'race'). If it gets the lock it
 * appends "enter <pid>" to <work>/holders-<t> (O_APPEND), holds the lock for
 * [hold ms], appends "exit <pid>" and releases. Either way it appends one line,
 * "got <pid>", "refused <pid>" or "error <pid> <message>", to <work>/results-<t>.
 *
 * Once loaded it appends "ready <pid>" to <work>/ready.
 * LOCK_MODULE (optional) names the module to test instead of src/send/lock.ts.
 */
import fs, { appendFileSync, closeSync, openSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [work, trialsText, holdText, jitterText] = process.argv.slice(2);
if (!work || !trialsText) throw new Error('usage: lock-child.ts <work dir> <trials> [hold ms] [jitter from]');
const trials = Number(trialsText);
const holdMs = Number(holdText ?? '20');

// Jitter: in the trials from <jitter from> on, every file-system call the lock makes
// is delayed by a random 0-2 ms half the time, to spread the racers' steps over many
// more interleavings than they reach unaided. (ESM bindings of node:fs follow the
// CommonJS object after syncBuiltinESMExports, so the lock module sees the wrappers.)
const jitterFrom = Number(jitterText ?? 'Infinity');
let jitter = false;
const jitterPause = new Int32Array(new SharedArrayBuffer(4));
const fsObject = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of ['readFileSync', 'writeFileSync', 'renameSync', 'linkSync', 'unlinkSync', 'statSync', 'rmSync']) {
  const original = fsObject[name]!;
  fsObject[name] = function (this: unknown, ...args: unknown[]) {
    if (jitter && Math.random() < 0.5) Atomics.wait(jitterPause, 0, 0, Math.random() * 2);
    return original.apply(this, args);
  };
}
syncBuiltinESMExports();

const modulePath = process.env.LOCK_MODULE ?? path.join(import.meta.dirname, '../src/send/lock.ts');
const { takeLock } = (await import(pathToFileURL(modulePath).href)) as { takeLock: (dir: string, slug: string) => () => void };

// Loaded: tell the test, so that it opens the first barrier when all racers wait at it.
appendFileSync(path.join(work, 'ready'), `ready ${process.pid}\n`);

const pause = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number): void => void Atomics.wait(pause, 0, 0, ms);
const line = (file: string, text: string): void => appendFileSync(file, `${text}\n`, { flag: 'a' });

for (let t = 0; t < trials; t++) {
  // The barrier: blocks until the test opens the FIFO for writing.
  closeSync(openSync(path.join(work, `go-${t}`), 'r'));
  jitter = t >= jitterFrom;
  const results = path.join(work, `results-${t}`);
  const holders = path.join(work, `holders-${t}`);
  let release: (() => void) | undefined;
  try {
    release = takeLock(path.join(work, `lock-${t}`), 'race');
  } catch (err) {
    const code = (err as { code?: string }).code;
    line(results, code === 'ESEND_REFUSED' ? `refused ${process.pid}` : `error ${process.pid} ${String((err as Error).message).replace(/\n/g, ' ')}`);
    continue;
  }
  line(holders, `enter ${process.pid}`);
  sleep(holdMs);
  line(holders, `exit ${process.pid}`);
  release();
  line(results, `got ${process.pid}`);
}
