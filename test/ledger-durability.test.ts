/**
 * The ledger against real faults (issue 11, items 1 and 4), with the real SMTP sink:
 *  1. a full disk (a small tmpfs mounted over the project's sends/): the send stops
 *     with ESEND naming the disk, nobody gets two messages, and a resume after making
 *     room sends each address at most once (exactly once unless named unknown);
 *  2. a torn last line before a resume: set aside in ledger.jsonl.damaged, warned of,
 *     the next records on lines of their own, nobody sent twice;
 *  3. the "about to send" record is whole and on disk before the body: a short write
 *     or a failed fdatasync at a chosen record, and the sink never gets that message.
 * Tests 1 runs the CLI in a child process (test/ledger-durability-child.ts) so a crash
 * there cannot take the runner down; it needs root to mount (CI), else it skips, saying so.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as realFs from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeProject, ROOT, runCli } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';
import { readLedger } from '../src/send/ledger.js';
import { sendIssue } from '../src/send/send-issue.js';
import { NewsletterError } from '../src/errors.js';

// Fault injection at the system-call boundary the ledger uses (src/ is transformed by
// vitest, so its node:fs imports get these). Off unless a test sets `faults`.
const faults: {
  /** Called for each write to a ledger file; return 'short' to write half and make the disk full from then on. */
  write?: (text: string) => 'short' | undefined;
  full?: boolean;
  /** Called for each fdatasync of a ledger file; return an errno code to fail it. */
  sync?: () => string | undefined;
} = {};
const ledgerFds = new Set<number>();
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  const patched = {
    ...fs,
    openSync: (file: realFs.PathLike, ...rest: unknown[]) => {
      const fd = (fs.openSync as (...a: unknown[]) => number)(file, ...rest);
      if (String(file).endsWith('ledger.jsonl')) ledgerFds.add(fd);
      return fd;
    },
    closeSync: (fd: number) => {
      ledgerFds.delete(fd);
      return fs.closeSync(fd);
    },
    writeSync: (fd: number, data: unknown, ...rest: unknown[]) => {
      if (ledgerFds.has(fd) && (faults.write || faults.full)) {
        if (faults.full) throw enospc();
        const buf =
          typeof data === 'string'
            ? Buffer.from(data)
            : Buffer.from((data as Buffer).subarray((rest[0] as number) ?? 0, ((rest[0] as number) ?? 0) + ((rest[1] as number) ?? (data as Buffer).length)));
        if (faults.write!(buf.toString()) === 'short') {
          faults.full = true;
          return fs.writeSync(fd, buf, 0, Math.floor(buf.length / 2));
        }
      }
      return (fs.writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
    },
    fdatasync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => {
      const code = ledgerFds.has(fd) ? faults.sync?.() : undefined;
      if (code) return setImmediate(() => cb(Object.assign(new Error(`${code}: i/o error, fdatasync`), { code, syscall: 'fdatasync' })));
      return fs.fdatasync(fd, cb);
    },
  };
  return { ...patched, default: patched };
});

