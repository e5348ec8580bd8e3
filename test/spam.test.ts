import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSpamRule, parseSpamAssassinOutput, SPAM_ERROR, SPAM_WARN, spamAvailability, spamMessage, spamRule, spamScore } from '../src/check/spam.js';
import type { CheckContext } from '../src/check/types.js';
import { buildIssue, type BuildResult } from '../src/index.js';
import { ROOT } from './helpers.js';

const availability = await spamAvailability();
const available = availability.available;
if (!available) console.warn(`spam.test.ts: ${availability.reason}; SpamAssassin tests skipped`);

/** A rule only needs the .eml; the rest of the context is filled so the type holds. */
function contextFor(b: Pick<BuildResult, 'issue' | 'config' | 'html' | 'text' | 'eml'>): CheckContext {
  return {
    issue: b.issue,
    config: b.config,
    issueFile: 'issues/july-2025.yaml',
    html: b.html,
    text: b.text,
    eml: b.eml,
    locate: () => undefined,
    locateIn: () => undefined,
  };
}

/** Everything spam filters hate: shouting subject, image-only HTML, no text part, sender at an IP address. */
async function spammyEml(): Promise<Buffer> {
  return new MailComposer({
    from: 'WINNER <winner@123.45.67.89>',
    to: 'you@example.com',
    subject: 'FREE MONEY!!! ACT NOW',
    html: '<html><body><a href="http://123.45.67.89/claim"><img src="http://123.45.67.89/cash.jpg" width="600" height="800"></a></body></html>',
  })
    .compile()
    .build();
}

// Captured from `spamassassin -L -x -t` 4.0.1 (Debian 12) on a spammy message: the report
// appears twice (report_safe wrapper and -t), one description wraps, header is folded.
const CAPTURED = [
  'Received: from localhost by vm',
  '\twith SpamAssassin (version 4.0.1);',
  '\tSun, 29 Nov 2026 03:07:46 +0000',
  'From: WINNER <winner@123.45.67.89>',
  'Subject: FREE MONEY!!! ACT NOW',
  'X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on vm',
  'X-Spam-Flag: YES',
  'X-Spam-Level: *******',
  'X-Spam-Status: Yes, score=8.0 required=5.0 tests=ACT_NOW_CAPS,EMPTY_MESSAGE,',
  '\tHTML_IMAGE_ONLY_04,HTML_MESSAGE,HTML_SHORT_LINK_IMG_1,MIME_HTML_ONLY,',
  '\tNORMAL_HTTP_TO_IP,NO_RECEIVED,NO_RELAYS,SUBJ_ALL_CAPS,',
  '\tTO_NO_BRKTS_HTML_ONLY,T_REMOTE_IMAGE autolearn=no autolearn_force=no',
  '\tversion=4.0.1',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="----------=_6B0B9702.8F4ECE3F"',
  '',
  'This is a multi-part message in MIME format.',
  '',
  // An email quoting an old report must not be taken for the real one.
  'Content analysis details:   (99.0 points, 5.0 required)',
  '',
  ' pts rule name              description',
  '---- ---------------------- --------------------------------------------------',
  '99.0 FAKE_RULE              Quoted by the message',
  '',
  'Content analysis details:   (8.0 points, 5.0 required)',
  '',
  ' pts rule name              description',
  '---- ---------------------- --------------------------------------------------',
  ' 2.2 EMPTY_MESSAGE          Message appears to have no textual parts',
  '-0.0 NO_RECEIVED            Informational: message has no Received headers',
  " 0.1 ACT_NOW_CAPS           BODY: Talks about 'acting now' with capitals",
  ' 0.5 SUBJ_ALL_CAPS          Subject is all capitals',
  ' 0.2 NORMAL_HTTP_TO_IP      URI: URI host has a public dotted-decimal IPv4',
  '                            address',
  ' 1.7 HTML_IMAGE_ONLY_04     BODY: HTML: images with 0-400 bytes of words',
  ' 2.2 HTML_SHORT_LINK_IMG_1  HTML is very short with a linked image',
  ' 1.0 TO_NO_BRKTS_HTML_ONLY  To: lacks brackets and HTML only',
  ' 0.0 T_REMOTE_IMAGE         Message contains an external image',
  '                            400 bytes or more',
  '',
  'The original message was not completely plain text, and may be unsafe to',
].join('\r\n');

