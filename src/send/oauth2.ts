/**
 * OAuth2 access tokens for SMTP's SASL XOAUTH2: Microsoft 365 (client credentials of an app
 * registration, with a client secret or a certificate) and Google Workspace (a service
 * account acting as the mailbox by domain-wide delegation, or a stored refresh token).
 *
 * A plain token request (fetch, an RS256 JWT signed with node:crypto) rather than the
 * identity providers' libraries: @azure/msal-node refuses a plain-http authority, so it cannot
 * be pointed at the tests' loopback token server without replacing its network layer, and
 * google-auth-library's current major needs Node 22 (docs/providers-research.md). Each grant
 * is one form POST; what the libraries would add (caching, refresh before expiry, one request
 * shared by every connection) is here in a hundred lines, and tested against a token server
 * that answers as Entra ID and Google do (test/token-server.ts).
 *
 * Tokens live in memory only: never printed, logged or written anywhere. The client secret and
 * private key are read from the environment or `.env` (smtp-settings.ts), never from the config.
 */
import { constants, createHash, createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { NewsletterError } from '../errors.js';

export type OAuth2Grant =
  /** Microsoft Entra ID (or any OAuth2 server): the app's own credentials, a secret... */
  | { kind: 'client-secret'; clientId: string; secret: string }
  /** ...or a certificate: a JWT client assertion signed with its private key. */
  | { kind: 'client-certificate'; clientId: string; key: KeyObject; thumbprintSha256: string }
  /** Google: a service account's JWT, acting as `user` (domain-wide delegation). */
  | { kind: 'service-account'; clientEmail: string; key: KeyObject; keyId?: string }
  /** Google (or any OAuth2 server): a stored refresh token of the mailbox. */
  | { kind: 'refresh-token'; clientId: string; secret: string; refreshToken: string };

export interface OAuth2Settings {
  grant: OAuth2Grant;
  tokenUrl: string;
  scope: string;
  /** The mailbox signing in (SMTP_URL's user): the XOAUTH2 user, and the service account's subject. */
  user: string;
  /** Which provider's words to use in errors. */
  provider: 'microsoft365' | 'google-workspace' | 'generic';
}

/** The access token source a send shares between its connections. */
export interface TokenSource {
  /** A token valid for a while yet; `fresh` asks for a new one (the server refused the last). */
  token(fresh?: boolean): Promise<string>;
  readonly settings: OAuth2Settings;
}

/** A token is renewed this long before it expires (or at half its life, for a short one). */
const RENEW_BEFORE_MS = 5 * 60_000;
/** An identity provider answers in well under a second; this is for a network that swallows the request. */
const REQUEST_TIMEOUT_MS = 20_000;

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * A JWT of `header` and `claims`, signed with `key`: RS256 (Google's service accounts), or
 * PS256, RSASSA-PSS with SHA-256 and a salt as long as the hash (Microsoft's certificate
 * credentials, as its identity platform documents them now, with the x5t#S256 thumbprint).
 */
export function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject, alg: 'RS256' | 'PS256' = 'RS256'): string {
  const body = `${base64url(JSON.stringify({ alg, typ: 'JWT', ...header }))}.${base64url(JSON.stringify(claims))}`;
  const signer = alg === 'PS256' ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key;
  return `${body}.${base64url(sign('sha256', Buffer.from(body), signer))}`;
}

/** The form fields of the token request for `s`. */
function requestBody(s: OAuth2Settings, nowS: number): URLSearchParams {
  const g = s.grant;
  switch (g.kind) {
    case 'client-secret':
      return new URLSearchParams({ grant_type: 'client_credentials', client_id: g.clientId, client_secret: g.secret, scope: s.scope });
    case 'client-certificate': {
      // Microsoft identity platform certificate credentials: aud is the token URL, iss = sub = the client id.
      const assertion = signJwt(
        { 'x5t#S256': g.thumbprintSha256 },
        { aud: s.tokenUrl, iss: g.clientId, sub: g.clientId, jti: randomUUID(), nbf: nowS, iat: nowS, exp: nowS + 600 },
        g.key,
        'PS256',
      );
      return new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: g.clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        scope: s.scope,
      });
    }
    case 'service-account': {
      const assertion = signJwt(
        g.keyId ? { kid: g.keyId } : {},
        { iss: g.clientEmail, sub: s.user, scope: s.scope, aud: s.tokenUrl, iat: nowS, exp: nowS + 3600 },
        g.key,
      );
      return new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    }
    case 'refresh-token':
      return new URLSearchParams({ grant_type: 'refresh_token', client_id: g.clientId, client_secret: g.secret, refresh_token: g.refreshToken });
  }
}

