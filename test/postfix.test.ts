/**
 * End to end through a real MTA: the test send and a 20-recipient list go from the
 * CLI (in-process, SMTP_URL=smtp://127.0.0.1:<port>) into a private Postfix
 * instance (test/postfix/postfix.ts: its own config and queue in a temporary
 * folder, loopback only, never the system's Postfix), which delivers each
 * example.org address into a Maildir. Each delivered message is then checked as a
 * mailbox holds it, after Postfix added Received, Return-Path and Delivered-To:
 * one recipient, both parts, List-Unsubscribe, and a DKIM signature that dkimpy
 * (Debian's python3-dkim) verifies with the key generated here, given without DNS.
 * A tampered body and a tampered To must fail that same verification.
 *
 * Skips with a notice where Postfix or python3-dkim is missing, or where it cannot
 * run (not root); under CI a Postfix that is installed but will not start fails.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { simpleParser } from 'mailparser';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { readUnsubscribeToken, unsubscribeKeysFor } from '../src/send/unsubscribe-token.js';
import { makeProject, ROOT, runCli } from './helpers.js';
import { postfixUnavailable, pythonWithDkim, startPostfix, type Postfix } from './postfix/postfix.js';

const run = promisify(execFile);
const python = pythonWithDkim();
const skipReason = postfixUnavailable() ?? (python ? undefined : 'python3-dkim (dkimpy) is not installed (apt-get install python3-dkim)');
if (skipReason) console.warn(`test/postfix.test.ts skipped: ${skipReason}`);

const DOMAIN = 'londoncouncils.gov.uk';
const SELECTOR = 'e2e-test';
const EDITORS = ['editor-one@example.org', 'editor-two@example.org'];
const UNSUBSCRIBE_PAGE = 'https://liia.london/newsletter/unsubscribe';
const UNSUBSCRIBE_SECRET = 'postfix-test-secret-0123456789-abcdefghij';
const READERS = Array.from({ length: 20 }, (_, i) => `reader${String(i + 1).padStart(2, '0')}@example.org`);

let mta: Postfix | undefined;
const cleanup: string[] = [];
afterAll(async () => {
  await mta?.stop();
  await Promise.all(cleanup.map((d) => rm(d, { recursive: true, force: true })));
});

interface Verdict {
  file: string;
  valid: boolean;
  log: string;
}

/** dkimpy's verdict on each file, the public key given as the TXT record of <selector>._domainkey.<domain>. */
async function dkimVerify(files: string[], txt: string): Promise<{ results: Verdict[]; lookups: string[] }> {
  const { stdout } = await run(python!, [path.join(ROOT, 'test/postfix/verify-dkim.py'), ...files], {
    env: { ...process.env, DKIM_TXT_NAME: `${SELECTOR}._domainkey.${DOMAIN}`, DKIM_TXT: txt },
    maxBuffer: 16 << 20,
  });
  return JSON.parse(stdout) as { results: Verdict[]; lookups: string[] };
}

