/**
 * OAuth2 sign-in (SASL XOAUTH2), end to end and offline: a loopback token endpoint that
 * answers as Microsoft Entra ID and Google do (test/token-server.ts), and the SMTP sink
 * offering XOAUTH2 and checking each token with it. Addresses are example.org only.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewsletterError } from '../src/errors.js';
import { sendIssue, sendTest } from '../src/send/send-issue.js';
import { rejection, runCli, sendingProject, writeReaders as writeList } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';
import { makeCertificate, makeServiceAccountKey, startTokenServer, type TokenServer } from './token-server.js';

const TENANT = 'contoso.example.org';
const CLIENT_ID = '11111111-2222-3333-4444-555555555555';
const SECRET = 'Qz8~wXk3v.Secret-Value_0123456789abcdefgh';
const MAILBOX = 'newsletter@example.org';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function tokenServer(): Promise<TokenServer> {
  const ts = await startTokenServer();
  open.push(ts);
  return ts;
}

/** The sink, requiring XOAUTH2 as MAILBOX with a token the token server issued and has not expired or revoked. */
async function oauthSink(ts: TokenServer, options: Parameters<typeof startSink>[0] = {}): Promise<SmtpSink> {
  const s = await startSink({ oauth2: { user: MAILBOX, isValid: (token, user) => ts.isValid(token, user) }, ...options });
  open.push(s);
  return s;
}

/** A project sending fast (the provider's pace is for real servers) as `provider`. */
const oauthProject = (provider: string) => sendingProject(`  provider: ${provider}\n`);

/** The environment of a Microsoft 365 app registration with a client secret, the token URL pointed at the loopback server. */
function microsoftEnv(ts: TokenServer, s: SmtpSink, secret = SECRET): NodeJS.ProcessEnv {
  return {
    SMTP_URL: `smtp://${encodeURIComponent(MAILBOX)}@127.0.0.1:${s.port}`,
    SMTP_OAUTH2_CLIENT_ID: CLIENT_ID,
    SMTP_OAUTH2_CLIENT_SECRET: secret,
    SMTP_OAUTH2_TENANT: TENANT,
    SMTP_OAUTH2_TOKEN_URL: ts.microsoftTokenUrl(TENANT),
  };
}

/** Every file under `dir`, as text. */
async function allText(dir: string): Promise<string> {
  if (!existsSync(dir)) return '';
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(entries.filter((e) => e.isFile()).map((e) => readFile(path.join(e.parentPath, e.name), 'latin1')));
  return texts.join('\n');
}

