/**
 * One send of an issue at a time: sends/<slug>/send.lock names the process sending
 * (pid, host, since, and on Linux the process's start time and the boot id). A lock
 * whose process no longer runs (a crash, kill -9, a power cut) is stale and is taken
 * over at once, so resuming needs no manual clean-up.
 *
 * ## Taking the lock
 * The lock is published whole and exclusively: its content is written to a private
 * temporary file, which is then hard-linked to send.lock. link() fails with EEXIST if
 * send.lock exists, so of any number of processes exactly one creates it, and no
 * reader ever sees a half-written lock of ours. (Where the file system has no hard
 * links, open(O_CREAT|O_EXCL) then write is used; see TORN_GRACE_MS.)
 *
 * ## Judging a lock
 * A lock is stale when its content is not a whole lock (its writer died mid-write),
 * when it was written before the last reboot (boot id differs), when no process has
 * its pid, or when the process with its pid started at another time (the pid was
 * reused). Without /proc (macOS) the pid alone decides. A lock from another host is
 * not judged: the user is told.
 *
 * ## Taking over a stale lock
 * Removing a stale lock and creating ours cannot be one step, and a plain
 * "read, judge, remove" is racy: A and B both read the stale lock S; B removes S and
 * creates its own lock L; A, late, removes L (believing it is S) and creates its own:
 * two holders. Renaming S away instead (rename succeeds once) has the same flaw: A's
 * rename may move L, and putting L back can fail because C created a lock meanwhile.
 *
 * So a stale lock is removed only under a take-over guard named after the exact
 * content judged: send.lock.takeover-<hash(name, content)>, itself created
 * exclusively. The guard holder re-reads send.lock and removes it only if it still
 * has that content. Why that is safe:
 *  - Only one process at a time holds the guard for content S, so only one can be
 *    between "send.lock still reads S" and "S removed".
 *  - While a guard holder is there, nothing else changes send.lock: S's owner is dead
 *    and will not release it; any other remover holds a guard for another content X,
 *    and re-reading finds S, not X, so it removes nothing; a new lock can only be
 *    created where none exists.
 *  - A late taker (judged S long ago) gets the guard after S is gone and finds other
 *    content (a fresh lock carries a random nonce, so S never comes back), and backs
 *    off. Torn content ("") may come back, but then it is stale again.
 * After removing S the taker goes back to create-exclusive, which only one wins; the
 * others find the winner's live lock and are refused.
 *
 * The removal itself renames S to a unique name and checks what it moved before
 * deleting it, putting back (without replacing anything) what is not S; with every
 * process following this protocol that check never fires, but it keeps an older
 * version's blind rename from turning into a lost lock.
 *
 * A guard is held for a few system calls. If its holder dies there (kill -9 at that
 * instant), the guard is stale by the same rules and is taken over the same way
 * (a guard for the guard), up to MAX_DEPTH levels.
 *
 * ## Releasing
 * release() removes send.lock only if it still holds this take's content (nonce),
 * not merely our pid. Between that check and the removal nothing else replaces it:
 * no one takes over a lock whose process is alive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { linkSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NewsletterError } from '../errors.js';

interface LockInfo {
  pid: number;
  host: string;
  since: string;
  /** Field 22 (starttime, clock ticks since boot) of /proc/<pid>/stat; absent without /proc. */
  start?: string;
  /** /proc/sys/kernel/random/boot_id when the lock was taken; absent without /proc. */
  boot?: string;
  /** Random, so that every lock (and guard) has content of its own. */
  nonce?: string;
}

type Verdict = { kind: 'stale' | 'torn' } | { kind: 'live' | 'remote'; held: LockInfo };

/** Attempts at create-or-take-over before giving up (each failed one waits a few ms). */
const MAX_ATTEMPTS = 400;
/** Guards for guards, for holders that died within the take-over itself. */
const MAX_DEPTH = 3;
/**
 * Only where lock files are created with open+write (no hard links): a torn lock this
 * young may still be being written by its live creator, so it is not stale yet.
 */
const TORN_GRACE_MS = 2000;

