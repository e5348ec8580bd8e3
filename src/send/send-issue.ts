/**
 * Sending an issue, top to bottom.
 *
 * Test send (`sendTest`):
 *  1. Build and check the issue
 *  2. Send it, subject marked [TEST], to the editors (or the addresses given), local images attached inline
 *     (from the second test send on, a panel at the top says what changed since the last one)
 *  3. Record the build's hash in sends/<slug>/test-sends.jsonl (the gate's evidence), and what
 *     this version said in sends/<slug>/versions/<hash>.json (what the next test send compares with)
 *
 * Real send (`sendIssue`):
 *  1. Build and check the issue; refuse on check errors
 *  2. The gate: refuse unless this exact build was test-sent (or --skip-test-gate, recorded)
 *  3. Read the list and the suppression file
 *  4. Take the lock; read the ledger: who is already sent, failed, unknown
 *  5. Confirm (the CLI asks for the slug to be typed back)
 *  6. Send the rest, recording each outcome; pause on a burst of failures; stop cleanly on Ctrl-C
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildIssue, resolveIssueFile, type BuildOptions, type BuildResult } from '../build-issue.js';
import { readEnv } from '../env-file.js';
import { NewsletterError, printable } from '../errors.js';
import { parseAddress } from '../issue/email-address.js';
import { formatWhere } from '../check/index.js';
import type { VersionDiff } from '../review/compare-versions.js';
import { changesHtml, changesText, londonTime } from '../review/format-changes.js';
import { changesSinceTestSend, readTestSends, recordTestSend, type TestSendRecord } from '../review/test-send-store.js';
import { snapshotVersion } from '../review/version-snapshot.js';
import { readReturns } from './returns-store.js';
import { describeFailure, readLedger, Ledger, now, type LedgerSummary } from './ledger.js';
import { readList, type ListResult, type Recipient, addressKey } from './list.js';
import { takeLock } from './lock.js';
import { prepareMessage } from './message.js';
import { runSend, type EngineResult, type Progress } from './sender.js';
import { dailyCap, whenRoomFor, type DailyCap } from './daily-cap.js';
import { PROVIDERS, type ProviderId } from './providers.js';
import { checkSignIn } from './smtp-send.js';
import { smtpSettings, type SmtpSettings } from './smtp-settings.js';
import { unsubscribeKeysFor } from './unsubscribe-token.js';

export interface SendCommon {
  /** The project folder. @default process.cwd() */
  root?: string;
  /**
   * The environment: SMTP_URL and DKIM_PRIVATE_KEY are read from it, else from `<root>/.env`
   * (it wins variable by variable). May be the `env` of readEnv's view, as the CLI passes it.
   * @default process.env
   */
  env?: NodeJS.ProcessEnv;
  /** Build options passed through (outDir, extra check rules...). */
  build?: BuildOptions;
  /** Overrides of config.send. */
  rate?: number;
  connections?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** SMTP time-outs in ms (tests shorten them). */
  timeouts?: { connection?: number; greeting?: number; socket?: number };
}

/** The folder of an issue's send records: sends/<slug>/ (git-ignored; never under dist/). */
export function sendsDir(root: string, slug: string): string {
  return path.join(root, 'sends', slug);
}

async function buildFor(issueArg: string, root: string, options: SendCommon): Promise<BuildResult> {
  return buildIssue(issueArg, { ...options.build, root });
}

/** The provider whose limits apply: SMTP_URL's (its host can name it), else the config's. */
const providerOf = (build: BuildResult, smtp?: SmtpSettings): ProviderId => smtp?.provider ?? build.config.send.provider;

/** Recipients per 24 hours: the config's, else the provider's (none for a generic server). */
const perDayOf = (build: BuildResult, smtp?: SmtpSettings) => build.config.send.perDay ?? PROVIDERS[providerOf(build, smtp)].perDay;

