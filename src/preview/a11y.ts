/**
 * Rule "a11y": axe-core, Deque's accessibility engine, run on the email in the real
 * browser (WCAG 2.0, 2.1 and 2.2 A and AA rules), so it sees what only a browser knows:
 * the colours as they are painted (contrast, in light and in dark mode), what is hidden,
 * how big things are.
 *
 * axe's source is read from node_modules when a browser pass starts (createRequire,
 * resolved at run time: the CLI is a CommonJS bundle, and axe must not be bundled into
 * it) and evaluated in the page. It makes no requests: everything runs offline.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type { Finding } from '../check/types.js';

/** The axe tags run: every WCAG A and AA rule up to WCAG 2.2. */
export const A11Y_TAGS: readonly string[] = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/** One axe run: where it was (e.g. "600 px", "375 px in dark mode"), and its violations. */
export interface AxeRun {
  label: string;
  violations: AxeViolation[];
}

/** The parts of axe's result that the findings use. */
export interface AxeViolation {
  id: string;
  impact?: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  helpUrl: string;
  nodes: { html: string; target: unknown[]; failureSummary?: string; impact?: string | null }[];
}

let axeSource: string | undefined;

/** axe-core's browser build, read once per process. */
export function axeScript(): string {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

/**
 * Run axe on `page` as it is now (its size, its colour scheme) and return the
 * violations. Puts axe into the page first when it is not there yet.
 */
export async function runAxe(page: Page, label: string): Promise<AxeRun> {
  const present = await page.evaluate('typeof window.axe === "object" && typeof window.axe.run === "function"');
  // evaluate(), not a <script>: the page's own Content-Security-Policy (if any) does not apply to it.
  if (!present) await page.evaluate(`${axeScript()}\n;void 0`);
  const options = JSON.stringify({ runOnly: { type: 'tag', values: A11Y_TAGS }, resultTypes: ['violations'] });
  const violations = (await page.evaluate(`window.axe.run(document, ${options}).then(function (r) {
    return r.violations.map(function (v) {
      return { id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map(function (n) { return { html: n.html, target: n.target, failureSummary: n.failureSummary, impact: n.impact }; }) };
    });
  })`)) as AxeViolation[];
  return { label, violations };
}

const shorten = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/**
 * axe's "how to fix" text on one line: "Fix any of the following:" (one will do) and
 * "Fix all of the following:" (every one) kept as "one of:" / "all of:", the items
 * joined, at most `max` characters.
 */
export function shortFix(summary: string | undefined, max = 300): string {
  if (!summary) return '';
  const parts = summary
    .split(/\n\s*\n/)
    .map((block) => {
      const lines = block
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      const head = lines[0] ?? '';
      const items = lines.slice(1);
      if (/^Fix any of the following:?$/i.test(head)) return items.length > 1 ? `one of: ${items.join('; or ')}` : (items[0] ?? '');
      if (/^Fix all of the following:?$/i.test(head)) return items.join('; and ');
      return lines.join('; ');
    })
    .filter(Boolean);
  return shorten(parts.join('; and '), max);
}

/** "600 px", "600 and 375 px", "375 px in dark mode", joined as a reader would say them. */
function seenAt(labels: string[]): string {
  // "600 px" + "375 px" -> "600 and 375 px"; others listed as they are.
  const plain = labels.filter((l) => /^\d+ px$/.test(l)).map((l) => l.replace(' px', ''));
  const rest = labels.filter((l) => !/^\d+ px$/.test(l));
  const parts = [...(plain.length ? [`${joinAnd(plain)} px`] : []), ...rest];
  return joinAnd(parts);
}

const joinAnd = (xs: string[]) => (xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

/** axe's fix text with what varies between like elements (font size and weight) taken out, to group them. */
const sameProblem = (summary: string) => summary.replace(/,\s*font size: [^,]*(?:, font weight: [a-z]+)?/g, '');

/**
 * Findings (rule "a11y") from the runs. Each element's problem counts once however many
 * runs saw it ("at 600 and 375 px"); the same element with another problem in dark mode
 * (other colours) counts apart. Then the elements with the same problem seen at the
 * same widths (forty paragraphs with the same two colours) make one finding, which
 * names how many and shows the first. Serious and critical violations are errors, the
 * others warnings.
 */
export function a11yFindings(runs: readonly AxeRun[]): Finding[] {
  type Node = AxeViolation['nodes'][number];
  const perNode = new Map<string, { v: AxeViolation; node: Node; labels: string[] }>();
  for (const run of runs) {
    for (const v of run.violations) {
      for (const node of v.nodes) {
        const key = JSON.stringify([v.id, node.target.map(String), node.failureSummary ?? '']);
        const entry = perNode.get(key);
        if (entry) {
          if (!entry.labels.includes(run.label)) entry.labels.push(run.label);
        } else perNode.set(key, { v, node, labels: [run.label] });
      }
    }
  }
  const groups = new Map<string, { v: AxeViolation; nodes: Node[]; labels: string[] }>();
  for (const { v, node, labels } of perNode.values()) {
    const key = JSON.stringify([v.id, labels, sameProblem(node.failureSummary ?? '')]);
    const group = groups.get(key);
    if (group) group.nodes.push(node);
    else groups.set(key, { v, nodes: [node], labels });
  }
  return [...groups.values()].map(({ v, nodes, labels }) => {
    const first = nodes[0]!;
    const impact = first.impact ?? v.impact ?? 'moderate';
    const fix = shortFix(nodes.length > 1 ? sameProblem(first.failureSummary ?? '') : first.failureSummary);
    const count = nodes.length > 1 ? `, ${nodes.length} elements (the first shown)` : '';
    return {
      rule: 'a11y',
      severity: impact === 'serious' || impact === 'critical' ? 'error' : 'warning',
      message: `${v.help} (axe ${v.id}, ${impact}) at ${seenAt(labels)}${count}${fix ? `: ${fix}` : ''}. See ${v.helpUrl.replace(/\?application=axeAPI$/, '')}`,
      where: { excerpt: shorten(first.html.replace(/\s+/g, ' '), 200) },
    } satisfies Finding;
  });
}