const pause = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** The starttime field of /proc/<pid>/stat, 'gone' when there is no such process, undefined when unknown. */
function processStart(pid: number | 'self'): string | 'gone' | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    return errno(err) === 'ENOENT' || errno(err) === 'ESRCH' ? 'gone' : undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  // The fields after it start at field 3 (state); starttime is field 22.
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
  return start && /^\d+$/.test(start) ? start : undefined;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Does a process with this pid exist (kill -0)? EPERM: it exists but belongs to someone else. */
function exists(pid: number): { exists: boolean; ours: boolean } {
  try {
    process.kill(pid, 0);
    return { exists: true, ours: true };
  } catch (err) {
    return { exists: errno(err) === 'EPERM', ours: false };
  }
}

function parse(raw: string): LockInfo | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  // A pid of 0 or below would make kill(pid, 0) probe a process group: not a lock.
  if (typeof v.pid !== 'number' || !Number.isSafeInteger(v.pid) || v.pid <= 0 || typeof v.host !== 'string') return undefined;
  return {
    pid: v.pid,
    host: v.host,
    since: typeof v.since === 'string' ? v.since : 'an unknown time',
    start: typeof v.start === 'string' ? v.start : undefined,
    boot: typeof v.boot === 'string' ? v.boot : undefined,
    nonce: typeof v.nonce === 'string' ? v.nonce : undefined,
  };
}

function judge(raw: string, me: LockInfo): Verdict {
  const held = parse(raw);
  if (!held) return { kind: 'torn' };
  if (held.host !== me.host) return { kind: 'remote', held };
  // Written before the last reboot: whatever runs under that pid now is someone else.
  if (held.boot && me.boot && held.boot !== me.boot) return { kind: 'stale' };
  if (held.pid === process.pid) {
    // This very process: a lock it holds through another takeLock() is live; one with
    // another start time, or none recorded, was left by an earlier process with our pid.
    if (held.nonce && heldHere.has(held.nonce)) return { kind: 'live', held };
    return held.start && me.start && held.start === me.start ? { kind: 'live', held } : { kind: 'stale' };
  }
  const probe = exists(held.pid);
  if (!probe.exists) return { kind: 'stale' };
  if (held.start && me.start) {
    const start = processStart(held.pid);
    // 'gone' after kill -0 said it exists: it died just now, unless /proc hides other
    // users' processes (hidepid), in which case we cannot tell and assume it runs.
    if (start === 'gone') return probe.ours ? { kind: 'stale' } : { kind: 'live', held };
    if (start !== undefined && start !== held.start) return { kind: 'stale' }; // pid reused
  }
  return { kind: 'live', held };
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
}