/** Poll until `n` messages are in the Maildirs (or fail after `ms`, with Postfix's log). */
async function waitForDelivery(n: number, ms = 60_000): Promise<[string, string][]> {
  const until = Date.now() + ms;
  for (;;) {
    const got = await mta!.delivered();
    if (got.length >= n) return got;
    if (Date.now() > until)
      throw new Error(`only ${got.length} of ${n} messages delivered in ${ms} ms\nqueue:\n${await mta!.queue()}\nmaillog:\n${(await mta!.log()).slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('through a real Postfix on 127.0.0.1', () => {
  it.skipIf(skipReason)(
    'test send and a 20-recipient list: each delivered once, to one recipient, both parts, List-Unsubscribe, DKIM valid per dkimpy',
    async (ctx) => {
      try {
        mta = await startPostfix([...EDITORS, ...READERS]);
      } catch (err) {
        // Installed but cannot start here (e.g. a container without the rights it needs): a
        // notice, not a failure, except in CI, which must test this.
        if (process.env.CI) throw err;
        const why = `Postfix would not start: ${(err as Error).message.split('\n')[0]}`;
        console.warn(`test/postfix.test.ts skipped: ${why}`);
        ctx.skip(why);
        return;
      }

      // The project: editors at example.org, DKIM on with a key made here.
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const txt = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
      const project = await makeProject();
      cleanup.push(project);
      await mkdir(path.join(project, 'keys'));
      await writeFile(path.join(project, 'keys', 'dkim.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
      const configFile = path.join(project, 'newsletter.config.yaml');
      let config = await readFile(configFile, 'utf8');
      config = config.replace('editors:\n  - editor@example.org', `editors:\n${EDITORS.map((e) => `  - ${e}`).join('\n')}`);
      config += `\ndkim:\n  domainName: ${DOMAIN}\n  keySelector: ${SELECTOR}\n  privateKeyFile: keys/dkim.pem\n`;
      config += '\nsend:\n  rate: 1000\n  connections: 2\n  retryBaseMs: 20\n  maxRetries: 3\n';
      // One-click unsubscribe with personal links: each copy's List-Unsubscribe differs, and DKIM must still verify.
      config = config.replace(
        'unsubscribe:\n  mailto: liiateam@londoncouncils.gov.uk',
        `unsubscribe:\n  mailto: liiateam@londoncouncils.gov.uk\n  url: ${UNSUBSCRIBE_PAGE}`,
      );
      await writeFile(configFile, config);
      await mkdir(path.join(project, 'lists'));
      await writeFile(path.join(project, 'lists', 'list.csv'), `email,name\n${READERS.map((e, i) => `${e},Reader ${i + 1}`).join('\n')}\n`);
      const env = { SMTP_URL: `smtp://127.0.0.1:${mta.port}`, UNSUBSCRIBE_SECRET };
      const keys = unsubscribeKeysFor(await loadConfig(configFile, project), env, 'server')!;

      const test = await runCli(['july-2025', '--send-test'], project, env);
      expect(test.code, test.err).toBe(0);
      const send = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes'], project, env);
      expect(send.code, send.err + send.out).toBe(0);

      const all = [...EDITORS, ...READERS];
      const delivered = await waitForDelivery(all.length);
      // Exactly one message in each mailbox, and none anywhere else.
      expect(delivered.map(([to]) => to).sort()).toEqual([...all].sort());
      expect(await mta.queue()).toMatch(/queue is empty/i);

      for (const [to, file] of delivered) {
        const raw = await readFile(file);
        const mail = await simpleParser(raw);
        // Delivered by Postfix (not just written by someone): its delivery headers are on top.
        const text = raw.toString('latin1');
        expect(/^Delivered-To: (.*?)\r?$/m.exec(text)?.[1], file).toBe(to);
        expect(/^Return-Path: (.*?)\r?$/m.exec(text)?.[1], file).toBe('<liiateam@londoncouncils.gov.uk>');
        expect(mail.headers.has('received')).toBe(true);
        // One recipient, named alone in To:, and nobody in Cc.
        const toHeader = mail.to && !Array.isArray(mail.to) ? mail.to.value : [];
        expect(
          toHeader.map((a) => a.address),
          file,
        ).toEqual([to]);
        expect(mail.cc).toBeUndefined();
        // Both parts.
        expect(mail.text).toContain('Dear colleagues,');
        expect(mail.html).toContain('LONDON ADOLESCENT SAFEGUARDING AND YOUTH JUSTICE NEWSLETTER');
        expect(String(mail.headers.get('content-type') && (mail.headers.get('content-type') as { value: string }).value)).toBe('multipart/alternative');
        // How to leave the list.
        const unfolded = text.slice(0, text.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
        const links = /^List-Unsubscribe: <(https:[^>]+)>, <mailto:liiateam@londoncouncils\.gov\.uk\?subject=Unsubscribe%20([\w-]+)>$/m.exec(unfolded);
        expect(links, file).toBeTruthy();
        const token = new URL(links![1]!).searchParams.get('t')!;
        expect(links![1]!.startsWith(`${UNSUBSCRIBE_PAGE}?t=`)).toBe(true);
        // The recipient's own token, in both links.
        expect(links![2]).toBe(token);
        expect(readUnsubscribeToken(keys, token), file).toBe(to);
        expect(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m.test(unfolded)).toBe(true);
        // The footer's link carries the same token: each body differs there, and dkimpy checks each body hash below.
        expect(mail.html).toContain(`href="${UNSUBSCRIBE_PAGE}?t=${token}"`);
        expect(mail.subject).toBe(
          EDITORS.includes(to) ? '[TEST] July 2025: LASOB, VESS, Practice Spotlight, NRM' : 'July 2025: LASOB, VESS, Practice Spotlight, NRM',
        );
        // One DKIM signature, by our domain and selector, covering the per-copy headers too.
        const signatures = ([] as unknown[]).concat(mail.headers.get('dkim-signature') ?? []);
        expect(signatures).toHaveLength(1);
        const sig = text.match(/^DKIM-Signature:(.*(?:\r?\n[ \t].*)*)/m)![1]!.replace(/\s+/g, '');
        expect(sig).toContain(`d=${DOMAIN};`);
        expect(sig).toContain(`s=${SELECTOR};`);
        const signed = /(?:^|;)h=([^;]+)/.exec(sig)![1]!.toLowerCase().split(':');
        expect(signed).toEqual(expect.arrayContaining(['from', 'to', 'subject', 'date', 'message-id', 'list-unsubscribe', 'content-type', 'mime-version']));
      }

      // dkimpy: every delivered message verifies, looked up under our selector only.
      const files = delivered.map(([, f]) => f);
      const verdict = await dkimVerify(files, txt);
      for (const r of verdict.results) expect(r.valid, `${r.file}\n${r.log}`).toBe(true);
      expect(verdict.results).toHaveLength(all.length);
      expect(new Set(verdict.lookups.map((n) => n.replace(/\.$/, '')))).toEqual(new Set([`${SELECTOR}._domainkey.${DOMAIN}`]));

      // Negative controls: the same verification fails on a copy whose body or To was
      // changed after signing, and on a genuine message checked against another key.
      const work = await mkdtemp(path.join(os.tmpdir(), 'postfix-dkim-'));
      cleanup.push(work);
      const original = (await readFile(files[0]!)).toString('latin1');
      const split = original.search(/\r?\n\r?\n/);
      const body = original.slice(split);
      const changedBody = original.slice(0, split) + body.replace('Dear colleagues,', 'Dear colleagues!');
      expect(changedBody).not.toBe(original);
      const ownTo = /^To: .*$/m.exec(original)![0];
      const changedTo = original.replace(ownTo, 'To: <someone-else@example.org>');
      expect(changedTo).not.toBe(original);
      await writeFile(path.join(work, 'body.eml'), changedBody, 'latin1');
      await writeFile(path.join(work, 'to.eml'), changedTo, 'latin1');
      await writeFile(path.join(work, 'same.eml'), original, 'latin1');
      const tampered = await dkimVerify([path.join(work, 'body.eml'), path.join(work, 'to.eml'), path.join(work, 'same.eml')], txt);
      expect(tampered.results.map((r) => r.valid)).toEqual([false, false, true]);
      expect(tampered.results[0]!.log).toMatch(/body hash mismatch/i);
      const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      const wrongKey = await dkimVerify([path.join(work, 'same.eml')], `v=DKIM1; k=rsa; p=${otherKey}`);
      expect(wrongKey.results[0]!.valid).toBe(false);
    },
    180_000,
  );
});
