/**
 * A real IMAP server for the tests: a private Dovecot (test/dovecot/dovecot.ts: its own
 * config, Maildir and log in a temporary folder, loopback only, plain IMAP, never the
 * system's Dovecot), checked here with imapflow as any IMAP client would use it: login
 * with the URL's credentials (and a wrong password refused), messages put in the Maildir
 * listed with their subjects, a folder of its own, a MOVE that moves the file, and a
 * \Seen flag that outlasts the connection.
 *
 * Skips with a notice where Dovecot is not installed; under CI a Dovecot that is
 * installed but will not start fails.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { type Dovecot, dovecotUnavailable, startDovecot } from './dovecot/dovecot.js';

const skipReason = dovecotUnavailable();
if (skipReason) console.warn(`test/dovecot.test.ts skipped: ${skipReason}`);

let server: Dovecot | undefined;
let notStarted: string | undefined;

/** A message as an MTA would leave it. */
function message(subject: string): string {
  const id = `${subject.toLowerCase().replace(/[^a-z0-9]+/g, '-')}@test.invalid`;
  return [
    'From: Sender <sender@test.invalid>',
    'To: Editor <editor@example.org>',
    `Subject: ${subject}`,
    'Date: Tue, 01 Jul 2025 09:00:00 +0000',
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `Body of ${subject}.`,
    '',
  ].join('\r\n');
}

/** The server, or a skip (outside CI) when it would not start. */
function dovecot(ctx: TestContext): Dovecot {
  if (!server) ctx.skip(notStarted);
  return server!;
}

/** A connected client with the credentials in the URL (or `pass` instead of its password). */
async function login(url: string, pass?: string): Promise<ImapFlow> {
  const u = new URL(url);
  const client = new ImapFlow({
    host: u.hostname,
    port: Number(u.port),
    secure: false,
    auth: { user: decodeURIComponent(u.username), pass: pass ?? decodeURIComponent(u.password) },
    logger: false,
  });
  await client.connect();
  return client;
}

/** Subject and flags of each message in a mailbox, by UID. */
async function contents(client: ImapFlow, mailbox: string): Promise<{ uid: number; subject: string | undefined; flags: string[] }[]> {
  const lock = await client.getMailboxLock(mailbox);
  try {
    const status = client.mailbox;
    if (!status || status.exists === 0) return [];
    const messages = await client.fetchAll('1:*', { uid: true, envelope: true, flags: true });
    return messages.map((m) => ({ uid: m.uid, subject: m.envelope?.subject, flags: [...(m.flags ?? [])].sort() }));
  } finally {
    lock.release();
  }
}

/** Files in a Maildir folder's new/ and cur/ whose text includes `needle`. */
async function filesWith(folderDir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const sub of ['new', 'cur']) {
    for (const f of await readdir(path.join(folderDir, sub)).catch(() => [] as string[])) {
      const file = path.join(folderDir, sub, f);
      if ((await readFile(file, 'utf8')).includes(needle)) found.push(file);
    }
  }
  return found;
}

