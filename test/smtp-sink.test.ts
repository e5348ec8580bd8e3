import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { afterEach, describe, expect, it } from 'vitest';
import { startSink, type SmtpSink, type StartSinkOptions } from './smtp-sink.js';

type SendInfo = SMTPConnection.SentMessageInfo;
type SmtpError = SMTPConnection.SMTPError;

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const sinks: SmtpSink[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

async function sink(options?: StartSinkOptions): Promise<SmtpSink> {
  const s = await startSink(options);
  sinks.push(s);
  return s;
}

afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
  await Promise.all(sinks.splice(0).map((s) => s.close()));
});

function rawMessage(to: string, subject: string, body = 'Hello from the test.'): string {
  return [
    'From: Newsletter <news@example.org>',
    `To: <${to}>`,
    `Subject: ${subject}`,
    `Message-ID: <${subject.replace(/\W+/g, '-')}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

/** A connected low-level nodemailer client with promise wrappers. */
async function lowLevel(port: number): Promise<{
  conn: SMTPConnection;
  send: (to: string | string[], subject: string) => Promise<SendInfo>;
  errors: SmtpError[];
  ended: Promise<void>;
}> {
  const conn = new SMTPConnection({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, socketCloseTimeout: 0 });
  const errors: SmtpError[] = [];
  conn.on('error', (err: SmtpError) => errors.push(err));
  const ended = new Promise<void>((resolve) => conn.once('end', () => resolve()));
  await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
  cleanups.push(() => conn.close());
  const send = (to: string | string[], subject: string): Promise<SendInfo> =>
    new Promise((resolve, reject) => {
      const rcpts = Array.isArray(to) ? to : [to];
      conn.send({ from: 'news@example.org', to: rcpts }, rawMessage(rcpts[0] ?? '', subject), (err, info) => (err ? reject(err) : resolve(info as SendInfo)));
    });
  return { conn, send, errors, ended };
}

function transport(port: number, extra: Record<string, unknown> = {}) {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...extra });
  cleanups.push(() => t.close());
  return t;
}

async function rejection(p: Promise<unknown>): Promise<SmtpError> {
  try {
    await p;
  } catch (err) {
    return err as SmtpError;
  }
  throw new Error('expected the promise to reject');
}

/** Raw TCP dialogue: returns everything the server wrote and whether it closed. */
function rawDialogue(port: number): {
  received: () => string;
  write: (s: string) => void;
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<void>;
  closed: Promise<void>;
  socket: net.Socket;
} {
  const socket = net.connect(port, '127.0.0.1');
  let buf = '';
  const listeners = new Set<() => void>();
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buf += d;
    for (const l of [...listeners]) l();
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  cleanups.push(() => void socket.destroy());
  return {
    socket,
    received: () => buf,
    write: (s) => void socket.write(s),
    closed,
    waitFor: (re, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (re.test(buf)) {
            listeners.delete(check);
            clearTimeout(t);
            resolve();
          }
        };
        const t = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${re} in ${JSON.stringify(buf)}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      }),
  };
}

describe('smtp-sink', () => {
  it('records accepted messages with envelope, raw bytes and parsed headers', async () => {
    const s = await sink();
    expect(s.url).toBe(`smtp://127.0.0.1:${s.port}`);
    const t = transport(s.port);
    const info = await t.sendMail({
      from: 'Newsletter <news@example.org>',
      to: ['Ada <ada@example.org>', 'bob@example.org'],
      subject: 'July issue – héllo',
      text: 'Plain body',
      html: '<p>HTML body</p>',
      headers: { 'X-Campaign': 'july-2025' },
    });
    expect(info.response).toMatch(/^250 /);
    await s.waitForMessages(1);

    expect(s.messages).toHaveLength(1);
    const m = s.messages[0]!;
    expect(m.from).toBe('news@example.org');
    expect(m.to).toEqual(['ada@example.org', 'bob@example.org']);
    expect(m.session).toBe(1);
    expect(m.at).toBeGreaterThan(0);
    expect(m.raw.toString('utf8')).toMatch(/^Subject: /m);
    expect(m.parsed).toBeUndefined();

    const parsed = await s.parse(0);
    expect(m.parsed).toBe(parsed);
    expect(parsed.subject).toBe('July issue – héllo');
    expect(parsed.from?.value[0]?.address).toBe('news@example.org');
    expect(parsed.text?.trim()).toBe('Plain body');
    expect(parsed.html).toContain('<p>HTML body</p>');
    expect(parsed.headers.get('x-campaign')).toBe('july-2025');

    expect(s.deliveredTo('ADA@example.org')).toBe(1);
    expect(s.deliveredTo('bob@example.org')).toBe(1);
    expect(s.deliveredTo('carol@example.org')).toBe(0);
    expect(s.dropped).toEqual([]);
    expect(s.rejected).toEqual([]);
    expect(s.connections).toBe(1);
    expect(await s.parseAll()).toHaveLength(1);
  });

  it('greylists a recipient with 450 twice, then accepts it', async () => {
    const s = await sink({ rcpt: { 'grey@example.org': { code: 450, message: 'Greylisted, try later', times: 2 } } });
    const t = transport(s.port);
    const mail = { from: 'news@example.org', to: 'grey@example.org', subject: 'Grey', text: 'x' };

    for (let attempt = 1; attempt <= 2; attempt++) {
      const err = await rejection(t.sendMail(mail));
      expect(err.code).toBe('EENVELOPE');
      expect(err.responseCode).toBe(450);
      expect(err.response).toContain('Greylisted, try later');
      expect(s.messages).toHaveLength(0);
    }
    const info = await t.sendMail(mail);
    expect(info.accepted).toEqual(['grey@example.org']);
    expect(s.deliveredTo('grey@example.org')).toBe(1);
    expect(s.rejected).toEqual([
      { to: 'grey@example.org', code: 450, stage: 'rcpt' },
      { to: 'grey@example.org', code: 450, stage: 'rcpt' },
    ]);
  });

  it('rejects one recipient at RCPT while the others in the envelope are delivered', async () => {
    const s = await sink({ rcpt: { 'gone@example.org': { code: 550 } } });
    const info = await transport(s.port).sendMail({
      from: 'news@example.org',
      to: ['gone@example.org', 'ok@example.org'],
      subject: 'Partial',
      text: 'x',
    });
    expect(info.rejected).toEqual(['gone@example.org']);
    expect(s.messages[0]?.to).toEqual(['ok@example.org']);
    expect(s.rejected).toEqual([{ to: 'gone@example.org', code: 550, stage: 'rcpt' }]);
  });

  it('rejects after DATA with 552 (permanent) and 451 once (temporary)', async () => {
    const s = await sink({
      data: {
        'full@example.org': { code: 552, message: 'Mailbox full' },
        'flaky@example.org': { code: 451, times: 1 },
      },
    });
    const t = transport(s.port);

    const err = await rejection(t.sendMail({ from: 'news@example.org', to: 'full@example.org', subject: 'A', text: 'x' }));
    expect(err.responseCode).toBe(552);
    expect(err.command).toBe('DATA');
    expect(err.response).toContain('Mailbox full');

    const err2 = await rejection(t.sendMail({ from: 'news@example.org', to: 'flaky@example.org', subject: 'B', text: 'x' }));
    expect(err2.responseCode).toBe(451);
    await t.sendMail({ from: 'news@example.org', to: 'flaky@example.org', subject: 'B', text: 'x' });

    expect(s.messages.map((m) => m.to)).toEqual([['flaky@example.org']]);
    expect(s.rejected).toEqual([
      { to: 'full@example.org', code: 552, stage: 'data' },
      { to: 'flaky@example.org', code: 451, stage: 'data' },
    ]);
    expect(s.dropped).toEqual([]);
  });

  it('dropAfterEvery: destroys the connection before the reply; the client gets no response code', async () => {
    const s = await sink({ dropAfterEvery: 2 });
    const c = await lowLevel(s.port);

    const first = await c.send('one@example.org', 'First');
    expect(first.response).toMatch(/^250 /);

    const err = await rejection(c.send('two@example.org', 'Second'));
    expect(err.code).toBe('ECONNECTION');
    expect(err.responseCode).toBeUndefined();
    expect(err.response).toBeUndefined();
    // the last thing the client heard was the 354 for Second's DATA: no 250/4xx/5xx after the body
    expect(c.conn.lastServerResponse).toMatch(/^354 /);
    await c.ended;

    expect(s.messages.map((m) => m.to[0])).toEqual(['one@example.org']);
    expect(s.dropped).toHaveLength(1);
    expect(s.dropped[0]).toMatchObject({ to: ['two@example.org'], dropReason: 'fault', session: 1 });
    expect(s.dropped[0]!.raw.toString()).toContain('Subject: Second');
    expect(s.deliveredTo('two@example.org')).toBe(0);

    // the counter is server-wide: a new connection's 1st message is the 3rd overall (kept), the 4th is dropped
    const c2 = await lowLevel(s.port);
    await c2.send('three@example.org', 'Third');
    const err4 = await rejection(c2.send('four@example.org', 'Fourth'));
    expect(err4.responseCode).toBeUndefined();
    expect(s.messages.map((m) => m.to[0])).toEqual(['one@example.org', 'three@example.org']);
    expect(s.dropped.map((m) => m.to[0])).toEqual(['two@example.org', 'four@example.org']);
  });

  it('dropAfterEvery: on the wire, not a single byte follows the final "."', async () => {
    const s = await sink({ dropAfterEvery: 1 });
    const d = rawDialogue(s.port);
    await d.waitFor(/^220 .*\r\n/);
    d.write('EHLO client.example.org\r\n');
    await d.waitFor(/^250 .*\r\n/m);
    d.write('MAIL FROM:<news@example.org>\r\n');
    await d.waitFor(/Accepted\r\n$/);
    d.write('RCPT TO:<wire@example.org>\r\n');
    await d.waitFor(/Accepted\r\n[\s\S]*Accepted\r\n$/);
    d.write('DATA\r\n');
    await d.waitFor(/^354 .*\r\n$/m);
    const before = d.received();
    d.write(`${rawMessage('wire@example.org', 'Wire')}.\r\n`);
    await d.closed;
    expect(d.received()).toBe(before);
    expect(s.dropped.map((m) => m.to)).toEqual([['wire@example.org']]);
    expect(s.messages).toEqual([]);
  });

  it('dataDelayMs delays the reply to the final "."', async () => {
    const s = await sink({ dataDelayMs: 300 });
    const c = await lowLevel(s.port);
    const started = Date.now();
    await c.send('slow@example.org', 'Slow');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(s.deliveredTo('slow@example.org')).toBe(1);
  });

  it('dataDelayMs: a client that disappears during the delay ends up in dropped (client-gone)', async () => {
    const s = await sink({ dataDelayMs: 400 });
    const d = rawDialogue(s.port);
    await d.waitFor(/^220 /);
    d.write('EHLO client.example.org\r\n');
    await d.waitFor(/^250 /m);
    d.write('MAIL FROM:<news@example.org>\r\nRCPT TO:<killed@example.org>\r\nDATA\r\n');
    await d.waitFor(/^354 /m);
    d.write(`${rawMessage('killed@example.org', 'Killed')}.\r\n`);
    await new Promise((r) => setTimeout(r, 50));
    d.socket.destroy(); // the "client process" dies while the server is still deciding
    await expect.poll(() => s.dropped.length, { timeout: 20_000 }).toBe(1);
    expect(s.dropped[0]).toMatchObject({ to: ['killed@example.org'], dropReason: 'client-gone' });
    expect(s.messages).toEqual([]);
  });

  it('maxMessagesPerConnection: 421 on the next MAIL FROM and the connection is closed', async () => {
    const s = await sink({ maxMessagesPerConnection: 2 });
    const c = await lowLevel(s.port);
    await c.send('m1@example.org', 'M1');
    await c.send('m2@example.org', 'M2');
    const err = await rejection(c.send('m3@example.org', 'M3'));
    expect(err.responseCode).toBe(421);
    await c.ended;
    expect(s.messages).toHaveLength(2);

    // a fresh connection may send again
    const c2 = await lowLevel(s.port);
    await c2.send('m3@example.org', 'M3');
    expect(s.messages.map((m) => m.session)).toEqual([1, 1, 2]);
  });

  it('auth: requires the configured credentials and rejects others with 535', async () => {
    const auth = { user: 'sender@example.org', pass: 'p@ss:word' };
    const s = await sink({ auth });
    expect(s.url).toBe(`smtp://sender%40example.org:p%40ss%3Aword@127.0.0.1:${s.port}`);
    const mail = { from: 'news@example.org', to: 'auth@example.org', subject: 'Auth', text: 'x' };

    const noAuth = await rejection(transport(s.port).sendMail(mail));
    expect(noAuth.responseCode).toBe(530);

    const wrong = await rejection(transport(s.port, { auth: { user: auth.user, pass: 'nope' } }).sendMail(mail));
    expect(wrong.code).toBe('EAUTH');
    expect(wrong.responseCode).toBe(535);

    await transport(s.port, { auth }).sendMail(mail);
    const login = nodemailer.createTransport({ ...{ host: '127.0.0.1', port: s.port, ignoreTLS: true }, auth, authMethod: 'LOGIN' });
    cleanups.push(() => login.close());
    await login.sendMail(mail);
    const viaUrl = nodemailer.createTransport(`${s.url}?ignoreTLS=true`);
    cleanups.push(() => viaUrl.close());
    await viaUrl.sendMail(mail);
    expect(s.deliveredTo('auth@example.org')).toBe(3);
  });

  it('counts connections and the maximum number open at once', async () => {
    const s = await sink();
    const clients = await Promise.all([lowLevel(s.port), lowLevel(s.port), lowLevel(s.port)]);
    expect(s.connections).toBe(3);
    expect(s.maxConcurrentConnections).toBe(3);
    for (const c of clients) {
      c.conn.quit();
      await c.ended;
    }
    // sequential connections do not raise the maximum
    const c = await lowLevel(s.port);
    await c.send('seq@example.org', 'Seq');
    expect(s.connections).toBe(4);
    expect(s.maxConcurrentConnections).toBe(3);

    // a pool with maxConnections: 2 never has more than 2 open
    const s2 = await sink();
    const pool = transport(s2.port, { pool: true, maxConnections: 2 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => pool.sendMail({ from: 'news@example.org', to: `p${i}@example.org`, subject: `P${i}`, text: 'x' })));
    expect(s2.messages).toHaveLength(6);
    expect(s2.maxConcurrentConnections).toBeGreaterThanOrEqual(1);
    expect(s2.maxConcurrentConnections).toBeLessThanOrEqual(2);
  });

  it('appends one "<epoch ms> <rcpt>" line per accepted message to logFile', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'smtp-sink-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const logFile = path.join(dir, 'sink.log');
    const s = await sink({ logFile, rcpt: { 'bounce@example.org': { code: 550 } }, dropAfterEvery: 3 });
    expect(s.logFile).toBe(logFile);
    const c = await lowLevel(s.port);
    await c.send('l1@example.org', 'L1');
    await c.send(['l2@example.org', 'l2b@example.org'], 'L2');
    await rejection(c.send('bounce@example.org', 'Bounce'));
    await rejection(c.send('l3@example.org', 'L3')); // 3rd message to reach the reply: dropped

    const lines = (await readFile(logFile, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{13} l1@example\.org$/);
    expect(lines[1]).toMatch(/^\d{13} l2@example\.org,l2b@example\.org$/);
    expect(Number(lines[0]!.split(' ')[0])).toBe(s.messages[0]!.at);
  });

  it('setFaults replaces the faults and resets their counters', async () => {
    const s = await sink({ rcpt: { 'x@example.org': { code: 450, times: 1 } } });
    const t = transport(s.port);
    const mail = { from: 'news@example.org', to: 'x@example.org', subject: 'S', text: 'x' };
    await rejection(t.sendMail(mail));
    await t.sendMail(mail);
    s.setFaults({ rcpt: { 'x@example.org': { code: 450, times: 1 } } });
    await rejection(t.sendMail(mail));
    await t.sendMail(mail);
    s.setFaults({});
    await t.sendMail(mail);
    expect(s.deliveredTo('x@example.org')).toBe(3);
    expect(s.rejected).toHaveLength(2);
  });

  it('waitForMessages resolves when enough arrive and rejects on timeout', async () => {
    const s = await sink();
    const waiting = s.waitForMessages(2, 20_000);
    const t = transport(s.port);
    await t.sendMail({ from: 'news@example.org', to: 'w1@example.org', subject: 'W1', text: 'x' });
    await t.sendMail({ from: 'news@example.org', to: 'w2@example.org', subject: 'W2', text: 'x' });
    await waiting;
    await expect(s.waitForMessages(3, 100)).rejects.toThrow(/timed out .* 3 message/);
  });

  it('oauth2: XOAUTH2 with a good token is accepted (user case-insensitive) and the message arrives', async () => {
    const user = 'sender@example.org';
    const s = await sink({ oauth2: { user, isValid: (token) => token === 'tok' } });
    expect(s.url).toBe(`smtp://sender%40example.org@127.0.0.1:${s.port}`);

    // advertised next to PLAIN/LOGIN, and AUTH is required
    const d = rawDialogue(s.port);
    await d.waitFor(/^220 /);
    d.write('EHLO client.example.org\r\n');
    await d.waitFor(/^250 /m);
    expect(d.received()).toMatch(/^250-AUTH PLAIN LOGIN XOAUTH2\r$/m);
    d.write('MAIL FROM:<news@example.org>\r\n');
    await d.waitFor(/^530 /m);

    const mail = { from: 'news@example.org', to: 'oauth@example.org', subject: 'OAuth', text: 'x' };
    const info = await transport(s.port, { auth: { type: 'OAuth2', user: 'Sender@Example.ORG', accessToken: 'tok' } }).sendMail(mail);
    expect(info.response).toMatch(/^250 /);
    await s.waitForMessages(1);
    expect(s.deliveredTo('oauth@example.org')).toBe(1);
    expect(s.auths).toEqual([{ session: 2, method: 'XOAUTH2', user: 'Sender@Example.ORG', ok: true, at: expect.any(Number) }]);
    expect(JSON.stringify(s.auths)).not.toContain('tok');
  });

  it('oauth2: a refused token is "334 <base64 JSON>", then 535 after the empty line', async () => {
    const s = await sink({ oauth2: { user: 'sender@example.org', isValid: () => false, scope: 'https://mail.google.com/' } });
    const d = rawDialogue(s.port);
    await d.waitFor(/^220 /);
    d.write('EHLO client.example.org\r\n');
    await d.waitFor(/^250 /m);
    const xoauth2 = Buffer.from('user=sender@example.org\x01auth=Bearer expired\x01\x01').toString('base64');
    d.write(`AUTH XOAUTH2 ${xoauth2}\r\n`);
    await d.waitFor(/^334 .*\r\n/m);
    const challenge = /^334 (.*)\r$/m.exec(d.received())![1]!;
    expect(JSON.parse(Buffer.from(challenge, 'base64').toString('utf8'))).toEqual({ status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' });
    d.write('\r\n');
    await d.waitFor(/^535 .*\r\n/m);
    expect(d.received()).toMatch(/^535 Error: Username and Password not accepted\r$/m);
    expect(s.auths).toEqual([{ session: 1, method: 'XOAUTH2', user: 'sender@example.org', ok: false, at: expect.any(Number) }]);

    // the default scope is Microsoft 365's
    s.setFaults({ oauth2: { user: 'sender@example.org', isValid: () => false } });
    const d2 = rawDialogue(s.port);
    await d2.waitFor(/^220 /);
    d2.write(`EHLO client.example.org\r\nAUTH XOAUTH2 ${xoauth2}\r\n`);
    await d2.waitFor(/^334 .*\r\n/m);
    const challenge2 = /^334 (.*)\r$/m.exec(d2.received())![1]!;
    expect(JSON.parse(Buffer.from(challenge2, 'base64').toString('utf8'))).toMatchObject({ scope: 'https://outlook.office365.com/.default' });
  });

  it('oauth2: createTransport with a bad accessToken and no refresh means fails with 535 after two tries of the same token', async () => {
    const user = 'sender@example.org';
    const seen: string[] = [];
    const s = await sink({
      oauth2: {
        user,
        isValid: (token) => {
          seen.push(token);
          return token === 'good';
        },
      },
    });
    const mail = { from: 'news@example.org', to: 'oauth@example.org', subject: 'OAuth', text: 'x' };
    // nodemailer's XOAuth2 helper without refreshToken/provisionCallback re-uses the same token on renew (no network)
    const err = await rejection(transport(s.port, { auth: { type: 'OAuth2', user, accessToken: 'bad' } }).sendMail(mail));
    expect(err.code).toBe('EAUTH');
    expect(err.responseCode).toBe(535);
    expect(err.response).toBe('535 Error: Username and Password not accepted');
    expect(seen).toEqual(['bad', 'bad']);
    expect(s.auths.map((a) => [a.method, a.user, a.ok, a.session])).toEqual([
      ['XOAUTH2', user, false, 1],
      ['XOAUTH2', user, false, 1],
    ]);
    expect(s.messages).toEqual([]);
  });

  it('oauth2: SMTPConnection.login with a duck-typed oauth2 object calls getToken(false) then getToken(true) once', async () => {
    const user = 'sender@example.org';
    const s = await sink({ oauth2: { user, isValid: (token) => token === 'fresh' } });
    const buildXOAuth2Token = (t: string): string => Buffer.from(`user=${user}\x01auth=Bearer ${t}\x01\x01`).toString('base64');
    // the same bytes as nodemailer's own helper
    const { default: XOAuth2 } = await import('nodemailer/lib/xoauth2');
    expect(buildXOAuth2Token('abc')).toBe(new XOAuth2({ user, accessToken: 'x' }).buildXOAuth2Token('abc'));

    const login = async (tokens: string[]): Promise<{ calls: boolean[]; err: SmtpError | null; c: Awaited<ReturnType<typeof lowLevel>> }> => {
      const c = await lowLevel(s.port);
      const calls: boolean[] = [];
      const oauth2 = {
        getToken(isRetry: boolean, cb: (err: Error | null, token?: string) => void) {
          calls.push(isRetry);
          cb(null, tokens[calls.length - 1] ?? 'none-left');
        },
        buildXOAuth2Token,
      };
      const err = await new Promise<SmtpError | null>((resolve) =>
        c.conn.login({ user, oauth2 } as unknown as Parameters<SMTPConnection['login']>[0], (e) => resolve((e as SmtpError | null) ?? null)),
      );
      return { calls, err, c };
    };

    // stale cached token refused -> renewed token accepted on the one retry
    const ok = await login(['stale', 'fresh']);
    expect(ok.err).toBeNull();
    expect(ok.calls).toEqual([false, true]);
    expect(ok.c.conn.authenticated).toBe(true);
    await ok.c.send('renewed@example.org', 'Renewed');
    expect(s.deliveredTo('renewed@example.org')).toBe(1);
    expect(s.auths.map((a) => a.ok)).toEqual([false, true]);

    // both refused -> EAUTH 535 after exactly two getToken calls
    const bad = await login(['stale', 'still-bad', 'never-asked']);
    expect(bad.calls).toEqual([false, true]);
    expect(bad.err?.code).toBe('EAUTH');
    expect(bad.err?.responseCode).toBe(535);
    expect(bad.err?.command).toBe('AUTH XOAUTH2');
    expect(s.auths.map((a) => [a.session, a.ok])).toEqual([
      [1, false],
      [1, true],
      [2, false],
      [2, false],
    ]);

    // a getToken error fails the login without another AUTH
    const c = await lowLevel(s.port);
    const failing = { getToken: (_r: boolean, cb: (err: Error | null) => void) => cb(new Error('token endpoint down')), buildXOAuth2Token };
    const tokenErr = await new Promise<SmtpError | null>((resolve) =>
      c.conn.login({ user, oauth2: failing } as unknown as Parameters<SMTPConnection['login']>[0], (e) => resolve((e as SmtpError | null) ?? null)),
    );
    expect(tokenErr?.code).toBe('EAUTH');
    expect(tokenErr?.message).toContain('token endpoint down');
    expect(s.auths).toHaveLength(4);
  });

  it('oauth2: a valid token for another mailbox is refused', async () => {
    const s = await sink({ oauth2: { user: 'sender@example.org', isValid: (token) => token === 'tok' } });
    const mail = { from: 'news@example.org', to: 'oauth@example.org', subject: 'OAuth', text: 'x' };
    const err = await rejection(transport(s.port, { auth: { type: 'OAuth2', user: 'other@example.org', accessToken: 'tok' } }).sendMail(mail));
    expect(err.code).toBe('EAUTH');
    expect(err.responseCode).toBe(535);
    expect(s.auths.map((a) => [a.user, a.ok])).toEqual([
      ['other@example.org', false],
      ['other@example.org', false],
    ]);
    expect(s.messages).toEqual([]);
  });

  it('oauth2 only: AUTH PLAIN/LOGIN are refused with 535; with auth as well both work', async () => {
    const user = 'sender@example.org';
    const s = await sink({ oauth2: { user, isValid: (token) => token === 'tok' } });
    const mail = { from: 'news@example.org', to: 'plain@example.org', subject: 'Plain', text: 'x' };
    const plain = await rejection(transport(s.port, { auth: { user, pass: 'secret-pass' } }).sendMail(mail));
    expect(plain.code).toBe('EAUTH');
    expect(plain.responseCode).toBe(535);
    const login = await rejection(transport(s.port, { auth: { user, pass: 'secret-pass' }, authMethod: 'LOGIN' }).sendMail(mail));
    expect(login.responseCode).toBe(535);
    expect(s.auths.map((a) => [a.method, a.user, a.ok])).toEqual([
      ['PLAIN', user, false],
      ['LOGIN', user, false],
    ]);
    expect(JSON.stringify(s.auths)).not.toContain('secret-pass');

    s.setFaults({ auth: { user, pass: 'secret-pass' }, oauth2: { user, isValid: (token) => token === 'tok' } });
    expect(s.url).toBe(`smtp://sender%40example.org:secret-pass@127.0.0.1:${s.port}`);
    await transport(s.port, { auth: { user, pass: 'secret-pass' } }).sendMail(mail);
    await transport(s.port, { auth: { type: 'OAuth2', user, accessToken: 'tok' } }).sendMail(mail);
    expect(s.deliveredTo('plain@example.org')).toBe(2);

    // switching both off makes AUTH optional again
    s.setFaults({});
    expect(s.url).toBe(`smtp://127.0.0.1:${s.port}`);
    await transport(s.port).sendMail(mail);
    expect(s.deliveredTo('plain@example.org')).toBe(3);
  });

  it('quota at the data stage: after 2 accepted messages the 3rd gets the configured reply after the body', async () => {
    const message = '5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message due to a permanent exception';
    const s = await sink({ quota: { after: 2, code: 554, message } });
    const c = await lowLevel(s.port);
    await c.send('q1@example.org', 'Q1');
    await c.send('q2@example.org', 'Q2');
    const err = await rejection(c.send(['q3@example.org', 'q3b@example.org'], 'Q3'));
    expect(err.responseCode).toBe(554);
    expect(err.command).toBe('DATA');
    expect(err.response).toBe(`554 ${message}`);
    // a new connection is refused too: the count is server-wide
    const err4 = await rejection(transport(s.port).sendMail({ from: 'news@example.org', to: 'q4@example.org', subject: 'Q4', text: 'x' }));
    expect(err4.responseCode).toBe(554);

    expect(s.messages.map((m) => m.to)).toEqual([['q1@example.org'], ['q2@example.org']]);
    expect(s.rejected).toEqual([
      { to: 'q3@example.org', code: 554, stage: 'data' },
      { to: 'q3b@example.org', code: 554, stage: 'data' },
      { to: 'q4@example.org', code: 554, stage: 'data' },
    ]);
    expect(s.dropped).toEqual([]);

    // setFaults resets the count
    s.setFaults({ quota: { after: 1, code: 554, message } });
    await c.send('q5@example.org', 'Q5');
    expect((await rejection(c.send('q6@example.org', 'Q6'))).responseCode).toBe(554);
    expect(s.deliveredTo('q5@example.org')).toBe(1);
    expect(s.deliveredTo('q6@example.org')).toBe(0);
  });

  it('quota at the mail stage refuses MAIL FROM (to ""), at the rcpt stage every RCPT TO', async () => {
    const message = '5.4.5 Daily user sending limit exceeded. For more information on Gmail sending limits go to https://support.google.com/a/answer/166852';
    const s = await sink({ quota: { after: 1, code: 550, message, stage: 'mail' } });
    const t = transport(s.port);
    const mail = (to: string | string[]) => ({ from: 'news@example.org', to, subject: 'M', text: 'x' });
    await t.sendMail(mail('m1@example.org'));
    const err = await rejection(t.sendMail(mail('m2@example.org')));
    expect(err.code).toBe('EENVELOPE');
    expect(err.command).toBe('MAIL FROM');
    expect(err.responseCode).toBe(550);
    expect(err.response).toBe(`550 ${message}`);
    expect(s.rejected).toEqual([{ to: '', code: 550, stage: 'mail' }]);

    s.setFaults({
      quota: { after: 0, code: 452, message: '4.5.3 Too many recipients today', stage: 'rcpt' },
      rcpt: { 'r2@example.org': { code: 450, times: 1 } },
    });
    const err2 = await rejection(t.sendMail(mail(['r1@example.org', 'r2@example.org'])));
    expect(err2.code).toBe('EENVELOPE');
    expect(err2.responseCode).toBe(452);
    expect(s.rejected.slice(1)).toEqual([
      { to: 'r1@example.org', code: 452, stage: 'rcpt' },
      { to: 'r2@example.org', code: 452, stage: 'rcpt' },
    ]);
    expect(s.messages).toHaveLength(1);
  });

  it('runs in a child process: READY <port>, logs to SINK_LOG, exits on SIGTERM', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'smtp-sink-child-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const logFile = path.join(dir, 'child.log');
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'smtp-sink-child.ts')], {
      cwd: root,
      env: { ...process.env, SINK_OPTIONS: JSON.stringify({ dataDelayMs: 10 }), SINK_LOG: logFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void (child.exitCode === null && child.kill('SIGKILL')));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^READY (\d+)$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      void exited.then((code) => reject(new Error(`child exited with ${code} before READY: ${stderr}`)));
    });

    const t = transport(port);
    await t.sendMail({ from: 'news@example.org', to: 'child@example.org', subject: 'Child', text: 'x' });
    const log = await readFile(logFile, 'utf8');
    expect(log).toMatch(/^\d{13} child@example\.org\n$/);

    t.close();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});
