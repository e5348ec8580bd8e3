/**
 * The check stage: run every rule over the built email and its issue, apply the
 * config's choices (a rule turned off or re-levelled, always with a reason), and
 * return a report: findings grouped by severity, counts, and every link of the issue.
 */
import type { Config } from '../config.js';
import { inventory, type LinkEntry } from '../issue/inventory.js';
import { documentRule, forbiddenRule, outlookRule, sizeRule } from './rules-document.js';
import { imagesRule } from './rules-images.js';
import { keptRule } from './rules-kept.js';
import { linkTextRule, linksRule, trackingRule } from './rules-links.js';
import { listsRule } from './rules-lists.js';
import { messageRule } from './rules-message.js';
import { readabilityRule } from './rules-readability.js';
import type { CheckContext, Finding, Rule, Severity, Where } from './types.js';

export type { CheckContext, Finding, Rule, Severity, Where } from './types.js';

/** The rules every build runs, in report order. */
export const RULES: readonly Rule[] = [
  sizeRule,
  linksRule,
  linkTextRule,
  trackingRule,
  imagesRule,
  documentRule,
  readabilityRule,
  outlookRule,
  forbiddenRule,
  messageRule,
  keptRule,
  listsRule,
];

/** A finding, with the config's reason when its level was changed there. */
export interface ReportedFinding extends Finding {
  /** Set when config re-levelled this rule: why. */
  relevelled?: { from: Severity; reason: string };
}

export interface CheckReport {
  /** Errors first, then warnings; within each, in rule order. */
  findings: ReportedFinding[];
  counts: { error: number; warning: number };
  /** Rules turned off in config, with their reason and how many findings that hid. */
  off: { rule: string; reason: string; hidden: number }[];
  /** Warnings the issue file accepts (its `accept:` list), with the editors' reason. */
  accepted: (Finding & { reason: string })[];
  /** Things the user should know about the checks themselves (a tool missing, a check skipped). */
  notes: string[];
  /** Every link of the issue and config, with where it is written. */
  links: { href: string; text: string; kind: LinkEntry['kind']; where: Where }[];
}

export interface CheckOptions {
  /** Extra rules to run (the online link check, spam score, client support). */
  extraRules?: readonly Rule[];
  /** Notes from those rules' set-up ("SpamAssassin not installed"). */
  notes?: string[];
}

/** Run the rules and apply the config's levels. Never throws for a finding; a rule that crashes becomes an error finding. */
export async function runChecks(ctx: CheckContext, options: CheckOptions = {}): Promise<CheckReport> {
  const rules = [...RULES, ...(options.extraRules ?? [])];
  const raw: Finding[] = [];
  for (const rule of rules) {
    try {
      raw.push(...(await rule.run(ctx)));
    } catch (err) {
      raw.push({
        rule: rule.id,
        severity: 'error',
        message: `the "${rule.id}" check itself failed: ${(err as Error).message}. Report this; run with DEBUG=1 for details`,
      });
    }
  }
  return applyLevels(raw, ctx.config, rules, options.notes ?? [], ctx);
}