describe.skipIf(skipReason)('a private Dovecot IMAP server on 127.0.0.1', () => {
  beforeAll(async () => {
    try {
      // Characters that must be percent-encoded in the URL, and quoted at LOGIN.
      server = await startDovecot({ user: 'editor@example.org', password: 'p@ss w/rd?#%' });
    } catch (err) {
      // Installed but cannot start here: a notice, not a failure, except in CI, which must test this.
      if (process.env.CI) throw err;
      notStarted = `Dovecot would not start: ${(err as Error).message.split('\n')[0]}`;
      console.warn(`test/dovecot.test.ts skipped: ${notStarted}`);
    }
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('logs in with the credentials in its URL, and refuses a wrong password', async (ctx) => {
    const imap = dovecot(ctx);
    expect(imap.url).toBe(`imap://editor%40example.org:p%40ss%20w%2Frd%3F%23%25@127.0.0.1:${imap.port}`);
    const client = await login(imap.url);
    expect(client.authenticated).toBeTruthy();
    expect((await client.list()).map((m) => m.path)).toContain('INBOX');
    await client.logout();

    const refused = await login(imap.url, 'not the password').then(
      async (c) => {
        await c.logout();
        return undefined;
      },
      (err: Error & { authenticationFailed?: boolean }) => err,
    );
    expect(refused?.authenticationFailed).toBe(true);
  });

  it('lists two delivered messages in INBOX with their subjects', async (ctx) => {
    const imap = dovecot(ctx);
    const first = await imap.deliver(message('First delivered'));
    const second = await imap.deliver(Buffer.from(message('Second delivered: café')));
    expect(path.dirname(first)).toBe(path.join(imap.maildir, 'new'));
    expect(path.dirname(second)).toBe(path.join(imap.maildir, 'new'));
    const client = await login(imap.url);
    try {
      const inbox = await contents(client, 'INBOX');
      expect(inbox.map((m) => m.subject)).toEqual(['First delivered', 'Second delivered: café']);
      expect(inbox.every((m) => !m.flags.includes('\\Seen'))).toBe(true);
    } finally {
      await client.logout();
    }
  });

  it('shows a message delivered into a folder of its own in that mailbox', async (ctx) => {
    const imap = dovecot(ctx);
    const file = await imap.deliver(message('Already processed'), 'Processed');
    expect(file.startsWith(path.join(imap.maildir, '.Processed', 'new'))).toBe(true);
    expect(await imap.folders()).toEqual(['INBOX', 'Processed']);
    const client = await login(imap.url);
    try {
      expect((await client.list()).map((m) => m.path).sort()).toEqual(['INBOX', 'Processed']);
      expect((await contents(client, 'Processed')).map((m) => m.subject)).toEqual(['Already processed']);
      expect((await contents(client, 'INBOX')).map((m) => m.subject)).not.toContain('Already processed');
    } finally {
      await client.logout();
    }
  });

  it('moves a message from INBOX to Processed, and its file with it', async (ctx) => {
    const imap = dovecot(ctx);
    await imap.deliver(message('To be moved'));
    const client = await login(imap.url);
    try {
      const moving = (await contents(client, 'INBOX')).find((m) => m.subject === 'To be moved');
      expect(moving).toBeDefined();
      const lock = await client.getMailboxLock('INBOX');
      try {
        const moved = await client.messageMove(String(moving!.uid), 'Processed', { uid: true });
        expect(moved).toMatchObject({ destination: 'Processed' });
      } finally {
        lock.release();
      }
      expect((await contents(client, 'INBOX')).map((m) => m.subject)).not.toContain('To be moved');
      expect((await contents(client, 'Processed')).map((m) => m.subject)).toEqual(['Already processed', 'To be moved']);
    } finally {
      await client.logout();
    }
    expect(await filesWith(imap.maildir, 'Subject: To be moved')).toEqual([]);
    expect(await filesWith(path.join(imap.maildir, '.Processed'), 'Subject: To be moved')).toHaveLength(1);
  });

  it('keeps a \\Seen flag set by a client, in the Maildir too', async (ctx) => {
    const imap = dovecot(ctx);
    let client = await login(imap.url);
    try {
      const first = (await contents(client, 'INBOX')).find((m) => m.subject === 'First delivered')!;
      const lock = await client.getMailboxLock('INBOX');
      try {
        expect(await client.messageFlagsAdd(String(first.uid), ['\\Seen'], { uid: true })).toBe(true);
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
    // A new connection sees it, and so does the file name (Maildir's ":2,S").
    client = await login(imap.url);
    try {
      const inbox = await contents(client, 'INBOX');
      expect(inbox.find((m) => m.subject === 'First delivered')?.flags).toContain('\\Seen');
      expect(inbox.find((m) => m.subject === 'Second delivered: café')?.flags).not.toContain('\\Seen');
    } finally {
      await client.logout();
    }
    const [file] = await filesWith(imap.maildir, 'Subject: First delivered');
    expect(file).toMatch(/\/cur\/[^/]+:2,[A-Z]*S[A-Z]*$/);
  });
});