describe('Microsoft 365: client credentials', () => {
  it('with a client secret: one token for the whole send, every connection signs in with it, and it is never written down', async () => {
    const ts = await tokenServer();
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, secret: SECRET, mailboxes: [MAILBOX] });
    const s = await oauthSink(ts);
    const project = await oauthProject('microsoft365');
    const { rel, emails } = await writeList(project, 12);
    const report = await sendIssue('july-2025', { root: project, env: microsoftEnv(ts, s), listFile: rel, skipTestGate: true, connections: 3 });
    expect(report.result?.sent.sort()).toEqual(emails);
    expect(s.messages).toHaveLength(12);
    // One token request: the sign-in check and all three connections share it.
    expect(ts.requests.filter((r) => r.status === 200)).toHaveLength(1);
    expect(s.auths.length).toBeGreaterThanOrEqual(3);
    expect(s.auths.every((a) => a.ok && a.method === 'XOAUTH2' && a.user === MAILBOX)).toBe(true);
    // The plan names the mailbox and the kind of sign-in, never a secret.
    expect(report.plan.smtp?.shown).toBe(`smtp://${MAILBOX}@127.0.0.1:${s.port} (OAuth2, Microsoft 365)`);
    const token = ts.issued[0]!.token;
    const written = (await allText(path.join(project, 'sends'))) + (await allText(path.join(project, 'dist')));
    expect(written).toContain('"t":"sent"');
    expect(written).not.toContain(token);
    expect(written).not.toContain(SECRET);
  });

  it('with a certificate: a signed client assertion instead of a secret', async () => {
    const ts = await tokenServer();
    const cert = makeCertificate();
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, certificatePem: cert.certificatePem, mailboxes: [MAILBOX] });
    const s = await oauthSink(ts);
    const project = await oauthProject('microsoft365');
    await writeFile(path.join(project, 'app.pem'), cert.combinedPem, { mode: 0o600 });
    const { SMTP_OAUTH2_CLIENT_SECRET: _, ...env } = microsoftEnv(ts, s);
    const r = await sendTest('july-2025', { root: project, env: { ...env, SMTP_OAUTH2_CERTIFICATE_FILE: 'app.pem' } });
    expect(r.result.sent).toEqual(['editor@example.org']);
    expect(s.messages).toHaveLength(1);
    expect(ts.issued).toHaveLength(1);
    expect(s.auths.every((a) => a.ok)).toBe(true);
  });

  it('a wrong secret is one clear error naming the fix, before the lock, the ledger or any recipient', async () => {
    const ts = await tokenServer();
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, secret: SECRET, mailboxes: [MAILBOX] });
    const s = await oauthSink(ts);
    const project = await oauthProject('microsoft365');
    const { rel } = await writeList(project, 5);
    const wrong = 'Wr0ng~Secret.Value_abcdefghijklmnopqrstu';
    const e = await rejection(sendIssue('july-2025', { root: project, env: microsoftEnv(ts, s, wrong), listFile: rel, skipTestGate: true }));
    expect(e.code).toBe('EOAUTH2');
    expect(e.message).toMatch(/AADSTS7000215/);
    expect(e.hint).toMatch(/secret's Value .*not its Secret ID/);
    expect(s.connections).toBe(0);
    expect(existsSync(path.join(project, 'sends', 'july-2025', 'ledger.jsonl'))).toBe(false);
    // From the command line: the same words, exit 1, no stack, no secret.
    const cli = await runCli(['send', 'july-2025', '--list', rel, '--yes', '--skip-test-gate'], project, microsoftEnv(ts, s, wrong));
    expect(cli.code).toBe(1);
    expect(cli.err).toMatch(/the sign-in token for newsletter@example\.org was refused/);
    expect(cli.err).toContain('Certificates & secrets');
    expect(cli.err).not.toMatch(/\n\s+at /);
    expect(cli.out + cli.err).not.toContain(wrong);
    expect(s.messages).toHaveLength(0);
  });

  it('an expired secret and an unknown tenant each name what to fix in the tenant', async () => {
    const ts = await tokenServer();
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, secret: SECRET, secretExpired: true });
    const s = await oauthSink(ts);
    const project = await oauthProject('microsoft365');
    const expired = await rejection(sendTest('july-2025', { root: project, env: microsoftEnv(ts, s) }));
    expect(expired.code).toBe('EOAUTH2');
    expect(expired.hint).toMatch(/client secret has expired/);
    const env = { ...microsoftEnv(ts, s), SMTP_OAUTH2_TOKEN_URL: ts.microsoftTokenUrl('nowhere.example.org') };
    const noTenant = await rejection(sendTest('july-2025', { root: project, env }));
    expect(noTenant.hint).toMatch(/Directory \(tenant\) ID/);
    expect(s.connections).toBe(0);
  });

  it('a token the mail server refuses (SMTP AUTH off, or no FullAccess): the Exchange fixes, nobody tried', async () => {
    const ts = await tokenServer();
    // The app may not send as this mailbox: Entra issues the token, Exchange refuses it.
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, secret: SECRET, mailboxes: ['someone-else@example.org'] });
    const s = await oauthSink(ts);
    const project = await oauthProject('microsoft365');
    const { rel } = await writeList(project, 3);
    const e = await rejection(sendIssue('july-2025', { root: project, env: microsoftEnv(ts, s), listFile: rel, skipTestGate: true }));
    expect(e.code).toBe('EOAUTH2');
    expect(e.message).toMatch(/refused the sign-in as newsletter@example\.org: .*535/);
    expect(e.hint).toContain('Set-CASMailbox -Identity newsletter@example.org -SmtpClientAuthenticationDisabled $false');
    expect(e.hint).toContain('Add-MailboxPermission');
    expect(s.messages).toHaveLength(0);
    expect(s.auths.length).toBeGreaterThan(0);
    expect(s.auths.every((a) => !a.ok)).toBe(true);
    // The refused token was thrown away and a fresh one asked for once (the mail server might have had a stale one).
    expect(ts.issued).toHaveLength(2);
  });
});

describe('tokens that expire during a send', () => {
  it('short-lived tokens are renewed before they run out: a send longer than their life goes on without a hitch', async () => {
    const ts = await tokenServer();
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, secret: SECRET });
    ts.setExpiresIn(4);
    // Five messages a connection, then a new connection and a new sign-in.
    const s = await oauthSink(ts, { maxMessagesPerConnection: 5 });
    const project = await oauthProject('microsoft365');
    const { rel, emails } = await writeList(project, 60);
    const report = await sendIssue('july-2025', { root: project, env: microsoftEnv(ts, s), listFile: rel, skipTestGate: true, rate: 10, connections: 2 });
    expect(report.result?.sent.sort()).toEqual(emails);
    expect(report.result?.failed).toEqual([]);
    expect(report.result?.paused).toBeUndefined();
    for (const e of emails) expect(s.deliveredTo(e), e).toBe(1);
    // Six seconds of sending on four-second tokens, renewed two seconds before their end: renewed, and every sign-in used a live one.
    expect(ts.issued.length).toBeGreaterThanOrEqual(2);
    expect(s.auths.every((a) => a.ok)).toBe(true);
  });

  it('a token the server has stopped taking mid-send is refused once, replaced, and the send goes on', async () => {
    const ts = await tokenServer();
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, secret: SECRET });
    const s = await oauthSink(ts, { maxMessagesPerConnection: 3 });
    const project = await oauthProject('microsoft365');
    const { rel, emails } = await writeList(project, 20);
    // Once a few have gone, the server's clock jumps two hours: the token every connection holds is now expired.
    const jumped = s.waitForMessages(4, 60_000).then(() => ts.advance(2 * 3_600_000));
    const report = await sendIssue('july-2025', { root: project, env: microsoftEnv(ts, s), listFile: rel, skipTestGate: true, rate: 20, connections: 1 });
    await jumped;
    expect(report.result?.sent.sort()).toEqual(emails);
    expect(report.result?.failed).toEqual([]);
    const refused = s.auths.findIndex((a) => !a.ok);
    expect(refused).toBeGreaterThan(0);
    expect(s.auths[refused + 1]?.ok).toBe(true);
    expect(ts.issued.length).toBe(2);
  });
  it('a server that refuses a stale token at once (535 5.7.3, no challenge): a fresh token, and the send goes on', async () => {
    const ts = await tokenServer();
    ts.addMicrosoftApp({ tenant: TENANT, clientId: CLIENT_ID, secret: SECRET });
    const s = await startSink({
      oauth2: { user: MAILBOX, isValid: (token, user) => ts.isValid(token, user), refuse: 'immediate' },
      maxMessagesPerConnection: 3,
    });
    open.push(s);
    const project = await oauthProject('microsoft365');
    const { rel, emails } = await writeList(project, 12);
    const jumped = s.waitForMessages(4, 60_000).then(() => ts.advance(2 * 3_600_000));
    const report = await sendIssue('july-2025', { root: project, env: microsoftEnv(ts, s), listFile: rel, skipTestGate: true, rate: 20, connections: 1 });
    await jumped;
    expect(report.result?.sent.sort()).toEqual(emails);
    expect(report.result?.paused).toBeUndefined();
    expect(s.auths.filter((a) => !a.ok)).toHaveLength(1);
    expect(ts.issued).toHaveLength(2);
  });
});

