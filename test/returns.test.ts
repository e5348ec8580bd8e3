/**
 * `build-issue inbox` on exports (Maildir folders and mbox files) and the classifier on the
 * samples in test/fixtures/returns/ (modelled on what Postfix, Exchange Online, Gmail, qmail,
 * Yahoo's feedback loop and Outlook's auto-replies send; see its README).
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { parseImapUrl, readInbox } from '../src/send/inbox.js';
import { readReturns } from '../src/send/returns-store.js';
import { classifyReturn } from '../src/send/returns.js';
import { unsubscribeKeys, unsubscribeToken } from '../src/send/unsubscribe-token.js';
import { makeProject, rejection, ROOT, runCli } from './helpers.js';

const SENDER = 'liiateam@londoncouncils.gov.uk';
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'returns');
const SECRET = 'returns-test-secret-0123456789-abcdefghijk';
const LIST_ID = 'LIIA <newsletter.londoncouncils.gov.uk>';
const keys = unsubscribeKeys(SECRET, LIST_ID);

/** A DSN as Postfix writes it, for `address` with `status`, about a copy of `issue`. */
function dsn(address: string, status: string, issue: string, n: number): string {
  const b = `B${n}.1796286877/mta.example.net`;
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mta.example.net>',
    `To: ${SENDER}`,
    'Subject: Undelivered Mail Returned to Sender',
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${b}"`,
    `Message-Id: <dsn-${n}@mta.example.net>`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `<${address}>: ${status.startsWith('5') ? 'host said: 550 no such user' : 'mailbox full, will try again'}`,
    '',
    `--${b}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mta.example.net',
    '',
    `Final-Recipient: rfc822; ${address}`,
    `Action: ${status.startsWith('5') ? 'failed' : 'delayed'}`,
    `Status: ${status}`,
    '',
    `--${b}`,
    'Content-Type: text/rfc822-headers',
    '',
    `From: ${SENDER}`,
    `To: ${address}`,
    `Message-ID: <${issue}.3f9a1c2b7d4e.Ab3dE5fG${n}@londoncouncils.gov.uk>`,
    '',
    `--${b}--`,
    '',
  ].join('\r\n');
}

/** A project whose config keeps a suppression file, with a Maildir export holding `messages`. */
async function withMaildir(messages: string[]): Promise<{ project: string; maildir: string }> {
  const project = await makeProject();
  const config = path.join(project, 'newsletter.config.yaml');
  await writeFile(config, `${await readFile(config, 'utf8')}\nsuppressionFile: lists/unsubscribed.csv\nlistId: ${JSON.stringify(LIST_ID)}\n`);
  const maildir = path.join(project, 'returns');
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(path.join(maildir, sub), { recursive: true });
  await Promise.all(messages.map((m, i) => writeFile(path.join(maildir, 'new', `17000000${i}.M${i}.test`), m)));
  return { project, maildir };
}

describe('inbox on an export', () => {
  it('suppresses hard bounces with the reason and the message; a dry run writes nothing; twice changes nothing', async () => {
    const { project } = await withMaildir([dsn('gone@example.org', '5.1.1', 'july-2025', 1), dsn('full@example.org', '4.2.2', 'july-2025', 2)]);
    const dry = await runCli(['inbox', '--from', 'returns', '--dry-run'], project);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toMatch(/Read 2 messages from Maildir returns: 2 new, 0 read before/);
    expect(dry.out).toMatch(/hard bounce +1 +suppressed/);
    expect(dry.out).toMatch(/soft bounce +1 +suppressed after soft bounces on 3 sends \(1 watched\)/);
    expect(dry.out).toContain('Dry run: nothing written; 1 address would be added to lists/unsubscribed.csv.');
    expect(existsSync(path.join(project, 'lists', 'unsubscribed.csv'))).toBe(false);
    expect(readReturns(project)).toEqual([]);

    const real = await runCli(['inbox', '--from', 'returns'], project);
    expect(real.out).toContain('1 address added to lists/unsubscribed.csv.');
    const file = await readFile(path.join(project, 'lists', 'unsubscribed.csv'), 'utf8');
    expect(file).toMatch(/^gone@example\.org,hard bounce 5\.1\.1,\d{4}-[\dT:.-]+Z,message <dsn-1@mta\.example\.net>$/m);
    expect(file).not.toContain('full@example.org');
    expect(readReturns(project).map((r) => [r.kind, r.issue])).toEqual([
      ['hard-bounce', 'july-2025'],
      ['soft-bounce', 'july-2025'],
    ]);

    const again = await runCli(['inbox', '--from', 'returns'], project);
    expect(again.out).toMatch(/2 messages .*: 0 new, 2 read before/);
    expect(await readFile(path.join(project, 'lists', 'unsubscribed.csv'), 'utf8')).toBe(file);
  });

  it('an address that soft-bounces on three different sends is suppressed; twice on one send counts once', async () => {
    const { project, maildir } = await withMaildir([dsn('full@example.org', '4.2.2', 'may-2025', 1), dsn('full@example.org', '4.2.2', 'may-2025', 2)]);
    const config = await loadConfig(path.join(project, 'newsletter.config.yaml'), project);
    const run = () => readInbox({ root: project, config, env: {}, from: 'returns' });
    expect((await run()).suppressed).toBe(0);
    await writeFile(path.join(maildir, 'new', 'june'), dsn('full@example.org', '4.2.2', 'june-2025', 3));
    expect((await run()).suppressed).toBe(0);
    await writeFile(path.join(maildir, 'new', 'july'), dsn('full@example.org', '4.2.2', 'july-2025', 4));
    const third = await run();
    expect(third.suppressed).toBe(1);
    expect(await readFile(path.join(project, 'lists', 'unsubscribed.csv'), 'utf8')).toMatch(/^full@example\.org,soft bounces on 3 sends,/m);
  });

  it('--move-to files what it dealt with into a Maildir++ folder, leaves "other" in place, and deletes nothing', async () => {
    const reply = `From: <reader@example.org>\r\nTo: <${SENDER}>\r\nSubject: Re: July 2025\r\nMessage-ID: <reply-1@example.org>\r\n\r\nThanks, is the event online?\r\n`;
    const { project, maildir } = await withMaildir([dsn('gone@example.org', '5.1.1', 'july-2025', 1), reply]);
    const r = await runCli(['inbox', '--from', 'returns', '--move-to', 'Processed'], project);
    expect(r.out).toContain('1 message moved to Processed');
    expect(await readdir(path.join(maildir, '.Processed', 'cur'))).toHaveLength(1);
    expect(await readdir(path.join(maildir, 'new'))).toHaveLength(1);
  });

  it('through the bundle the CLI runs (imapflow and mailparser are left out of it and required from node_modules)', async () => {
    const { project } = await withMaildir([dsn('gone@example.org', '5.1.1', 'july-2025', 1)]);
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const run = promisify(execFile);
    const file = await run(process.execPath, [path.join(ROOT, 'bin', 'build-issue.js'), 'inbox', '--from', 'returns', '--json'], { cwd: project });
    expect(JSON.parse(file.stdout)).toMatchObject({ read: 1, counts: { 'hard-bounce': 1 }, suppressed: 1 });
    // The IMAP client loads too: it gets as far as the (closed) port.
    const imap = await run(process.execPath, [path.join(ROOT, 'bin', 'build-issue.js'), 'inbox', '--dry-run'], {
      cwd: project,
      env: { ...process.env, IMAP_URL: 'imap://u:p@127.0.0.1:9', DEBUG: '' },
    }).then(
      () => '',
      (e: { stderr: string }) => e.stderr,
    );
    expect(imap).toMatch(/could not read the mailbox imap:\/\/u:\*\*\*@127\.0\.0\.1:9: connect ECONNREFUSED/);
  });

  it('an mbox export; --move-to is refused for one', async () => {
    const mbox = [
      dsn('gone@example.org', '5.1.1', 'july-2025', 1),
      dsn('old@example.org', '5.1.1', 'june-2025', 2).replace('\r\n\r\n--B2', '\r\n\r\n>From the mail system\r\n--B2'),
    ]
      .map((m) => `From MAILER-DAEMON Thu Jul 17 09:00:00 2025\n${m.replace(/\r\n/g, '\n')}\n`)
      .join('');
    const { project } = await withMaildir([]);
    await writeFile(path.join(project, 'returns.mbox'), mbox);
    const r = await runCli(['inbox', '--from', 'returns.mbox', '--json'], project);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ read: 2, counts: { 'hard-bounce': 2 }, suppressed: 2 });
    const moved = await runCli(['inbox', '--from', 'returns.mbox', '--move-to', 'Done'], project);
    expect(moved.code).toBe(2);
    expect(moved.err).toContain('not on an mbox file');
  });

  it('"please remove me" without a link counts from an address a send went to, and is left for a person otherwise', async () => {
    const byHand = await readFile(path.join(FIXTURES, 'unsubscribe-by-hand.eml'));
    const { project, maildir } = await withMaildir([byHand.toString('latin1')]);
    const first = await runCli(['inbox', '--from', 'returns', '--dry-run', '--json'], project);
    expect(JSON.parse(first.out)).toMatchObject({ counts: { unsubscribe: 0, other: 1 } });
    // July went to reader-manual@example.org.
    await mkdir(path.join(project, 'sends', 'july-2025'), { recursive: true });
    await writeFile(
      path.join(project, 'sends', 'july-2025', 'ledger.jsonl'),
      `${JSON.stringify({ t: 'sent', email: 'Reader-Manual@example.org', at: new Date().toISOString(), response: '250' })}\n`,
    );
    const second = await runCli(['inbox', '--from', 'returns', '--json'], project);
    expect(JSON.parse(second.out)).toMatchObject({ counts: { unsubscribe: 1 }, suppressed: 1 });
    expect(await readFile(path.join(project, 'lists', 'unsubscribed.csv'), 'utf8')).toMatch(/^reader-manual@example\.org,unsubscribed,/m);
    expect(await readdir(path.join(maildir, 'new'))).toHaveLength(1);
  });

  it('bounceAddress is the envelope sender: bounces go there, the From stays the sender', async () => {
    const { startSink } = await import('./smtp-sink.js');
    const sink = await startSink();
    try {
      const { project } = await withMaildir([]);
      const config = path.join(project, 'newsletter.config.yaml');
      await writeFile(config, `${await readFile(config, 'utf8')}bounceAddress: bounces@londoncouncils.gov.uk\n`);
      const r = await runCli(['test-send', 'july-2025'], project, { SMTP_URL: sink.url });
      expect(r.code, r.err).toBe(0);
      expect(sink.messages[0]!.from).toBe('bounces@londoncouncils.gov.uk');
      expect((await sink.parse(0)).from?.value[0]?.address).toBe(SENDER);
    } finally {
      await sink.close();
    }
  });

  it('says what is missing: no mailbox to read, no suppression file', async () => {
    const { project } = await withMaildir([]);
    const none = await runCli(['inbox'], project);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(/IMAP_URL is not set, and no --from was given/);
    const bare = await makeProject();
    const config = await loadConfig(path.join(bare, 'newsletter.config.yaml'), bare);
    const e = await rejection(readInbox({ root: bare, config: { ...config, suppressionFile: undefined }, env: {}, from: 'x' }));
    expect(e.message).toMatch(/suppressionFile is not set/);
  });

  it('IMAP_URL: TLS unless it is this machine; the password never shown', () => {
    expect(parseImapUrl('imaps://liiateam%40example.org:p%40ss@imap.example.org')).toMatchObject({
      host: 'imap.example.org',
      port: 993,
      secure: true,
      user: 'liiateam@example.org',
      pass: 'p@ss',
      shown: 'imaps://liiateam@example.org:***@imap.example.org:993',
    });
    expect(parseImapUrl('imap://u:p@127.0.0.1:1143')).toMatchObject({ secure: false, loopback: true, port: 1143 });
    expect(() => parseImapUrl('imap://u@imap.example.org')).toThrow(/needs a user name and a password/);
    expect(() => parseImapUrl('https://u:p@imap.example.org')).toThrow(/must start imaps:\/\/ or imap:\/\//);
  });
});

describe('sorting what came back', () => {
  const ctx = { unsubscribeAddress: SENDER, ownAddresses: [SENDER], keys, onList: (a: string) => a === 'reader-manual@example.org' };
  const classify = async (file: string) => classifyReturn(await readFile(path.join(FIXTURES, file)), ctx);

  it.each([
    ['postfix-hard-bounce.eml', 'hard-bounce'],
    ['exchange-online-ndr.eml', 'hard-bounce'],
    ['gmail-bounce.eml', 'hard-bounce'],
    ['qmail-bounce.eml', 'hard-bounce'],
    ['soft-bounce-mailbox-full.eml', 'soft-bounce'],
    ['arf-complaint.eml', 'complaint'],
    ['out-of-office.eml', 'auto-reply'],
    ['unsubscribe-by-hand.eml', 'unsubscribe'],
    ['ordinary-reply.eml', 'other'],
  ])('%s: %s', async (file, kind) => {
    const c = await classify(file);
    expect(c.kind, c.why).toBe(kind);
    // Every bounce and complaint names one of the list's addresses, never our own.
    if (kind !== 'auto-reply' && kind !== 'other') {
      expect(c.addresses.length, c.why).toBeGreaterThan(0);
      for (const a of c.addresses) expect(a).toMatch(/@example\.(org|com|net)$/);
    } else expect(c.addresses).toEqual([]);
  });

  it('the List-Unsubscribe mailto: the token says who, whoever sends it; a forged one is for a person', async () => {
    const raw = await readFile(path.join(FIXTURES, 'unsubscribe-mailto.eml'), 'latin1');
    const token = unsubscribeToken(keys, 'reader-leaving@example.org');
    const c = await classifyReturn(Buffer.from(raw.replace('TOKENPLACEHOLDER', token), 'latin1'), ctx);
    expect(c).toMatchObject({ kind: 'unsubscribe', addresses: ['reader-leaving@example.org'] });
    const forged = await classifyReturn(Buffer.from(raw.replace('TOKENPLACEHOLDER', `${token.slice(0, -4)}AAAA`), 'latin1'), ctx);
    expect(forged.kind).toBe('other');
  });
});