const sinks: SmtpSink[] = [];
const mounts: string[] = [];
beforeEach(() => {
  delete faults.write;
  delete faults.full;
  delete faults.sync;
});
afterEach(async () => {
  delete faults.write;
  delete faults.full;
  delete faults.sync;
  for (const dir of mounts.splice(0)) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

async function sink(logFile?: string): Promise<SmtpSink> {
  const s = await startSink(logFile ? { logFile } : {});
  sinks.push(s);
  return s;
}

async function sendProject(): Promise<string> {
  const project = await makeProject();
  const file = path.join(project, 'newsletter.config.yaml');
  let config = await readFile(file, 'utf8');
  config += `\nsend:\n  rate: 1000\n  connections: 2\n  retryBaseMs: 20\n  maxRetries: 3\n`;
  await writeFile(file, config);
  await mkdir(path.join(project, 'lists'));
  return project;
}

function addresses(n: number, prefix = 'reader'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}@example.org`);
}

async function writeList(project: string, emails: string[]): Promise<string> {
  const rel = path.join('lists', 'list.csv');
  await writeFile(path.join(project, rel), `email,name\n${emails.map((e, i) => `${e},Reader ${i + 1}`).join('\n')}\n`);
  return rel;
}

/** How many messages the sink accepted for each address (from its log, which survives nothing but is exact). */
function received(s: SmtpSink): Map<string, number> {
  const m = new Map<string, number>();
  for (const msg of s.messages) for (const to of msg.to) m.set(to.toLowerCase(), (m.get(to.toLowerCase()) ?? 0) + 1);
  return m;
}

function cli(project: string, args: string[], s: SmtpSink): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href,
      path.join(ROOT, 'test', 'ledger-durability-child.ts'),
      'july-2025',
      ...args,
    ],
    {
      cwd: project,
      env: { ...process.env, SMTP_URL: s.url, DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const t = performance.now();
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      if (process.env.DEBUG_LEDGER_TEST) console.log(`child ${args[0]} took ${Math.round(performance.now() - t)} ms`);
      resolve({ code, out, err });
    }),
  );
}

function canMount(): boolean {
  const dir = realFs.mkdtempSync(path.join(realFs.realpathSync('/tmp'), 'mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    realFs.rmSync(dir, { recursive: true, force: true });
  }
}
const mountable = canMount();
if (!mountable) console.warn('[ledger-durability] NOTICE: cannot mount a tmpfs here (not root?): the full-disk test is skipped. CI runs it as root.');

describe('a full disk', () => {
  it.skipIf(!mountable)(
    'a test send that went out but cannot be recorded (8k tmpfs over sends/): ESEND saying so, and the next test send records it',
    { timeout: 120_000 },
    async () => {
      const project = await sendProject();
      const s = await sink();
      const sends = path.join(project, 'sends');
      await mkdir(sends);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8k,mode=0700', 'tmpfs', sends]);
      mounts.push(sends);
      const t = await runCli(['test-send', 'july-2025'], project, { SMTP_URL: s.url });
      expect(t.code).toBe(1);
      expect(t.err).toMatch(/^error: the test send went to editor@example\.org, but it could not be recorded: the disk holding sends\/july-2025\/ is full/m);
      expect(t.err).toContain('Free some space, then test-send again');
      expect(t.err).not.toMatch(/unexpected failure|at \w+ \(/);
      expect(s.messages.length).toBe(1);
      // Space again: the same version is test-sent and recorded.
      execFileSync('umount', [sends]);
      mounts.splice(mounts.indexOf(sends), 1);
      const again = await runCli(['test-send', 'july-2025'], project, { SMTP_URL: s.url });
      expect(again.code, again.err).toBe(0);
      expect(await readFile(path.join(sends, 'july-2025', 'test-sends.jsonl'), 'utf8')).toMatch(/"to":\["editor@example\.org"\]/);
    },
  );

  // Sizes and address lengths vary so the disk fills at different records and at different points inside them.
  const runs = [
    { size: '64k', prefix: 'reader' },
    { size: '48k', prefix: 'subscriber-x' },
    { size: '40k', prefix: 'r' },
  ];
  for (const { size, prefix } of runs) {
    it.skipIf(!mountable)(
      `(${size} tmpfs over sends/, ${prefix}NNNN@example.org): stops with ESEND naming the disk; the resume sends each address at most once`,
      { timeout: 120_000 },
      async () => {
        const project = await sendProject();
        const s = await sink();
        const sends = path.join(project, 'sends');
        await mkdir(sends);
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', sends]);
        mounts.push(sends);
        const t = await runCli(['july-2025', '--send-test'], project, { SMTP_URL: s.url });
        expect(t.code, t.err).toBe(0);
        s.messages.length = 0;
        const emails = addresses(500, prefix);
        const list = await writeList(project, emails);

        const first = await cli(project, ['--send', '--list', list, '--yes', '--json'], s);
        // The message checks are soft: the invariants below are checked even when they fail.
        expect.soft(first.code, first.err + first.out).toBe(1);
        if (process.env.DEBUG_LEDGER_TEST) console.log(first.out, first.err);
        expect.soft(first.err + first.out).not.toMatch(/unexpected failure/);
        let report: { ok: boolean; error: { code: string; message: string; problems: { message: string }[]; hint?: string } } = {
          ok: false,
          error: { code: '', message: '', problems: [] },
        };
        try {
          report = JSON.parse(first.out) as typeof report;
        } catch {
          expect.soft(first.out, 'a JSON report').toMatch(/^\{/);
        }
        expect.soft(report.error.code).toBe('ESEND');
        expect.soft(report.error.message).toMatch(/the disk holding sends\/july-2025\/ is full/);
        expect.soft(report.error.message).toContain('sends/july-2025/ledger.jsonl');
        expect.soft(report.error.hint).toMatch(/free some space.*run the same command to resume/i);
        const namedUnknown = report.error.problems.flatMap((p) => /^unknown (\S+@example\.org)/.exec(p.message)?.[1] ?? []);

        let got = received(s);
        expect(got.size).toBeGreaterThan(0);
        expect(got.size).toBeLessThan(500);
        for (const [addr, n] of got) expect(n, addr).toBe(1);
        // Every address the server received is in the ledger as sent, or named unknown (by the error and the ledger).
        const ledger = readLedger(path.join(sends, 'july-2025', 'ledger.jsonl'));
        for (const addr of got.keys()) {
          const st = ledger.recipients.get(addr)?.state;
          expect(st === 'sent' || st === 'unknown', `${addr}: ${st}`).toBe(true);
          if (st === 'unknown') expect(namedUnknown).toContain(addr);
        }
        for (const u of namedUnknown) expect(ledger.recipients.get(u)?.state).toBe('unknown');

        // A resume before making room stops at once, sending nothing, and says the same.
        const before = s.messages.length;
        const early = await cli(project, ['--send', '--list', list, '--yes'], s);
        expect.soft(early.code).toBe(1);
        expect.soft(early.err).toMatch(/the disk holding sends\/july-2025\/ is full/);
        expect(s.messages.length).toBe(before);

        // Make room and resume.
        execFileSync('mount', ['-o', 'remount,size=4m', sends]);
        const second = await cli(project, ['--send', '--list', list, '--yes'], s);
        expect(second.err).not.toMatch(/unexpected failure/);
        const stillUnknown = [...second.out.matchAll(/unknown (\S+@example\.org)/g)].map((m) => m[1]!);
        expect(second.code, second.err).toBe(stillUnknown.length ? 1 : 0);
        got = received(s);
        for (const e of emails) {
          const n = got.get(e) ?? 0;
          if (namedUnknown.includes(e)) expect(n, e).toBeLessThanOrEqual(1);
          else expect(n, e).toBe(1);
        }
        expect(new Set(stillUnknown)).toEqual(new Set(namedUnknown));
      },
    );
  }
});

describe('a torn ledger', () => {
  it('a half-written last line is set aside in ledger.jsonl.damaged, warned of, and the resume sends nobody twice', async () => {
    const project = await sendProject();
    const s = await sink();
    const t = await runCli(['july-2025', '--send-test'], project, { SMTP_URL: s.url });
    expect(t.code, t.err).toBe(0);
    s.messages.length = 0;
    const emails = addresses(20);
    const list = await writeList(project, emails.slice(0, 10));
    const r1 = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, { SMTP_URL: s.url });
    expect(r1.code, r1.err).toBe(0);
    const file = path.join(project, 'sends', 'july-2025', 'ledger.jsonl');
    // A crash (or a full disk) in the middle of a record: half a "sent" record of an address already sent, no newline.
    const whole = await readFile(file, 'utf8');
    const fragment = JSON.stringify({ t: 'sent', email: emails[0], at: new Date().toISOString(), response: '250 2.0.0 Ok: queued as ABC' }).slice(0, 40);
    await appendFile(file, fragment);

    // --status reads it: the ledger still says what it said, the damage is reported (not fatal).
    const st = await runCli(['july-2025', '--status'], project, {});
    expect(st.code, st.err).toBe(0);

    await writeList(project, emails);
    const report = await sendIssue('july-2025', { root: project, env: { SMTP_URL: s.url }, listFile: list, skipTestGate: true, confirm: async () => true });
    expect(report.plan.alreadySent).toBe(10);
    expect(report.result!.warnings).toEqual([
      expect.stringContaining(
        'the last line of sends/july-2025/ledger.jsonl was cut short (a crash or a full disk); it was set aside in ledger.jsonl.damaged and the send resumes from the last whole record',
      ),
    ]);
    const damaged = await readFile(`${file}.damaged`, 'utf8');
    expect(damaged).toContain(fragment);
    // Every line of the ledger is a whole record; the resume's "start" (with its skipTestGate) is one of them.
    const text = await readFile(file, 'utf8');
    expect(text.startsWith(whole)).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    const records = text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { t: string; skipTestGate?: boolean });
    // The resume's "start" record is whole, on a line of its own (it used to be glued to the fragment and lost).
    expect(records.filter((r) => r.t === 'start')).toHaveLength(2);
    const got = received(s);
    for (const e of emails) expect(got.get(e), e).toBe(1);
    expect(readLedger(file).warnings).toEqual([]);
  });

  it('a half-written "about to send" record naming an address keeps that address unknown, never sent again silently', async () => {
    const project = await sendProject();
    const file = path.join(project, 'sends', 'july-2025', 'ledger.jsonl');
    await mkdir(path.dirname(file), { recursive: true });
    const start = JSON.stringify({ t: 'start', at: new Date().toISOString(), hash: 'x', subject: 's', recipients: 2, pid: 1 });
    await writeFile(file, `${start}\n{"t":"data","email":"reader0001@example.org","at":"2026-`);
    const l = readLedger(file);
    expect(l.recipients.get('reader0001@example.org')?.state).toBe('unknown');
    expect(l.warnings.join('\n')).toMatch(/reader0001@example\.org/);
  });
  it("a fragment an older version glued the next run's records to (mid-file): those records are recovered, the fragment set aside, the file rewritten whole", async () => {
    const project = await sendProject();
    const file = path.join(project, 'sends', 'july-2025', 'ledger.jsonl');
    await mkdir(path.dirname(file), { recursive: true });
    const at = new Date().toISOString();
    const start = (skip: boolean) =>
      JSON.stringify({ t: 'start', at, hash: 'x', subject: 's', recipients: 3, pid: 1, ...(skip ? { skipTestGate: true } : {}) });
    const rec = (t: string, email: string) => JSON.stringify(t === 'sent' ? { t, email, at, response: '250 ok' } : { t, email, at });
    // Run 1 sent a@, then tore the "sent" of b@ (whose "data" is whole); run 2's start (with --skip-test-gate) was appended to the torn line.
    const text = `${[start(false), rec('data', 'a@example.org'), rec('sent', 'a@example.org'), rec('data', 'b@example.org'), rec('sent', 'b@example.org').slice(0, 30) + start(true), rec('data', 'c@example.org'), rec('sent', 'c@example.org')].join('\n')}\n`;
    await writeFile(file, text);
    const l = readLedger(file);
    expect(l.starts.map((s) => Boolean(s.skipTestGate))).toEqual([false, true]);
    expect(l.recipients.get('a@example.org')?.state).toBe('sent');
    expect(l.recipients.get('b@example.org')?.state).toBe('unknown');
    expect(l.recipients.get('c@example.org')?.state).toBe('sent');
    expect(l.warnings).toHaveLength(1);
    expect(l.warnings[0]).toMatch(/a line in the middle of sends\/july-2025\/ledger\.jsonl is damaged/);
    const { Ledger } = await import('../src/send/ledger.js');
    const ledger = new Ledger(file);
    expect(ledger.warnings[0]).toMatch(/it was set aside in ledger\.jsonl\.damaged/);
    expect(ledger.append({ t: 'data', email: 'd@example.org', at })).toBe('written');
    ledger.close();
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(await readFile(`${file}.damaged`, 'utf8')).toContain(rec('sent', 'b@example.org').slice(0, 30));
    const again = readLedger(file);
    expect(again.warnings).toEqual([]);
    expect(again.starts).toHaveLength(2);
    expect(again.recipients.get('b@example.org')?.state).toBe('unknown');
    expect(again.recipients.get('d@example.org')?.state).toBe('unknown');
    expect(realFs.existsSync(`${file}.reserve`)).toBe(false);
  });
  it('the same on the last line (a fragment, then a whole "start" and its newline): the "start" is kept, the fragment set aside', async () => {
    const project = await sendProject();
    const file = path.join(project, 'sends', 'july-2025', 'ledger.jsonl');
    await mkdir(path.dirname(file), { recursive: true });
    const at = new Date().toISOString();
    const first = JSON.stringify({ t: 'start', at, hash: 'x', subject: 's', recipients: 3, pid: 1 });
    const second = JSON.stringify({ t: 'start', at, hash: 'x', subject: 's', recipients: 3, pid: 2, skipTestGate: true });
    const fragment = '{"t":"data","email":"a@example.org","at":"20';
    await writeFile(file, `${first}\n${fragment}${second}\n`);
    const { Ledger } = await import('../src/send/ledger.js');
    const ledger = new Ledger(file);
    ledger.close();
    const again = readLedger(file);
    expect(again.warnings).toEqual([]);
    expect(again.starts.map((s) => s.pid)).toEqual([1, 2]);
    expect(again.recipients.get('a@example.org')?.state).toBe('unknown');
    expect(await readFile(`${file}.damaged`, 'utf8')).toContain(fragment);
  });
});

