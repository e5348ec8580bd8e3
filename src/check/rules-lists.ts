/**
 * Lists: a "- " (or "* ", "+ ") line meant as a list item that markdown-it reads as
 * more text of the line above instead, so the email shows one item, "Parent item -
 * child item". That happens when the line is indented 4 or more spaces further than
 * the text it follows (markdown-it then takes it for continuation text, and indented
 * code is off in this dialect), e.g. a child item indented six spaces under a "- "
 * parent. A "-" inside a line ("A - B") is left alone: only a source line that starts
 * with a marker and ends up inside a paragraph's text is reported, at its own line.
 */
import { issueMarkdown } from '../issue/markdown-links.js';
import type { CheckContext, Finding, Rule } from './types.js';

/** Fields that hold Markdown, at any depth (a partner card's body too), as load-issue.ts reads them. */
const MARKDOWN_FIELDS = new Set(['body', 'closing', 'intro', 'description']);

/** A line that starts, after its indentation, with a bullet marker and a space. */
const BULLET = /^([ \t]*)([-*+])[ \t]+\S/;
/** A list item's first line: indentation, marker, the spaces after it. */
const ITEM = /^([ \t]*)([-*+]|\d{1,9}[.)])([ \t]*)/;

/** A line meant as a list item that was joined to the text above it. */
export interface MergedItem {
  /** Its line in the Markdown text, from 0. */
  line: number;
  /** The line as written, without its indentation: `- child item`. */
  text: string;
  /** Its marker: "-", "*" or "+". */
  marker: string;
  /** How the email shows it: `Parent item - child item` when joined to the line above (shortened), else the line itself. */
  shown: string;
  /** Joined to the line above (false: it starts a paragraph of its own, its marker shown as text). */
  joined: boolean;
  /** The list item it was joined to, when it is inside one. */
  parent?: {
    /** Its text's first line, without the marker. */
    text: string;
    /** Its marker: "-", "1."... */
    marker: string;
    /** How far in its text starts from its marker: 2 for "- ", 3 for "1. ". */
    offset: number;
  };
}

/** The lines of `markdown` meant as list items that markdown-it joins to the text above them. */
export function mergedItems(markdown: string): MergedItem[] {
  const lines = markdown.split('\n');
  const found: MergedItem[] = [];
  const items: number[] = []; // first lines of the list items we are inside
  for (const t of issueMarkdown.parse(markdown, {})) {
    if (t.type === 'list_item_open' && t.map) items.push(t.map[0]);
    else if (t.type === 'list_item_close') items.pop();
    else if (t.type === 'inline' && t.map) {
      const item = items.at(-1);
      // A paragraph's text keeps one line per source line.
      for (let l = t.map[0]; l < t.map[1]; l++) {
        if (l === item) continue; // the item's own "- " line
        const bullet = BULLET.exec(lines[l] ?? '');
        if (!bullet) continue;
        const text = lines[l]!.trim();
        const before = l > t.map[0] ? (l - 1 === item ? itemText(lines[l - 1]!) : lines[l - 1]!.trim()) : undefined;
        const parentLine = item === undefined ? undefined : lines[item];
        const head = parentLine === undefined ? undefined : ITEM.exec(parentLine);
        found.push({
          line: l,
          text,
          marker: bullet[2]!,
          shown: before === undefined ? text : `${before.length > 40 ? `…${before.slice(-39)}` : before} ${text}`,
          joined: before !== undefined,
          parent:
            head && parentLine !== undefined
              ? { text: itemText(parentLine), marker: head[2]!, offset: head[2]!.length + contentGap(head[3]!, parentLine.slice(head[0].length)) }
              : undefined,
        });
      }
    }
  }
  return found;
}

/** Spaces between a list marker and its text, as CommonMark counts them: 1 to 4, or 1 when there are 5 or more or no text. */
function contentGap(spaces: string, rest: string): number {
  const n = spaces.replace(/\t/g, '    ').length;
  return n === 0 || n > 4 || rest === '' ? 1 : n;
}

/** A list item's first line without its indentation and marker. */
function itemText(line: string): string {
  return line.replace(ITEM, '').trim();
}

export const listsRule: Rule = {
  id: 'lists',
  description: 'a "- " line meant as a list item is not joined to the text above it (indented too far, markdown-it reads it as more of that text)',
  run(ctx: CheckContext): Finding[] {
    const findings: Finding[] = [];
    for (const { path, text } of markdownFields(ctx.issue, [])) {
      const lines = text.split('\n');
      for (const m of mergedItems(text)) {
        // The line as written is in the file too (for "|" blocks, indented): find this occurrence of it.
        const offset = lines.slice(0, m.line).join('\n').length;
        const occurrence = text.slice(0, offset).split(m.text).length - 1;
        const where = ctx.locateIn(path, m.text, occurrence) ?? ctx.locate(path) ?? { file: ctx.issueFile };
        const fix = m.parent
          ? `to make it a sub-item of "${short(m.parent.text)}", indent its "${m.marker}" ${m.parent.offset} spaces further than that item's "${m.parent.marker}", under the first letter of its text (to make it the next item, line its "${m.marker}" up with that "${m.parent.marker}")`
          : `start its "${m.marker}" where the text above it starts (at most 3 spaces further in)`;
        findings.push({
          rule: 'lists',
          severity: 'warning',
          message: m.joined
            ? `"${short(m.text)}" is written as a list item, but markdown-it joins it to the text above, so the email shows "${m.shown}" as one ${m.parent ? 'item' : 'paragraph'}: ${fix}`
            : `"${short(m.text)}" is written as a list item, but markdown-it reads it as a paragraph, so the email shows its "${m.marker}" as text: ${fix}`,
          where,
        });
      }
    }
    return findings;
  },
};

/** The issue's Markdown fields, with their paths. */
function markdownFields(value: unknown, path: (string | number)[]): { path: (string | number)[]; text: string }[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => markdownFields(v, [...path, i]));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) =>
    typeof v === 'string' ? (MARKDOWN_FIELDS.has(k) ? [{ path: [...path, k], text: v }] : []) : markdownFields(v, [...path, k]),
  );
}

const short = (s: string) => (s.length > 50 ? `${s.slice(0, 49)}…` : s);
