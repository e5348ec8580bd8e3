/**
 * Secrets never echo: no part of the SMTP_URL password, and nothing of a DKIM key,
 * in any message, hint, JSON field or `shown` form, whatever shape SMTP_URL has.
 * Malformed URLs are ESMTP_CONFIG errors (exit 1), never "unexpected failure".
 * The only server is test/smtp-sink.ts on 127.0.0.1; addresses are example.org.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, runCli, type CliResult } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';
import { NewsletterError } from '../src/errors.js';
import { parseSmtpUrl, redactUrl, smtpSettings } from '../src/send/smtp-settings.js';

const USER = 'mailer7';

/** Passwords, each with one awkward character inside a run of characters no message holds. */
const PASSWORDS: Record<string, string> = {
  '@': 'Qz8w@Xk3v',
  ':': 'Qz8w:Xk3v',
  '/': 'Qz8w/Xk3v',
  space: 'Qz8w Xk3v',
  '%': 'Qz8w%Xk3v',
  '%zz': 'Qz8w%zzXk3v',
  '#': 'Qz8w#Xk3v',
  '?': 'Qz8w?Xk3v',
  all: 'Qz8w@:/ %#?Xk3v',
};

/** Written as they are, these are valid URL passwords (the URL parser accepts them and decodes them back). */
const VALID = new Set(['@', ':', 'space']);

/** SMTP_URL shapes around a password: each is malformed whatever the password. */
const MALFORMED: Record<string, (pw: string, hostPort: string) => string> = {
  'no scheme': (pw, h) => `${USER}:${pw}@${h}`,
  'smtp:/ (one slash)': (pw, h) => `smtp:/${USER}:${pw}@${h}`,
  'smtp// (no colon)': (pw, h) => `smtp//${USER}:${pw}@${h}`,
  'smtps: (no slashes)': (pw, h) => `smtps:${USER}:${pw}@${h}`,
  'http://': (pw, h) => `http://${USER}:${pw}@${h}`,
  'no host': (pw) => `smtps://${USER}:${pw}@`,
  'port out of range': (pw) => `smtps://${USER}:${pw}@smtp.example.org:99999`,
  'space in the host': (pw) => `smtps://${USER}:${pw}@smtp.exa mple.org:465`,
  'a line break inside': (pw, h) => `smtps://${USER}:${pw}\n@${h}`,
  'the credentials after the host': (pw, h) => `smtps://${h}/${USER}:${pw}`,
  'no user:password@ and a path': (pw, h) => `smtps://${USER}${pw}${h}/${pw}`,
};

/** Every 3-character piece of `secret` that occurs in `text`. */
function pieces(text: string, secret: string, size = 3): string[] {
  const found = new Set<string>();
  for (let i = 0; i + size <= secret.length; i++) {
    const piece = secret.slice(i, i + size);
    if (text.includes(piece)) found.add(piece);
  }
  return [...found];
}

/** Everything an error shows: message, hint, problems. */
const shownBy = (e: NewsletterError) => [e.message, e.hint ?? '', ...e.problems.map((p) => `${p.where ?? ''} ${p.path ?? ''} ${p.message}`)].join('\n');

/** The ESMTP_CONFIG error `f` throws (fails the test if it returns or throws anything else). */
function configError(f: () => unknown): NewsletterError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(NewsletterError);
    expect((err as NewsletterError).code).toBe('ESMTP_CONFIG');
    return err as NewsletterError;
  }
  throw new Error('expected an ESMTP_CONFIG error');
}

