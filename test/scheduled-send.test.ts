/**
 * `send --at`: everything is checked now, the lock is held while it waits, the send starts on
 * time, and Ctrl-C before the start sends nothing. The CLI runs as a child process (a real
 * signal), against the SMTP sink on 127.0.0.1; addresses are example.org only.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { count, parseAt } from '../src/cli/send-commands.js';
import { makeProject, ROOT, runCli } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const sinks: SmtpSink[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

const bin = path.join(ROOT, 'bin', 'build-issue.js');

/** `ms` from now as London wall-clock time, to the second: "2026-12-03 10:00:05". */
function londonIn(ms: number): { text: string; at: number } {
  // Whole seconds: --at takes seconds, and the start is then exact.
  const at = Math.ceil((Date.now() + ms) / 1000) * 1000;
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(at)
      .map((x) => [x.type, x.value]),
  );
  return { text: `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`, at };
}

async function setUp(n: number) {
  const s = await startSink();
  sinks.push(s);
  const project = await makeProject();
  const file = path.join(project, 'newsletter.config.yaml');
  await writeFile(file, `${await readFile(file, 'utf8')}\nsend:\n  rate: 1000\n  retryBaseMs: 20\n`);
  await mkdir(path.join(project, 'lists'));
  const emails = Array.from({ length: n }, (_, i) => `reader${i + 1}@example.org`);
  await writeFile(path.join(project, 'lists', 'list.csv'), `email\n${emails.join('\n')}\n`);
  const test = await runCli(['test-send', 'july-2025'], project, { SMTP_URL: s.url });
  expect(test.code, test.err).toBe(0);
  return { s, project, emails };
}

function child(project: string, s: SmtpSink, args: string[]) {
  const p = spawn(process.execPath, [bin, 'send', 'july-2025', '--list', 'lists/list.csv', ...args], {
    cwd: project,
    env: { ...process.env, SMTP_URL: s.url, DEBUG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { out: '', err: '' };
  p.stdout.on('data', (d: Buffer) => (output.out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (output.err += d.toString()));
  const exit = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  return { p, output, exit };
}

/** Resolves once `check` holds (polled; the test's own time-out is the limit). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

describe('send --at', () => {
  it('checks now, says when it starts, holds the lock while it waits, and starts on time', async () => {
    const { s, project, emails } = await setUp(5);
    // Far enough ahead that the command reads it as to come; if its checks take longer, it starts at once.
    const start = londonIn(6000);
    const c = child(project, s, ['--at', start.text, '--yes']);
    await until(() => c.output.err.includes('waiting, holding the send lock'));
    expect(c.output.err).toContain(`starts       `);
    expect(c.output.err).toMatch(/Starting at \w{3} \d+ \w{3} \d{4}, \d\d:\d\d \(London time\): waiting/);
    // Meanwhile another send of the issue is refused: the lock is held.
    if (Date.now() < start.at - 500) {
      const other = await runCli(['send', 'july-2025', '--list', 'lists/list.csv', '--yes'], project, { SMTP_URL: s.url });
      expect(other.code).toBe(1);
      expect(other.err).toMatch(/another send of july-2025 is running/);
    }
    expect(await c.exit).toBe(0);
    const sent = s.messages.slice(1); // the first is the test send
    expect(sent.map((m) => m.to[0]).sort()).toEqual(emails.sort());
    expect(Math.min(...sent.map((m) => m.at))).toBeGreaterThanOrEqual(start.at);
    const first = JSON.parse((await readFile(path.join(project, 'sends/july-2025/ledger.jsonl'), 'utf8')).split('\n')[0]!) as { t: string; at: string };
    expect(first.t).toBe('start');
    expect(Date.parse(first.at)).toBeGreaterThanOrEqual(start.at);
  });

  it('Ctrl-C before the start time sends nothing, exits 130 and releases the lock', async () => {
    const { s, project } = await setUp(3);
    const c = child(project, s, ['--at', londonIn(120_000).text, '--yes']);
    await until(() => c.output.err.includes('waiting, holding the send lock'));
    expect(existsSync(path.join(project, 'sends/july-2025/send.lock'))).toBe(true);
    c.p.kill('SIGINT');
    expect(await c.exit).toBe(130);
    expect(c.output.err).toContain('Stopped by Ctrl-C before the start time: nothing was sent.');
    expect(s.messages).toHaveLength(1); // the test send only
    expect(existsSync(path.join(project, 'sends/july-2025/ledger.jsonl'))).toBe(false);
    expect(existsSync(path.join(project, 'sends/july-2025/send.lock'))).toBe(false);
  });

  it('refuses a time in the past, or one it cannot read, before anything else', async () => {
    const { s, project } = await setUp(1);
    const past = await runCli(['send', 'july-2025', '--list', 'lists/list.csv', '--yes', '--at', '2025-07-15 10:00'], project, { SMTP_URL: s.url });
    expect(past.code).toBe(2);
    expect(past.err).toContain('--at Tue 15 Jul 2025, 10:00 (London time) is in the past');
    const bad = await runCli(['send', 'july-2025', '--list', 'lists/list.csv', '--yes', '--at', 'Tuesday 10am'], project, { SMTP_URL: s.url });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('Write it as --at "2025-07-15 10:00"');
    expect(s.messages).toHaveLength(1);
  });

  it('reads London time, summer and winter', () => {
    expect(parseAt('2025-07-15 10:00').toISOString()).toBe('2025-07-15T09:00:00.000Z');
    expect(parseAt('2025-12-02T10:00:30').toISOString()).toBe('2025-12-02T10:00:30.000Z');
    expect(() => parseAt('15/07/2025 10:00')).toThrow(/is not a date and time/);
  });
});

describe('counts in what the send prints', () => {
  it("are written as en-GB writes them (Node's ICU the judge), without loading it", () => {
    const samples = [0, 1, 12, 999, 1000, 1001, 9999, 10_000, 12_345, 100_000, 999_999, 1_000_000, 1_234_567, -1, -1234, 2 ** 40];
    for (let n = 0; n < 2_000_000; n += 997) samples.push(n);
    const wrong = samples.filter((n) => count(n) !== n.toLocaleString('en-GB'));
    expect(wrong).toEqual([]);
    expect(count(12_345)).toBe('12,345');
  });
});
