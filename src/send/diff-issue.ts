/**
 * `build-issue diff`: what changed in an issue since its last test send, or from another
 * issue's email (last month's, say).
 *
 *  1. Build the issue in memory (nothing written, no checks: only its words matter here)
 *  2. Find what to compare with: the last test send's kept version (sends/<slug>/versions/),
 *     or the other issue, built the same way (or, when its YAML no longer builds, its
 *     dist/<other>/email.txt, compared as one block of text)
 *  3. Compare: sections added, removed, changed, and the words changed in each
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildIssue, resolveIssueFile, type BuildOptions } from '../build-issue.js';
import { NewsletterError } from '../errors.js';
import { compareVersions, type VersionDiff } from '../review/compare-versions.js';
import { londonTime } from '../review/format-changes.js';
import { lastTestSend, type TestSendRecord } from '../review/test-send-store.js';
import { snapshotOfText, snapshotVersion, type VersionSnapshot } from '../review/version-snapshot.js';
import { sendsDir } from './send-issue.js';

export interface DiffOptions {
  /** The project folder. @default process.cwd() */
  root?: string;
  /** Build options passed through (configFile...). */
  build?: BuildOptions;
  /** Compare with this issue (a name or a .yaml path) instead of the last test send. */
  against?: string;
}

export interface IssueDiff {
  slug: string;
  hash: string;
  /** What it was compared with, as a phrase ("since the test send of ...", "from june-2025"). */
  label: string;
  /** The test send compared with, when it was one. */
  testSend?: TestSendRecord;
  /** The other issue compared with, and where its words came from. */
  other?: { slug: string; from: 'build' | 'email.txt' };
  diff: VersionDiff;
}

const quietBuild = (issue: string, root: string, options: DiffOptions) =>
  buildIssue(issue, { ...options.build, root, write: false, check: false, screenshots: false });

/** The other issue's words: built from its YAML, else (when that no longer builds) its dist/<other>/email.txt. */
async function otherVersion(
  issue: string,
  root: string,
  options: DiffOptions,
): Promise<{ slug: string; snapshot: VersionSnapshot; from: 'build' | 'email.txt' }> {
  const { slug } = resolveIssueFile(issue, root);
  try {
    const build = await quietBuild(issue, root, options);
    return { slug, snapshot: snapshotVersion(build), from: 'build' };
  } catch (err) {
    const outDir = path.resolve(root, options.build?.outDir ?? 'dist');
    const text = await readFile(path.join(outDir, slug, 'email.txt'), 'utf8').catch(() => undefined);
    if (text === undefined) {
      if (err instanceof NewsletterError)
        throw new NewsletterError(err.code, `cannot compare with ${slug}: ${err.message}`, {
          problems: err.problems,
          hint: `${err.hint ? `${err.hint} ` : ''}(Or build ${slug} with the version of the tool it was made with: its dist/${slug}/email.txt is compared when its file no longer builds.)`,
          cause: err,
        });
      throw err;
    }
    return { slug, snapshot: snapshotOfText(text), from: 'email.txt' };
  }
}

/** Compare the issue with its last test send, or with `options.against`. */
export async function diffIssue(issueArg: string, options: DiffOptions = {}): Promise<IssueDiff> {
  const root = path.resolve(options.root ?? process.cwd());
  const { slug } = resolveIssueFile(issueArg, root);

  if (options.against === undefined) {
    // Before building: "no test send yet" is said at once.
    const last = lastTestSend(sendsDir(root, slug));
    if (!last) {
      throw new NewsletterError('ESEND_REFUSED', `no test send of ${slug} yet: run build-issue test-send ${slug} first`, {
        hint: `Each test send keeps what it said in sends/${slug}/; "build-issue diff ${slug}" compares with the last one. To compare with another issue, add --against <issue> (e.g. last month's).`,
      });
    }
    // 1. Build, 3. compare
    const build = await quietBuild(issueArg, root, options);
    const label = `since the test send of ${londonTime(last.record.at)}`;
    return { slug, hash: build.hash, label, testSend: last.record, diff: compareVersions(last.snapshot, snapshotVersion(build)) };
  }

  // 1. Build, 2. the other issue, 3. compare
  const [build, other] = await Promise.all([quietBuild(issueArg, root, options), otherVersion(options.against, root, options)]);
  // Like with like: text against text when the other one is known only by its text.
  const now = other.from === 'build' ? snapshotVersion(build) : snapshotOfText(build.text);
  return {
    slug,
    hash: build.hash,
    label: other.from === 'build' ? `from ${other.slug}` : `from ${other.slug} (its dist/${other.slug}/email.txt)`,
    other: { slug: other.slug, from: other.from },
    diff: compareVersions(other.snapshot, now),
  };
}