function engineSettings(build: BuildResult, options: SendCommon, smtp?: SmtpSettings) {
  const s = build.config.send;
  const preset = PROVIDERS[providerOf(build, smtp)];
  return {
    rate: options.rate ?? s.rate ?? preset.rate,
    connections: options.connections ?? s.connections ?? preset.connections,
    maxRetries: s.maxRetries,
    retryBaseMs: s.retryBaseMs,
    failureWindow: s.failureWindow,
    failureRate: s.failureRate,
  };
}

export type { TestSendRecord };

export interface TestSendResult {
  build: BuildResult;
  to: string[];
  result: EngineResult;
  smtp: string;
  /** Things to know about the mail server settings (smtp-settings.ts notes). */
  notes: string[];
  /** What changed since the last test send (undefined for the first): what the copies' panel said. */
  changes?: { since: TestSendRecord; diff: VersionDiff };
}

/** Send the built issue to the editors (or `to`), subject marked [TEST]; record its hash when all arrived. */
export async function sendTest(issueArg: string, options: SendCommon & { to?: string[] } = {}): Promise<TestSendResult> {
  const root = path.resolve(options.root ?? process.cwd());
  // .env read once, under the real environment: SMTP_URL and DKIM_PRIVATE_KEY both come from this view.
  const { env } = await readEnv(root, options.env);
  const build = await buildFor(issueArg, root, options);
  const smtp = await smtpSettings(root, env, build.config.send.provider);
  const to = options.to?.length ? options.to : build.config.editors;
  // The config's addresses passed the rule when it was read; --to addresses are checked here, all at once.
  const parsed = to.map((email) => ({ email, parsed: parseAddress(email) }));
  const refused = parsed.flatMap(({ email, parsed: p }) => (p.ok ? [] : [{ message: `--to ${JSON.stringify(printable(email))}: ${p.reason}` }]));
  if (refused.length) {
    throw new NewsletterError('EUSAGE', `not an email address: ${refused.map((r) => r.message).join('; ')}`, {
      problems: refused,
      hint: 'Give --to as comma-separated addresses, e.g. --to ann@example.org,bob@example.org',
    });
  }
  // The daily cap counts test sends too; a capped mailbox says so rather than failing each copy.
  const perDay = perDayOf(build, smtp);
  if (perDay !== undefined) {
    const cap = dailyCap(path.join(root, 'sends'), perDay);
    if (cap.left < to.length) throw cappedError(cap, to.length, `the test send to ${to.length}`);
  }
  // The sign-in first: a refused token is one clear error, not a failure per editor.
  if (smtp.oauth2) await checkSignIn(smtp, options.timeouts);
  // From the second test send on, the copies start with what changed since the last one.
  const dir = sendsDir(root, build.slug);
  const snapshot = snapshotVersion(build);
  const since = changesSinceTestSend(dir, snapshot);
  const against = since && { label: `since the test send of ${londonTime(since.record.at)}` };
  const preface = since && against ? { html: changesHtml(since.diff, against), text: changesText(since.diff, against) } : undefined;
  // Local images go inline (CID): the editors see them before the assets are uploaded.
  // With a secret, the test copies carry personal unsubscribe links too, so the editors see the real thing.
  const unsubscribe = unsubscribeKeysFor(build.config, env, 'test');
  const message = await prepareMessage(build, build.config, { root, env, subjectPrefix: '[TEST] ', inlineImages: build.assets, preface, unsubscribe });
  const result = await runSend({
    ...engineSettings(build, options, smtp),
    smtp,
    message,
    recipients: parsed.map(({ email, parsed: p }, i) => ({ email, wire: p.ok ? p.wire : email, line: i + 1 })),
    signal: options.signal,
    onProgress: options.onProgress,
    timeouts: options.timeouts,
    // A test send is small: never pause it, report every failure.
    failureRate: 1,
  });
  if (result.sent.length === to.length) {
    try {
      recordTestSend(dir, { at: now(), hash: build.hash, subject: build.issue.subject, to }, snapshot);
    } catch (err) {
      // The copies went out; what is lost is the record the send gate and the next "what changed" read.
      const failure = describeFailure(path.join(dir, 'ledger.jsonl'), err as NodeJS.ErrnoException, 'write');
      throw new NewsletterError('ESEND', `the test send went to ${to.join(', ')}, but it could not be recorded: ${failure.problem}`, {
        hint: 'Free some space, then test-send again: until it is recorded, the send to the list refuses this version as not test-sent.',
        cause: err,
      });
    }
  }
  return { build, to, result, smtp: smtp.shown, notes: smtp.notes, ...(since ? { changes: { since: since.record, diff: since.diff } } : {}) };
}