async function configRejection(p: Promise<unknown>): Promise<NewsletterError> {
  const err = await p.then(
    () => new Error('expected an ESMTP_CONFIG error'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NewsletterError);
  expect((err as NewsletterError).code).toBe('ESMTP_CONFIG');
  return err as NewsletterError;
}

/** A failed CLI run: exit 1, an ESMTP_CONFIG error (in JSON or text), never "unexpected failure". */
function expectConfigFailure(r: CliResult, json: boolean): void {
  expect(r.code, r.err).toBe(1);
  expect(r.err).not.toMatch(/unexpected failure/);
  if (json) expect((JSON.parse(r.out) as { error: { code: string } }).error.code).toBe('ESMTP_CONFIG');
  else expect(r.err).toMatch(/^error: SMTP_URL/);
}

let sink: SmtpSink;
let project: string;

beforeAll(async () => {
  sink = await startSink();
  project = await makeProject();
  // Fast sends and retries: a refused login is waited on for retryBaseMs before it is reported.
  const cfg = path.join(project, 'newsletter.config.yaml');
  await writeFile(cfg, `${await readFile(cfg, 'utf8')}\nsend:\n  rate: 1000\n  retryBaseMs: 20\n`);
});
afterAll(async () => {
  await sink.close();
  await rm(project, { recursive: true, force: true });
});

describe('SMTP_URL: malformed shapes', () => {
  for (const [shape, make] of Object.entries(MALFORMED)) {
    for (const [kind, pw] of Object.entries(PASSWORDS)) {
      it(`${shape}, password with ${kind}: ESMTP_CONFIG, no piece of the password or the user name shown`, async () => {
        const url = make(pw, 'smtp.example.org:465');
        const e = configError(() => parseSmtpUrl(url));
        expect(pieces(shownBy(e), pw)).toEqual([]);
        expect(shownBy(e)).not.toContain(USER);
        const fromEnv = await configRejection(smtpSettings(project, { SMTP_URL: url }));
        expect(pieces(shownBy(fromEnv), pw)).toEqual([]);
        expect(shownBy(fromEnv)).toContain('environment');
        expect(pieces(redactUrl(url), pw)).toEqual([]);
      });
    }
  }

  it('from .env: says so and names the line, and quotes nothing of the URL', async () => {
    const dir = await makeProject();
    const pw = PASSWORDS.all!;
    await writeFile(path.join(dir, '.env'), `# settings\nOTHER=1\nSMTP_URL='smtp:/${USER}:${pw}@smtp.example.org:465'\n`);
    const e = await configRejection(smtpSettings(dir, {}));
    expect(e.message).toMatch(/\.env/);
    expect(e.message).toMatch(/line 3/);
    expect(pieces(shownBy(e), pw)).toEqual([]);
    expect(shownBy(e)).not.toContain(USER);
    await rm(dir, { recursive: true, force: true });
  });

  it('the CLI (--send-test, text and --json) prints no piece of the password for any malformed shape', async () => {
    for (const [shape, make] of Object.entries(MALFORMED)) {
      for (const pw of Object.values(PASSWORDS)) {
        // 127.0.0.1 and the sink's port: were a shape ever taken as valid, nothing leaves this machine.
        const url = make(pw, `127.0.0.1:${sink.port}`);
        for (const json of [false, true]) {
          const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org', ...(json ? ['--json'] : [])], project, { SMTP_URL: url });
          expectConfigFailure(r, json);
          expect(pieces(r.out + r.err, pw), `${shape}: ${r.out}${r.err}`).toEqual([]);
        }
      }
    }
  });
});

describe('SMTP_URL: awkward passwords', () => {
  it('passwords with @, : or space written as they are: parsed and decoded, shown only as ***', () => {
    for (const [kind, pw] of Object.entries(PASSWORDS)) {
      if (!VALID.has(kind)) continue;
      const url = `smtps://${USER}:${pw}@smtp.example.org:465`;
      const s = parseSmtpUrl(url);
      expect(s.auth, kind).toEqual({ user: USER, pass: pw });
      expect(s).toMatchObject({ host: 'smtp.example.org', port: 465, secure: true, loopback: false });
      expect(s.shown).toBe(`smtps://${USER}:***@smtp.example.org:465`);
      expect(redactUrl(url)).toBe(s.shown);
    }
  });

  for (const [kind, pw] of Object.entries(PASSWORDS)) {
    if (VALID.has(kind)) continue;
    it(`a password with ${kind} written as it is: ESMTP_CONFIG, says how to encode it, shows no piece of it`, () => {
      const e = configError(() => parseSmtpUrl(`smtps://${USER}:${pw}@smtp.example.org:465`));
      expect(pieces(shownBy(e), pw)).toEqual([]);
      expect(shownBy(e)).not.toContain(USER);
      expect(e.hint).toMatch(/%25/);
    });
  }

  it('a bad % escape (URIError inside) is an ESMTP_CONFIG error, in the CLI too', async () => {
    const pw = 'Qz8w%zzXk3v';
    expect(configError(() => parseSmtpUrl(`smtps://${USER}:${pw}@smtp.example.org`)).message).toMatch(/%/);
    // A % sequence that is not UTF-8: decodeURIComponent's other URIError.
    configError(() => parseSmtpUrl(`smtps://${USER}:Qz8w%FFXk3v@smtp.example.org`));
    configError(() => parseSmtpUrl(`smtps://${USER}%zz:Qz8wXk3v@smtp.example.org`));
    for (const json of [false, true]) {
      const r = await runCli(['july-2025', '--send-test', ...(json ? ['--json'] : [])], project, { SMTP_URL: `smtp://${USER}:${pw}@127.0.0.1:${sink.port}` });
      expectConfigFailure(r, json);
      expect(pieces(r.out + r.err, pw)).toEqual([]);
    }
  });

  it('a user name with a space, and a password with a space: the password is not shown', () => {
    const s = parseSmtpUrl('smtps://news letter:Qz8w Xk3v@smtp.example.org:465');
    expect(s.auth).toEqual({ user: 'news letter', pass: 'Qz8w Xk3v' });
    expect(pieces(s.shown, 'Qz8w Xk3v')).toEqual([]);
    expect(s.shown).toMatch(/^smtps:\/\/.*:\*\*\*@smtp\.example\.org:465$/);
  });

  it('a user name without a password (the colon forgotten) or a password without a user name: ESMTP_CONFIG, nothing quoted', () => {
    const run = 'Qz8wXk3v';
    for (const url of [
      `smtps://${USER}${run}@smtp.example.org:465`,
      `smtps://${run}@smtp.example.org`,
      `smtps://:${run}@smtp.example.org`,
      `smtps://${USER}:@smtp.example.org`,
    ]) {
      const e = configError(() => parseSmtpUrl(url));
      expect(pieces(shownBy(e), run), url).toEqual([]);
      expect(shownBy(e)).not.toContain(USER);
    }
  });

  it('the CLI sends with each valid awkward password (so it was decoded right), showing only ***', async () => {
    const valid = [...Object.entries(PASSWORDS)].filter(([kind]) => VALID.has(kind)).map(([, pw]) => pw);
    try {
      for (const pw of [...valid, PASSWORDS.all!]) {
        sink.setFaults({ auth: { user: USER, pass: pw } });
        const encoded = pw === PASSWORDS.all ? encodeURIComponent(pw) : pw;
        for (const json of [false, true]) {
          const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org', ...(json ? ['--json'] : [])], project, {
            SMTP_URL: `smtp://${USER}:${encoded}@127.0.0.1:${sink.port}`,
          });
          expect(r.code, r.err).toBe(0);
          if (!json) expect(r.out).toContain(`via smtp://${USER}:***@127.0.0.1:${sink.port}`);
          expect(pieces(r.out + r.err, pw)).toEqual([]);
        }
        // A wrong password: the error names the server, not the password.
        sink.setFaults({ auth: { user: USER, pass: `${pw}-other` } });
        const bad = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], project, {
          SMTP_URL: `smtp://${USER}:${encoded}@127.0.0.1:${sink.port}`,
        });
        expect(bad.code).toBe(1);
        expect(pieces(bad.out + bad.err, pw)).toEqual([]);
      }
    } finally {
      sink.setFaults({});
    }
  });

  it('--send --dry-run shows the server without the password', async () => {
    const pw = PASSWORDS.space!;
    await mkdir(path.join(project, 'lists'), { recursive: true });
    await writeFile(path.join(project, 'lists', 'dry.csv'), 'email,name\nreader@example.org,Reader\n');
    const r = await runCli(['july-2025', '--send', '--list', 'lists/dry.csv', '--dry-run', '--skip-test-gate'], project, {
      SMTP_URL: `smtps://${USER}:${pw}@smtp.example.org:465`,
    });
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`smtps://${USER}:***@smtp.example.org:465`);
    expect(pieces(r.out + r.err, pw)).toEqual([]);
  });

  it('--send with a malformed SMTP_URL: ESMTP_CONFIG, no piece of the password (text and --json)', async () => {
    const pw = PASSWORDS.all!;
    await mkdir(path.join(project, 'lists'), { recursive: true });
    await writeFile(path.join(project, 'lists', 'one.csv'), 'email,name\nreader@example.org,Reader\n');
    for (const json of [false, true]) {
      const r = await runCli(['july-2025', '--send', '--list', 'lists/one.csv', '--yes', '--skip-test-gate', ...(json ? ['--json'] : [])], project, {
        SMTP_URL: `smtp//${USER}:${pw}@127.0.0.1:${sink.port}`,
      });
      expectConfigFailure(r, json);
      expect(pieces(r.out + r.err, pw)).toEqual([]);
    }
  });

  // A guard, passing before the change too: valid URLs, awkward passwords percent-encoded included, parse as they did.
  it('valid URLs parse as before, percent-encoded passwords decoded', () => {
    for (const pw of Object.values(PASSWORDS)) {
      const s = parseSmtpUrl(`smtps://${USER}:${encodeURIComponent(pw)}@smtp.example.org:465`);
      expect(s.auth).toEqual({ user: USER, pass: pw });
      expect(s.shown).toBe(`smtps://${USER}:***@smtp.example.org:465`);
    }
    expect(parseSmtpUrl('smtp://127.0.0.1:2525')).toMatchObject({
      host: '127.0.0.1',
      port: 2525,
      loopback: true,
      requireTLS: false,
      secure: false,
      auth: undefined,
    });
    expect(parseSmtpUrl('smtp://localhost')).toMatchObject({ host: 'localhost', port: 25, loopback: true });
    expect(parseSmtpUrl('smtp://[::1]:2525')).toMatchObject({ port: 2525, loopback: true });
    expect(parseSmtpUrl('smtp://smtp.example.org')).toMatchObject({ port: 587, requireTLS: true, loopback: false });
    expect(parseSmtpUrl(' SMTPS://u:p@smtp.example.org ')).toMatchObject({ host: 'smtp.example.org', secure: true, port: 465, auth: { user: 'u', pass: 'p' } });
    expect(parseSmtpUrl('smtps://postmaster%40mg.example.org:p%25w@smtp.example.org:465')).toMatchObject({
      auth: { user: 'postmaster@mg.example.org', pass: 'p%w' },
    });
    expect(parseSmtpUrl('smtps://postmaster@mg.example.org:pw@smtp.example.org:465').auth).toEqual({ user: 'postmaster@mg.example.org', pass: 'pw' });
    expect(parseSmtpUrl('smtps://u:p@smtp.example.org:465/').host).toBe('smtp.example.org');
  });
});

