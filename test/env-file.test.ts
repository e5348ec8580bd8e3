/**
 * The project's .env: read once, with Node's parser, under the real environment (which wins
 * variable by variable), for every variable the tool documents: SMTP_URL, DKIM_PRIVATE_KEY,
 * CHROMIUM_PATH. Never loaded into process.env; a .env others can read is warned of; a broken
 * one is an error naming the line and quoting nothing.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildIssue } from '../src/build-issue.js';
import { readEnv } from '../src/env-file.js';
import { smtpSettings } from '../src/send/smtp-settings.js';
import { makeProject, rejection, runCli } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const sinks: SmtpSink[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function project(): Promise<string> {
  const dir = await makeProject();
  dirs.push(dir);
  return dir;
}

async function sink(): Promise<SmtpSink> {
  const s = await startSink();
  sinks.push(s);
  return s;
}

/** Write `<dir>/.env` with `mode` (set explicitly: the umask must not decide). */
async function writeEnv(dir: string, text: string, mode = 0o600): Promise<string> {
  const file = path.join(dir, '.env');
  await writeFile(file, text);
  await chmod(file, mode);
  return file;
}

const pem = (key: ReturnType<typeof generateKeyPairSync>['privateKey']) => key.export({ type: 'pkcs8', format: 'pem' }) as string;

/** The DKIM-Signature header of a raw message, unfolded, or undefined. */
function dkimSignature(raw: string): string | undefined {
  return /^DKIM-Signature:([\s\S]*?)\r\n(?=\S)/m.exec(raw)?.[1]?.replace(/\s+/g, '');
}

/** A project that signs with DKIM as example.org / news2025, with no privateKeyFile: the key comes from DKIM_PRIVATE_KEY. */
async function dkimProject(): Promise<string> {
  const dir = await project();
  const cfg = path.join(dir, 'newsletter.config.yaml');
  await writeFile(cfg, `${await readFile(cfg, 'utf8')}\ndkim:\n  domainName: example.org\n  keySelector: news2025\n`);
  return dir;
}

describe('DKIM_PRIVATE_KEY from .env', () => {
  it('a key only in .env (multi-line, in double quotes) signs the test send: DKIM-Signature with d= the configured domain', async () => {
    const s = await sink();
    const dir = await dkimProject();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeEnv(dir, `# signing key\nDKIM_PRIVATE_KEY="${pem(privateKey).trim()}"\n`);
    const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], dir, { SMTP_URL: s.url });
    expect(r.code, r.err).toBe(0);
    const dkim = dkimSignature(s.messages[0]!.raw.toString('utf8'));
    expect(dkim).toBeTruthy();
    expect(dkim).toContain('d=example.org');
    expect(dkim).toContain('s=news2025');
    expect(r.out + r.err).not.toContain('PRIVATE KEY');
  });

  it("variable by variable: SMTP_URL from the environment and DKIM_PRIVATE_KEY from .env in the same send; the environment's key wins over .env's", async () => {
    const s = await sink();
    const dir = await dkimProject();
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    // .env names a server nobody listens on: the environment's SMTP_URL (the sink) must win.
    await writeEnv(dir, `SMTP_URL=smtp://127.0.0.1:1\nDKIM_PRIVATE_KEY="${pem(privateKey).trim()}"\n`);
    const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], dir, { SMTP_URL: s.url });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`127.0.0.1:${s.port}`);
    expect(dkimSignature(s.messages[0]!.raw.toString('utf8'))).toContain('d=example.org');
    // The environment's DKIM_PRIVATE_KEY (an Ed25519 key, which cannot sign here) is the one used, not .env's good one.
    const ed = pem(generateKeyPairSync('ed25519').privateKey);
    const bad = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], dir, { SMTP_URL: s.url, DKIM_PRIVATE_KEY: ed });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/DKIM_PRIVATE_KEY.*ed25519/);
    expect(s.messages).toHaveLength(1);
  });
});

