/**
 * The list looks after itself, end to end, with real servers: a send through a private
 * Postfix (test/postfix/postfix.ts) to a list where one address bounces (Postfix accepts it,
 * then sends back its own DSN); the DSN, an unsubscribe mail from the List-Unsubscribe mailto,
 * an abuse report and an out-of-office land in a real Dovecot mailbox (test/dovecot/dovecot.ts)
 * that `build-issue inbox` reads over IMAP; another reader one-clicks the running endpoint;
 * the next issue's send skips exactly those four, and `status` shows the rates.
 *
 * Skips with a notice where Postfix or Dovecot cannot run (not root, not installed); CI has both.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { startUnsubscribeServer } from '../src/send/unsubscribe-server.js';
import { unsubscribeKeys } from '../src/send/unsubscribe-token.js';
import { dovecotUnavailable, startDovecot, type Dovecot } from './dovecot/dovecot.js';
import { julyYaml, ROOT, runCli, sendingProject, writeIssue } from './helpers.js';
import { postfixUnavailable, startPostfix, type Postfix } from './postfix/postfix.js';

const skipReason = postfixUnavailable() ?? dovecotUnavailable();
if (skipReason) console.warn(`test/returns-e2e.test.ts skipped: ${skipReason}`);

const SENDER = 'liiateam@londoncouncils.gov.uk';
const SECRET = 'returns-e2e-secret-0123456789-abcdefghijkl';
const LIST_ID = 'LIIA <newsletter.londoncouncils.gov.uk>';
const PAGE = 'https://liia.london/newsletter/unsubscribe';
const STAYING = ['reader1@example.org', 'reader2@example.org', 'reader3@example.org', 'reader4@example.org'];
const GONE = 'gone@example.org';
const COMPLAINER = 'complainer@example.org';
const CLICKER = 'clicker@example.org';
const LEAVER = 'leaver@example.org';
const LIST = [...STAYING, GONE, COMPLAINER, CLICKER, LEAVER];

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
});

const until = async <T>(get: () => Promise<T | undefined>): Promise<T> => {
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** The reader's own token, from the List-Unsubscribe of the copy Postfix delivered to them. */
async function tokenOf(mta: Postfix, email: string): Promise<string> {
  const file = (await mta.delivered()).find(([to]) => to === email)![1];
  const mail = await simpleParser(await readFile(file));
  const header = mail.headerLines.find((h) => h.key === 'list-unsubscribe')!.line.replace(/\r?\n[ \t]+/g, ' ');
  return new URL(/<(https:[^>]+)>/.exec(header)![1]!).searchParams.get('t')!;
}

