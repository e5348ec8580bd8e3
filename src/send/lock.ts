/**
 * One send of an issue at a time: sends/<slug>/send.lock holds the pid of the
 * process sending. A lock whose process no longer runs (a crash, kill -9, a power
 * cut) is taken over at once, so resuming needs no manual clean-up.
 */
import { hostname } from 'node:os';
import { readFileSync, renameSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { NewsletterError } from '../errors.js';

interface LockInfo {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the lock, or throw ESEND_REFUSED naming the process that holds it. Returns the release function. */
export function takeLock(dir: string, slug: string): () => void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'send.lock');
  const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(mine), { flag: 'wx' });
      return () => release(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let held: LockInfo | undefined;
    try {
      held = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    } catch {
      held = undefined; // empty or torn: its writer died while writing
    }
    if (held && held.host === mine.host && held.pid !== process.pid && alive(held.pid)) {
      throw new NewsletterError('ESEND_REFUSED', `another send of ${slug} is running (process ${held.pid}, since ${held.since})`, {
        hint: 'Wait for it to finish, or stop it with Ctrl-C; then run the same command to resume.',
      });
    }
    if (held && held.host !== mine.host) {
      throw new NewsletterError('ESEND_REFUSED', `${file} says ${held.host} is sending ${slug} (process ${held.pid})`, {
        hint: `If no send is running there, delete ${file} and run the command again.`,
      });
    }
    // Its process is gone: take it over (atomically, so two resumers cannot both win).
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(mine));
    try {
      renameSync(tmp, file);
      const now = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
      if (now.pid === process.pid) return () => release(file);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  throw new NewsletterError('ESEND_REFUSED', `could not take the send lock ${file}`, { hint: 'Run the command again.' });
}

function release(file: string): void {
  try {
    const held = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
    if (held.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