/** What the token endpoint said, in the user's terms: what to fix and where. */
function refusal(s: OAuth2Settings, status: number, body: { error?: string; error_description?: string; error_codes?: number[] }): NewsletterError {
  const g = s.grant;
  const aadsts = body.error_codes?.[0] ?? Number(/AADSTS(\d+)/.exec(body.error_description ?? '')?.[1] ?? Number.NaN);
  // The description's first line: Entra appends trace and correlation ids, useful only to Microsoft support.
  const said = (body.error_description ?? '').split(/\r?\n/)[0]!.trim();
  const quoted = `${body.error ?? `HTTP ${status}`}${said ? `: ${said}` : ''}`;
  const tenantFix = 'In the Microsoft Entra admin center, App registrations > your app > Overview';
  const byCode: Record<number, string> = {
    7000215: `SMTP_OAUTH2_CLIENT_SECRET is wrong: it must be the secret's Value (shown once, when it was made), not its Secret ID. ${tenantFix.replace('Overview', 'Certificates & secrets')}: make a new client secret and copy its Value.`,
    7000222: `The client secret has expired. ${tenantFix.replace('Overview', 'Certificates & secrets')}: make a new client secret and put its Value in SMTP_OAUTH2_CLIENT_SECRET.`,
    700016: `No app with this SMTP_OAUTH2_CLIENT_ID is registered in tenant SMTP_OAUTH2_TENANT. ${tenantFix}: copy the Application (client) ID and the Directory (tenant) ID.`,
    90002: `Tenant SMTP_OAUTH2_TENANT was not found. ${tenantFix}: copy the Directory (tenant) ID.`,
    900023: `SMTP_OAUTH2_TENANT is not a tenant id or domain. ${tenantFix}: copy the Directory (tenant) ID.`,
    1002012: 'The scope is not valid for a client credentials request: leave SMTP_OAUTH2_SCOPE unset (https://outlook.office365.com/.default).',
    70011: 'The scope is not valid: leave SMTP_OAUTH2_SCOPE unset (https://outlook.office365.com/.default).',
    7000112: `The app is disabled in this tenant. In the Microsoft Entra admin center, Enterprise applications > your app > Properties: set "Enabled for users to sign-in?" to Yes.`,
    700027: `The certificate's signature was not accepted: upload the certificate of SMTP_OAUTH2_CERTIFICATE_FILE in ${tenantFix.replace('Overview', 'Certificates & secrets > Certificates')}.`,
    7000274: 'The certificate in SMTP_OAUTH2_CERTIFICATE_FILE is not the one uploaded to the app registration (Certificates & secrets > Certificates).',
  };
  let fix = Number.isFinite(aadsts) ? byCode[aadsts] : undefined;
  if (!fix && g.kind === 'service-account') {
    if (body.error === 'unauthorized_client')
      fix = `The service account ${g.clientEmail} may not act for users with this scope. In the Google Admin console, Security > Access and data control > API controls > Manage domain-wide delegation: add its client ID with the scope ${s.scope}.`;
    else if (/user ?id|email/i.test(said))
      fix = `${s.user} (the user in SMTP_URL) is not a user of the Google Workspace domain the service account is delegated in.`;
    else if (body.error === 'invalid_grant')
      fix =
        'The service account key in SMTP_OAUTH2_SERVICE_ACCOUNT_FILE was refused (deleted or disabled?): make a new JSON key in the Google Cloud console, IAM & Admin > Service Accounts > Keys.';
  }
  if (!fix && g.kind === 'refresh-token' && body.error === 'invalid_grant')
    fix = 'The refresh token in SMTP_OAUTH2_REFRESH_TOKEN was revoked or has expired: sign in again to get a new one (docs/providers/google-workspace.md).';
  if (!fix && body.error === 'invalid_client')
    fix = 'Check SMTP_OAUTH2_CLIENT_ID and the secret or certificate (SMTP_OAUTH2_CLIENT_SECRET, SMTP_OAUTH2_CERTIFICATE_FILE).';
  if (!fix && body.error === 'invalid_scope') fix = `The scope ${s.scope} was refused: leave SMTP_OAUTH2_SCOPE unset to use the provider's.`;
  if (!fix && status >= 500) fix = 'The identity provider is having trouble: try again in a few minutes.';
  return new NewsletterError('EOAUTH2', `the sign-in token for ${s.user} was refused by ${new URL(s.tokenUrl).host} (${quoted})`, {
    hint: fix ?? 'Check the SMTP_OAUTH2_ settings against the provider page in docs/providers/.',
  });
}

