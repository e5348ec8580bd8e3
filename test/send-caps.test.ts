/**
 * The mailbox's daily cap: counted from the ledgers over a rolling 24 hours, a send that
 * reaches it stops cleanly and says when the rest may go; run again, it goes on; with --wait
 * it waits. The provider's own "over quota" replies (Microsoft 365, Gmail) stop the send as a
 * cap, not as recipient failures. Against the SMTP sink on 127.0.0.1, example.org addresses.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dailyCap, whenRoomFor } from '../src/send/daily-cap.js';
import { readLedger } from '../src/send/ledger.js';
import { capOf } from '../src/send/providers.js';
import { sendIssue, sendTest } from '../src/send/send-issue.js';
import { rejection, runCli, sendingProject, writeReaders as writeList } from './helpers.js';
import { sinksPerTest } from './sink-per-test.js';

const sink = sinksPerTest();

const capProject = sendingProject;

const ledgerOf = (project: string, slug = 'july-2025') => path.join(project, 'sends', slug, 'ledger.jsonl');

/** Another issue's ledger lines: these readers sent at `at`. */
const sentLines = (names: string[], at: string) =>
  names.map((x) => `${JSON.stringify({ t: 'sent', email: `${x}@example.org`, at, response: '250' })}\n`).join('');

/** Move every record of a ledger `ms` into the past (as if the send had been then). */
async function age(file: string, ms: number): Promise<void> {
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  const aged = lines.map((l) => {
    const r = JSON.parse(l) as { at: string };
    return JSON.stringify({ ...r, at: new Date(Date.parse(r.at) - ms).toISOString() });
  });
  await writeFile(file, `${aged.join('\n')}\n`);
}

