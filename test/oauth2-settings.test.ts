/**
 * The OAuth2 settings (SMTP_URL with a mailbox and no password, the SMTP_OAUTH2_ variables):
 * what each combination means, and a clear error naming the variable for each that does not
 * make sense. And the token source: one request however many ask, renewed before expiry.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NewsletterError } from '../src/errors.js';
import { tokenSource } from '../src/send/oauth2.js';
import { smtpSettings } from '../src/send/smtp-settings.js';
import { makeProject, rejection } from './helpers.js';
import { makeCertificate, makeServiceAccountKey, startTokenServer, type TokenServer } from './token-server.js';

const MAILBOX_URL = 'smtp://newsletter%40example.org@smtp.office365.com:587';
const M365 = {
  SMTP_URL: MAILBOX_URL,
  SMTP_OAUTH2_CLIENT_ID: 'app-id',
  SMTP_OAUTH2_CLIENT_SECRET: 'Qz8~secret-value',
  SMTP_OAUTH2_TENANT: 'contoso.onmicrosoft.com',
};

const servers: TokenServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const refused = async (env: NodeJS.ProcessEnv, provider?: 'microsoft365' | 'google-workspace' | 'generic'): Promise<NewsletterError> =>
  rejection(smtpSettings(await makeProject(), env, provider));

describe('SMTP_URL and the SMTP_OAUTH2_ variables', () => {
  it('Microsoft 365: the mailbox from SMTP_URL, the token URL from the tenant, the preset scope; the host names the provider', async () => {
    const s = await smtpSettings(await makeProject(), M365);
    expect(s.provider).toBe('microsoft365');
    expect(s.auth).toBeUndefined();
    expect(s.oauth2?.user).toBe('newsletter@example.org');
    expect(s.oauth2?.tokens.settings).toMatchObject({
      tokenUrl: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
      scope: 'https://outlook.office365.com/.default',
      grant: { kind: 'client-secret', clientId: 'app-id' },
    });
    expect(s.shown).toBe('smtp://newsletter@example.org@smtp.office365.com:587 (OAuth2, Microsoft 365)');
    expect(s.requireTLS).toBe(true);
  });

  it('Microsoft 365 with a password still works, with a note that Microsoft is turning it off', async () => {
    const s = await smtpSettings(await makeProject(), { SMTP_URL: 'smtp://newsletter%40example.org:pw@smtp.office365.com:587' });
    expect(s.auth).toEqual({ user: 'newsletter@example.org', pass: 'pw' });
    expect(s.notes.join(' ')).toMatch(/end of December 2026.*docs\/providers\/microsoft365\.md/);
  });

  it('each missing or contradictory piece is named', async () => {
    expect((await refused({ ...M365, SMTP_OAUTH2_TENANT: '' })).message).toMatch(/SMTP_OAUTH2_TENANT is not set/);
    expect((await refused({ ...M365, SMTP_OAUTH2_CLIENT_ID: '' })).message).toMatch(/SMTP_OAUTH2_CLIENT_ID is not set/);
    expect((await refused({ ...M365, SMTP_OAUTH2_CLIENT_SECRET: '' })).message).toMatch(/neither SMTP_OAUTH2_CLIENT_SECRET nor SMTP_OAUTH2_CERTIFICATE_FILE/);
    expect((await refused({ ...M365, SMTP_OAUTH2_CERTIFICATE_FILE: 'app.pem' })).message).toMatch(
      /both SMTP_OAUTH2_CLIENT_SECRET and SMTP_OAUTH2_CERTIFICATE_FILE/,
    );
    const both = await refused({ ...M365, SMTP_URL: 'smtp://newsletter%40example.org:pw@smtp.office365.com:587' });
    expect(both.message).toMatch(/SMTP_URL has a password, and SMTP_OAUTH2_CLIENT_ID \(from the environment\), .* ask for an OAuth2 sign-in/);
    expect(both.message + both.hint).not.toContain(':pw@');
    expect((await refused({ ...M365, SMTP_URL: 'smtp://smtp.office365.com:587' })).message).toMatch(/SMTP_URL names no mailbox/);
    // Without OAuth2 a user name with no password is still the missing colon it always was, and is not shown.
    const colon = await refused({ SMTP_URL: 'smtps://newsletterSecretPw@smtp.example.org:465' });
    expect(colon.message).toMatch(/user name but no password/);
    expect(colon.message + colon.hint).not.toContain('SecretPw');
  });

  it('the token URL must be https, or http to this machine only', async () => {
    const e = await refused({ ...M365, SMTP_OAUTH2_TOKEN_URL: 'http://login.example.org/token' });
    expect(e.message).toMatch(/SMTP_OAUTH2_TOKEN_URL must be an https: URL/);
    const s = await smtpSettings(await makeProject(), { ...M365, SMTP_OAUTH2_TOKEN_URL: 'http://127.0.0.1:9/token' });
    expect(s.oauth2?.tokens.settings.tokenUrl).toBe('http://127.0.0.1:9/token');
  });

  it('Google Workspace: a service account key file, or a refresh token; client credentials alone are refused', async () => {
    const project = await makeProject();
    const { key } = makeServiceAccountKey('sender@liia.iam.gserviceaccount.com');
    await writeFile(path.join(project, 'key.json'), JSON.stringify(key));
    const url = 'smtp://newsletter%40example.org@smtp.gmail.com:587';
    const s = await smtpSettings(project, { SMTP_URL: url, SMTP_OAUTH2_SERVICE_ACCOUNT_FILE: 'key.json' });
    expect(s.provider).toBe('google-workspace');
    expect(s.oauth2?.tokens.settings).toMatchObject({
      scope: 'https://mail.google.com/',
      grant: { kind: 'service-account', clientEmail: 'sender@liia.iam.gserviceaccount.com' },
    });
    const creds = await refused({ SMTP_URL: url, SMTP_OAUTH2_CLIENT_ID: 'id', SMTP_OAUTH2_CLIENT_SECRET: 'secret' });
    expect(creds.message).toMatch(/service account .* or a refresh token/);
    const missing = await refused({ SMTP_URL: url, SMTP_OAUTH2_SERVICE_ACCOUNT_FILE: 'nowhere.json' });
    expect(missing.message).toMatch(/SMTP_OAUTH2_SERVICE_ACCOUNT_FILE \(nowhere\.json\) could not be read: there is no such file/);
    await writeFile(path.join(project, 'not-a-key.json'), '{"type":"authorized_user"}');
    const notKey = await rejection(smtpSettings(project, { SMTP_URL: url, SMTP_OAUTH2_SERVICE_ACCOUNT_FILE: 'not-a-key.json' }));
    expect(notKey.message).toMatch(/is not a service account's JSON key/);
    const half = await refused({ SMTP_URL: url, SMTP_OAUTH2_REFRESH_TOKEN: '1//x', SMTP_OAUTH2_CLIENT_ID: 'id' });
    expect(half.message).toMatch(/SMTP_OAUTH2_REFRESH_TOKEN is set, but not SMTP_OAUTH2_CLIENT_SECRET/);
  });

  it('a certificate file: certificate and key together, or which one is missing', async () => {
    const project = await makeProject();
    const cert = makeCertificate();
    await writeFile(path.join(project, 'both.pem'), cert.combinedPem);
    await writeFile(path.join(project, 'cert-only.pem'), cert.certificatePem);
    const env = { ...M365, SMTP_OAUTH2_CLIENT_SECRET: '' };
    const s = await smtpSettings(project, { ...env, SMTP_OAUTH2_CERTIFICATE_FILE: 'both.pem' });
    expect(s.oauth2?.tokens.settings.grant.kind).toBe('client-certificate');
    const e = await rejection(smtpSettings(project, { ...env, SMTP_OAUTH2_CERTIFICATE_FILE: 'cert-only.pem' }));
    expect(e.message).toMatch(/cert-only\.pem\) has no private key/);
    expect(e.hint).toContain('openssl pkcs12');
  });

  it('a generic server needs the token URL and scope spelled out', async () => {
    const e = await refused({ SMTP_URL: 'smtp://newsletter%40example.org@mail.example.org:587', SMTP_OAUTH2_CLIENT_ID: 'id', SMTP_OAUTH2_CLIENT_SECRET: 's' });
    expect(e.message).toMatch(/SMTP_OAUTH2_TOKEN_URL is not set/);
  });
});

describe('the token source', () => {
  it('one request however many connections ask at once; kept until near its end; a fresh one on demand', async () => {
    const ts = await startTokenServer();
    servers.push(ts);
    ts.addMicrosoftApp({ tenant: 't', clientId: 'c', secret: 's' });
    ts.setExpiresIn(3600);
    let clock = Date.now();
    const source = tokenSource(
      {
        grant: { kind: 'client-secret', clientId: 'c', secret: 's' },
        tokenUrl: ts.microsoftTokenUrl('t'),
        scope: 'https://outlook.office365.com/.default',
        user: 'u@example.org',
        provider: 'microsoft365',
      },
      () => clock,
    );
    const tokens = await Promise.all([source.token(), source.token(), source.token()]);
    expect(new Set(tokens).size).toBe(1);
    expect(ts.issued).toHaveLength(1);
    clock += 50 * 60_000; // 50 minutes: still more than five left
    expect(await source.token()).toBe(tokens[0]);
    clock += 6 * 60_000; // 56 minutes: within five of the end
    const renewed = await source.token();
    expect(renewed).not.toBe(tokens[0]);
    expect(await source.token(true)).not.toBe(renewed);
    expect(ts.issued).toHaveLength(3);
  });

  it('a token endpoint that is down: a clear error, and the next request tries again', async () => {
    const ts = await startTokenServer();
    servers.push(ts);
    ts.addMicrosoftApp({ tenant: 't', clientId: 'c', secret: 's' });
    ts.failNext(1, 503);
    const source = tokenSource({
      grant: { kind: 'client-secret', clientId: 'c', secret: 's' },
      tokenUrl: ts.microsoftTokenUrl('t'),
      scope: 'https://outlook.office365.com/.default',
      user: 'u@example.org',
      provider: 'microsoft365',
    });
    const e = await rejection(source.token());
    expect(e.code).toBe('EOAUTH2');
    expect(e.hint).toMatch(/try again in a few minutes/);
    expect(typeof (await source.token())).toBe('string');
  });
});