/** One token request. Throws EOAUTH2 with the fix for a refusal, an unreachable endpoint or a malformed answer. */
export async function requestToken(s: OAuth2Settings, nowMs = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const where = new URL(s.tokenUrl).host;
  let res: Response;
  try {
    res = await fetch(s.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: requestBody(s, Math.floor(nowMs / 1000)),
      // A redirect would carry the secret somewhere else: a token endpoint never redirects.
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer in ${REQUEST_TIMEOUT_MS / 1000} s` : (e.cause?.code ?? e.message);
    throw new NewsletterError('EOAUTH2', `could not reach the token endpoint ${where} to sign in as ${s.user} (${why})`, {
      hint: 'Check the network (a proxy or firewall may block it) and SMTP_OAUTH2_TOKEN_URL if you set it; then try again.',
      cause: err,
    });
  }
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: an error page from a proxy, or not a token endpoint at all.
  }
  if (res.status >= 300 && res.status < 400)
    throw new NewsletterError('EOAUTH2', `the token endpoint ${where} answered with a redirect (HTTP ${res.status}): it is not a token endpoint`, {
      hint: "Leave SMTP_OAUTH2_TOKEN_URL unset to use the provider's, or give the endpoint itself.",
    });
  if (!res.ok) throw refusal(s, res.status, body as Parameters<typeof refusal>[2]);
  const token = body.access_token;
  const expiresIn = Number(body.expires_in);
  if (typeof token !== 'string' || token === '' || /[\s\u0001]/.test(token))
    throw new NewsletterError('EOAUTH2', `the token endpoint ${where} answered HTTP ${res.status} without an access token`, {
      hint: 'Check SMTP_OAUTH2_TOKEN_URL: it must be the OAuth2 token endpoint.',
    });
  // No expires_in: assume an hour (both providers' tokens last that long) rather than forever.
  return { token, expiresAt: nowMs + (Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 3600) * 1000 };
}

/**
 * A token source for a send: one request at a time however many connections ask, the token
 * kept until it nears its end (five minutes before, or half-way for a short-lived one), and a
 * new one on demand when the mail server refused the last.
 */
export function tokenSource(settings: OAuth2Settings, clock: () => number = Date.now): TokenSource {
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchNew = () => {
    pending ??= (async () => {
      try {
        const start = clock();
        const t = await requestToken(settings, start);
        const life = t.expiresAt - start;
        current = { token: t.token, renewAt: t.expiresAt - Math.min(RENEW_BEFORE_MS, life / 2) };
        return t.token;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  return {
    settings,
    token(fresh = false) {
      if (!fresh && current && clock() < current.renewAt) return Promise.resolve(current.token);
      if (fresh) current = undefined;
      return fetchNew();
    },
  };
}

/** The SASL XOAUTH2 initial response (base64 of user=...^Aauth=Bearer ...^A^A). */
export function xoauth2Response(user: string, token: string): string {
  return Buffer.from(`user=${user}\u0001auth=Bearer ${token}\u0001\u0001`).toString('base64');
}

/** A PEM file's private key and certificate thumbprints: SMTP_OAUTH2_CERTIFICATE_FILE. */
export function readCertificate(pem: string, shown: string): { key: KeyObject; thumbprintSha256: string } {
  const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const keyPem = /-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/.exec(pem)?.[0];
  const hint =
    'It must be one PEM file holding the certificate (uploaded to the app registration) and its private key, not encrypted. From a .pfx: openssl pkcs12 -in app.pfx -nodes -out app.pem';
  if (!certPem || !keyPem)
    throw new NewsletterError(
      'ESMTP_CONFIG',
      `${shown} has no ${certPem ? 'private key (-----BEGIN PRIVATE KEY-----)' : 'certificate (-----BEGIN CERTIFICATE-----)'}`,
      { hint },
    );
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) throw new Error("the private key is not the certificate's");
    return {
      key,
      thumbprintSha256: createHash('sha256').update(cert.raw).digest('base64url'),
    };
  } catch (err) {
    throw new NewsletterError('ESMTP_CONFIG', `${shown} could not be read as a certificate and its private key (${(err as Error).message})`, {
      hint,
      cause: err,
    });
  }
}
