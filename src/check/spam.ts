/**
 * Pre-send check: what SpamAssassin thinks of the finished .eml.
 *
 * Mail servers still lean on SpamAssassin-style scoring, so a newsletter that scores
 * high locally is likely to land in junk folders for some readers. We run the local
 * install rather than a web service because the check must work offline and must not
 * send a draft newsletter to a third party.
 *
 * SpamAssassin is optional: when it is not installed the rule yields nothing, and the
 * caller uses `spamAvailability()` to say once that the score was skipped, so a missing
 * tool never blocks a send but is never silently mistaken for a clean result.
 *
 * Rules: Debian's `spamassassin` package ships the stock rule set in /usr/share/spamassassin
 * (including 72_active.cf). `sa-update` would put newer rules in /var/lib/spamassassin,
 * but it needs the network; without it SpamAssassin falls back to the shipped rules, which
 * is what we rely on.
 */
import { spawn } from 'node:child_process';
import type { CheckContext, Finding, Rule } from './types.js';

/** At this score we warn: a few receivers with stricter settings may already file it as junk. */
export const SPAM_WARN = 2.0;
/** SpamAssassin's own default `required_score`: most installations treat this as spam. */
export const SPAM_ERROR = 5.0;

/** How to get SpamAssassin, for messages. */
export const SPAM_INSTALL_HINT = 'apt-get install spamassassin';
/** The one line a caller prints when the spam score was skipped. */
export const SPAM_SKIPPED_NOTICE = `SpamAssassin not installed: spam score skipped (${SPAM_INSTALL_HINT})`;

const DEFAULT_COMMAND = 'spamassassin';
const DEFAULT_TIMEOUT_MS = 60_000;

export interface SpamRuleHit {
  name: string;
  score: number;
  description: string;
}

export interface SpamReport {
  score: number;
  required: number;
  rules: SpamRuleHit[];
}

export type SpamResult = { available: false; reason: string } | ({ available: true } & SpamReport);

export interface SpamOptions {
  /** The spamassassin executable. @default "spamassassin" (looked up on PATH) */
  command?: string;
  /** Kill SpamAssassin after this long; its first run compiles rules and can be slow. @default 60000 */
  timeoutMs?: number;
}

/** Internal result: tells "not installed" (skip quietly) apart from "installed but failed" (worth a warning). */
type RunResult = { available: false; reason: string; missing: boolean } | ({ available: true } & SpamReport);

/**
 * Score an .eml with SpamAssassin.
 *
 * `-L` keeps it to local tests: network tests (DNS blocklists, Razor, DCC) would make
 * the result depend on the machine's connectivity and would leak the draft's URLs.
 * `-x` ignores ~/.spamassassin so every machine scores the same way.
 * `-t` adds the report with each rule's points, which is what makes the score actionable.
 */
export async function spamScore(eml: Buffer, opts: SpamOptions = {}): Promise<SpamResult> {
  const r = await runSpamAssassin(eml, opts);
  return r.available ? r : { available: false, reason: r.reason };
}

async function runSpamAssassin(eml: Buffer, opts: SpamOptions): Promise<RunResult> {
  const command = opts.command ?? DEFAULT_COMMAND;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const run = await runProcess(command, ['-L', '-x', '-t'], eml, timeoutMs);
  if (run.kind === 'missing') {
    return {
      available: false,
      missing: true,
      reason: `SpamAssassin is not installed ("${command}" was not found); install it with \`${SPAM_INSTALL_HINT}\` (Debian/Ubuntu)`,
    };
  }
  if (run.kind === 'failed') return { available: false, missing: false, reason: run.reason };
  if (run.kind === 'timeout') {
    return {
      available: false,
      missing: false,
      reason: `SpamAssassin did not finish within ${timeoutMs / 1000} s and was stopped`,
    };
  }
  const report = parseSpamAssassinOutput(run.stdout);
  if (!report) {
    const detail = firstLines(run.stderr) || `exit code ${run.code}`;
    return { available: false, missing: false, reason: `SpamAssassin gave no score (${detail})` };
  }
  return { available: true, ...report };
}

