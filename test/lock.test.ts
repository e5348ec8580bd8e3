/**
 * The send lock (src/send/lock.ts) with real processes: N racers meeting a stale
 * lock, pid reuse, a live holder, torn locks, and release after a takeover.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { takeLock } from '../src/send/lock.js';
import { NewsletterError } from '../src/errors.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const hasProc = existsSync('/proc/self/stat');
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lock-test-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A pid that no process has now: a child's, after it has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

/** A live process (killed after the test). */
function sleeper(): ChildProcess {
  const child = spawn('sleep', ['60']);
  cleanup.push(() => child.kill('SIGKILL'));
  return child;
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

function refusal(fn: () => unknown): NewsletterError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NewsletterError);
    expect((err as NewsletterError).code).toBe('ESEND_REFUSED');
    return err as NewsletterError;
  }
  throw new Error('expected ESEND_REFUSED, but the lock was taken');
}

const waitFor = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
};

const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

describe('send lock', () => {
  it.skipIf(process.platform === 'win32')(
    'N processes racing for a stale lock: exactly one holds it at any time, the others are refused',
    async () => {
      const N = 6;
      // The second half of the trials with random delays in the racers' file-system calls.
      const TRIALS = 40;
      const work = tempDir();
      const dead = await deadPid();
      for (let t = 0; t < TRIALS; t++) {
        mkdirSync(path.join(work, `lock-${t}`));
        // A stale lock: even trials as an older version (or a crash) left it, its process
        // gone; odd trials (with /proc) naming a live process with a reused pid (this one).
        const stale =
          t % 2 === 1 && hasProc
            ? { pid: process.pid, host: hostname(), since: 'earlier', start: '1', boot: bootId(), nonce: 'old' }
            : { pid: dead, host: hostname(), since: 'earlier' };
        writeFileSync(path.join(work, `lock-${t}`, 'send.lock'), JSON.stringify(stale));
        execFileSync('mkfifo', [path.join(work, `go-${t}`)]);
      }
      const children = Array.from({ length: N }, () => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/lock-child.ts'), work, String(TRIALS), '20', String(TRIALS / 2)], {
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let err = '';
        child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
        const done = new Promise<{ code: number | null; err: string }>((r) => child.on('close', (code) => r({ code, err })));
        cleanup.push(() => child.kill('SIGKILL'));
        return { child, done };
      });

      await waitFor(() => lines(path.join(work, 'ready')).length >= N || children.some((c) => c.child.exitCode !== null));
      const summary: string[] = [];
      const problems: string[] = [];
      let overlapping = 0;
      let overlaps = 0;
      // A racer that failed. (One that ends well ends after its last trial: in the last trial the
      // refused racers exit while the holder still holds, and that is no reason to stop waiting.)
      const anyExited = (): boolean => children.some((c) => (c.child.exitCode !== null && c.child.exitCode !== 0) || c.child.signalCode !== null);
      for (let t = 0; t < TRIALS && !anyExited(); t++) {
        // Let the racers reach the barrier (not needed for correctness: a late racer
        // only races less), then open it for all of them at once.
        await new Promise((r) => setTimeout(r, 30));
        const barrier = await open(path.join(work, `go-${t}`), 'w');
        await waitFor(() => lines(path.join(work, `results-${t}`)).length >= N || anyExited());
        await barrier.close();

        const results = lines(path.join(work, `results-${t}`));
        const holders = lines(path.join(work, `holders-${t}`));
        // Every racer either got the lock or was refused.
        for (const r of results) if (!/^(got|refused) \d+$/.test(r)) problems.push(`trial ${t}: ${r}`);
        const got = results.filter((r) => r.startsWith('got ')).length;
        // Never more than one inside: enter/exit records must pair up one after the other.
        let inside = 0;
        let most = 0;
        let trialOverlaps = 0;
        for (const record of holders) {
          if (record.startsWith('enter ')) {
            inside++;
            if (inside > 1) trialOverlaps++;
          } else inside--;
          most = Math.max(most, inside);
        }
        if (trialOverlaps > 0) overlapping++;
        overlaps += trialOverlaps;
        summary.push(`trial ${t}${t >= TRIALS / 2 ? ' (jitter)' : ''}: ${got} got, ${N - got} refused, at most ${most} inside at once`);
        if (got < 1) problems.push(`trial ${t}: nobody got the stale lock`);
        if (holders.length !== 2 * got) problems.push(`trial ${t}: ${got} got the lock but holders has ${holders.length} records`);
      }
      const ends = await Promise.all(children.map((c) => c.done));
      console.log(`lock race: ${overlapping} of ${TRIALS} trials had two holders at once (${overlaps} overlaps)\n${summary.join('\n')}`);
      for (const end of ends) expect(end.code, end.err).toBe(0);
      expect(summary).toHaveLength(TRIALS);
      expect(problems).toEqual([]);
      expect(overlapping).toBe(0);
      // Released, and no take-over debris (guards, set-aside or temporary files) left behind.
      for (let t = 0; t < TRIALS; t++) expect(readdirSync(path.join(work, `lock-${t}`)), `trial ${t}`).toEqual([]);
    },
    300_000,
  );

  it.skipIf(!hasProc)('a lock naming a live process that started at another time (a reused pid) is taken over', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'send.lock');
    const other = sleeper();
    writeFileSync(file, JSON.stringify({ pid: other.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', start: '1', boot: bootId() }));
    const release = takeLock(dir, 'reuse');
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    release();
    expect(existsSync(file)).toBe(false);

    // The same with this very process's pid, as after a restart in a container.
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', start: '1', boot: bootId() }));
    takeLock(dir, 'reuse')();
    expect(existsSync(file)).toBe(false);
  });

  it.skipIf(!hasProc)('a lock written before the last reboot is stale even if its pid runs now', () => {
    const dir = tempDir();
    const other = sleeper();
    writeFileSync(
      path.join(dir, 'send.lock'),
      JSON.stringify({ pid: other.pid, host: hostname(), since: 'earlier', start: startTime(other.pid!), boot: '00000000-0000-0000-0000-000000000000' }),
    );
    takeLock(dir, 'reboot')();
  });

  it('a lock naming a live process with its start time is refused, saying who holds it and how to clear it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'send.lock');
    const other = sleeper();
    const since = '2026-03-04T05:06:07.000Z';
    const held = hasProc
      ? { pid: other.pid, host: hostname(), since, start: startTime(other.pid!), boot: bootId() }
      : { pid: other.pid, host: hostname(), since };
    writeFileSync(file, JSON.stringify(held));
    const err = refusal(() => takeLock(dir, 'busy'));
    const text = `${err.message}\n${err.hint}`;
    expect(err.message).toMatch(new RegExp(`another send of busy is running \\(process ${other.pid}`));
    expect(text).toContain(since);
    expect(text).toContain(hostname());
    expect(text).toContain(`ps -p ${other.pid}`);
    expect(text).toContain(`delete ${file}`);
    // Refusing leaves the holder's lock alone.
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(held);

    // The same process asking twice is refused too (one send per issue).
    const dir2 = tempDir();
    const release = takeLock(dir2, 'twice');
    refusal(() => takeLock(dir2, 'twice'));
    release();
  });

  it('a lock from another host is not judged: the user is told', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'send.lock'), JSON.stringify({ pid: 1, host: 'elsewhere.example', since: 'earlier' }));
    const err = refusal(() => takeLock(dir, 'remote'));
    expect(`${err.message}\n${err.hint}`).toMatch(/elsewhere\.example/);
    expect(err.hint).toContain(`delete ${path.join(dir, 'send.lock')}`);
  });

  it('a torn lock (empty, half written) is taken over', () => {
    const dir = tempDir();
    const file = path.join(dir, 'send.lock');
    for (const torn of ['', '{"pid": 12', '{"pid":', 'null', '[]']) {
      writeFileSync(file, torn);
      const release = takeLock(dir, 'torn');
      expect(JSON.parse(readFileSync(file, 'utf8')).pid, JSON.stringify(torn)).toBe(process.pid);
      release();
      expect(existsSync(file)).toBe(false);
    }
  });

  // These two know how lock.ts names its take-over guard: send.lock.takeover-<first 16
  // hex digits of sha256("send.lock\0" + the stale content)>.
  const guardFor = (file: string, stale: string): string =>
    `${file}.takeover-${createHash('sha256').update(path.basename(file)).update('\0').update(stale).digest('hex').slice(0, 16)}`;

  it('a take-over whose taker died holding its guard does not block the next one', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'send.lock');
    const stale = JSON.stringify({ pid: await deadPid(), host: hostname(), since: 'earlier' });
    writeFileSync(file, stale);
    writeFileSync(guardFor(file, stale), JSON.stringify({ pid: await deadPid(), host: hostname(), since: 'earlier' }));
    const release = takeLock(dir, 'guard');
    expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('while a live process is taking a stale lock over, the others wait for it and then give up', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'send.lock');
    const stale = JSON.stringify({ pid: await deadPid(), host: hostname(), since: 'earlier' });
    writeFileSync(file, stale);
    const other = sleeper();
    const guard = hasProc
      ? { pid: other.pid, host: hostname(), since: 'now', start: startTime(other.pid!), boot: bootId() }
      : { pid: other.pid, host: hostname(), since: 'now' };
    writeFileSync(guardFor(file, stale), JSON.stringify(guard));
    const err = refusal(() => takeLock(dir, 'guard'));
    expect(err.message).toMatch(/could not take the send lock/);
    expect(err.hint).toContain('send.lock.takeover-');
    // The stale lock is left for the process taking it over.
    expect(readFileSync(file, 'utf8')).toBe(stale);
  });

  it('release() after another took the lock leaves theirs in place', () => {
    const dir = tempDir();
    const file = path.join(dir, 'send.lock');
    // Someone deleted our lock (as the hint says one may) and another process took it.
    const first = takeLock(dir, 'release');
    unlinkSync(file);
    const other = sleeper();
    const theirs = JSON.stringify({ pid: other.pid, host: hostname(), since: 'now' });
    writeFileSync(file, theirs);
    first();
    expect(readFileSync(file, 'utf8')).toBe(theirs);
    unlinkSync(file);

    // Even when the new holder has the same pid (another takeLock in this process).
    const a = takeLock(dir, 'release');
    unlinkSync(file);
    const b = takeLock(dir, 'release');
    const mine = readFileSync(file, 'utf8');
    a();
    expect(readFileSync(file, 'utf8')).toBe(mine);
    b();
    expect(existsSync(file)).toBe(false);
  });
});