export interface SendPlan {
  build: BuildResult;
  list: ListResult;
  smtp?: SmtpSettings;
  /** Recipients this run will send to. */
  todo: Recipient[];
  alreadySent: number;
  /** Unknown from an earlier run and not re-sent (no --resend-unknown). */
  unknownKept: string[];
  /** Failed earlier and not re-tried. */
  failedKept: number;
  testSent?: TestSendRecord;
  skipTestGate: boolean;
  ledgerFile: string;
  /** Damage found in the ledger (a torn last line...): the send sets it aside in ledger.jsonl.damaged. */
  warnings: string[];
  /** The mailbox's daily cap, when there is one: how much of it the last 24 hours used. */
  cap?: { perDay: number; used: number; left: number /** When the rest of `todo` beyond `left` may start (ISO). */; restFrom?: string };
  /** A scheduled send: when it starts (ISO). */
  at?: string;
}

export interface SendOptions extends SendCommon {
  listFile: string;
  dryRun?: boolean;
  retryFailed?: boolean;
  resendUnknown?: boolean;
  skipTestGate?: boolean;
  /** Asked after planning, before sending (the CLI's typed-back slug). Return false to cancel. */
  confirm?: (plan: SendPlan) => Promise<boolean>;
  /** Start at this time (holding the lock until then); aborting before it sends nothing. */
  at?: Date;
  /** When the daily cap stops the send, wait for the window (holding the lock) and go on. */
  wait?: boolean;
  /** Told when the send waits: for its start time, or for the daily cap's window. */
  onWait?: (w: { until: Date; reason: 'scheduled' | 'cap'; remaining: number }) => void;
}

export interface SendReport {
  plan: SendPlan;
  /** Undefined for a dry run or a cancelled send. */
  result?: EngineResult;
  cancelled: boolean;
  /** Recipients not accounted for as sent: failed, unknown, unsent, and earlier unknowns kept. */
  outstanding: number;
  /** The daily cap stopped the send: how many went in the last 24 hours, and when the rest may (ISO). */
  capped?: { sentToday: number; perDay?: number; remaining: number; until: string; byProvider?: string };
  /** Stopped (Ctrl-C) while waiting for the start time: nothing was sent. */
  notStarted?: boolean;
}

/** Wait until `until` (in steps of at most 30 s, so a clock change or a suspend is noticed); false when aborted first. */
export async function waitUntil(until: number, signal?: AbortSignal): Promise<boolean> {
  while (!signal?.aborted) {
    const left = until - Date.now();
    if (left <= 0) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(left, 30_000));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
  return false;
}

/** The daily cap's refusal, for a test send that does not fit. */
function cappedError(cap: DailyCap, n: number, what: string): NewsletterError {
  const until = whenRoomFor(cap, n);
  return new NewsletterError(
    'ESEND_REFUSED',
    `not sending ${what}: ${cap.times.length} recipients were sent in the last 24 hours, of the ${cap.perDay} the mailbox may send to in a day`,
    { hint: `It fits from ${londonTime(new Date(until).toISOString())}. Raise send.perDay in the config only if your provider allows more.` },
  );
}

