/**
 * Kept content: `new <slug> --from <previous>` keeps the recurring sections, and with
 * them fields that name a person or a date (the letter's signatory, the partners'
 * highlights, "10 July", an address under july-2025/). It writes a comment above each:
 *
 *     # KEPT from july-2025 (the signatory): check it is still right for this issue, ...
 *     name: "Florence Kroll"
 *
 * The value stays valid, so the issue builds and previews as it is; this rule reports
 * every such comment left as an error, so the issue cannot go to the list until an
 * editor has looked at each field and deleted its comment.
 */
import type { CheckContext, Finding, Rule, Where } from './types.js';

/** The start of the comment, after its "#". */
export const KEPT_TAG = 'KEPT from';

/** The comment `new --from` writes above a kept field (without its "#"): where it came from, why it is marked, what to do. */
export function keptComment(from: string, why: string): string {
  return ` ${KEPT_TAG} ${from} (${why}): check it is still right for this issue, edit it if not, then delete this comment`;
}

const MARK = `# ${KEPT_TAG} `;

type Path = (string | number)[];

export const keptRule: Rule = {
  id: 'kept',
  description: 'no field kept by "new --from" that names a person or a date is left unchecked (each has a "# KEPT" comment until an editor deletes it)',
  run(ctx: CheckContext): Finding[] {
    // The check context has the file's positions, not its text: find each comment by
    // searching the whole document (path []) for it, then the field written after it.
    const marks: Where[] = [];
    for (let n = 0; ; n++) {
      const at = ctx.locateIn([], MARK, n);
      if (!at) break;
      marks.push(at);
    }
    if (!marks.length) return [];

    const fields = leaves(ctx.issue, []).flatMap(({ path, value }) => {
      const at = ctx.locate(path);
      return at ? [{ path, value, at }] : [];
    });
    fields.sort((a, b) => a.at.line - b.at.line || a.at.col - b.at.col);
    // The same words inside a value (a Markdown body quoting the comment) are not a comment.
    const inValues = new Set<string>();
    for (const f of fields) {
      if (typeof f.value !== 'string') continue;
      for (let n = 0; n < f.value.split(MARK).length - 1; n++) {
        const at = ctx.locateIn(f.path, MARK, n);
        if (at) inValues.add(`${at.line}:${at.col}`);
      }
    }

    const findings: Finding[] = [];
    for (const mark of marks) {
      if (inValues.has(`${mark.line}:${mark.col}`)) continue;
      // Written above the field (as `new` does), or after its value on the same line.
      const field = fields.find((f) => f.at.line === mark.line && f.at.col < (mark.col ?? 0)) ?? fields.find((f) => f.at.line > (mark.line ?? 0));
      const where: Where = { ...mark, path: field?.at.path };
      findings.push({
        rule: 'kept',
        severity: 'error',
        message: field
          ? `${quote(field.value)} was kept from the previous issue by "new --from" and names a person or a date (the comment on this line says which): check it is still right for this issue, edit it if not, then delete the comment`
          : `a "# ${KEPT_TAG} ..." comment is left on this line: check the field it was written above, then delete the comment`,
        where,
      });
    }
    return findings;
  },
};

/** Every scalar of the issue, with its path, in no particular order. */
function leaves(value: unknown, path: Path): { path: Path; value: unknown }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [{ path, value }];
}

/** A value for a message: quoted, its first line only, at most 60 characters. */
function quote(value: unknown): string {
  const full = String(value).trim();
  const line = full.split('\n')[0]!;
  const cut = line.length > 60 ? line.slice(0, 59) : line;
  return `"${cut}${cut === full ? '' : '…'}"`;
}
