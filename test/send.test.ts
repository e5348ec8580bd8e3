/**
 * Sending, against a real SMTP server on 127.0.0.1 (test/smtp-sink.ts), messages
 * parsed with mailparser. Addresses are example.org only.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { describe, expect, it } from 'vitest';
import { makeProject, ROOT, runCli } from './helpers.js';
import { sinksPerTest } from './sink-per-test.js';
import type { SmtpSink } from './smtp-sink.js';
import { readLedger } from '../src/send/ledger.js';
import { parseSmtpUrl, redactUrl } from '../src/send/smtp-settings.js';

const sink = sinksPerTest();

/**
 * An SMTP server that records the commands exactly as the client sent them. (The sink's
 * envelope cannot show punycode: smtp-server turns an `xn--` domain back into Unicode.) It
 * does not announce SMTPUTF8, as many relays do not.
 */
async function rawServer(): Promise<{ url: string; commands: string[]; messages: string[]; close: () => Promise<void> }> {
  const commands: string[] = [];
  const messages: string[] = [];
  const log = (...args: unknown[]) => {
    if (args[1] === 'C:' && typeof args[2] === 'string') commands.push(args[2]);
  };
  const logger = { info: () => {}, debug: log, error: () => {}, warn: () => {}, trace: () => {}, fatal: () => {}, child: () => logger };
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    hideSMTPUTF8: true,
    logger: logger as unknown as boolean,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push(Buffer.concat(chunks).toString('latin1'));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, commands, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** A project whose config sends fast and retries quickly, with the editors at example.org. */
async function sendProject(extraConfig = ''): Promise<string> {
  const project = await makeProject();
  const file = path.join(project, 'newsletter.config.yaml');
  let config = await readFile(file, 'utf8');
  config = config.replace('editors:\n  - editor@example.org', 'editors:\n  - editor-one@example.org\n  - editor-two@example.org');
  config += `\nsend:\n  rate: 1000\n  connections: 2\n  retryBaseMs: 20\n  maxRetries: 3\n${extraConfig}`;
  await writeFile(file, config);
  await mkdir(path.join(project, 'lists'));
  return project;
}

function addresses(n: number, prefix = 'reader'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${String(i + 1).padStart(4, '0')}@example.org`);
}

async function writeList(project: string, emails: string[], name = 'list.csv'): Promise<string> {
  const rel = path.join('lists', name);
  await writeFile(path.join(project, rel), `email,name\n${emails.map((e, i) => `${e},Reader ${i + 1}`).join('\n')}\n`);
  return rel;
}

const env = (s: SmtpSink) => ({ SMTP_URL: s.url });

async function testSend(project: string, s: SmtpSink) {
  const r = await runCli(['july-2025', '--send-test'], project, env(s));
  expect(r.code, r.err).toBe(0);
  return r;
}

describe('test send', () => {
  it('reaches each editor once, subject marked [TEST], and records the build as test-sent', async () => {
    const s = await sink();
    const project = await sendProject();
    const r = await testSend(project, s);
    expect(r.out).toContain('sent    editor-one@example.org');
    expect(s.messages.map((m) => m.to)).toEqual(expect.arrayContaining([['editor-one@example.org'], ['editor-two@example.org']]));
    expect(s.messages).toHaveLength(2);
    const mail = await s.parse(0);
    expect(mail.subject).toBe('[TEST] July 2025: LASOB, VESS, Practice Spotlight, NRM');
    expect(mail.text).toContain('Dear colleagues,');
    expect(mail.html).toContain('LONDON ADOLESCENT SAFEGUARDING AND YOUTH JUSTICE NEWSLETTER');
    const record = JSON.parse((await readFile(path.join(project, 'sends/july-2025/test-sends.jsonl'), 'utf8')).trim()) as { hash: string; to: string[] };
    expect(record.to).toEqual(['editor-one@example.org', 'editor-two@example.org']);
    expect(record.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--to sends to the given addresses instead', async () => {
    const s = await sink();
    const project = await sendProject();
    const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org, second@example.org'], project, env(s));
    expect(r.code, r.err).toBe(0);
    expect(s.messages.map((m) => m.to[0]).sort()).toEqual(['reviewer@example.org', 'second@example.org']);
  });
});

describe('the gate', () => {
  it('refuses to send a build that was never test-sent, and says what to do', async () => {
    const s = await sink();
    const project = await sendProject();
    const list = await writeList(project, addresses(3));
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/was never test-sent, so no editor has seen it/);
    expect(r.err).toContain('npx build-issue test-send july-2025');
    expect(s.messages).toHaveLength(0);
  });

  it('refuses again once the issue changes after its test send', async () => {
    const s = await sink();
    const project = await sendProject();
    await testSend(project, s);
    const issue = path.join(project, 'issues/july-2025.yaml');
    await writeFile(issue, (await readFile(issue, 'utf8')).replace('July 2025 ISSUE', 'July 2025 ISSUE (corrected)'));
    const list = await writeList(project, addresses(3));
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/never test-sent/);
  });

  it('--skip-test-gate sends anyway, loudly, and the ledger records it', async () => {
    const s = await sink();
    const project = await sendProject();
    const list = await writeList(project, addresses(3));
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes', '--skip-test-gate'], project, env(s));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('WARNING: this version was never test-sent');
    expect(s.messages).toHaveLength(3);
    const ledger = await readFile(path.join(project, 'sends/july-2025/ledger.jsonl'), 'utf8');
    expect(JSON.parse(ledger.split('\n')[0]!)).toMatchObject({ t: 'start', skipTestGate: true });
  });

  it('refuses a build with check errors', async () => {
    const s = await sink();
    const project = await sendProject();
    const issue = path.join(project, 'issues/july-2025.yaml');
    await writeFile(issue, (await readFile(issue, 'utf8')).replace('[Ofsted](https://www.gov.uk/government/organisations/ofsted)', '[Ofsted](#)'));
    const list = await writeList(project, addresses(2));
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes', '--skip-test-gate'], project, env(s));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not sending july-2025: the checks found 1 error/);
    expect(r.err).toMatch(/\[links\] .*goes to "#"/);
    expect(s.messages).toHaveLength(0);
  });
});

describe('sending to the list', () => {
  it('500 recipients: each gets exactly one message, addressed to them alone, with the list headers', async () => {
    const s = await sink();
    const project = await sendProject();
    await testSend(project, s);
    s.messages.length = 0;
    const emails = addresses(500);
    const list = await writeList(project, emails);
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes', '--connections', '3'], project, env(s));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/Done: 500 sent now \(0 earlier\), 0 failed, 0 unknown, 0 not sent yet/);
    expect(s.messages).toHaveLength(500);
    for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
    expect(s.maxConcurrentConnections).toBeLessThanOrEqual(3);

    const ids = new Set<string>();
    for (let i = 0; i < s.messages.length; i += 50) {
      const m = s.messages[i]!;
      const raw = m.raw.toString('utf8');
      const mail = await s.parse(i);
      const me = m.to[0]!;
      // Nobody else's address anywhere in the message.
      const others = raw.match(/reader\d{4}@example\.org/g)!.filter((a) => a !== me);
      expect(others).toEqual([]);
      expect(mail.to && 'value' in mail.to ? mail.to.value.map((v) => v.address) : []).toEqual([me]);
      expect(raw).toMatch(/^List-ID: London Innovation and Improvement Alliance\r?\n? ?<newsletter\.londoncouncils\.gov\.uk>/m);
      expect(raw).toMatch(/^List-Unsubscribe:\s*<mailto:liiateam@londoncouncils\.gov\.uk\?subject=Unsubscribe>/m);
      expect(mail.messageId).toMatch(/^<july-2025\.[0-9a-f]{12}\.[\w-]+@londoncouncils\.gov\.uk>$/);
      ids.add(mail.messageId!);
      expect(mail.text).toContain('Dear colleagues,');
      expect(mail.html).toContain('Florence Kroll');
      expect(String((mail.headers.get('content-type') as { value: string }).value)).toBe('multipart/alternative');
    }
    expect(ids.size).toBe(10);

    // The ledger accounts for everyone; a second run sends nobody again.
    const ledger = readLedger(path.join(project, 'sends/july-2025/ledger.jsonl'));
    expect([...ledger.recipients.values()].filter((x) => x.state === 'sent')).toHaveLength(500);
    const again = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/Done: 0 sent now \(500 earlier\)/);
    expect(s.messages).toHaveLength(500);
  });

  it('skips invalid rows (with their line numbers), duplicates and unsubscribed addresses', async () => {
    const s = await sink();
    const project = await sendProject('suppressionFile: lists/unsubscribed.txt\n');
    await testSend(project, s);
    s.messages.length = 0;
    await writeFile(path.join(project, 'lists/unsubscribed.txt'), '# left the list\nGone@Example.org\n');
    await writeFile(
      path.join(project, 'lists/list.csv'),
      '\uFEFFname,email,team\r\n"Smith, Ann",ann@example.org,A\r\nBob,not-an-address,B\r\nAnn again,ANN@example.org,A\r\nGone,gone@example.org,C\r\n"Quote ""Q""",q@example.org,D\r\n',
    );
    const r = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes'], project, env(s));
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/5 rows, 2 recipients \(1 invalid, 1 duplicates, 1 unsubscribed\)/);
    expect(r.err).toMatch(/skipped line 3: /);
    expect(s.messages.map((m) => m.to[0]).sort()).toEqual(['ann@example.org', 'q@example.org']);
    const ann = await s.parse(s.messages.findIndex((m) => m.to[0] === 'ann@example.org'));
    expect(ann.to && 'value' in ann.to ? ann.to.value[0] : undefined).toEqual({ address: 'ann@example.org', name: 'Smith, Ann' });
  });

  it('an IDN domain goes on the wire in punycode (MAIL FROM, RCPT TO, To), one recipient however it is written; a UTF-8 local part is skipped with its reason', async () => {
    const s = await sink();
    const project = await sendProject('suppressionFile: lists/unsubscribed.txt\n');
    await testSend(project, s);
    // Unsubscribed in Unicode and upper case; listed in punycode: the same address.
    await writeFile(path.join(project, 'lists/unsubscribed.txt'), 'gone@BÜRO.example.org\n');
    await writeFile(
      path.join(project, 'lists/list.csv'),
      'email,name\na@münchen.de,Anna\na@MÜNCHEN.de,Anna again\na@xn--mnchen-3ya.de,Anna in punycode\ngone@xn--bro-hoa.example.org,Gone\njörg@example.de,Jörg\nplain@example.org,Plain\n',
    );
    const raw = await rawServer();
    try {
      const r = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes'], project, { SMTP_URL: raw.url });
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/6 rows, 2 recipients \(1 invalid, 2 duplicates, 1 unsubscribed\)/);
      expect(r.err).toMatch(/skipped line 6: .*non-ASCII/);
      // The server saw only ASCII: the punycode domain in RCPT TO, and in the To header.
      expect(raw.commands.filter((c) => /^RCPT TO/i.test(c)).sort()).toEqual(['RCPT TO:<a@xn--mnchen-3ya.de>', 'RCPT TO:<plain@example.org>']);
      expect(raw.commands.filter((c) => /^MAIL FROM/i.test(c))).toEqual(Array(2).fill('MAIL FROM:<liiateam@londoncouncils.gov.uk>'));
      expect(raw.commands.join('\n')).not.toMatch(/SMTPUTF8|[^\x00-\x7f]/);
      const anna = raw.messages.find((m) => m.includes('a@xn--mnchen-3ya.de'))!;
      expect(anna).toMatch(/^To: "Anna" <a@xn--mnchen-3ya\.de>\r?$/m);
      expect(anna).not.toMatch(/münchen/i);
    } finally {
      await raw.close();
    }
    // The ledger keys the recipient once, by the punycode form.
    const ledger = readLedger(path.join(project, 'sends/july-2025/ledger.jsonl'));
    expect([...ledger.recipients.keys()].sort()).toEqual(['a@xn--mnchen-3ya.de', 'plain@example.org']);
  });

  it('a test send to an IDN address uses punycode on the wire; a --to that is not an address is refused before anything goes', async () => {
    const project = await sendProject();
    const raw = await rawServer();
    try {
      const r = await runCli(['july-2025', '--send-test', '--to', 'editor@münchen.de'], project, { SMTP_URL: raw.url });
      expect(r.code, r.err).toBe(0);
      expect(raw.commands.filter((c) => /^RCPT TO/i.test(c))).toEqual(['RCPT TO:<editor@xn--mnchen-3ya.de>']);
      const bad = await runCli(['july-2025', '--send-test', '--to', 'ok@example.org,a@example'], project, { SMTP_URL: raw.url });
      expect(bad.code).not.toBe(0);
      expect(bad.err).toMatch(/--to "a@example": the domain has no dot/);
      expect(raw.messages).toHaveLength(1);
    } finally {
      await raw.close();
    }
  });

  it('retries a temporary failure (450, then accepted) and records a permanent one (550)', async () => {
    const s = await sink({ rcpt: { 'grey@example.org': { code: 450, times: 2 }, 'nobody@example.org': { code: 550, message: 'No such user' } } });
    const project = await sendProject();
    await testSend(project, s);
    s.messages.length = 0;
    const list = await writeList(project, ['first@example.org', 'grey@example.org', 'nobody@example.org', 'last@example.org']);
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    expect(r.code, r.out + r.err).toBe(1); // one recipient is not accounted for as sent
    expect(s.deliveredTo('grey@example.org')).toBe(1);
    expect(s.deliveredTo('nobody@example.org')).toBe(0);
    expect(r.out).toMatch(/failed {2}nobody@example\.org: .*550/);
    const ledger = readLedger(path.join(project, 'sends/july-2025/ledger.jsonl'));
    expect(ledger.recipients.get('nobody@example.org')).toMatchObject({ state: 'failed', code: 550, temporary: false });
    expect(ledger.recipients.get('grey@example.org')).toMatchObject({ state: 'sent' });
    // Permanent failures are not retried, not even with --retry-failed.
    const again = await runCli(['july-2025', '--send', '--list', list, '--yes', '--retry-failed'], project, env(s));
    expect(again.code).toBe(1);
    expect(s.deliveredTo('nobody@example.org')).toBe(0);
    expect(s.messages).toHaveLength(3);
  });

  it('a server that drops the connection after the body: those messages are unknown, reported, and not sent twice', async () => {
    const s = await sink({ dropAfterEvery: 7 });
    // One in seven dropped is above the default pause threshold (5%): allow it here.
    const project = await sendProject('  failureRate: 0.5\n');
    await testSend(project, s); // 2 messages: under the drop count
    const emails = addresses(40);
    const list = await writeList(project, emails);
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    expect(r.code).toBe(1);
    const unknown = [...r.out.matchAll(/unknown (\S+@example\.org): the connection dropped/g)].map((m) => m[1]!);
    expect(unknown.length).toBeGreaterThan(0);
    expect(unknown.sort()).toEqual(s.dropped.map((m) => m.to[0]!).sort());
    for (const e of emails) expect(s.deliveredTo(e), e).toBe(unknown.includes(e) ? 0 : 1);
    // Running again sends nobody twice and keeps reporting the unknowns.
    const before = s.messages.length;
    const again = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    expect(again.code).toBe(1);
    expect(s.messages.length).toBe(before);
    expect(again.out).toMatch(/unknown .*not re-sent unless --resend-unknown/);
    // --resend-unknown sends them.
    s.setFaults({});
    const resend = await runCli(['july-2025', '--send', '--list', list, '--yes', '--resend-unknown'], project, env(s));
    expect(resend.code, resend.out).toBe(0);
    for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
  });

  it('pauses itself when too many recipients fail, and says how to resume', async () => {
    const bad = Object.fromEntries(addresses(30, 'bad').map((a) => [a, { code: 550 }]));
    const s = await sink({ rcpt: bad });
    const project = await sendProject('  failureWindow: 20\n  failureRate: 0.1\n');
    await testSend(project, s);
    s.messages.length = 0;
    const list = await writeList(project, [...addresses(10), ...addresses(30, 'bad'), ...addresses(60, 'late')]);
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes', '--connections', '1'], project, env(s));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/The send paused itself: \d+ of the last 20 messages failed \(more than 10%\)/);
    expect(r.out).toContain('run the same command to resume');
    expect(s.messages.filter((m) => m.to[0]!.startsWith('late'))).toHaveLength(0);
    const ledger = await readFile(path.join(project, 'sends/july-2025/ledger.jsonl'), 'utf8');
    expect(ledger).toContain('"t":"paused"');
  });

  it('--dry-run says what would happen and sends nothing', async () => {
    const s = await sink();
    const project = await sendProject();
    await testSend(project, s);
    s.messages.length = 0;
    const list = await writeList(project, addresses(12));
    const r = await runCli(['july-2025', '--send', '--list', list, '--dry-run'], project, env(s));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/to send now {2}12/);
    expect(r.out).toContain('Dry run: nothing was sent');
    expect(s.messages).toHaveLength(0);
    expect(existsSync(path.join(project, 'sends/july-2025/ledger.jsonl'))).toBe(false);
  });

  it('--status shows the test sends and the send from the ledger', async () => {
    const s = await sink({ rcpt: { 'nobody@example.org': { code: 550 } } });
    const project = await sendProject();
    await testSend(project, s);
    const list = await writeList(project, ['a@example.org', 'nobody@example.org']);
    await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    const st = await runCli(['july-2025', '--status'], project);
    expect(st.code).toBe(0);
    expect(st.out).toMatch(/test-sent .* to editor-one@example\.org, editor-two@example\.org/);
    expect(st.out).toMatch(/sent {7}1/);
    expect(st.out).toMatch(/failed {5}1/);
    expect(st.out).toContain('failed  nobody@example.org');
  });

  it('needs --list and, without a terminal, --yes', async () => {
    const project = await sendProject();
    expect((await runCli(['july-2025', '--send'], project)).code).toBe(2);
    const r = await runCli(['july-2025', '--send', '--list', 'lists/x.csv'], project);
    expect(r.code).toBe(2);
    expect(r.err).toContain('add --yes');
    expect((await runCli(['july-2025', '--send-test', '--send'], project)).code).toBe(2);
    expect((await runCli(['july-2025', '--send', '--list', 'l.csv', '--rate', 'fast'], project)).code).toBe(2);
  });
});

describe('message headers', () => {
  it('with an https unsubscribe page: one-click List-Unsubscribe-Post, and DKIM signs both List-Unsubscribe headers', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const s = await sink();
    const project = await sendProject('dkim:\n  domainName: example.org\n  keySelector: news2025\n  privateKeyFile: keys/dkim.pem\n');
    const cfg = path.join(project, 'newsletter.config.yaml');
    await writeFile(
      cfg,
      (await readFile(cfg, 'utf8')).replace(
        'unsubscribe:\n  mailto: liiateam@londoncouncils.gov.uk',
        'unsubscribe:\n  mailto: liiateam@londoncouncils.gov.uk\n  url: https://liia.london/newsletter/unsubscribe',
      ),
    );
    await mkdir(path.join(project, 'keys'));
    await writeFile(path.join(project, 'keys/dkim.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], project, env(s));
    expect(r.code, r.err).toBe(0);
    const raw = s.messages[0]!.raw.toString('utf8');
    expect(raw).toMatch(
      /^List-Unsubscribe:\s*<https:\/\/liia\.london\/newsletter\/unsubscribe>,\s*<mailto:liiateam@londoncouncils\.gov\.uk\?subject=Unsubscribe>/m,
    );
    expect(raw).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
    const dkim = /^DKIM-Signature:([\s\S]*?)\r\n(?=\S)/m.exec(raw)?.[1]?.replace(/\s+/g, '');
    expect(dkim).toBeTruthy();
    expect(dkim).toContain('d=example.org');
    expect(dkim).toContain('s=news2025');
    const signed = /(?:^|;)h=([^;]+)/.exec(dkim!)![1]!.toLowerCase().split(':');
    expect(signed).toEqual(expect.arrayContaining(['from', 'to', 'subject', 'list-unsubscribe', 'list-unsubscribe-post']));
    // The message still arrives whole (signed copies are pre-stuffed too: DKIM signs the plain form, the DATA form is made after).
    const mail = await s.parse(0);
    expect(mail.text).toContain('Dear colleagues,');
  });
});

describe('SMTP settings and secrets', () => {
  it('allows plain SMTP only to this machine; anything else must use TLS', () => {
    expect(parseSmtpUrl('smtp://127.0.0.1:2525')).toMatchObject({ loopback: true, requireTLS: false, secure: false });
    expect(parseSmtpUrl('smtp://localhost')).toMatchObject({ loopback: true, requireTLS: false });
    expect(parseSmtpUrl('smtp://smtp.example.org:587')).toMatchObject({ loopback: false, requireTLS: true });
    expect(parseSmtpUrl('smtps://u:p@smtp.example.org')).toMatchObject({ secure: true, port: 465, auth: { user: 'u', pass: 'p' } });
    expect(() => parseSmtpUrl('http://example.org')).toThrow(/must start smtps:\/\/ or smtp:\/\//);
    expect(redactUrl('smtps://user:s3cret@smtp.example.org:465')).toBe('smtps://user:***@smtp.example.org:465');
  });

  it('reads SMTP_URL from .env, and the password appears nowhere: output, dist, ledger', async () => {
    const password = 'Pa55-word-that-must-not-leak';
    const s = await sink({ auth: { user: 'newsletter', pass: password } });
    const project = await sendProject();
    await writeFile(path.join(project, '.env'), `# local settings\nSMTP_URL=smtp://newsletter:${password}@127.0.0.1:${s.port}\n`);
    const t = await runCli(['july-2025', '--send-test'], project);
    expect(t.code, t.err).toBe(0);
    expect(t.out).toContain(`smtp://newsletter:***@127.0.0.1:${s.port}`);
    const list = await writeList(project, addresses(3));
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes'], project);
    expect(r.code, r.err).toBe(0);
    const files = async (dir: string): Promise<string[]> =>
      (await readdir(dir, { withFileTypes: true, recursive: true })).filter((d) => d.isFile()).map((d) => path.join(d.parentPath, d.name));
    for (const f of [...(await files(path.join(project, 'dist'))), ...(await files(path.join(project, 'sends')))]) {
      expect(await readFile(f, 'utf8'), f).not.toContain(password);
    }
    expect(t.out + t.err + r.out + r.err).not.toContain(password);
    // A wrong password: the error names the server, not the password.
    await writeFile(path.join(project, '.env'), `SMTP_URL=smtp://newsletter:wrong-${password}@127.0.0.1:${s.port}\n`);
    const bad = await runCli(['july-2025', '--send-test'], project);
    expect(bad.code).toBe(1);
    expect(bad.out + bad.err).not.toContain(password);
  });

  it('without SMTP_URL, says how to set it', async () => {
    const project = await sendProject();
    const r = await runCli(['july-2025', '--send-test'], project, {});
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/SMTP_URL is not set/);
    expect(r.err).toContain('.env');
  });
});