/** Engine results of the rounds of one send (the daily cap's waits between them), as one. */
function mergeResults(a: EngineResult | undefined, b: EngineResult): EngineResult {
  if (!a) return b;
  return {
    ...b,
    sent: [...a.sent, ...b.sent],
    failed: [...a.failed, ...b.failed],
    unknown: [...a.unknown, ...b.unknown],
    warnings: a.warnings,
    interrupted: b.interrupted,
    elapsedMs: a.elapsedMs + b.elapsedMs,
  };
}

/**
 * Who of the list this run sends to, given the ledger's summary of earlier runs; or, when an
 * earlier run sent another build of the issue, that build's hash. `todo` is the list's own
 * array when nobody is left out (no copy of 100,000 references).
 */
function whatIsLeft(
  recipients: Recipient[],
  previous: LedgerSummary,
  hash: string,
  options: Pick<SendOptions, 'retryFailed' | 'resendUnknown'>,
): { changedFrom: string } | { todo: Recipient[]; unknownKept: string[]; alreadySent: number; failedKept: number; warnings: string[] } {
  const earlier = previous.starts.filter((s) => !s.dryRun).pop();
  if (earlier && earlier.hash !== hash && previous.recipients.size > 0) return { changedFrom: earlier.hash };
  const { warnings } = previous;
  if (previous.recipients.size === 0) return { todo: recipients, unknownKept: [], alreadySent: 0, failedKept: 0, warnings };
  const todo: Recipient[] = [];
  const unknownKept: string[] = [];
  let alreadySent = 0;
  let failedKept = 0;
  for (const r of recipients) {
    const state = previous.recipients.get(addressKey(r.email));
    if (!state) todo.push(r);
    else if (state.state === 'sent') alreadySent++;
    else if (state.state === 'unknown') {
      if (options.resendUnknown) todo.push(r);
      else unknownKept.push(r.email);
    } else if (options.retryFailed && state.temporary) todo.push(r);
    else failedKept++;
  }
  return { todo, unknownKept, alreadySent, failedKept, warnings };
}