describe('readEnv', () => {
  it('merges .env under the environment, which wins for each variable; says where each came from; leaves process.env alone', async () => {
    const dir = await project();
    await writeEnv(
      dir,
      '# local\nSMTP_URL=smtp://127.0.0.1:2525\nDKIM_PRIVATE_KEY="from-dotenv"\nexport CHROMIUM_PATH=/opt/dotenv/chromium\nOTHER_SETTING=1\n',
    );
    const fileOnly = await readEnv(dir, {});
    expect(fileOnly.env).toMatchObject({
      SMTP_URL: 'smtp://127.0.0.1:2525',
      DKIM_PRIVATE_KEY: 'from-dotenv',
      CHROMIUM_PATH: '/opt/dotenv/chromium',
      OTHER_SETTING: '1',
    });
    expect(fileOnly.sourceOf('SMTP_URL')).toBe('.env, line 2');
    expect(fileOnly.sourceOf('DKIM_PRIVATE_KEY')).toBe('.env, line 3');
    expect(fileOnly.sourceOf('CHROMIUM_PATH')).toBe('.env, line 4');
    expect(fileOnly.file).toBe(path.join(dir, '.env'));
    for (const name of ['SMTP_URL', 'DKIM_PRIVATE_KEY', 'CHROMIUM_PATH', 'OTHER_SETTING']) {
      const real = { [name]: `real-${name}`, UNRELATED: 'kept' };
      const { env, sourceOf } = await readEnv(dir, real);
      expect(env[name], name).toBe(`real-${name}`);
      expect(sourceOf(name), name).toBe('the environment');
      expect(env.UNRELATED).toBe('kept');
      // The other variables still come from .env.
      for (const other of ['SMTP_URL', 'DKIM_PRIVATE_KEY', 'CHROMIUM_PATH'].filter((n) => n !== name)) expect(env[other], other).toBe(fileOnly.env[other]);
    }
    expect(process.env.OTHER_SETTING).toBeUndefined();
    // smtpSettings says which source its SMTP_URL came from.
    expect((await smtpSettings(dir, { SMTP_URL: 'smtp://127.0.0.1:2600' })).port).toBe(2600);
    expect((await smtpSettings(dir, {})).port).toBe(2525);
  });

  it('reads .env once: the view passed back (as the CLI passes it down) is not read again, and still names the line', async () => {
    const dir = await project();
    await writeEnv(dir, 'OTHER=1\nSMTP_URL=smtp:/127.0.0.1:2525\n');
    const view = await readEnv(dir, {});
    await rm(path.join(dir, '.env'));
    expect(await readEnv(dir, view.env)).toBe(view);
    const e = await rejection(smtpSettings(dir, view.env));
    expect(e.code).toBe('ESMTP_CONFIG');
    expect(e.message).toContain('.env, line 2');
  });

  it('without a .env: the environment as it is, no warnings', async () => {
    const dir = await project();
    const view = await readEnv(dir, { SMTP_URL: 'smtp://127.0.0.1:2525' });
    expect(view.file).toBeUndefined();
    expect(view.warnings).toEqual([]);
    expect(view.env.SMTP_URL).toBe('smtp://127.0.0.1:2525');
  });

  it.skipIf(process.platform === 'win32')('a .env others can read (0644) is warned of, with the fix; 0600 is not', async () => {
    const dir = await project();
    await writeEnv(dir, 'SMTP_URL=smtp://127.0.0.1:2525\n', 0o644);
    const open = await readEnv(dir, {});
    expect(open.warnings).toEqual(['.env can be read by other users of this computer (mode 0644): run chmod 600 .env']);
    expect(open.env.SMTP_URL).toBe('smtp://127.0.0.1:2525');
    await chmod(path.join(dir, '.env'), 0o640);
    expect((await readEnv(dir, {})).warnings).toEqual(['.env can be read by other users of this computer (mode 0640): run chmod 600 .env']);
    await chmod(path.join(dir, '.env'), 0o600);
    expect((await readEnv(dir, {})).warnings).toEqual([]);
  });

  it('a byte-order mark and CRLF line ends do not hide the first setting', async () => {
    const dir = await project();
    await writeEnv(dir, '\uFEFFSMTP_URL=smtp://127.0.0.1:2525\r\nOTHER=1\r\n');
    const smtp = await smtpSettings(dir, {});
    expect(smtp.shown).toBe('smtp://127.0.0.1:2525');
  });
});

describe('a .env that cannot be read as settings', () => {
  const SECRET = 'hunter2-must-not-show';

  it("a line that is not NAME=value: ECONFIG naming .env and the line, quoting none of it (Node's parser would silently join it to the next line)", async () => {
    const dir = await project();
    await writeEnv(dir, `# settings\nSMTP_URL: smtp://newsletter:${SECRET}@127.0.0.1:2525\nDKIM_PRIVATE_KEY=x\n`);
    const e = await rejection(smtpSettings(dir, {}));
    expect(e.code).toBe('ECONFIG');
    expect(e.message).toContain('.env, line 2');
    expect(`${e.message} ${e.hint}`).not.toContain(SECRET);
  });

  it('a quoted value never closed: ECONFIG naming the line and the variable, quoting nothing of the value', async () => {
    const dir = await project();
    await writeEnv(dir, `SMTP_URL=smtp://127.0.0.1:2525\nDKIM_PRIVATE_KEY="-----BEGIN PRIVATE KEY-----\n${SECRET}\n`);
    const e = await rejection(readEnv(dir, {}));
    expect(e.code).toBe('ECONFIG');
    expect(e.message).toContain('.env, line 2');
    expect(e.message).toContain('DKIM_PRIVATE_KEY');
    expect(`${e.message} ${e.hint}`).not.toContain(SECRET);
    expect(e.message).not.toContain('BEGIN');
  });

  it('the send refuses with the same error, even when the environment sets SMTP_URL', async () => {
    const s = await sink();
    const dir = await project();
    await writeEnv(dir, `just a note ${SECRET}\nDKIM_PRIVATE_KEY=x\n`);
    const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], dir, { SMTP_URL: s.url });
    expect(r.code).toBe(1);
    expect(r.err).toContain('.env, line 1');
    expect(r.out + r.err).not.toContain(SECRET);
    expect(s.messages).toHaveLength(0);
  });
});

describe('CHROMIUM_PATH from .env', () => {
  it("reaches the screenshots' browser lookup: a path in .env that is not a browser gives EBROWSER naming it", async () => {
    const dir = await project();
    const missing = path.join(dir, 'no-such-browser', 'chromium-from-dotenv');
    await mkdir(path.join(dir, 'no-such-browser'));
    await writeEnv(dir, `CHROMIUM_PATH=${missing}\n`);
    const e = await rejection(buildIssue('july-2025', { root: dir, screenshots: true, env: {} }));
    expect(e.code).toBe('EBROWSER');
    expect(e.message).toContain('CHROMIUM_PATH');
    expect(e.message).toContain(missing);
    // The environment's CHROMIUM_PATH wins over .env's.
    const other = path.join(dir, 'no-such-browser', 'chromium-from-environment');
    const fromEnv = await rejection(buildIssue('july-2025', { root: dir, screenshots: true, env: { CHROMIUM_PATH: other } }));
    expect(fromEnv.message).toContain(other);
  });
});