function unique(file: string, what: string): string {
  return `${file}.${what}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** Nonces of the locks this process holds now. */
const heldHere = new Set<string>();

/** Set once a lock file had to be made with open+write because link() is not supported. */
let noHardLinks = false;

/**
 * Create `file` with `content` if it does not exist; false if it does. The content
 * appears whole: written to a private file first, then hard-linked into place.
 */
function createExclusive(file: string, content: string): boolean {
  if (!noHardLinks) {
    const tmp = unique(file, 'new');
    writeFileSync(tmp, content, { flag: 'wx', mode: 0o600 });
    try {
      linkSync(tmp, file);
      return true;
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      // File systems without hard links (some FUSE, FAT, SMB mounts).
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK', 'EINVAL'].includes(errno(err) ?? '')) throw err;
      noHardLinks = true;
    } finally {
      unlinkQuietly(tmp);
    }
  }
  try {
    writeFileSync(file, content, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
}

/** A torn lock that may still be being written (open+write creation only). */
function mayBeBeingWritten(file: string): boolean {
  if (!noHardLinks) return false;
  try {
    return Date.now() - statSync(file).mtimeMs < TORN_GRACE_MS;
  } catch {
    return false;
  }
}

type TakeOver = 'removed' | 'changed' | 'busy';

/**
 * Remove `target` if it still holds `judged` (content judged stale), under the guard
 * for that content, so that one process at a time can do so (see the comment at the
 * top). `lockFile` names the guards; `me` is written into them.
 */
function removeStale(lockFile: string, target: string, judged: string, me: LockInfo, depth: number): TakeOver {
  const digest = createHash('sha256').update(path.basename(target)).update('\0').update(judged).digest('hex').slice(0, 16);
  const guard = `${lockFile}.takeover-${digest}`;
  const mine = JSON.stringify({ ...me, nonce: randomBytes(12).toString('hex') });
  for (let attempt = 0; ; attempt++) {
    if (attempt >= MAX_ATTEMPTS) return 'busy';
    if (createExclusive(guard, mine)) break;
    const other = readText(guard);
    if (other === undefined) continue; // its holder just finished: try again
    const verdict = judge(other, me);
    // A live process is taking this lock over: let it.
    if (verdict.kind === 'live' || verdict.kind === 'remote') return 'busy';
    if (verdict.kind === 'torn' && mayBeBeingWritten(guard)) return 'busy';
    // Its holder died inside the take-over: take the guard over the same way.
    if (depth >= MAX_DEPTH) return 'busy';
    if (removeStale(lockFile, guard, other, me, depth + 1) === 'busy') return 'busy';
  }
  try {
    // We hold the guard for `judged`: nothing else changes `target` while it reads so.
    if (readText(target) !== judged) return 'changed';
    const aside = unique(lockFile, 'stale');
    try {
      renameSync(target, aside);
    } catch (err) {
      if (errno(err) === 'ENOENT') return 'changed';
      throw err;
    }
    if (readText(aside) !== judged) {
      // Cannot happen between processes following this protocol (see the top). Put
      // back what we moved, without replacing whatever may have been created since.
      try {
        linkSync(aside, target);
      } catch {
        /* a lock exists again: the race for it is between its holder and us */
      }
      unlinkQuietly(aside);
      return 'changed';
    }
    unlinkQuietly(aside);
    return 'removed';
  } finally {
    if (readText(guard) === mine) unlinkQuietly(guard);
  }
}

/** How to show the lock file to the user: relative to the working directory when inside it. */
function shown(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * Take the lock, or throw ESEND_REFUSED naming the process that holds it. Returns the release
 * function. `name` is the lock file's (the send's, by default; the suppression file has its own).
 */
export function takeLock(dir: string, slug: string, name = 'send.lock'): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, name);
  const start = processStart('self');
  const boot = bootId();
  const me: LockInfo = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    ...(start && start !== 'gone' ? { start } : {}),
    ...(boot ? { boot } : {}),
  };
  const nonce = randomBytes(12).toString('hex');
  const content = JSON.stringify({ ...me, nonce });

  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(file, content)) {
      heldHere.add(nonce);
      return () => {
        heldHere.delete(nonce);
        release(file, content);
      };
    }
    const raw = readText(file);
    if (raw === undefined) continue; // released or taken over just now: try again
    const verdict = judge(raw, me);
    if (verdict.kind === 'live') {
      const { held } = verdict;
      throw new NewsletterError('ESEND_REFUSED', `another send of ${slug} is running (process ${held.pid}, since ${held.since}, on ${held.host})`, {
        hint:
          'Wait for it to finish, or stop it with Ctrl-C; then run the same command to resume. ' +
          `If no send is running (check with \`ps -p ${held.pid}\`), delete ${shown(file)} and run the command again.`,
      });
    }
    if (verdict.kind === 'remote') {
      const { held } = verdict;
      throw new NewsletterError('ESEND_REFUSED', `${shown(file)} says ${held.host} is sending ${slug} (process ${held.pid}, since ${held.since})`, {
        hint: `If no send is running there (check with \`ps -p ${held.pid}\` on ${held.host}), delete ${shown(file)} and run the command again.`,
      });
    }
    if (verdict.kind === 'torn' && mayBeBeingWritten(file)) {
      sleep(5);
      continue;
    }
    // Stale: remove it (only if it still is what we judged), then race for it again.
    if (removeStale(file, file, raw, me, 0) === 'busy') sleep(5);
  }
  throw new NewsletterError('ESEND_REFUSED', `could not take the send lock ${shown(file)}: another process kept taking it over`, {
    hint: `Run the command again. If this repeats while no send is running, delete ${shown(file)} and any ${path.basename(file)}.takeover-* next to it.`,
  });
}

/** Remove the lock only if it is still the one this take wrote. */
function release(file: string, content: string): void {
  try {
    if (readText(file) === content) unlinkSync(file);
  } catch {
    // already gone
  }
}