/** Plan and (unless a dry run) perform the send to the circulation list. */
export async function sendIssue(issueArg: string, options: SendOptions): Promise<SendReport> {
  const root = path.resolve(options.root ?? process.cwd());
  const { slug } = resolveIssueFile(issueArg, root);
  // A start time already past is refused now; one that passes while the checks run just starts at once.
  if (options.at && !options.dryRun && options.at.getTime() <= Date.now())
    throw new NewsletterError('EUSAGE', `--at ${londonTime(options.at.toISOString())} is in the past`, {
      hint: 'Give a time to come, London time: --at "2025-07-15 10:00". Leave --at out to send now.',
    });
  const dir = sendsDir(root, slug);

  // 1. Build and check
  const build = await buildFor(issueArg, root, options);
  if (build.report.counts.error > 0) {
    throw new NewsletterError(
      'ESEND_REFUSED',
      `not sending ${slug}: the checks found ${build.report.counts.error} error${build.report.counts.error === 1 ? '' : 's'}`,
      {
        problems: build.report.findings
          .filter((f) => f.severity === 'error')
          .map((f) => ({ where: formatWhere(f.where) || undefined, message: `[${f.rule}] ${f.message}` })),
        hint: `Fix them, build again, test-send, then send.`,
      },
    );
  }

  // 2. The gate
  const testSent = readTestSends(dir)
    .filter((t) => t.hash === build.hash)
    .pop();
  const skipTestGate = Boolean(options.skipTestGate);
  if (!testSent && !skipTestGate) {
    throw new NewsletterError(
      'ESEND_REFUSED',
      `not sending ${slug}: this version (build ${build.hash.slice(0, 12)}) was never test-sent, so no editor has seen it`,
      {
        hint: `Run: npx build-issue test-send ${slug}, have the editors check it, then send again. (Any change to the issue since the last test send needs a new one.)`,
      },
    );
  }

  // 3. The list
  const list = await readList(path.resolve(root, options.listFile), {
    shownAs: options.listFile,
    suppressionFile: build.config.suppressionFile ? path.resolve(root, build.config.suppressionFile) : undefined,
  });
  // .env read once, under the real environment: SMTP_URL and DKIM_PRIVATE_KEY both come from this view.
  const { env } = await readEnv(root, options.env);
  const provider = build.config.send.provider;
  const smtp = options.dryRun ? await smtpSettings(root, env, provider).catch(() => undefined) : await smtpSettings(root, env, provider);
  // One-click unsubscribe needs the secret its links are sealed with: refused now, not after the lock.
  const unsubscribe = unsubscribeKeysFor(build.config, env, 'send');
  const at = options.at?.getTime();
  // The sign-in now, before the lock and any recipient: a refused token (or, for a send that
  // starts later, any refused sign-in) is one clear error while someone is there to fix it.
  if (smtp && !options.dryRun && (smtp.oauth2 || at !== undefined)) await checkSignIn(smtp, options.timeouts);

  // 4. Lock and ledger
  const release = options.dryRun ? () => {} : takeLock(dir, slug);
  try {
    const ledgerFile = path.join(dir, 'ledger.jsonl');
    // The ledger's summary (a record per address already tried) is read, used and let go
    // here, not held through the send.
    const left = whatIsLeft(list.recipients, readLedger(ledgerFile), build.hash, options);
    if ('changedFrom' in left) {
      throw new NewsletterError(
        'ESEND_REFUSED',
        `not sending ${slug}: it was partly sent as build ${left.changedFrom.slice(0, 12)} and the issue has changed since (now ${build.hash.slice(0, 12)})`,
        {
          hint: `Recipients would get different versions. Restore the issue as it was sent to finish that send, or start a new issue slug for the new version. The ledger is ${path.relative(root, ledgerFile)}.`,
        },
      );
    }
    const { todo, unknownKept, alreadySent, failedKept } = left;
    const perDay = perDayOf(build, smtp);
    const sendsRoot = path.join(root, 'sends');
    const capAt = (now: number) => (perDay === undefined ? undefined : dailyCap(sendsRoot, perDay, now));
    // The cap as it will stand at the start (a scheduled send's window has moved on by then).
    const startCap = capAt(Math.max(Date.now(), at ?? 0));
    const plan: SendPlan = {
      build,
      list,
      smtp,
      todo,
      alreadySent,
      unknownKept,
      failedKept,
      testSent,
      skipTestGate,
      ledgerFile,
      warnings: left.warnings,
      ...(startCap
        ? {
            cap: {
              perDay: startCap.perDay,
              used: startCap.times.length,
              left: startCap.left,
              ...(todo.length > startCap.left ? { restFrom: new Date(whenRoomFor(startCap, startCap.left + 1)).toISOString() } : {}),
            },
          }
        : {}),
      ...(at !== undefined ? { at: options.at!.toISOString() } : {}),
    };

    // 5. Confirm
    if (options.dryRun) return { plan, cancelled: false, outstanding: todo.length + unknownKept.length + failedKept };
    if (options.confirm && !(await options.confirm(plan))) return { plan, cancelled: true, outstanding: todo.length + unknownKept.length + failedKept };

    // 6. Wait for the start time, if there is one: holding the lock, so nothing else sends this issue meanwhile
    if (at !== undefined) {
      options.onWait?.({ until: options.at!, reason: 'scheduled', remaining: todo.length });
      if (!(await waitUntil(at, options.signal)))
        return { plan, cancelled: false, notStarted: true, outstanding: todo.length + unknownKept.length + failedKept };
    }

    // 7. Send, as much as the daily cap allows; with --wait, the rest as the window frees up
    const ledger = new Ledger(ledgerFile);
    try {
      ledger.append({
        t: 'start',
        at: now(),
        hash: build.hash,
        subject: build.issue.subject,
        recipients: todo.length,
        pid: process.pid,
        ...(skipTestGate && !testSent ? { skipTestGate: true } : {}),
      });
      const message = await prepareMessage(build, build.config, { root, env, unsubscribe });
      // Recipients by address, to carry the unsent over to the next round: made only if there is one
      // (a Map of 100,000 entries is about 4 MB, for a send that usually needs a single round).
      let byEmail: Map<string, Recipient> | undefined;
      let pending = todo;
      let result: EngineResult | undefined;
      let capped: SendReport['capped'];
      for (;;) {
        const cap = capAt(Date.now());
        const batch = cap ? pending.slice(0, cap.left) : pending;
        const rest = pending.slice(batch.length);
        const round = await runSend({
          ...engineSettings(build, options, smtp),
          smtp: smtp!,
          message,
          recipients: batch,
          ledger,
          signal: options.signal,
          onProgress: options.onProgress,
          timeouts: options.timeouts,
        });
        result = mergeResults(result, { ...round, unsent: rest.length ? [...round.unsent, ...rest.map((r) => r.email)] : round.unsent });
        capped = undefined;
        // Stopped for another reason (Ctrl-C, a pause), or done: no waiting.
        if (!result.unsent.length || round.interrupted || round.paused || !(round.capped || rest.length)) break;
        byEmail ??= new Map(todo.map((r) => [r.email, r]));
        const known = byEmail;
        pending = result.unsent.map((email) => known.get(email)!);
        const after = capAt(Date.now()) ?? dailyCap(sendsRoot, Number.MAX_SAFE_INTEGER);
        let until = whenRoomFor(after, 1);
        // The provider said "over quota" though our count has room (the mailbox sends other mail too): try again in an hour.
        if (round.capped && until <= Date.now()) until = Date.now() + 3_600_000;
        capped = {
          sentToday: after.times.length,
          ...(perDay !== undefined ? { perDay } : {}),
          remaining: pending.length,
          until: new Date(until).toISOString(),
          ...(round.capped ? { byProvider: round.capped } : {}),
        };
        if (!options.wait) break;
        // Waiting: "status" meanwhile says until when.
        ledger.append({ t: 'capped', at: now(), reason: round.capped ?? `the daily cap of ${perDay}`, until: capped.until, remaining: pending.length });
        options.onWait?.({ until: new Date(until), reason: 'cap', remaining: pending.length });
        if (!(await waitUntil(until, options.signal))) {
          result.interrupted = true;
          break;
        }
      }
      ledger.append({
        t: 'end',
        at: now(),
        sent: result.sent.length,
        failed: result.failed.length,
        unknown: result.unknown.length,
        unsent: result.unsent.length,
      });
      // The cap is the last word: "status" shows when the send may go on.
      if (capped && !result.interrupted)
        ledger.append({
          t: 'capped',
          at: now(),
          reason: capped.byProvider ?? `the daily cap of ${capped.perDay}`,
          until: capped.until,
          remaining: capped.remaining,
        });
      const outstanding = result.failed.length + result.unknown.length + result.unsent.length + unknownKept.length + failedKept;
      return { plan, result, cancelled: false, outstanding, ...(capped && !result.interrupted ? { capped } : {}) };
    } finally {
      ledger.close();
    }
  } finally {
    release();
  }
}