function applyLevels(raw: Finding[], config: Config, rules: readonly Rule[], notes: string[], ctx: CheckContext): CheckReport {
  const levels: Record<string, { level: 'off' | Severity; reason: string } | undefined> = config.checks ?? {};
  const order = new Map(rules.map((r, i) => [r.id, i]));
  const findings: ReportedFinding[] = [];
  const off = new Map<string, { rule: string; reason: string; hidden: number }>();
  for (const [rule, setting] of Object.entries(levels)) {
    if (setting?.level === 'off') off.set(rule, { rule, reason: setting.reason, hidden: 0 });
  }
  for (const f of raw) {
    const setting = levels[f.rule];
    if (!setting) findings.push(f);
    else if (setting.level === 'off') off.get(f.rule)!.hidden++;
    else if (setting.level === f.severity) findings.push(f);
    else findings.push({ ...f, severity: setting.level, relevelled: { from: f.severity, reason: setting.reason } });
  }
  const rank = (f: Finding) => (f.severity === 'error' ? 0 : 1) * 1000 + (order.get(f.rule) ?? 999);
  findings.sort((a, b) => rank(a) - rank(b));

  // The issue's own acceptances: a warning the editors have read, kept with their reason.
  // Errors cannot be accepted here: fix them, or re-level the rule in config.
  const accepted: (Finding & { reason: string })[] = [];
  ctx.issue.accept?.forEach((a, i) => {
    if (off.has(a.rule)) return; // the config has turned the whole rule off
    const here = (f: Finding) => f.rule === a.rule && f.where?.path === a.path;
    const warnings = findings.filter((f) => f.severity === 'warning' && here(f));
    const where = ctx.locate(['accept', i]) ?? { file: ctx.issueFile, path: `accept[${i}]` };
    if (!warnings.length) {
      const error = findings.some((f) => f.severity === 'error' && here(f));
      findings.push({
        rule: a.rule,
        severity: 'warning',
        message: error
          ? `this accept entry cannot accept the ${a.rule} problem at ${a.path}: it is an error, which must be fixed before sending`
          : `this accept entry finds no ${a.rule} warning at ${a.path} any more (fixed, or moved): remove the entry`,
        where,
      });
    }
    for (const m of warnings) {
      findings.splice(findings.indexOf(m), 1);
      accepted.push({ ...m, reason: a.reason });
    }
  });
  findings.sort((a, b) => rank(a) - rank(b));
  return {
    accepted,
    findings,
    counts: {
      error: findings.filter((f) => f.severity === 'error').length,
      warning: findings.filter((f) => f.severity === 'warning').length,
    },
    off: [...off.values()],
    notes,
    links: inventory(ctx).links.map(({ href, text, kind, where }) => ({ href, text, kind, where })),
  };
}

/** `issues/july-2025.yaml:88:9 sections[4].image.alt` or an HTML excerpt. */
export function formatWhere(w: Where | undefined): string {
  if (!w) return '';
  const place = w.file ? [w.file, w.line, w.col].filter((x) => x !== undefined).join(':') : '';
  const parts = [place, w.path].filter(Boolean).join(' ');
  return parts || (w.excerpt ? `in the HTML: ${w.excerpt}` : '');
}

/** The report as terminal text: grouped by severity, with counts. `full` lists every link too. */
export function formatReport(report: CheckReport, options: { full?: boolean; max?: number } = {}): string {
  const lines: string[] = [];
  const { error, warning } = report.counts;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  lines.push(`Checks: ${plural(error, 'error')}, ${plural(warning, 'warning')}`);
  for (const severity of ['error', 'warning'] as const) {
    const group = report.findings.filter((f) => f.severity === severity);
    if (!group.length) continue;
    lines.push('', `${severity === 'error' ? 'Errors' : 'Warnings'} (${group.length}):`);
    const shown = options.full || !options.max ? group : group.slice(0, options.max);
    for (const f of shown) {
      const where = formatWhere(f.where);
      lines.push(`  [${f.rule}] ${where ? `${where}: ` : ''}${f.message}`);
      if (f.where?.excerpt && f.where.file) lines.push(`      ${f.where.excerpt}`);
      if (f.relevelled) lines.push(`      (${f.relevelled.from} made ${f.severity} in config: ${f.relevelled.reason})`);
    }
    if (shown.length < group.length)
      lines.push(`  ... and ${group.length - shown.length} more: run "build-issue check" for the full report, or see report.json`);
  }
  if (report.accepted.length) {
    lines.push('', `Accepted in the issue file (${report.accepted.length}):`);
    for (const a of report.accepted) lines.push(`  [${a.rule}] ${formatWhere(a.where)}: ${a.message}`, `      accepted: ${a.reason}`);
  }
  for (const o of report.off) lines.push('', `Rule "${o.rule}" is off in config (${o.reason})${o.hidden ? `: ${plural(o.hidden, 'finding')} not shown` : ''}`);
  for (const n of report.notes) lines.push('', `Note: ${n}`);
  if (options.full) {
    lines.push('', `Links (${report.links.length}):`);
    for (const l of report.links) lines.push(`  ${l.href}  "${l.text}"  (${formatWhere(l.where)})`);
  }
  return `${lines.join('\n')}\n`;
}