type ProcessResult =
  | { kind: 'done'; code: number | null; stdout: string; stderr: string }
  | { kind: 'missing' }
  | { kind: 'timeout' }
  | { kind: 'failed'; reason: string };

/** Spawn without a shell (no quoting issues, no injection), feed stdin, collect output, enforce the time limit. */
function runProcess(command: string, args: string[], input: Buffer, timeoutMs: number): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: ProcessResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') finish({ kind: 'missing' });
      else finish({ kind: 'failed', reason: `SpamAssassin could not be started: ${e.message}` });
    });
    // Resolve on timeout without waiting for 'close': a killed wrapper script could leave
    // a grandchild holding the pipes open, and the check must not hang on it.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ kind: 'timeout' });
    }, timeoutMs);
    child.on('close', (code) => {
      finish({ kind: 'done', code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    // If the process dies before reading everything, the write fails with EPIPE; the
    // exit status and stderr explain the failure better than EPIPE does.
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

const firstLines = (s: string) => s.trim().split('\n').slice(0, 3).join(' / ');

const NUM = '(-?\\d+(?:\\.\\d+)?)';

/**
 * Read the score and the rules table out of `spamassassin -t` output.
 *
 * The score comes from the X-Spam-Status header of the output (SpamAssassin removes any
 * such header the input had, so it cannot be spoofed by the message), falling back to the
 * report's "Content analysis details" line. The report can appear more than once (for a
 * spam message SpamAssassin wraps the original in a new message *and* `-t` appends the
 * report), and the email's own text could quote one, so we take the last report whose
 * points match the score.
 *
 * Returns undefined when there is no score at all (not SpamAssassin output).
 */
export function parseSpamAssassinOutput(output: string): SpamReport | undefined {
  const text = output.replace(/\r\n?/g, '\n');
  const headerEnd = text.indexOf('\n\n');
  const header = (headerEnd < 0 ? text : text.slice(0, headerEnd)).replace(/\n[ \t]+/g, ' ');
  const status = new RegExp(`^X-Spam-Status:.*?\\bscore=${NUM}\\s+required=${NUM}`, 'mi').exec(header);

  const reports = [...text.matchAll(new RegExp(`^Content analysis details:\\s*\\(${NUM} points?, ${NUM} required\\)`, 'gm'))];
  const score = status ? Number(status[1]) : reports.length ? Number(reports.at(-1)![1]) : undefined;
  const required = status ? Number(status[2]) : reports.length ? Number(reports.at(-1)![2]) : undefined;
  if (score === undefined || required === undefined || Number.isNaN(score) || Number.isNaN(required)) return undefined;

  const report = [...reports].reverse().find((m) => Number(m[1]) === score) ?? reports.at(-1);
  const rules = report ? parseRulesTable(text.slice(report.index! + report[0].length)) : [];
  return { score, required, rules };
}

/**
 * The table after "Content analysis details":
 *
 *      pts rule name              description
 *     ---- ---------------------- --------------------------------------------------
 *      0.7 HTML_FONT_LOW_CONTRAST BODY: HTML font color similar or identical to
 *                                 background
 *
 * Points are right-aligned in four columns, so a rule line starts within the first few
 * characters while wrapped descriptions are indented by 28; that indentation (not the
 * content) tells them apart, because a wrapped description may itself start with a number.
 */
function parseRulesTable(after: string): SpamRuleHit[] {
  const lines = after.split('\n');
  const dashes = lines.findIndex((l) => /^-{4} -+ -+\s*$/.test(l));
  if (dashes < 0) return [];
  const rules: SpamRuleHit[] = [];
  for (const line of lines.slice(dashes + 1)) {
    if (line.trim() === '') break;
    const hit = new RegExp(`^ {0,4}${NUM}\\s+(\\S+)(?:\\s+(.*))?$`).exec(line);
    const indent = /^ */.exec(line)![0].length;
    if (hit && indent <= 4) {
      rules.push({ name: hit[2]!, score: Number(hit[1]), description: (hit[3] ?? '').trim() });
    } else if (indent > 4 && rules.length) {
      const last = rules[rules.length - 1]!;
      last.description = `${last.description} ${line.trim()}`.trim();
    } else {
      break;
    }
  }
  return rules;
}

/**
 * Whether SpamAssassin can run here, for the one "skipped" line the caller prints.
 * Kept separate from the rule because a rule returns findings only, and "the check did
 * not run" is not a problem with the email. Memoised per command: the answer cannot
 * change during one run and `spamassassin -V` costs a Perl start-up.
 */
export function spamAvailability(
  opts: { command?: string; timeoutMs?: number } = {},
): Promise<{ available: true; version: string } | { available: false; reason: string }> {
  const command = opts.command ?? DEFAULT_COMMAND;
  let p = availabilityCache.get(command);
  if (!p) {
    p = probe(command, opts.timeoutMs ?? 15_000);
    availabilityCache.set(command, p);
  }
  return p;
}

const availabilityCache = new Map<string, Promise<{ available: true; version: string } | { available: false; reason: string }>>();

async function probe(command: string, timeoutMs: number): Promise<{ available: true; version: string } | { available: false; reason: string }> {
  const r = await runProcess(command, ['-V'], Buffer.alloc(0), timeoutMs);
  if (r.kind === 'missing') return { available: false, reason: SPAM_SKIPPED_NOTICE };
  if (r.kind === 'timeout') return { available: false, reason: `SpamAssassin did not answer \`${command} -V\` within ${timeoutMs / 1000} s` };
  if (r.kind === 'failed') return { available: false, reason: r.reason };
  const version = /SpamAssassin version (\S+)/i.exec(r.stdout)?.[1];
  if (r.code !== 0 || !version) {
    return { available: false, reason: `SpamAssassin is installed but \`${command} -V\` failed (${firstLines(r.stderr) || `exit code ${r.code}`})` };
  }
  return { available: true, version };
}

/** "1.6" rather than "1.6000000000000001", and "-0.0" kept as SpamAssassin prints it. */
const pts = (n: number) => (Object.is(n, -0) || (n < 0 && n > -0.05) ? '-0.0' : n.toFixed(1));

/**
 * The rule that turns the score into a finding. `command`/`timeoutMs` are for tests
 * and unusual installs; `onScore` hears every score, including those below the
 * warning line, so the report can say "scored 0.9" rather than nothing.
 */
export function createSpamRule(opts: SpamOptions & { onScore?: (report: SpamReport) => void } = {}): Rule {
  return {
    id: 'spam',
    description: 'The email does not look like spam to SpamAssassin (local rules only).',
    async run(ctx: CheckContext): Promise<Finding[]> {
      const r = await runSpamAssassin(ctx.eml, opts);
      if (!r.available) {
        // Not installed: the caller reports that once via spamAvailability(), not per email.
        if (r.missing) return [];
        // Installed but broken or too slow: say so, or a failure would read as "not spam".
        return [{ rule: 'spam', severity: 'warning', message: `Spam score could not be computed: ${r.reason}.` }];
      }
      opts.onScore?.(r);
      const severity = r.score >= SPAM_ERROR ? 'error' : r.score >= SPAM_WARN ? 'warning' : undefined;
      if (!severity) return [];
      return [{ rule: 'spam', severity, message: spamMessage(r) }];
    },
  };
}

/** Lists the rules that added points, largest first, so the fix starts with what matters most. */
export function spamMessage(r: SpamReport): string {
  const adding = r.rules.filter((x) => x.score > 0).sort((a, b) => b.score - a.score);
  const list = adding.length
    ? adding.map((x) => `${pts(x.score)} ${x.name}${x.description ? ` (${x.description})` : ''}`).join(', ')
    : 'no rule details in the report';
  const advice =
    r.score >= SPAM_ERROR
      ? 'Most mail servers will file this as spam; fix the rules above before sending.'
      : 'Some mail servers may file this as junk; consider fixing the rules above.';
  return `SpamAssassin scores this email ${pts(r.score)} (warn at ${SPAM_WARN.toFixed(1)}, fail at ${SPAM_ERROR.toFixed(1)}): ${list}. ${advice}`;
}

/** The spam rule with the default `spamassassin` on PATH. */
export const spamRule: Rule = createSpamRule();