export interface SendStatus {
  slug: string;
  ledgerFile: string;
  testSends: TestSendRecord[];
  started?: string;
  hash?: string;
  sent: number;
  failed: { email: string; code?: number; response: string; temporary: boolean }[];
  unknown: string[];
  /** The last thing the ledger says: "end", "paused", "capped", or a send in progress or cut short. */
  last?: string;
  /** The daily cap stopped the send (the last record): when the rest may go (ISO), and how many they are. */
  capped?: { until?: string; remaining?: number; reason: string };
  /** Damage found in the ledger (the next send sets it aside). */
  warnings: string[];
  /** What came back from the send (build-issue inbox, the unsubscribe endpoint), as counts and rates of those sent. */
  health?: ListHealth;
}

export interface ListHealth {
  sent: number;
  hardBounces: number;
  softBounces: number;
  complaints: number;
  unsubscribes: number;
  /** Bounces (hard and soft) and complaints as fractions of those sent. */
  bounceRate: number;
  complaintRate: number;
  /** Past the limits mail providers watch: 2% bounces, 0.1% complaints. */
  warnings: string[];
}

/** Bounce and complaint rates mail providers act on (Gmail asks for complaints under 0.3%; 0.1% is the comfortable side of it). */
export const BOUNCE_LIMIT = 0.02;
export const COMPLAINT_LIMIT = 0.001;