describe('DKIM private key', () => {
  /** A project that signs with the key at keys/dkim.pem (or DKIM_PRIVATE_KEY). */
  async function dkimProject(key?: string): Promise<string> {
    const dir = await makeProject();
    const cfg = path.join(dir, 'newsletter.config.yaml');
    await writeFile(cfg, `${await readFile(cfg, 'utf8')}\ndkim:\n  domainName: example.org\n  keySelector: news2025\n  privateKeyFile: keys/dkim.pem\n`);
    if (key !== undefined) {
      await mkdir(path.join(dir, 'keys'));
      await writeFile(path.join(dir, 'keys/dkim.pem'), key);
    }
    return dir;
  }

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const body = (k: string) => k.split('\n').filter((l) => l && !l.startsWith('-----'));
  /** Every 12-character piece of the key's base64 lines found in `text`. */
  const keyPieces = (text: string, key: string) => body(key).flatMap((l) => pieces(text, l, 12));

  const BAD_KEYS: Record<string, string> = {
    'a truncated key': pem.slice(0, Math.floor(pem.length / 2)),
    'a key with its body garbled': pem.replace(/\n([A-Za-z0-9+/]{64})\n/, (_m, line: string) => `\n${line.slice(0, 30)}!!${line.slice(32)}\n`),
    'a public key': rsa.publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'not PEM at all': 'Zr9QkXwLp2Vt7Ny4Bm6Hc1Jd8Fs3Gq5W\n',
    'an Ed25519 key (DKIM here signs rsa-sha256)': generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    'a key encrypted with a passphrase': rsa.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'Tq4mZr8Lw2' }) as string,
  };

  for (const [what, key] of Object.entries(BAD_KEYS)) {
    it(`${what}, in the key file: ESMTP_CONFIG before anything is sent, no piece of the key shown (text and --json)`, async () => {
      const dir = await dkimProject(key);
      const before = sink.messages.length;
      for (const json of [false, true]) {
        const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org', ...(json ? ['--json'] : [])], dir, { SMTP_URL: sink.url });
        expect(r.code, r.out + r.err).toBe(1);
        expect(r.err).not.toMatch(/unexpected failure/);
        const message = json ? (JSON.parse(r.out) as { error: { code: string; message: string } }).error : { code: 'ESMTP_CONFIG', message: r.err };
        expect(message.code).toBe('ESMTP_CONFIG');
        expect(message.message).toMatch(/DKIM private key/);
        expect(message.message).toContain('keys/dkim.pem');
        expect(keyPieces(r.out + r.err, key)).toEqual([]);
      }
      expect(sink.messages.length).toBe(before); // not sent unsigned
      await rm(dir, { recursive: true, force: true });
    });
  }

  it('a malformed DKIM_PRIVATE_KEY: ESMTP_CONFIG naming the variable, no piece of the key shown', async () => {
    const dir = await dkimProject();
    const key = BAD_KEYS['a key with its body garbled']!;
    const r = await runCli(['july-2025', '--send-test', '--to', 'reviewer@example.org'], dir, {
      SMTP_URL: sink.url,
      DKIM_PRIVATE_KEY: key.replace(/\n/g, '\\n'),
      DEBUG: '1',
    });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error: .*DKIM_PRIVATE_KEY/);
    expect(r.err).not.toMatch(/unexpected failure/);
    expect(keyPieces(r.out + r.err, key)).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