describe('interruptions', () => {
  const bin = path.join(ROOT, 'bin', 'build-issue.js');

  function child(project: string, args: string[], s: SmtpSink) {
    return spawn(process.execPath, [bin, 'july-2025', ...args], {
      cwd: project,
      env: { ...process.env, SMTP_URL: s.url, DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  async function until(check: () => boolean, ms = 20_000) {
    const end = Date.now() + ms;
    while (!check()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('kill -9 in the middle, then the same command: every address exactly once, unknowns reported not duplicated', async () => {
    const s = await sink({ logFile: path.join(await makeProject(), 'sink.log') });
    const project = await sendProject();
    await testSend(project, s);
    const emails = addresses(120);
    const list = await writeList(project, emails);
    const first = child(project, ['--send', '--list', list, '--yes', '--rate', '40', '--connections', '2'], s);
    await until(() => s.messages.length >= 2 + 30);
    first.kill('SIGKILL');
    await new Promise((r) => first.on('exit', r));
    const afterKill = s.messages.length;
    expect(afterKill).toBeLessThan(2 + 120);

    const second = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    const unknown = [...second.out.matchAll(/unknown (\S+@example\.org):/g)].map((m) => m[1]!);
    expect(unknown.length).toBeLessThanOrEqual(2); // at most one in flight per connection
    // The summary's count is the number of addresses it names (it said "0 unknown" above them).
    expect(Number(/, (\d+) unknown/.exec(second.out)![1])).toBe(unknown.length);
    expect(second.code).toBe(unknown.length ? 1 : 0);
    const log = (await readFile(s.logFile!, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]!);
    for (const e of emails) {
      const times = log.filter((a) => a === e).length;
      if (unknown.includes(e)) expect(times, e).toBeLessThanOrEqual(1);
      else expect(times, e).toBe(1);
    }
  });

  /** A send of 80 at 30/s in a child process, with its output collected, once the sink has 15 of them. */
  async function sendUnderWay() {
    const s = await sink();
    const project = await sendProject();
    await testSend(project, s);
    const emails = addresses(80);
    const list = await writeList(project, emails);
    const first = child(project, ['--send', '--list', list, '--yes', '--rate', '30'], s);
    const output = { stdout: '', stderr: '' };
    first.stdout.on('data', (d: Buffer) => (output.stdout += d.toString()));
    first.stderr.on('data', (d: Buffer) => (output.stderr += d.toString()));
    await until(() => s.messages.length >= 2 + 15);
    return { s, project, emails, list, first, output };
  }

  for (const [signal, exit, who] of [
    ['SIGINT', 130, 'Ctrl-C'],
    ['SIGTERM', 143, 'systemctl stop, docker stop, timeout'],
    ['SIGHUP', 129, 'the terminal closed'],
  ] as const) {
    const name = signal === 'SIGINT' ? 'Ctrl-C' : signal;
    it(`${signal} (${who}) stops after the messages in flight: they are recorded, the lock released, exit ${exit}; the same command finishes the rest`, async () => {
      const { s, project, emails, list, first, output } = await sendUnderWay();
      first.kill(signal);
      const code = await new Promise((r) => first.on('exit', r));
      const { stdout, stderr } = output;
      expect(code, stderr).toBe(exit);
      expect(stderr).toContain(`Stopping (${name})`);
      expect(stdout).toMatch(new RegExp(`Stopped by ${name} after the messages in flight`));
      expect(stdout).toMatch(/ 0 unknown/);
      expect(existsSync(path.join(project, 'sends/july-2025/send.lock'))).toBe(false);
      // Everything the server accepted is in the ledger as sent: the summary equals the ledger.
      const ledger = readLedger(path.join(project, 'sends/july-2025/ledger.jsonl'));
      const received = s.messages.slice(2).map((m) => m.to[0]!);
      expect(
        [...ledger.recipients.values()]
          .filter((r) => r.state === 'sent')
          .map((r) => r.email)
          .sort(),
      ).toEqual([...received].sort());
      expect(stdout).toContain(`${received.length} sent now`);
      const second = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
      expect(second.code, second.out).toBe(0);
      for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
    });
  }

  it('a second SIGTERM stops at once; the resume sends nobody twice and names any unknown', async () => {
    const { s, project, emails, list, first, output } = await sendUnderWay();
    first.kill('SIGTERM');
    await until(() => output.stderr.includes('Stopping (SIGTERM)'));
    first.kill('SIGTERM');
    expect(await new Promise((r) => first.on('exit', r))).toBe(143);
    const second = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    const unknown = [...second.out.matchAll(/unknown (\S+@example\.org):/g)].map((m) => m[1]!);
    expect(second.code).toBe(unknown.length ? 1 : 0);
    for (const e of emails) {
      if (unknown.includes(e)) expect(s.deliveredTo(e), e).toBeLessThanOrEqual(1);
      else expect(s.deliveredTo(e), e).toBe(1);
    }
  });

  it('a torn last ledger line is shown by --status and the send plan, set aside in ledger.jsonl.damaged, and the resume goes on', async () => {
    const s = await sink();
    const project = await sendProject();
    await testSend(project, s);
    const emails = addresses(6);
    const list = await writeList(project, emails.slice(0, 3));
    expect((await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s))).code).toBe(0);
    const ledgerFile = path.join(project, 'sends/july-2025/ledger.jsonl');
    await writeFile(ledgerFile, `${await readFile(ledgerFile, 'utf8')}{"t":"sent","email":"rea`);
    const status = await runCli(['july-2025', '--status'], project);
    expect(status.out).toMatch(/warning: .*cut short/);
    const list2 = await writeList(project, emails, 'list2.csv');
    const r = await runCli(['july-2025', '--send', '--list', list2, '--yes', '--json'], project, env(s));
    expect(r.code, r.out).toBe(0);
    const json = JSON.parse(r.out) as { warnings: string[]; sent: number };
    expect(json.sent).toBe(3);
    expect(json.warnings.join('\n')).toMatch(/cut short/);
    expect(await readFile(`${ledgerFile}.damaged`, 'utf8')).toContain('{"t":"sent","email":"rea');
    for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
  });

  it('a lock held by a running send refuses a second one; a lock left by a dead process is taken over', async () => {
    const s = await sink();
    const project = await sendProject();
    await testSend(project, s);
    const list = await writeList(project, addresses(3));
    const lock = path.join(project, 'sends/july-2025/send.lock');
    const { hostname } = await import('node:os');
    const sleeper = spawn('sleep', ['30']);
    try {
      await writeFile(lock, JSON.stringify({ pid: sleeper.pid, host: hostname(), since: 'earlier' }));
      const refused = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(new RegExp(`another send of july-2025 is running \\(process ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.on('exit', r));
    }
    // Now its process is gone: the lock is stale.
    const ok = await runCli(['july-2025', '--send', '--list', list, '--yes'], project, env(s));
    expect(ok.code, ok.err).toBe(0);
    expect(existsSync(lock)).toBe(false);
  });
});

describe('faults of the server, not of the recipients (issue 11)', () => {
  /** A loopback port nothing listens on. */
  async function closedPort(): Promise<number> {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    return port;
  }

  const ledgerTypes = async (project: string) =>
    (await readFile(path.join(project, 'sends/july-2025/ledger.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { t: string }).t);

  it('no server at all: the send pauses after a few connection attempts, nobody recorded as failed, everyone not sent', async () => {
    const project = await sendProject();
    const list = await writeList(project, addresses(300));
    const url = `smtp://127.0.0.1:${await closedPort()}`;
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes', '--skip-test-gate', '--json'], project, { SMTP_URL: url });
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { sent: number; failed: unknown[]; unknown: unknown[]; unsent: number; paused: string };
    expect(json.paused).toMatch(/^the mail server at 127\.0\.0\.1:\d+ is not answering: .*ECONNREFUSED/);
    expect([json.sent, json.failed.length, json.unknown.length, json.unsent]).toEqual([0, 0, 0, 300]);
    expect(await ledgerTypes(project)).toEqual(['start', 'paused', 'end']);
  });

  it('a test send to a closed port says the server is not answering and records nothing as test-sent', async () => {
    const project = await sendProject();
    const r = await runCli(['july-2025', '--send-test'], project, { SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/The send stopped: the mail server at 127\.0\.0\.1:\d+ is not answering/);
    expect(existsSync(path.join(project, 'sends/july-2025/test-sends.jsonl'))).toBe(false);
  });

  it('a server that answers 451 to everyone: paused after 10 in a row, not thousands of attempts; the resume sends each once', async () => {
    const emails = addresses(100);
    const s = await sink({ rcpt: Object.fromEntries(emails.map((e) => [e, { code: 451 }])) });
    const project = await sendProject();
    const list = await writeList(project, emails);
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes', '--skip-test-gate', '--json'], project, env(s));
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { sent: number; failed: unknown[]; unsent: number; paused: string };
    expect(json.paused).toMatch(/answers every message with ".*451.*" \(10 in a row\)/);
    expect(json.failed).toHaveLength(0);
    expect(json.unsent).toBe(100);
    // Ten in a row, plus at most one more already in flight on the other connection.
    expect(s.rejected.length).toBeLessThanOrEqual(11);
    s.setFaults({});
    const second = await runCli(['july-2025', '--send', '--list', list, '--yes', '--skip-test-gate'], project, env(s));
    expect(second.code, second.out).toBe(0);
    for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
  });

  it('a refused login pauses at once, naming SMTP_URL, without charging anyone', async () => {
    const s = await sink({ auth: { user: 'news', pass: 'right-password' } });
    const project = await sendProject();
    const list = await writeList(project, addresses(20));
    const url = s.url.replace('right-password', 'wrong-password');
    expect(url).toContain('wrong-password');
    const r = await runCli(['july-2025', '--send', '--list', list, '--yes', '--skip-test-gate', '--json'], project, { SMTP_URL: url });
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as { failed: unknown[]; unsent: number; paused: string };
    expect(json.paused).toMatch(/refused the login: .*535.*Check the user name and password in SMTP_URL/);
    expect([json.failed.length, json.unsent]).toEqual([0, 20]);
    expect(r.out + r.err).not.toContain('wrong-password');
  });
});