/** The health of one issue's send: its returns (sends/returns.jsonl) and the unsubscribes recorded since it started. */
export function listHealth(root: string, slug: string, sent: number, started: string, suppressionFile?: string): ListHealth {
  const returns = readReturns(root).filter((r) => r.issue === slug);
  const count = (kind: string) => new Set(returns.filter((r) => r.kind === kind).flatMap((r) => r.addresses)).size;
  let unsubscribes = new Set(returns.filter((r) => r.kind === 'unsubscribe').flatMap((r) => r.addresses)).size;
  if (suppressionFile && existsSync(suppressionFile)) {
    // One-click and mailto unsubscribes carry no issue: those recorded since this send started.
    const since = Date.parse(started);
    const lines = readFileSync(suppressionFile, 'utf8').split('\n');
    unsubscribes = Math.max(unsubscribes, lines.filter((l) => /^[^,]+,unsubscribed,/.test(l) && Date.parse(l.split(',')[2] ?? '') >= since).length);
  }
  const hardBounces = count('hard-bounce');
  const softBounces = count('soft-bounce');
  const complaints = count('complaint');
  const bounceRate = sent ? (hardBounces + softBounces) / sent : 0;
  const complaintRate = sent ? complaints / sent : 0;
  const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)}%`;
  const warnings = [
    ...(bounceRate > BOUNCE_LIMIT
      ? [
          `${pct(bounceRate)} of this send bounced (over ${pct(BOUNCE_LIMIT)}): mail providers slow down or block senders past this; clean the list before the next send`,
        ]
      : []),
    ...(complaintRate > COMPLAINT_LIMIT
      ? [
          `${pct(complaintRate)} of those sent complained (over ${pct(COMPLAINT_LIMIT)}): Gmail starts filtering at 0.3%; check the list is people who asked for it`,
        ]
      : []),
  ];
  return { sent, hardBounces, softBounces, complaints, unsubscribes, bounceRate, complaintRate, warnings };
}

/** A send's state, from its ledger. */
export function sendStatus(issueArg: string, root = process.cwd(), suppressionFile?: string): SendStatus {
  const { slug } = resolveIssueFile(issueArg, path.resolve(root));
  const dir = sendsDir(path.resolve(root), slug);
  const ledgerFile = path.join(dir, 'ledger.jsonl');
  const l = readLedger(ledgerFile);
  const states = [...l.recipients.values()];
  const start = l.starts.filter((s) => !s.dryRun).pop();
  return {
    slug,
    ledgerFile,
    testSends: readTestSends(dir),
    started: start?.at,
    hash: start?.hash,
    sent: states.filter((s) => s.state === 'sent').length,
    failed: states.flatMap((s) => (s.state === 'failed' ? [{ email: s.email, code: s.code, response: s.response, temporary: s.temporary }] : [])),
    unknown: states.flatMap((s) => (s.state === 'unknown' ? [s.email] : [])),
    last: l.last?.t,
    ...(l.last?.t === 'capped' ? { capped: { until: l.last.until, remaining: l.last.remaining, reason: l.last.reason } } : {}),
    warnings: l.warnings,
    ...(start ? { health: listHealth(path.resolve(root), slug, states.filter((s) => s.state === 'sent').length, start.at, suppressionFile) } : {}),
  };
}