describe('parseSpamAssassinOutput', () => {
  it('reads the score from X-Spam-Status and the rules from the matching report', () => {
    const r = parseSpamAssassinOutput(CAPTURED)!;
    expect(r.score).toBe(8.0);
    expect(r.required).toBe(5.0);
    expect(r.rules.map((x) => x.name)).toEqual([
      'EMPTY_MESSAGE',
      'NO_RECEIVED',
      'ACT_NOW_CAPS',
      'SUBJ_ALL_CAPS',
      'NORMAL_HTTP_TO_IP',
      'HTML_IMAGE_ONLY_04',
      'HTML_SHORT_LINK_IMG_1',
      'TO_NO_BRKTS_HTML_ONLY',
      'T_REMOTE_IMAGE',
    ]);
    expect(r.rules.find((x) => x.name === 'NORMAL_HTTP_TO_IP')!.description).toBe('URI: URI host has a public dotted-decimal IPv4 address');
    // A wrapped line that starts with a number is still a continuation, by its indentation.
    expect(r.rules.at(-1)).toEqual({ name: 'T_REMOTE_IMAGE', score: 0, description: 'Message contains an external image 400 bytes or more' });
    expect(r.rules.find((x) => x.name === 'NO_RECEIVED')!.score).toBe(-0);
  });

  it('falls back to the report line when there is no header, and gives up on other text', () => {
    const noHeader = CAPTURED.replace(/X-Spam-Status:[\s\S]*?version=4\.0\.1\r\n/, '');
    expect(noHeader).not.toContain('X-Spam-Status');
    expect(parseSpamAssassinOutput(noHeader)!.score).toBe(8.0);
    expect(parseSpamAssassinOutput('From: a@b.c\n\nhello\n')).toBeUndefined();
  });

  it('message lists the rules that added points, largest first', () => {
    const msg = spamMessage(parseSpamAssassinOutput(CAPTURED)!);
    expect(msg).toMatch(/^SpamAssassin scores this email 8\.0 \(warn at 2\.0, fail at 5\.0\): 2\.2 EMPTY_MESSAGE \(Message appears/);
    expect(msg.indexOf('HTML_IMAGE_ONLY_04')).toBeLessThan(msg.indexOf('TO_NO_BRKTS_HTML_ONLY'));
    expect(msg).not.toContain('NO_RECEIVED');
  });
});

describe('when spamassassin is missing', () => {
  it('spamScore says how to install it', async () => {
    const r = await spamScore(Buffer.from('Subject: x\r\n\r\nhi\r\n'), { command: '/nonexistent/spamassassin' });
    expect(r.available).toBe(false);
    if (!r.available) expect(r.reason).toContain('apt-get install spamassassin');
  });

  it('the rule finds nothing and spamAvailability explains why', async () => {
    const ctx = { eml: Buffer.from('Subject: x\r\n\r\nhi\r\n') } as CheckContext;
    expect(await createSpamRule({ command: '/nonexistent/spamassassin' }).run(ctx)).toEqual([]);
    expect(await spamAvailability({ command: '/nonexistent/spamassassin' })).toEqual({
      available: false,
      reason: 'SpamAssassin not installed: spam score skipped (apt-get install spamassassin)',
    });
  });

  it('a command that hangs is killed after timeoutMs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spam-test-'));
    const script = path.join(dir, 'hang.sh');
    await writeFile(script, '#!/bin/sh\nexec sleep 30\n');
    await chmod(script, 0o755);
    const r = await spamScore(Buffer.from('Subject: x\r\n\r\nhi\r\n'), { command: script, timeoutMs: 300 });
    expect(r).toEqual({ available: false, reason: expect.stringContaining('did not finish') });
    const findings = await createSpamRule({ command: script, timeoutMs: 300 }).run({ eml: Buffer.alloc(0) } as CheckContext);
    expect(findings).toMatchObject([{ rule: 'spam', severity: 'warning' }]);
    await rm(dir, { recursive: true, force: true });
  });
});

describe.skipIf(!available)('with SpamAssassin installed', () => {
  let july: BuildResult;
  let julyScore: number;

  beforeAll(async () => {
    july = await buildIssue('july-2025', { root: ROOT, write: false });
  });

  it('scores the July issue and parses the rules that fired', async () => {
    const r = await spamScore(july.eml);
    if (!r.available) throw new Error(r.reason);
    julyScore = r.score;
    expect(Number.isFinite(r.score)).toBe(true);
    expect(r.required).toBe(5);
    expect(r.rules.length).toBeGreaterThan(0);
    for (const rule of r.rules) {
      expect(rule.name).toMatch(/^[A-Z0-9_]+$/);
      expect(Number.isFinite(rule.score)).toBe(true);
      expect(rule.description).not.toBe('');
    }
    // The table's points add up to the score (SpamAssassin rounds each to 0.1 for display).
    const sum = r.rules.reduce((s, x) => s + x.score, 0);
    expect(Math.abs(sum - r.score)).toBeLessThan(0.05 * r.rules.length + 0.05);
    // The July issue must stay below the warning line.
    expect(r.score).toBeLessThan(SPAM_WARN);
    expect(await spamRule.run(contextFor(july))).toEqual([]);
  });

  it('scores a spammy message higher and reports the rules by name', async () => {
    const eml = await spammyEml();
    const r = await spamScore(eml);
    if (!r.available) throw new Error(r.reason);
    expect(r.score).toBeGreaterThan(julyScore ?? 0);
    expect(r.score).toBeGreaterThanOrEqual(SPAM_ERROR);
    const names = r.rules.map((x) => x.name);
    expect(names).toEqual(expect.arrayContaining(['SUBJ_ALL_CAPS', 'MIME_HTML_ONLY']));

    const findings = await spamRule.run({ ...contextFor(july), eml });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ rule: 'spam', severity: 'error' });
    expect(findings[0]!.message).toContain(`SpamAssassin scores this email ${r.score.toFixed(1)} (warn at 2.0, fail at 5.0)`);
    expect(findings[0]!.message).toContain('SUBJ_ALL_CAPS');
  });

  it('spamAvailability reports the version', async () => {
    expect(availability).toMatchObject({ available: true, version: expect.stringMatching(/^\d+\.\d+/) });
  });
});
