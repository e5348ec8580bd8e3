/**
 * What changed from one version of an issue to another: sections added, removed and
 * changed (matched by id, else kind and heading), and the words changed within each.
 * A section whose heading was edited where it stands (same kind, same place, neither
 * key found on the other side) counts as changed, not as one removed and one added.
 */
import { changeHunks, diffWords, type WordOp, words } from './diff-words.js';
import type { SectionSnapshot, VersionSnapshot } from './version-snapshot.js';

export interface SectionChange {
  kind: string;
  key: string;
  /** The heading now (for a removed section, the one it had). */
  heading: string;
  /** The heading it had, when that changed. */
  was?: string;
  /** The words changed, with a little context; null where unchanged words were left out. Empty when only links or pictures changed. */
  hunks: (WordOp | null)[];
}

export interface VersionDiff {
  /** Nothing a reader sees changed (the builds are the same, or differ only in layout or settings). */
  same: boolean;
  /** The two builds are byte for byte the same email (same hash). */
  identical: boolean;
  added: SectionSnapshot[];
  removed: SectionSnapshot[];
  changed: SectionChange[];
}

/** Compare `before` with `after`. */
export function compareVersions(before: VersionSnapshot, after: VersionSnapshot): VersionDiff {
  const oldByKey = new Map(before.sections.map((s) => [s.key, s]));
  const newKeys = new Set(after.sections.map((s) => s.key));
  const pairs: [SectionSnapshot, SectionSnapshot][] = [];
  const added: SectionSnapshot[] = [];
  after.sections.forEach((s, i) => {
    const old = oldByKey.get(s.key);
    // A heading edited in place: the section at the same place, of the same kind, whose key is gone.
    const there = before.sections[i];
    const inPlace = there && there.kind === s.kind && !newKeys.has(there.key) && !pairs.some(([o]) => o === there) ? there : undefined;
    const match = old ?? inPlace;
    if (match) pairs.push([match, s]);
    else added.push(s);
  });
  const paired = new Set(pairs.map(([o]) => o));
  const removed = before.sections.filter((s) => !paired.has(s));
  const changed = pairs.flatMap(([o, n]): SectionChange[] =>
    o.hash === n.hash && words(o.text).join(' ') === words(n.text).join(' ')
      ? []
      : [
          {
            kind: n.kind,
            key: n.key,
            heading: n.heading,
            ...(o.heading !== n.heading ? { was: o.heading } : {}),
            hunks: changeHunks(diffWords(o.text, n.text)),
          },
        ],
  );
  const same = !added.length && !removed.length && !changed.length;
  return { same, identical: before.hash === after.hash, added, removed, changed };
}