describe('the daily cap (send.perDay)', () => {
  it('stops cleanly at the cap, says when the rest can go, and the same command goes on once the window allows', async () => {
    const s = await sink();
    const project = await capProject('  perDay: 5\n');
    const { rel, emails } = await writeList(project, 8);
    const env = { SMTP_URL: s.url };

    const first = await runCli(['send', 'july-2025', '--list', rel, '--yes', '--skip-test-gate'], project, env);
    expect(first.code).toBe(1);
    expect(s.messages).toHaveLength(5);
    expect(first.out).toMatch(/^Capped: 5 sent now/m);
    expect(first.out).toMatch(
      /The daily cap \(5 recipients in 24 hours\) is reached: 5 sent in the last 24 hours; the remaining 3 can go after \d\d:\d\d tomorrow\./,
    );
    expect(first.err).toMatch(/daily cap {4}0 of 5 used in the last 24 hours: 5 can go now, the remaining 3 after/);
    // Not failures: nobody is marked failed, the three are simply not sent yet.
    const ledger = readLedger(ledgerOf(project));
    expect([...ledger.recipients.values()].every((r) => r.state === 'sent')).toBe(true);
    expect(ledger.last).toMatchObject({ t: 'capped', remaining: 3 });
    const status = await runCli(['status', 'july-2025'], project, env);
    expect(status.out).toMatch(/stopped by the daily cap .*the remaining 3 can go after \d\d:\d\d tomorrow/);

    // Again at once: still capped, nothing sent.
    const again = await sendIssue('july-2025', { root: project, env, listFile: rel, skipTestGate: true });
    expect(again.result?.sent).toEqual([]);
    expect(again.capped).toMatchObject({ sentToday: 5, perDay: 5, remaining: 3 });
    expect(Date.parse(again.capped!.until)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(s.messages).toHaveLength(5);

    // A day later (the ledger aged by 24 hours): the rest goes, each reader exactly once.
    await age(ledgerOf(project), 24 * 3_600_000 + 1000);
    const later = await sendIssue('july-2025', { root: project, env, listFile: rel, skipTestGate: true });
    expect(later.result?.sent).toHaveLength(3);
    expect(later.capped).toBeUndefined();
    expect(later.outstanding).toBe(0);
    for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
  });

  it('counts every issue and the test sends of the last 24 hours', async () => {
    const s = await sink();
    const project = await capProject('  perDay: 4\n');
    const env = { SMTP_URL: s.url };
    // Another issue sent 3 an hour ago.
    const june = ledgerOf(project, 'june-2025');
    await mkdir(path.dirname(june), { recursive: true });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await writeFile(june, sentLines(['a', 'b', 'c'], hourAgo));
    expect(dailyCap(path.join(project, 'sends'), 4).left).toBe(1);
    await sendTest('july-2025', { root: project, env }); // one editor: the last of the four
    const cap = dailyCap(path.join(project, 'sends'), 4);
    expect(cap.left).toBe(0);
    expect(whenRoomFor(cap, 1)).toBe(Date.parse(hourAgo) + 24 * 3_600_000);
    const e = await rejection(sendTest('july-2025', { root: project, env }));
    expect(e.code).toBe('ESEND_REFUSED');
    expect(e.message).toMatch(/4 recipients were sent in the last 24 hours, of the 4/);
    expect(s.messages).toHaveLength(1);
  });

  it('--wait holds the lock and waits for the window, then sends', async () => {
    const s = await sink();
    const project = await capProject('  perDay: 4\n');
    const { rel, emails } = await writeList(project, 4);
    const env = { SMTP_URL: s.url };
    // Four sent by another issue almost 24 hours ago: they leave the window in eight seconds
    // (time enough for the build and checks before the plan counts them, on a loaded machine too).
    const june = ledgerOf(project, 'june-2025');
    await mkdir(path.dirname(june), { recursive: true });
    const frees = Date.now() + 8000;
    const then = new Date(frees - 24 * 3_600_000).toISOString();
    await writeFile(june, sentLines(['a', 'b', 'c', 'd'], then));
    const waits: { until: Date; reason: string; remaining: number }[] = [];
    const report = await sendIssue('july-2025', { root: project, env, listFile: rel, skipTestGate: true, wait: true, onWait: (w) => waits.push(w) });
    expect(report.plan.cap).toMatchObject({ perDay: 4, used: 4, left: 0 });
    expect(waits).toEqual([{ until: new Date(frees), reason: 'cap', remaining: 4 }]);
    expect(report.result?.sent.sort()).toEqual(emails);
    expect(report.capped).toBeUndefined();
    expect(Math.min(...s.messages.map((m) => m.at))).toBeGreaterThanOrEqual(frees);
    // The wait is in the ledger (status showed it meanwhile); the send then ended.
    const lines = (await readFile(ledgerOf(project), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { t: string });
    expect(lines.map((l) => l.t)).toEqual(['start', 'capped', ...Array(8).fill(expect.stringMatching(/^(data|sent)$/)), 'end']);
  });
});

describe("the provider's over-quota replies", () => {
  for (const [provider, code, message, stage] of [
    [
      'Microsoft 365',
      554,
      '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception',
      'data',
    ],
    [
      'Gmail',
      550,
      '5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852',
      'mail',
    ],
  ] as const) {
    it(`${provider} (${code} ${message.slice(0, 5)} at ${stage}): the send stops as capped, nobody failed, and it resumes from there`, async () => {
      const s = await sink({ quota: { after: 3, code, message, stage } });
      const project = await capProject('  connections: 1\n');
      const { rel, emails } = await writeList(project, 8);
      const env = { SMTP_URL: s.url };
      const report = await sendIssue('july-2025', { root: project, env, listFile: rel, skipTestGate: true });
      expect(report.result?.sent).toHaveLength(3);
      expect(report.result?.failed).toEqual([]);
      expect(report.result?.unknown).toEqual([]);
      expect(report.result?.unsent).toHaveLength(5);
      expect(report.capped?.byProvider).toContain(message.slice(0, 20));
      expect(s.rejected).toHaveLength(1);
      // The refused one is not sent, failed nor unknown in the ledger: the next run offers it again.
      const states = [...readLedger(ledgerOf(project)).recipients.values()];
      expect(states.map((r) => r.state)).toEqual(['sent', 'sent', 'sent']);
      s.setFaults({});
      const rest = await sendIssue('july-2025', { root: project, env, listFile: rel, skipTestGate: true });
      expect(rest.result?.sent).toHaveLength(5);
      for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
    });
  }

  it('"too fast" (421 4.4.2) slows down and offers the same recipient again, uncharged', async () => {
    const s = await sink({
      rcpt: { 'reader002@example.org': { code: 451, message: '4.4.2 Message submission rate for this client has exceeded the configured limit', times: 2 } },
    });
    // No retries allowed: a rate refusal charged as a temporary failure would fail reader002.
    const project = await capProject('  connections: 1\n  maxRetries: 0\n');
    const { rel, emails } = await writeList(project, 4);
    const report = await sendIssue('july-2025', { root: project, env: { SMTP_URL: s.url }, listFile: rel, skipTestGate: true });
    expect(report.result?.failed).toEqual([]);
    expect(report.result?.sent.sort()).toEqual(emails);
    expect(s.rejected).toHaveLength(2);
  });

  it('tells quota replies from recipient failures and other temporary refusals', () => {
    expect(capOf(432, '432 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded')).toBe('rate');
    expect(capOf(554, '554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message')).toBe('daily');
    expect(
      capOf(
        550,
        "550 5.7.233 Your message can't be sent because your tenant exceeded its daily limit for sending email to external recipients (tenant external recipient rate limit)",
      ),
    ).toBe('daily');
    expect(capOf(550, '550 5.4.5 Daily user sending limit exceeded.')).toBe('daily');
    expect(capOf(421, '421 4.4.2 Message submission rate for this client has exceeded the configured limit')).toBe('rate');
    expect(capOf(421, '421 4.7.0 Try again later, closing connection.')).toBe('rate');
    // Not caps: the recipient's own failures, Gmail's reputation deferral, greylisting, a full mailbox.
    expect(capOf(550, '550 5.1.1 The email account that you tried to reach does not exist.')).toBeUndefined();
    expect(capOf(421, '421 4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from your IP address.')).toBeUndefined();
    expect(capOf(450, '450 4.2.0 Greylisted, please try again later')).toBeUndefined();
    expect(capOf(552, '552 5.2.2 The email account that you tried to reach is over quota.')).toBeUndefined();
    expect(capOf(550, '550 5.4.5 Mail loop detected')).toBeUndefined();
  });
});