describe('the "about to send" record is whole and on disk before the body', () => {
  async function setUp(n: number) {
    const project = await sendProject();
    const s = await sink();
    const t = await runCli(['july-2025', '--send-test'], project, { SMTP_URL: s.url });
    expect(t.code, t.err).toBe(0);
    s.messages.length = 0;
    const emails = addresses(n);
    const list = await writeList(project, emails);
    return { project, s, emails, list, file: path.join(project, 'sends', 'july-2025', 'ledger.jsonl') };
  }

  const cases = [
    { at: 1, kind: 'data' },
    { at: 7, kind: 'data' },
    { at: 23, kind: 'data' },
    { at: 5, kind: 'sent' },
  ] as const;
  for (const { at, kind } of cases) {
    const title =
      kind === 'data'
        ? `a short write of "about to send" record ${at} (then a full disk): that message never reaches the server; the resume sends everyone once`
        : `a short write of outcome record ${at} (then a full disk): that message, accepted but not recorded, is named unknown and not sent again`;
    it(title, async () => {
      const { project, s, emails, list, file } = await setUp(40);
      let dataRecords = 0;
      let victim: string | undefined;
      faults.write = (text) => {
        const m = new RegExp(`"t":"${kind}","email":"([^"]+)"`).exec(text);
        if (m && ++dataRecords === at) {
          victim = m[1];
          return 'short';
        }
        return undefined;
      };
      const err = await sendIssue('july-2025', { root: project, env: { SMTP_URL: s.url }, listFile: list, confirm: async () => true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      delete faults.write;
      delete faults.full;
      expect(victim).toBeDefined();
      expect.soft(err).toBeInstanceOf(NewsletterError);
      expect.soft((err as NewsletterError | undefined)?.code).toBe('ESEND');
      expect.soft((err as NewsletterError | undefined)?.message).toMatch(/is full/);
      if (kind === 'data') expect(received(s).get(victim!)).toBeUndefined();
      else {
        expect(received(s).get(victim!)).toBe(1);
        expect((err as { result?: { unknown: string[] } }).result?.unknown).toContain(victim);
        expect((err as NewsletterError).problems.map((p) => p.message)).toContainEqual(expect.stringMatching(new RegExp(`^unknown ${victim}`)));
      }
      for (const [addr, n] of received(s)) expect(n, addr).toBe(1);
      // The ledger holds no part of the failed record: every line whole.
      for (const line of (await readFile(file, 'utf8')).trimEnd().split('\n')) expect.soft(() => JSON.parse(line), line).not.toThrow();
      // The result adds up and agrees with the ledger; here the disk stays full, so the messages in flight
      // when it filled cannot have their outcome recorded: they must be named unknown, not claimed sent.
      const result = (err as { result?: { sent: string[]; unknown: string[]; unsent: string[] } }).result;
      if (result) {
        expect([...result.sent, ...result.unknown, ...result.unsent].sort()).toEqual([...emails].sort());
        const l = readLedger(file);
        for (const e of result.sent) expect(l.recipients.get(e)?.state, e).toBe('sent');
        for (const e of result.unknown) expect(l.recipients.get(e)?.state, e).toBe('unknown');
        for (const e of result.unsent) expect(l.recipients.get(e), e).toBeUndefined();
        for (const e of result.unsent) expect(received(s).get(e), e).toBeUndefined();
        if (process.env.DEBUG_LEDGER_TEST)
          console.log(`record ${at}: ${result.sent.length} sent, ${result.unknown.length} unknown, ${result.unsent.length} not sent`);
      }

      const report = await sendIssue('july-2025', { root: project, env: { SMTP_URL: s.url }, listFile: list, confirm: async () => true });
      const unknown = [...report.result!.unknown, ...report.plan.unknownKept];
      const got = received(s);
      for (const e of emails) {
        if (unknown.includes(e)) expect(got.get(e) ?? 0, e).toBeLessThanOrEqual(1);
        else expect(got.get(e), e).toBe(1);
      }
      expect(got.get(victim!)).toBe(1);
      if (kind === 'sent') expect(report.plan.unknownKept).toContain(victim);
    });
  }

  it('a failed fdatasync (EIO): none of the messages it covered is sent; the send stops with ESEND; those are not sent, or named unknown', async () => {
    const { project, s, emails, list, file } = await setUp(40);
    let syncs = 0;
    faults.sync = () => (++syncs === 5 ? 'EIO' : undefined);
    const err = await sendIssue('july-2025', { root: project, env: { SMTP_URL: s.url }, listFile: list, confirm: async () => true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    delete faults.sync;
    expect(syncs).toBeGreaterThanOrEqual(5);
    expect(err).toBeInstanceOf(NewsletterError);
    expect((err as NewsletterError).code).toBe('ESEND');
    expect((err as NewsletterError).message).toMatch(/EIO/);
    const got = received(s);
    for (const [addr, n] of got) expect(n, addr).toBe(1);
    const result = (err as NewsletterError & { result: { sent: string[]; unknown: string[]; unsent: string[] } }).result;
    // The ledger agrees: the sent are recorded sent, the unknown recorded "about to send" with no outcome, the not sent not at all.
    const l = readLedger(file);
    for (const e of result.sent) expect(l.recipients.get(e)?.state, e).toBe('sent');
    for (const e of result.unknown) expect(l.recipients.get(e)?.state, e).toBe('unknown');
    for (const e of result.unsent) expect(l.recipients.get(e), e).toBeUndefined();
    // The result adds up: every address is sent, unknown or not sent, once.
    expect([...result.sent, ...result.unknown, ...result.unsent].sort()).toEqual([...emails].sort());
    for (const e of result.sent) expect(got.get(e), e).toBe(1);
    for (const e of result.unsent) expect(got.get(e), e).toBeUndefined();
  });
});
