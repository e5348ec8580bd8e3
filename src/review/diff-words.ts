/**
 * Words inserted and deleted between two texts: the longest common subsequence of their
 * words (after the common start and end are set aside, which is most of a section that
 * had a few words changed). Whitespace is not a word: a re-wrapped paragraph is unchanged.
 */

export type WordOp = { op: 'same' | 'ins' | 'del'; words: string[] };

/** Above this many cells (middle words of one side times the other's) the middle is shown as replaced whole, not searched word by word. */
const MAX_CELLS = 4_000_000;

export const words = (text: string): string[] => text.match(/\S+/g) ?? [];

/** The word-level difference from `before` to `after`, as runs of same, deleted and inserted words (a deletion before the insertion that replaces it). */
export function diffWords(before: string, after: string): WordOp[] {
  const a = words(before);
  const b = words(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const ops: WordOp[] = [];
  const push = (op: WordOp['op'], word: string) => {
    const last = ops[ops.length - 1];
    if (last?.op === op) last.words.push(word);
    else ops.push({ op, words: [word] });
  };
  for (const w of a.slice(0, start)) push('same', w);
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  if (midA.length * midB.length > MAX_CELLS) {
    for (const w of midA) push('del', w);
    for (const w of midB) push('ins', w);
  } else {
    // lcs[i][j]: the longest common subsequence of midA[i..] and midB[j..], one flat array.
    const n = midA.length;
    const m = midB.length;
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * (m + 1) + j] = midA[i] === midB[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        push('same', midA[i++]!);
        j++;
      } else if (j >= m || (i < n && lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) push('del', midA[i++]!);
      else push('ins', midB[j++]!);
    }
  }
  for (const w of a.slice(endA)) push('same', w);
  return ops;
}

/**
 * The changes with a little context: each run of unchanged words longer than twice
 * `context` is cut to its ends, and a hunk boundary (null) put where words were left out.
 */
export function changeHunks(ops: readonly WordOp[], context = 6): (WordOp | null)[] {
  if (!ops.some((o) => o.op !== 'same')) return [];
  const out: (WordOp | null)[] = [];
  for (const [k, o] of ops.entries()) {
    const keepHead = k === 0 ? 0 : context;
    const keepTail = k === ops.length - 1 ? 0 : context;
    if (o.op !== 'same' || o.words.length <= keepHead + keepTail) {
      out.push(o);
      continue;
    }
    if (keepHead) out.push({ op: 'same', words: o.words.slice(0, keepHead) });
    out.push(null);
    if (keepTail) out.push({ op: 'same', words: o.words.slice(-keepTail) });
  }
  return out;
}
