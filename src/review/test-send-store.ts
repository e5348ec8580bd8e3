/**
 * The test sends of an issue, in sends/<slug>/ (git-ignored, never under dist/):
 *
 *   test-sends.jsonl          one line a test send that reached everyone it was sent to:
 *                             {"at","hash","subject","to"} (`to`: the editors, never the list)
 *   versions/<hash>.json.gz   what that version said (VersionSnapshot: its plain text and
 *                             its sections' words), gzipped (July: 52 KB of JSON, 13 KB
 *                             stored), one file per version, however often it was test-sent
 *
 * The snapshot is written before its line (a temporary file, flushed, renamed, the
 * folder flushed), and the line is flushed before the test send is reported recorded:
 * after a crash, a line never names a version whose snapshot is missing or half written.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compareVersions, type VersionDiff } from './compare-versions.js';
import { SNAPSHOT_FORMAT, type VersionSnapshot } from './version-snapshot.js';

export interface TestSendRecord {
  at: string;
  hash: string;
  subject: string;
  to: string[];
}

export const TEST_SENDS_FILE = 'test-sends.jsonl';
export const VERSIONS_DIR = 'versions';

/** The test sends recorded in `dir` (sends/<slug>/), oldest first; a line that cannot be read is skipped. */
export function readTestSends(dir: string): TestSendRecord[] {
  let text: string;
  try {
    text = readFileSync(path.join(dir, TEST_SENDS_FILE), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .flatMap((l) => {
      try {
        const r = JSON.parse(l) as TestSendRecord;
        return r && typeof r.hash === 'string' && typeof r.at === 'string' ? [r] : [];
      } catch {
        return [];
      }
    });
}

const versionFile = (dir: string, hash: string) => path.join(dir, VERSIONS_DIR, `${hash}.json.gz`);

/** The snapshot of version `hash`, if one was kept (test sends before snapshots were kept have none). */
export function readSnapshot(dir: string, hash: string): VersionSnapshot | undefined {
  if (!/^[0-9a-f]{64}$/.test(hash)) return undefined;
  try {
    const s = JSON.parse(gunzipSync(readFileSync(versionFile(dir, hash))).toString('utf8')) as VersionSnapshot;
    return s.format === SNAPSHOT_FORMAT && Array.isArray(s.sections) ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The last test send whose version was kept, with that version: what the next test copy is compared with. */
export function lastTestSend(dir: string): { record: TestSendRecord; snapshot: VersionSnapshot } | undefined {
  const records = readTestSends(dir);
  for (let i = records.length - 1; i >= 0; i--) {
    const record = records[i]!;
    const snapshot = readSnapshot(dir, record.hash);
    if (snapshot) return { record, snapshot };
  }
  return undefined;
}

function fsyncPath(p: string): void {
  try {
    const fd = openSync(p, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Not every file system can flush a folder.
  }
}

/** Record a test send: its version's snapshot (atomically, if not kept already), then its line, both flushed to disk. */
export function recordTestSend(dir: string, record: TestSendRecord, snapshot: VersionSnapshot): void {
  const versions = path.join(dir, VERSIONS_DIR);
  mkdirSync(versions, { recursive: true, mode: 0o700 });
  const file = versionFile(dir, snapshot.hash);
  if (!readSnapshot(dir, snapshot.hash)) {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o600);
      try {
        writeFileSync(fd, gzipSync(`${JSON.stringify(snapshot)}\n`));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
    fsyncPath(versions);
  }
  const line = Buffer.from(`${JSON.stringify(record)}\n`);
  const fd = openSync(path.join(dir, TEST_SENDS_FILE), 'a', 0o600);
  try {
    let done = 0;
    while (done < line.length) done += writeSync(fd, line, done, line.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  fsyncPath(dir);
}

/** What changed since the last test send whose version was kept: the comparison, and that test send. Undefined before the first. */
export function changesSinceTestSend(dir: string, now: VersionSnapshot): { record: TestSendRecord; diff: VersionDiff } | undefined {
  const last = lastTestSend(dir);
  return last && { record: last.record, diff: compareVersions(last.snapshot, now) };
}
