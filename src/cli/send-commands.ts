/** `test-send`, `send`, `status` and `diff`: the commands that talk to the mail server or read what it was sent. */
import path from 'node:path';
import { printable } from '../errors.js';
import { londonToUtc } from '../issue/london-time.js';
import { changesText, londonTime, londonWhen } from '../review/format-changes.js';
import type { SendPlan, SendReport } from '../send/send-issue.js';
import { projectEnv } from './build-commands.js';
import { ExitCode, jsonText, usage, type Io } from './io.js';
import { progressReporter } from './progress.js';
import { issueArg, type Project } from './project.js';
import type { VersionDiff } from '../review/compare-versions.js';
import type { TestSendRecord } from '../review/test-send-store.js';

// Loaded when asked for: an ordinary build (the common case, and the cold-start benchmark) does not initialise it.
const sending = () => import('../send/send-issue.js');
const diffing = () => import('../send/diff-issue.js');

export interface SendFlags {
  json?: boolean;
  to?: string;
  list?: string;
  yes?: boolean;
  dryRun?: boolean;
  rate?: number;
  connections?: number;
  retryFailed?: boolean;
  resendUnknown?: boolean;
  skipTestGate?: boolean;
  at?: string;
  wait?: boolean;
}

/**
 * A count as en-GB writes it ("12,345"). Not toLocaleString: ICU's number formatting brings
 * 7 MB of locale data into a send's memory for a comma.
 */