describe.skipIf(Boolean(skipReason))('bounces, complaints and unsubscribes fed back into the list', () => {
  it('a real DSN, an unsubscribe mail, an abuse report and an out-of-office read over IMAP, plus a one-click: the next send skips exactly those four', async () => {
    const mta = await startPostfix([...STAYING, COMPLAINER, CLICKER, LEAVER], { bounce: { [GONE]: '5.1.1 mailbox unavailable' }, returnPath: SENDER });
    stops.push(() => mta.stop());
    let imap: Dovecot;
    try {
      imap = await startDovecot();
    } catch (err) {
      if (process.env.CI) throw err;
      console.warn(`test/returns-e2e.test.ts: Dovecot would not start: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    stops.push(() => imap.stop());

    const project = await sendingProject();
    const config = path.join(project, 'newsletter.config.yaml');
    const text = await readFile(config, 'utf8');
    await writeFile(
      config,
      `${text.replace(`unsubscribe:\n  mailto: ${SENDER}`, `unsubscribe:\n  mailto: ${SENDER}\n  url: ${PAGE}`)}suppressionFile: lists/unsubscribed.csv\nlistId: ${JSON.stringify(LIST_ID)}\n`,
    );
    await writeFile(path.join(project, 'lists', 'unsubscribed.csv'), '');
    await writeFile(path.join(project, 'lists', 'list.csv'), `email\n${LIST.join('\n')}\n`);
    const env = { SMTP_URL: `smtp://127.0.0.1:${mta.port}`, UNSUBSCRIBE_SECRET: SECRET, IMAP_URL: imap.url };

    // 1. July to the list: eight accepted; Postfix then bounces gone@ and sends its DSN to the sender.
    const send = await runCli(['send', 'july-2025', '--list', 'lists/list.csv', '--yes', '--skip-test-gate'], project, env);
    expect(send.code, send.err + send.out).toBe(0);
    const dsnFile = await until(async () => (await mta.returned())[0]);
    const dsn = await readFile(dsnFile);
    expect(dsn.toString('latin1')).toMatch(/^Content-Type: message\/delivery-status/m);

    // 2. What came back, in the sender's mailbox (Dovecot): the DSN; the mailto unsubscribe a
    //    mail client sends for LEAVER; an abuse report about COMPLAINER's copy; an out-of-office.
    await imap.deliver(dsn);
    const leaverToken = await tokenOf(mta, LEAVER);
    await imap.deliver(
      [
        `From: <${LEAVER}>`,
        `To: <${SENDER}>`,
        `Subject: Unsubscribe ${leaverToken}`,
        'Message-ID: <unsub-1@example.org>',
        'Date: Thu, 17 Jul 2025 09:00:00 +0100',
        '',
        '',
      ].join('\r\n'),
    );
    const fixtures = path.join(ROOT, 'test', 'fixtures', 'returns');
    await imap.deliver((await readFile(path.join(fixtures, 'arf-complaint.eml'), 'latin1')).replaceAll('complainer@example.com', COMPLAINER));
    await imap.deliver(await readFile(path.join(fixtures, 'out-of-office.eml')));

    // 3. CLICKER presses Unsubscribe in their mail app: the one-click POST to the running endpoint.
    const keys = unsubscribeKeys(SECRET, LIST_ID);
    const endpoint = await startUnsubscribeServer({
      keys,
      suppressionFile: path.join(project, 'lists', 'unsubscribed.csv'),
      listName: 'LIIA',
      mailto: SENDER,
      port: 0,
    });
    stops.push(() => endpoint.close());
    const click = await fetch(`${endpoint.url}?t=${await tokenOf(mta, CLICKER)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(click.status).toBe(200);

    // 4. inbox reads the mailbox over IMAP and files what it dealt with.
    const inbox = await runCli(['inbox', '--move-to', 'Processed'], project, env);
    expect(inbox.code, inbox.err).toBe(0);
    expect(inbox.out).toMatch(/Read 4 messages from imap:\/\/.*: 4 new, 0 read before/);
    expect(inbox.out).toMatch(/hard bounce +1 /);
    expect(inbox.out).toMatch(/complaint +1 /);
    expect(inbox.out).toMatch(/unsubscribe +1 /);
    expect(inbox.out).toMatch(/auto-reply +1 /);
    expect(inbox.out).toContain('3 addresses added to lists/unsubscribed.csv; 4 messages moved to Processed');
    expect(inbox.out + inbox.err).not.toContain(imap.password);
    expect(await imap.folders()).toContain('Processed');
    const suppression = await readFile(path.join(project, 'lists', 'unsubscribed.csv'), 'utf8');
    expect(suppression).toMatch(new RegExp(`^${GONE},hard bounce 5\\.1\\.1,.*,message <`, 'm'));
    expect(suppression).toMatch(new RegExp(`^${COMPLAINER},complaint,`, 'm'));
    expect(suppression).toMatch(new RegExp(`^${LEAVER},unsubscribed,.*,message <unsub-1@example.org>`, 'm'));
    expect(suppression).toMatch(new RegExp(`^${CLICKER},unsubscribed,.*,one-click`, 'm'));

    // Again: nothing new (the INBOX is empty now, and nothing is read twice anyway).
    const again = await runCli(['inbox', '--folder', 'Processed'], project, env);
    expect(again.out).toMatch(/Read 4 messages .*: 0 new, 4 read before/);
    expect(again.out).toContain('0 addresses added');

    // 5. status: the rates of the July send.
    const status = await runCli(['status', 'july-2025'], project, env);
    expect(status.out).toMatch(/came back {2}1 hard bounce \(12\.50%\), 0 soft \(0\.00%\), 1 complaint \(12\.50%\), 2 unsubscribes \(25\.00%\)/);
    expect(status.out).toMatch(/warning: 12\.5% of this send bounced/);
    expect(status.out).toMatch(/warning: 12\.5% of those sent complained/);

    // 6. August to the same list: exactly the four who stay.
    await writeIssue(project, 'august-2025', await julyYaml());
    const before = new Set((await mta.delivered()).map(([, f]) => f));
    const next = await runCli(['send', 'august-2025', '--list', 'lists/list.csv', '--yes', '--skip-test-gate', '--json'], project, env);
    expect(next.code, next.err).toBe(0);
    expect(JSON.parse(next.out)).toMatchObject({ sent: 4, list: { suppressed: 4 } });
    const got = await until(async () => {
      const fresh = (await mta.delivered()).filter(([, f]) => !before.has(f));
      return fresh.length >= 4 ? fresh : undefined;
    });
    expect(got.map(([to]) => to).sort()).toEqual([...STAYING].sort());
  }, 180_000);
});