describe('Google Workspace', () => {
  const SERVICE_ACCOUNT = 'newsletter-sender@liia-project.iam.gserviceaccount.com';

  async function googleSetup(options: { scopes?: string[] } = {}) {
    const ts = await tokenServer();
    const { key, publicKeyPem } = makeServiceAccountKey(SERVICE_ACCOUNT, { tokenUri: ts.googleTokenUrl });
    ts.addServiceAccount({ clientEmail: SERVICE_ACCOUNT, publicKeyPem, delegatedScopes: options.scopes ?? ['https://mail.google.com/'], users: [MAILBOX] });
    const s = await oauthSink(ts);
    const project = await oauthProject('google-workspace');
    await writeFile(path.join(project, 'service-account.json'), JSON.stringify(key), { mode: 0o600 });
    const env = { SMTP_URL: `smtp://${encodeURIComponent(MAILBOX)}@127.0.0.1:${s.port}`, SMTP_OAUTH2_SERVICE_ACCOUNT_FILE: 'service-account.json' };
    return { ts, s, project, env };
  }

  it('a service account with domain-wide delegation sends as the mailbox', async () => {
    const { ts, s, project, env } = await googleSetup();
    const { rel, emails } = await writeList(project, 6);
    const report = await sendIssue('july-2025', { root: project, env, listFile: rel, skipTestGate: true });
    expect(report.result?.sent.sort()).toEqual(emails);
    expect(ts.issued).toHaveLength(1);
    expect(ts.issued[0]!.scope).toBe('https://mail.google.com/');
    expect(s.auths.every((a) => a.ok && a.user === MAILBOX)).toBe(true);
  });

  it('without the delegation: the Admin console step to take, nothing sent', async () => {
    const { s, project, env } = await googleSetup({ scopes: [] });
    const e = await rejection(sendTest('july-2025', { root: project, env }));
    expect(e.code).toBe('EOAUTH2');
    expect(e.message).toMatch(/unauthorized_client/);
    expect(e.hint).toMatch(/Domain-wide delegation.*https:\/\/mail\.google\.com\//i);
    expect(s.connections).toBe(0);
  });

  it('a stored refresh token works too; a revoked one says to sign in again', async () => {
    const ts = await tokenServer();
    ts.addRefreshToken({
      clientId: 'desktop-client.apps.example.org',
      clientSecret: 'GOCSPX-test-secret',
      refreshToken: '1//refresh-token-value',
      user: MAILBOX,
    });
    const s = await oauthSink(ts);
    const project = await oauthProject('google-workspace');
    const env = {
      SMTP_URL: `smtp://${encodeURIComponent(MAILBOX)}@127.0.0.1:${s.port}`,
      SMTP_OAUTH2_CLIENT_ID: 'desktop-client.apps.example.org',
      SMTP_OAUTH2_CLIENT_SECRET: 'GOCSPX-test-secret',
      SMTP_OAUTH2_REFRESH_TOKEN: '1//refresh-token-value',
      SMTP_OAUTH2_TOKEN_URL: ts.googleTokenUrl,
    };
    const r = await sendTest('july-2025', { root: project, env });
    expect(r.result.sent).toEqual(['editor@example.org']);
    ts.revokeAll();
    const e: NewsletterError = await rejection(sendTest('july-2025', { root: project, env }));
    expect(e.code).toBe('EOAUTH2');
    expect(e.hint).toMatch(/revoked or has expired: sign in again/);
    expect(s.messages).toHaveLength(1);
  });
});