export function count(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-GB');
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${digits}` : digits;
}

/** --at "2025-07-15 10:00": London time, as everything else the tool reads and shows. */
export function parseAt(text: string): Date {
  const t = text.trim().replace(/^(\d{4}-\d{2}-\d{2})[ T]+/, '$1T');
  try {
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(t)) throw new RangeError('shape');
    return londonToUtc(t);
  } catch {
    throw usage(`--at ${JSON.stringify(printable(text))} is not a date and time`, 'Write it as --at "2025-07-15 10:00" (London time; seconds optional).');
  }
}

function planText(plan: SendPlan, listFile: string): string {
  const l = plan.list;
  const lines = [
    `Send ${plan.build.slug}: "${plan.build.issue.subject}"`,
    `  build        ${plan.build.hash.slice(0, 12)}${plan.testSent ? `: identical to the version test-sent on ${londonTime(plan.testSent.at)} to ${plan.testSent.to.join(', ')}` : plan.skipTestGate ? '  NEVER TEST-SENT: --skip-test-gate, recorded in the ledger' : ''}`,
    `  list         ${listFile}: ${l.rows} rows, ${l.recipients.length} recipients (${l.invalid.length} invalid, ${l.duplicates.length} duplicates, ${l.suppressed.length} unsubscribed)`,
    `  already sent ${plan.alreadySent}`,
    ...(plan.unknownKept.length ? [`  unknown      ${plan.unknownKept.length} from an earlier run, not sent again (--resend-unknown to send them)`] : []),
    ...(plan.failedKept ? [`  failed       ${plan.failedKept} earlier, not retried (--retry-failed retries temporary failures)`] : []),
    `  to send ${plan.at ? 'then' : 'now '} ${plan.todo.length}`,
    ...(plan.at ? [`  starts       ${londonTime(plan.at)}`] : []),
    ...(plan.cap
      ? [
          `  daily cap    ${count(plan.cap.used)} of ${count(plan.cap.perDay)} used in the last 24 hours${
            plan.cap.restFrom
              ? `: ${count(plan.cap.left)} can go ${plan.at ? 'then' : 'now'}, the remaining ${count(plan.todo.length - plan.cap.left)} after ${londonWhen(plan.cap.restFrom)}`
              : ''
          }`,
        ]
      : []),
    `  via          ${plan.smtp?.shown ?? 'SMTP_URL not set'}`,
    ...(plan.smtp?.notes ?? []).map((n) => `  note: ${n}`),
  ];
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  for (const p of l.invalid.slice(0, 5)) lines.push(`  skipped line ${p.line}: ${p.reason}`);
  if (l.invalid.length > 5) lines.push(`  ... and ${l.invalid.length - 5} more invalid rows`);
  for (const w of l.warnings.slice(0, 5)) lines.push(`  warning line ${w.line}: ${w.reason}`);
  if (l.warnings.length > 5) lines.push(`  ... and ${l.warnings.length - 5} more rows with a warning`);
  return `${lines.join('\n')}\n`;
}

/** How the user stopped it, in their words: Ctrl-C for SIGINT. */
const stopName = (io: Io) => {
  const sig = io.stoppedBy?.();
  return !sig || sig === 'SIGINT' ? 'Ctrl-C' : sig;
};

function sendSummary(r: SendReport, io: Io): string {
  const res = r.result!;
  const kept = r.plan.unknownKept.length;
  // A pause with nobody left to send is the end of the send, not a pause.
  const paused = res.paused && res.unsent.length > 0 ? res.paused : undefined;
  const lines = [
    '',
    `${r.capped ? 'Capped' : paused ? 'Paused' : res.interrupted ? 'Stopped' : 'Done'}: ${res.sent.length} sent now (${r.plan.alreadySent} earlier), ${res.failed.length} failed, ${res.unknown.length + kept} unknown${kept ? ` (${kept} from an earlier run)` : ''}, ${res.unsent.length} not sent yet, in ${(res.elapsedMs / 1000).toFixed(1)} s`,
  ];
  for (const f of res.failed.slice(0, 20)) lines.push(`  failed  ${f.email}: ${f.response}${f.temporary ? ' (temporary: --retry-failed tries again)' : ''}`);
  if (res.failed.length > 20) lines.push(`  ... and ${res.failed.length - 20} more failed (see "build-issue status ${r.plan.build.slug}")`);
  for (const u of [...res.unknown, ...r.plan.unknownKept])
    lines.push(`  unknown ${u}: the connection dropped before the server answered; it may or may not have arrived (not re-sent unless --resend-unknown)`);
  if (r.capped) {
    const c = r.capped;
    lines.push(
      '',
      `${c.byProvider ? `The mail server says the mailbox is over its daily limit ("${c.byProvider}"): ` : `The daily cap (${count(c.perDay ?? 0)} recipients in 24 hours) is reached: `}` +
        `${count(c.sentToday)} sent in the last 24 hours; the remaining ${count(c.remaining)} can go after ${londonWhen(c.until)}. ` +
        'Run the same command then to go on, or add --wait to wait for it.',
    );
  } else if (paused)
    lines.push('', `The send paused itself: ${paused}. Check the failures above (and your mail provider's status), then run the same command to resume.`);
  else if (res.interrupted)
    lines.push('', `Stopped by ${stopName(io)} after the messages in flight, which are recorded. Run the same command to resume: nobody is sent twice.`);
  else if (res.unsent.length && !r.capped) lines.push('', 'Some recipients were not sent. Run the same command to resume.');
  for (const w of res.warnings) lines.push(`warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

/** `status`: the test sends and the send's state, from the ledger. */
export async function runStatus(issue: string, o: SendFlags, io: Io, project: Project): Promise<number> {
  const { loadConfig } = await import('../config.js');
  const config = await loadConfig(project.configFile, project.root).catch(() => undefined);
  const st = (await sending()).sendStatus(
    issueArg(issue, project),
    project.root,
    config?.suppressionFile ? path.resolve(project.root, config.suppressionFile) : undefined,
  );
  if (o.json) {
    io.out(jsonText({ ok: true, ...st, ledgerFile: path.relative(project.cwd, st.ledgerFile) }));
    return ExitCode.OK;
  }
  const again = 'run the same send command to resume';
  const lines = [`${st.slug}:`, ...st.warnings.map((w) => `  warning: ${w}`)];
  for (const t of st.testSends) lines.push(`  test-sent  ${t.at}  build ${t.hash.slice(0, 12)}  to ${t.to.join(', ')}`);
  if (!st.started) lines.push('  not sent to the list yet');
  else {
    const state = st.capped
      ? `stopped by the daily cap (${st.capped.reason})${st.capped.until ? `: the remaining ${count(st.capped.remaining ?? 0)} can go after ${londonWhen(st.capped.until)}` : ''} (${again}, or with --wait)`
      : st.last === 'end'
        ? 'finished'
        : st.last === 'paused'
          ? `paused (${again})`
          : `stopped or running (${again})`;
    lines.push(`  send       started ${st.started}, build ${st.hash?.slice(0, 12)}, ${state}`);
    lines.push(`  sent       ${st.sent}`, `  failed     ${st.failed.length}`, `  unknown    ${st.unknown.length}`);
    for (const f of st.failed) lines.push(`    failed  ${f.email}: ${f.response}`);
    for (const u of st.unknown) lines.push(`    unknown ${u}`);
    const h = st.health;
    if (h) {
      const pct = (n: number) => (h.sent ? ` (${((n / h.sent) * 100).toFixed(2)}%)` : '');
      lines.push(
        `  came back  ${h.hardBounces} hard bounce${h.hardBounces === 1 ? '' : 's'}${pct(h.hardBounces)}, ${h.softBounces} soft${pct(h.softBounces)}, ${h.complaints} complaint${h.complaints === 1 ? '' : 's'}${pct(h.complaints)}, ${h.unsubscribes} unsubscribe${h.unsubscribes === 1 ? '' : 's'}${pct(h.unsubscribes)} (build-issue inbox reads them)`,
      );
      for (const w of h.warnings) lines.push(`  warning: ${w}`);
    }
  }
  io.out(`${lines.join('\n')}\n`);
  return ExitCode.OK;
}

/** `test-send`: the built issue to the editors (or --to), subject marked [TEST]. */
export async function runTestSend(issue: string, o: SendFlags, io: Io, project: Project): Promise<number> {
  io.graceful?.('send');
  const to = o.to
    ?.split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const r = await (await sending()).sendTest(issueArg(issue, project), {
    root: project.root,
    build: { configFile: project.configFile },
    env: await projectEnv(io, project.root),
    to,
    rate: o.rate,
    connections: o.connections,
    signal: io.signal,
  });
  const ok = r.result.sent.length === r.to.length;
  if (o.json)
    io.out(
      jsonText({
        ok,
        slug: r.build.slug,
        hash: r.build.hash,
        to: r.to,
        sent: r.result.sent,
        failed: r.result.failed,
        unknown: r.result.unknown,
        ...(r.result.paused ? { paused: r.result.paused } : {}),
        ...(r.changes ? { changes: diffJson(r.changes.diff, r.changes.since) } : {}),
      }),
    );
  else {
    io.out(`Test send of ${r.build.slug} (build ${r.build.hash.slice(0, 12)}) via ${r.smtp}: "[TEST] ${r.build.issue.subject}"\n`);
    for (const n of r.notes) io.out(`  note: ${n}\n`);
    for (const e of r.result.sent) io.out(`  sent    ${e}\n`);
    for (const f of r.result.failed) io.out(`  failed  ${f.email}: ${f.response}\n`);
    for (const u of r.result.unknown) io.out(`  unknown ${u}\n`);
    if (r.result.paused) io.out(`\nThe send stopped: ${r.result.paused}.\n`);
    if (r.changes)
      io.out(
        `\nThe copies start with what changed:\n${printable(changesText(r.changes.diff, { label: `since the test send of ${londonTime(r.changes.since.at)}` }))}`,
      );
    if (r.build.report.counts.error)
      io.out(`\nNote: the checks found ${r.build.report.counts.error} error(s); fix them before the real send (build-issue check ${r.build.slug}).\n`);
    io.out(
      ok
        ? `\nRecorded: this version may now be sent with "build-issue send ${r.build.slug} --list <file.csv>" once the editors approve it.\n`
        : `\nNot recorded as test-sent: not every editor received it.\n`,
    );
  }
  return ok ? ExitCode.OK : ExitCode.FAILED;
}

/** `send`: to the circulation list, after confirmation; resumes where an earlier run stopped. */
export async function runSend(issue: string, o: SendFlags & { list: string }, io: Io, project: Project): Promise<number> {
  io.graceful?.('send');
  if (!o.yes && !o.dryRun && !io.ask) {
    throw usage('send asks for confirmation, and there is no terminal to ask on', 'Run it in a terminal, or add --yes (for scripts).');
  }
  const at = o.at !== undefined ? parseAt(o.at) : undefined;
  const report = await (await sending()).sendIssue(issueArg(issue, project), {
    root: project.root,
    build: { configFile: project.configFile },
    env: await projectEnv(io, project.root),
    // Typed from where the user is; the library reads (and shows) it from the root.
    listFile: path.relative(project.root, path.resolve(project.cwd, o.list)),
    dryRun: o.dryRun,
    retryFailed: o.retryFailed,
    resendUnknown: o.resendUnknown,
    skipTestGate: o.skipTestGate,
    rate: o.rate,
    connections: o.connections,
    signal: io.signal,
    onProgress: progressReporter(io, Boolean(o.json)),
    at,
    wait: o.wait,
    onWait: ({ until, reason, remaining }) => {
      if (o.json) return;
      io.err(
        reason === 'scheduled'
          ? `\nStarting at ${londonTime(until.toISOString())}: waiting, holding the send lock. Ctrl-C before then sends nothing. Keep this machine awake.\n`
          : `\nThe daily cap is reached: waiting until ${londonWhen(until.toISOString())} to send the remaining ${count(remaining)} (holding the send lock; Ctrl-C stops, and the same command resumes).\n`,
      );
    },
    confirm: async (plan) => {
      if (!o.json) io.err(planText(plan, o.list));
      if (o.skipTestGate && !plan.testSent) io.err('\nWARNING: this version was never test-sent. No editor has seen it. This is recorded in the ledger.\n');
      if (o.yes) return true;
      const typed = (
        await io.ask!(
          `\nType ${plan.build.slug} to send to ${plan.todo.length} recipients${plan.at ? ` at ${londonTime(plan.at)}` : ''} (anything else cancels): `,
        )
      ).trim();
      return typed === plan.build.slug;
    },
  });
  const res = report.result;
  if (o.json) {
    const p = report.plan;
    io.out(
      jsonText({
        ok: report.outstanding === 0 && !report.cancelled,
        dryRun: Boolean(o.dryRun),
        cancelled: report.cancelled,
        slug: p.build.slug,
        hash: p.build.hash,
        // The test send this version is identical to (the editors' addresses, never the list's).
        ...(p.testSent ? { testSent: { at: p.testSent.at, to: p.testSent.to } } : {}),
        // Line numbers and reasons only: the rows themselves are personal data, and JSON output ends up in logs.
        list: {
          rows: p.list.rows,
          recipients: p.list.recipients.length,
          invalid: p.list.invalid.map(({ line, reason }) => ({ line, reason })),
          warnings: p.list.warnings.map(({ line, reason }) => ({ line, reason })),
          duplicates: p.list.duplicates.length,
          suppressed: p.list.suppressed.length,
        },
        warnings: [...p.warnings, ...(res?.warnings ?? [])],
        alreadySent: p.alreadySent,
        toSend: p.todo.length,
        ...(res
          ? {
              sent: res.sent.length,
              failed: res.failed,
              unknown: [...res.unknown, ...p.unknownKept],
              unsent: res.unsent.length,
              paused: res.paused,
              interrupted: res.interrupted,
            }
          : {}),
        ...(p.at ? { at: p.at } : {}),
        ...(p.cap ? { cap: p.cap } : {}),
        ...(report.capped ? { capped: report.capped } : {}),
        ...(report.notStarted ? { notStarted: true } : {}),
        outstanding: report.outstanding,
      }),
    );
  } else if (o.dryRun) {
    io.out(`${planText(report.plan, o.list)}\nDry run: nothing was sent. Without --dry-run, these recipients would be sent the email now.\n`);
  } else if (report.cancelled) {
    io.err('Cancelled: nothing was sent.\n');
  } else if (report.notStarted) {
    io.err(`\nStopped by ${stopName(io)} before the start time: nothing was sent.\n`);
  } else {
    if (io.tty) io.err('\n');
    io.out(sendSummary(report, io));
  }
  if (o.dryRun) return ExitCode.OK;
  return report.cancelled || report.outstanding > 0 ? ExitCode.FAILED : ExitCode.OK;
}

/** A comparison as JSON: what was compared with, and the sections added, removed and changed (with their word changes). */
function diffJson(diff: VersionDiff, since?: TestSendRecord) {
  return {
    ...(since ? { since: { at: since.at, hash: since.hash, to: since.to } } : {}),
    same: diff.same,
    identical: diff.identical,
    added: diff.added.map(({ kind, key, heading }) => ({ kind, key, heading })),
    removed: diff.removed.map(({ kind, key, heading }) => ({ kind, key, heading })),
    changed: diff.changed.map((c) => ({
      kind: c.kind,
      key: c.key,
      heading: c.heading,
      ...(c.was ? { was: c.was } : {}),
      words: c.hunks.map((h) => (h === null ? { op: 'gap' } : { op: h.op, text: h.words.join(' ') })),
    })),
  };
}

/** `diff`: what changed since the last test send (or from another issue, --against). Exit 0 either way: a difference is not a failure. */
export async function runDiff(issue: string, o: { json?: boolean; against?: string }, io: Io, project: Project): Promise<number> {
  const r = await (await diffing()).diffIssue(issueArg(issue, project), {
    root: project.root,
    build: { configFile: project.configFile },
    against: o.against === undefined ? undefined : issueArg(o.against, project),
  });
  if (o.json) {
    io.out(
      jsonText({
        ok: true,
        slug: r.slug,
        hash: r.hash,
        against: r.other ? { issue: r.other.slug, from: r.other.from } : { testSend: { at: r.testSend!.at, hash: r.testSend!.hash } },
        ...diffJson(r.diff, r.testSend),
      }),
    );
  } else io.out(printable(changesText(r.diff, { label: r.label })));
  return ExitCode.OK;
}
