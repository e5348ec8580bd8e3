/**
 * Personal one-click unsubscribe: the tokens, the endpoint over real HTTP on 127.0.0.1, the
 * suppression file it writes (durable across kill -9), and a send whose copies carry each
 * recipient's own link, followed by the next send skipping who left. Addresses: example.org.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSuppressions } from '../src/send/suppression.js';
import { sendIssue } from '../src/send/send-issue.js';
import { startUnsubscribeServer, type UnsubscribeServer } from '../src/send/unsubscribe-server.js';
import { readUnsubscribeToken, unsubscribeKeys, unsubscribeToken } from '../src/send/unsubscribe-token.js';
import { julyYaml, makeProject, rejection, ROOT, sendingProject, writeIssue, writeReaders } from './helpers.js';
import { freePort } from './postfix/postfix.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const SECRET = 'test-secret-for-unsubscribe-links-0123456789';
const LIST = 'LIIA <newsletter.londoncouncils.gov.uk>';
const keys = unsubscribeKeys(SECRET, LIST);

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function server(options: { perMinute?: number; file?: string } = {}): Promise<{ s: UnsubscribeServer; file: string }> {
  const file = options.file ?? path.join(await makeProject(), 'unsubscribed.csv');
  const s = await startUnsubscribeServer({
    keys,
    suppressionFile: file,
    listName: 'LIIA',
    mailto: 'liiateam@londoncouncils.gov.uk',
    port: 0,
    perMinute: options.perMinute,
  });
  open.push(s);
  return { s, file };
}

const oneClick = (url: string, token: string) =>
  fetch(`${url}?t=${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });

describe('unsubscribe tokens', () => {
  it('name one address, whatever its spelling, and nobody can forge, alter or move one', () => {
    const token = unsubscribeToken(keys, 'Reader.One@Example.org');
    expect(token).toBe(unsubscribeToken(keys, 'reader.one@example.org'));
    expect(readUnsubscribeToken(keys, token)).toBe('reader.one@example.org');
    // The address is not readable from the link.
    expect(Buffer.from(token, 'base64url').toString('latin1')).not.toContain('reader.one');
    const raw = Buffer.from(token, 'base64url');
    for (const i of [0, 12, raw.length - 1]) {
      const altered = Buffer.from(raw);
      altered[i]! ^= 1;
      expect(readUnsubscribeToken(keys, altered.toString('base64url')), `byte ${i}`).toBeUndefined();
    }
    expect(readUnsubscribeToken(unsubscribeKeys(SECRET, 'Another list <other.example.org>'), token)).toBeUndefined();
    expect(readUnsubscribeToken(unsubscribeKeys(`${SECRET}x`, LIST), token)).toBeUndefined();
    for (const junk of ['', 'abc', 'a'.repeat(601), 'not a token!', token.slice(0, 20)]) expect(readUnsubscribeToken(keys, junk)).toBeUndefined();
    expect(() => unsubscribeKeys('short', LIST)).toThrow(/too short to be a secret/);
  });
});

describe('the unsubscribe endpoint', () => {
  it('GET shows a button and unsubscribes nobody; a one-click POST unsubscribes, once, however often it comes', async () => {
    const { s, file } = await server();
    const token = unsubscribeToken(keys, 'reader1@example.org');
    const get = await fetch(`${s.url}?t=${token}`);
    expect(get.status).toBe(200);
    const page = await get.text();
    expect(page).toContain('<form method="post">');
    expect(page).not.toContain('reader1');
    expect(get.headers.get('cache-control')).toBe('no-store');
    expect(existsSync(file)).toBe(false);

    for (let i = 0; i < 3; i++) expect((await oneClick(s.url, token)).status).toBe(200);
    const text = await readFile(file, 'utf8');
    expect(text.split('\n')[0]).toBe('email,reason,date,source');
    expect(text.match(/reader1@example\.org/g)).toHaveLength(1);
    expect(text).toMatch(/^reader1@example\.org,unsubscribed,\d{4}-\d\d-\d\dT[\d:.]+Z,one-click$/m);
    expect(await readSuppressions(file)).toEqual(new Set(['reader1@example.org']));
  });

  it('the page button, and one-click as multipart/form-data, work too', async () => {
    const { s, file } = await server();
    const a = unsubscribeToken(keys, 'reader2@example.org');
    const page = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `t=${a}&confirm=yes` });
    expect(page.status).toBe(200);
    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const multipart = await fetch(`${s.url}?t=${unsubscribeToken(keys, 'reader3@example.org')}`, { method: 'POST', body: form });
    expect(multipart.status).toBe(200);
    expect(await readSuppressions(file)).toEqual(new Set(['reader2@example.org', 'reader3@example.org']));
    expect(await readFile(file, 'utf8')).toContain('reader2@example.org,unsubscribed,');
  });

  it('a forged, altered or missing token, a body without the one-click field, an oversized body, another method: refused, nobody unsubscribed', async () => {
    const { s, file } = await server();
    const token = unsubscribeToken(keys, 'reader4@example.org');
    const forged = `${token.slice(0, -2)}${token.endsWith('A') ? 'BB' : 'AA'}`;
    expect((await oneClick(s.url, forged)).status).toBe(400);
    expect((await oneClick(s.url, '')).status).toBe(400);
    expect((await fetch(`${s.url}?t=${forged}`)).status).toBe(400);
    // No token at all (the footer's link to the page): how to leave, and nothing else.
    const bare = await fetch(s.url);
    expect(bare.status).toBe(200);
    expect(await bare.text()).toContain('Unsubscribe</strong> button your mail app shows');
    expect(
      (await fetch(`${s.url}?t=${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'something=else' })).status,
    ).toBe(400);
    expect(
      (await fetch(`${s.url}?t=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"List-Unsubscribe":"One-Click"}' }))
        .status,
    ).toBe(400);
    const big = await fetch(`${s.url}?t=${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `List-Unsubscribe=One-Click&pad=${'x'.repeat(10_000)}`,
    });
    expect(big.status).toBe(413);
    expect((await fetch(`${s.url}?t=${token}`, { method: 'DELETE' })).status).toBe(405);
    expect(existsSync(file)).toBe(false);
  });

  it('answers an address that was never on any list exactly as one that was', async () => {
    const { s, file } = await server();
    await writeFile(file, '# kept by hand\nemail\nalready@example.org\n');
    const known = await oneClick(s.url, unsubscribeToken(keys, 'already@example.org'));
    const unknown = await oneClick(s.url, unsubscribeToken(keys, 'stranger@example.org'));
    expect([known.status, unknown.status]).toEqual([200, 200]);
    expect(await known.text()).toBe(await unknown.text());
    // The file's comments and earlier entries stay; one line an address, sorted.
    expect((await readFile(file, 'utf8')).split('\n').slice(0, 4)).toEqual([
      '# kept by hand',
      'email,reason,date,source',
      'already@example.org,,,',
      expect.stringMatching(/^stranger@/),
    ]);
  });

  it('many at once: every one recorded, the file whole', async () => {
    const { s, file } = await server({ perMinute: 1000 });
    const emails = Array.from({ length: 40 }, (_, i) => `racer${i}@example.org`);
    const answers = await Promise.all(emails.map((e) => oneClick(s.url, unsubscribeToken(keys, e))));
    expect(answers.map((a) => a.status)).toEqual(emails.map(() => 200));
    expect(await readSuppressions(file)).toEqual(new Set(emails));
  });

  it('more than perMinute requests a minute from one client: 429 with Retry-After', async () => {
    const { s } = await server({ perMinute: 5 });
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${s.url}?t=x`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 400, 429, 429]);
  });

  /** A project keeping lists/unsubscribed.csv, and `unsubscribe-server` running in it as a process of its own. */
  async function endpointProcess(project?: string) {
    const dir = project ?? (await makeProject());
    if (!project) {
      const config = path.join(dir, 'newsletter.config.yaml');
      await writeFile(config, `${await readFile(config, 'utf8')}\nsuppressionFile: lists/unsubscribed.csv\nlistId: ${JSON.stringify(LIST)}\n`);
    }
    // A free port: taken and given back (the command takes no port 0).
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'build-issue.js'), 'unsubscribe-server', '--port', String(port)], {
      cwd: dir,
      env: { ...process.env, UNSUBSCRIBE_SECRET: SECRET, DEBUG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    open.push({ close: async () => void (child.exitCode === null && child.kill('SIGKILL')) });
    while (!/Unsubscribe endpoint: (http:\S+)/.test(out)) {
      if (child.exitCode !== null) throw new Error(out);
      await new Promise((r) => setTimeout(r, 20));
    }
    return { project: dir, child, exited, url: /Unsubscribe endpoint: (http:\S+)/.exec(out)![1]!, output: () => out };
  }

  it('two endpoint processes writing one suppression file at once: nobody lost', async () => {
    const a = await endpointProcess();
    const b = await endpointProcess(a.project);
    const emails = Array.from({ length: 60 }, (_, i) => `both${i}@example.org`);
    const answers = await Promise.all(emails.map((e, i) => oneClick(i % 2 ? a.url : b.url, unsubscribeToken(keys, e))));
    expect(answers.map((r) => r.status)).toEqual(emails.map(() => 200));
    expect(await readSuppressions(path.join(a.project, 'lists', 'unsubscribed.csv'))).toEqual(new Set(emails));
    expect(existsSync(path.join(a.project, 'lists', '.unsubscribed.csv.lock'))).toBe(false);
  });

  it('kill -9 in the middle of a stream of unsubscribes: the file is whole, and holds everyone who was answered 200', async () => {
    const { project, child, exited, url, output } = await endpointProcess();
    const acknowledged: string[] = [];
    let killed = false;
    let answered = 0;
    const worker = async (w: number) => {
      for (let i = 0; !killed && answered < 500; i++) {
        const email = `w${w}-${i}@example.org`;
        try {
          const res = await oneClick(url, unsubscribeToken(keys, email));
          answered++;
          if (res.status === 200) acknowledged.push(email);
        } catch {
          return; // the server is gone
        }
        if (acknowledged.length >= 60 && !killed) {
          killed = true;
          child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    expect(killed, output()).toBe(true);
    await exited;
    const file = path.join(project, 'lists', 'unsubscribed.csv');
    const recorded = await readSuppressions(file);
    for (const e of acknowledged) expect(recorded.has(e), e).toBe(true);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines[0]).toBe('email,reason,date,source');
    for (const l of lines.slice(1)) expect(l).toMatch(/^w\d-\d+@example\.org,unsubscribed,[\dT:.Z-]+,one-click$/);
  });
});

describe('a send with personal unsubscribe links', () => {
  const PAGE = 'https://liia.london/newsletter/unsubscribe';

  async function project(): Promise<string> {
    const p = await sendingProject();
    const config = path.join(p, 'newsletter.config.yaml');
    await writeFile(
      config,
      `${(await readFile(config, 'utf8')).replace('unsubscribe:\n  mailto: liiateam@londoncouncils.gov.uk', `unsubscribe:\n  mailto: liiateam@londoncouncils.gov.uk\n  url: ${PAGE}`)}suppressionFile: lists/unsubscribed.csv\nlistId: ${JSON.stringify(LIST)}\n`,
    );
    await writeFile(path.join(p, 'lists', 'unsubscribed.csv'), '');
    return p;
  }

  it('is refused without UNSUBSCRIBE_SECRET, saying how to make one', async () => {
    const p = await project();
    const { rel } = await writeReaders(p, 2);
    const e = await rejection(sendIssue('july-2025', { root: p, env: { SMTP_URL: 'smtp://127.0.0.1:9' }, listFile: rel, skipTestGate: true }));
    expect(e.code).toBe('ESEND_REFUSED');
    expect(e.message).toMatch(/UNSUBSCRIBE_SECRET is not/);
    expect(e.hint).toContain('openssl rand -base64 32');
  });

  it("each copy carries its reader's own link; one reader clicks it; the next issue's send skips them", async () => {
    const sink: SmtpSink = await startSink();
    open.push(sink);
    const p = await project();
    const { rel, emails } = await writeReaders(p, 4);
    const env = { SMTP_URL: sink.url, UNSUBSCRIBE_SECRET: SECRET };
    const first = await sendIssue('july-2025', { root: p, env, listFile: rel, skipTestGate: true });
    expect(first.result?.sent).toHaveLength(4);
    const tokens = new Map<string, string>();
    for (let i = 0; i < sink.messages.length; i++) {
      const mail = await sink.parse(i);
      const header = mail.headerLines.find((h) => h.key === 'list-unsubscribe')!.line.replace(/\r?\n[ \t]+/g, ' ');
      const url = /<(https:[^>]+)>/.exec(header)![1]!;
      expect(url.startsWith(`${PAGE}?t=`)).toBe(true);
      const token = new URL(url).searchParams.get('t')!;
      expect(header).toContain(`subject=Unsubscribe%20${token}`);
      // The footer's visible link is the reader's own too, in both parts; the rest of the body is everyone's.
      expect(mail.html).toContain(`href="${PAGE}?t=${token}"`);
      expect(mail.html).not.toContain(`href="${PAGE}"`);
      expect(mail.text).toContain(`${PAGE}?t=${token}`);
      expect(mail.text).toContain('Dear colleagues,');
      tokens.set(sink.messages[i]!.to[0]!, token);
    }
    expect(new Set(tokens.values()).size).toBe(4);
    for (const [to, token] of tokens) expect(readUnsubscribeToken(keys, token)).toBe(to);

    // reader002 presses "Unsubscribe" in their mail client: the one-click POST to the endpoint.
    const { s } = await server({ file: path.join(p, 'lists', 'unsubscribed.csv') });
    expect((await oneClick(s.url, tokens.get('reader002@example.org')!)).status).toBe(200);

    // August goes to the same list: everyone but reader002.
    await writeIssue(p, 'august-2025', await julyYaml());
    const next = await sendIssue('august-2025', { root: p, env, listFile: rel, skipTestGate: true });
    expect(next.plan.list.suppressed).toHaveLength(1);
    expect(next.result?.sent.sort()).toEqual(emails.filter((e) => e !== 'reader002@example.org'));
    expect(sink.deliveredTo('reader002@example.org')).toBe(1);
  });
});
