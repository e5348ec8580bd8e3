/**
 * A loopback OAuth2 token endpoint for tests (node:http on 127.0.0.1) that answers the
 * way Microsoft Entra ID (client credentials grant) and Google (service-account JWT
 * bearer grant, refresh token grant) do: same routes, same form fields, same JSON
 * success and error shapes (AADSTS codes, Google's error_description strings).
 *
 *   const ts = await startTokenServer();
 *   ts.addMicrosoftApp({ tenant: 'contoso.example.org', clientId: 'app-1', secret: 's3cret' });
 *   const res = await fetch(ts.microsoftTokenUrl('contoso.example.org'), { method: 'POST', body: new URLSearchParams({...}) });
 *   ts.isValid(accessToken, 'sender@example.org');
 *   await ts.close();
 *
 * Routes:
 * - POST /<tenant>/oauth2/v2.0/token  Entra ID v2 endpoint, grant_type=client_credentials with
 *   client_secret or a certificate client_assertion (RS256 JWT, x5t or x5t#S256 header).
 * - POST /token  Google: grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer (service
 *   account, domain-wide delegation via `sub`) or grant_type=refresh_token.
 * - Other paths 404, other methods on the token routes 405, non-form bodies 400 invalid_request.
 *
 * Clock: every expiry decision (JWT exp/nbf/iat, isValid) uses `ts.now()`, which is the
 * injected `now` (default Date.now) plus whatever `ts.advance(ms)` added, so tests move time
 * forward instead of waiting. Secrets and assertions are never recorded in `requests`.
 */
import { execFileSync } from 'node:child_process';
import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  randomUUID,
  sign,
  verify,
  X509Certificate,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** An Entra ID app registration (confidential client) in one tenant. */
export interface MicrosoftApp {
  /** Tenant id or domain as it appears in the token URL path. */
  tenant: string;
  /** Application (client) id. */
  clientId: string;
  /** Client secret value (not the secret id). */
  secret?: string;
  /** When true a correct secret is refused with AADSTS7000222 (expired). */
  secretExpired?: boolean;
  /** Registered certificate (PEM); enables client_assertion authentication. */
  certificatePem?: string;
  /** Mailboxes the app may send as (Exchange SendAs permission); undefined = any. Used by isValid(token, user). */
  mailboxes?: string[];
}

/** A Google service account with domain-wide delegation. */
export interface ServiceAccount {
  clientEmail: string;
  /** Public key (SPKI PEM) or certificate for the private key the account signs with. */
  publicKeyPem: string;
  /** If set, the JWT header `kid` must equal it (Google's private_key_id). */
  privateKeyId?: string;
  /** Scopes granted to this client in the Workspace admin console's domain-wide delegation. */
  delegatedScopes: string[];
  /** Users of the domain the account may impersonate (`sub`). */
  users: string[];
}

/** A Google OAuth client's refresh token for one user. */
export interface RefreshTokenGrant {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  user: string;
  /** Scope string returned with each access token (default https://mail.google.com/). */
  scope?: string;
}

/** One request to the server, without secrets or assertions. */
export interface TokenRequest {
  /** Server clock (ms) when the response was sent. */
  at: number;
  method: string;
  path: string;
  route: 'microsoft' | 'google' | 'other';
  tenant?: string;
  grantType?: string;
  /** client_id, or the JWT's iss for Google service accounts. */
  clientId?: string;
  scope?: string;
  /** Google: the JWT's sub (user to act as) or the refresh token's user. */
  sub?: string;
  status: number;
  /** OAuth `error` code of a failed request. */
  error?: string;
}

/** An access token the server handed out. */
export interface IssuedToken {
  token: string;
  provider: 'microsoft' | 'google';
  clientId: string;
  /** The user the token acts for (Google sub / refresh token user); undefined for Microsoft app-only tokens. */
  user?: string;
  scope: string;
  /** Server clock ms at which it stops being valid. */
  expiresAt: number;
  revoked: boolean;
}

/** A running token server. */
export interface TokenServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** The Entra ID v2 token URL for a tenant (also the `aud` a client assertion must carry). */
  microsoftTokenUrl(tenant: string): string;
  /** Google's token URL (also the `aud` of service-account JWTs and the key file's token_uri). */
  readonly googleTokenUrl: string;
  addMicrosoftApp(app: MicrosoftApp): void;
  addServiceAccount(account: ServiceAccount): void;
  addRefreshToken(grant: RefreshTokenGrant): void;
  /** Lifetime of tokens issued from now on (default 3599 s). */
  setExpiresIn(seconds: number): void;
  /** The next `n` POSTs get `status` (default 503) with an OAuth error body, before any other check. */
  failNext(n: number, status?: number): void;
  /** Revoke an access token or a refresh token. */
  revoke(token: string): void;
  /** Revoke every access token issued so far and (unless keepRefreshTokens) every refresh token. */
  revokeAll(options?: { keepRefreshTokens?: boolean }): void;
  /** The server's clock in epoch ms. */
  now(): number;
  /** Move the server's clock forward. */
  advance(ms: number): void;
  requests: TokenRequest[];
  issued: IssuedToken[];
  /** Issued here, not revoked, not expired by now(), and (if `user` given) usable for that user. */
  isValid(token: string, user?: string): boolean;
  /** Resolves once requests.length >= n (no deadline: rely on the test timeout). */
  waitForRequests(n: number): Promise<void>;
  close(): Promise<void>;
}

/** Options of startTokenServer. */
export interface TokenServerOptions {
  /** Base clock in epoch ms (default Date.now). */
  now?: () => number;
}

const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const GMAIL_SCOPE = 'https://mail.google.com/';
const MAX_BODY = 1024 * 1024;

interface Reply {
  status: number;
  body: Record<string, unknown>;
  error?: string;
}

interface Jwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: Buffer;
  signature: Buffer;
}

function parseJwt(value: string): Jwt | undefined {
  const parts = value.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as unknown;
    if (!header || typeof header !== 'object' || !claims || typeof claims !== 'object') return undefined;
    return {
      header: header as Record<string, unknown>,
      claims: claims as Record<string, unknown>,
      signingInput: Buffer.from(`${h}.${p}`),
      signature: Buffer.from(s, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/**
 * An RS256 signature, or (`pss`: Entra's client assertions) PS256 as Microsoft's certificate
 * credentials page now gives it: RSASSA-PSS with SHA-256, salt as long as the hash.
 */
function verifyRs256(jwt: Jwt, key: KeyObject, pss = false): boolean {
  try {
    if (jwt.header.alg === 'RS256') return verify('sha256', jwt.signingInput, key, jwt.signature);
    if (pss && jwt.header.alg === 'PS256')
      return verify('sha256', jwt.signingInput, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, jwt.signature);
    return false;
  } catch {
    return false;
  }
}

/** Sign a compact JWT with RS256 (what a real client does for Entra client assertions and Google service accounts). */
export function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, privateKeyPem: string): string {
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', ...header })).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const sig = sign('sha256', Buffer.from(`${h}.${p}`), privateKeyPem).toString('base64url');
  return `${h}.${p}.${sig}`;
}

/** base64url SHA-1 (x5t) and SHA-256 (x5t#S256) thumbprints of a PEM certificate's DER. */
export function certificateThumbprints(certificatePem: string): { x5t: string; x5tS256: string } {
  const der = new X509Certificate(certificatePem).raw;
  return { x5t: createHash('sha1').update(der).digest('base64url'), x5tS256: createHash('sha256').update(der).digest('base64url') };
}

/** A test credential: RSA key plus a real self-signed X.509 certificate (made with the openssl CLI). */
export interface TestCertificate {
  /** PKCS#8 PEM. */
  privateKeyPem: string;
  certificatePem: string;
  /** privateKeyPem + certificatePem, the single-file form some tools take. */
  combinedPem: string;
}

/** Make a self-signed RSA-2048 certificate (CN=newsletter-test.example.org). Needs `openssl` on PATH. */
export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(path.join(tmpdir(), 'token-server-cert-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=newsletter-test.example.org'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (err) {
      throw new Error(`token-server: makeCertificate() needs the openssl command line tool (node:crypto cannot create X.509 certificates): ${String(err)}`);
    }
    // openssl 3 writes PKCS#8 already; re-export so older versions (PKCS#1) give the same form
    const privateKeyPem = createPrivateKey(readFileSync(keyFile, 'utf8')).export({ type: 'pkcs8', format: 'pem' }).toString();
    const certificatePem = readFileSync(certFile, 'utf8');
    return { privateKeyPem, certificatePem, combinedPem: `${privateKeyPem.trimEnd()}\n${certificatePem}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The JSON key file Google issues for a service account. */
export interface ServiceAccountKeyFile {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
  auth_provider_x509_cert_url: string;
  client_x509_cert_url: string;
  universe_domain: string;
}

/** Make a service account key file (fresh RSA-2048 key) and the matching public key PEM. */
export function makeServiceAccountKey(clientEmail: string, options: { tokenUri?: string } = {}): { key: ServiceAccountKeyFile; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const domain = clientEmail.split('@')[1] ?? '';
  const key: ServiceAccountKeyFile = {
    type: 'service_account',
    project_id: domain.split('.')[0] || 'test-project',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: clientEmail,
    client_id: String(100_000_000_000_000_000_000n + BigInt(`0x${randomBytes(8).toString('hex')}`)),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: options.tokenUri ?? 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: 'googleapis.com',
  };
  return { key, publicKeyPem: publicKey };
}

/** Entra ID's timestamp format: "2026-12-03 03:20:02Z". */
function entraTimestamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Start the server on 127.0.0.1 (random port). */
export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const baseNow = options.now ?? Date.now;
  let offset = 0;
  const now = (): number => baseNow() + offset;

  let expiresIn = 3599;
  let failures: { left: number; status: number } = { left: 0, status: 503 };
  const apps = new Map<string, MicrosoftApp>(); // key tenant\0clientId
  const tenants = new Set<string>();
  const accounts = new Map<string, ServiceAccount & { key: KeyObject }>();
  const refreshTokens = new Map<string, RefreshTokenGrant & { revoked: boolean }>();
  const requests: TokenRequest[] = [];
  const issued: IssuedToken[] = [];
  const byToken = new Map<string, IssuedToken>();
  const waiters = new Set<() => void>();
  let base = '';

  const microsoftTokenUrl = (tenant: string): string => `${base}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
  const googleTokenUrl = (): string => `${base}/token`;

  const issue = (provider: IssuedToken['provider'], clientId: string, scope: string, user: string | undefined): IssuedToken => {
    const token = provider === 'google' ? `ya29.${randomBytes(48).toString('base64url')}` : `mst.${randomBytes(48).toString('base64url')}`;
    const t: IssuedToken = { token, provider, clientId, scope, expiresAt: now() + expiresIn * 1000, revoked: false };
    if (user !== undefined) t.user = user;
    issued.push(t);
    byToken.set(token, t);
    return t;
  };

  const entraError = (status: number, error: string, code: number, text: string): Reply => {
    const at = now();
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = entraTimestamp(at);
    return {
      status,
      error,
      body: {
        error,
        error_description: `AADSTS${code}: ${text}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `${base}/error?code=${code}`,
      },
    };
  };

  const googleError = (status: number, error: string, description: string): Reply => ({ status, error, body: { error, error_description: description } });

  const microsoft = (tenant: string, form: URLSearchParams, rec: TokenRequest): Reply => {
    const clientId = form.get('client_id') ?? undefined;
    const scope = form.get('scope') ?? undefined;
    const grantType = form.get('grant_type') ?? undefined;
    if (clientId !== undefined) rec.clientId = clientId;
    if (scope !== undefined) rec.scope = scope;
    if (grantType !== undefined) rec.grantType = grantType;

    if (!tenants.has(tenant.toLowerCase())) {
      return entraError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
      );
    }
    if (!grantType) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.");
    if (grantType !== 'client_credentials') {
      return entraError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grantType}'.`);
    }
    if (!clientId) return entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const app = apps.get(`${tenant.toLowerCase()}\0${clientId}`);
    if (!app) {
      return entraError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      );
    }

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      if (app.secret === undefined || secret !== app.secret) {
        return entraError(
          401,
          'invalid_client',
          7000215,
          `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
        );
      }
      if (app.secretExpired) {
        return entraError(
          401,
          'invalid_client',
          7000222,
          `The provided client secret keys for app '${clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`,
        );
      }
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION_TYPE) {
        return entraError(
          400,
          'invalid_request',
          50027,
          `Invalid client_assertion_type '${form.get('client_assertion_type') ?? ''}'. It must be '${JWT_BEARER_ASSERTION_TYPE}'.`,
        );
      }
      const jwt = parseJwt(assertion);
      if (!jwt) return entraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
      if (!app.certificatePem) {
        return entraError(401, 'invalid_client', 700027, 'Client assertion failed signature validation. [Reason - The key was not found.]');
      }
      const { x5t, x5tS256 } = certificateThumbprints(app.certificatePem);
      const sentX5t = jwt.header.x5t ?? jwt.header['x5t#S256'];
      if (jwt.header.x5t !== x5t && jwt.header['x5t#S256'] !== x5tS256) {
        return entraError(
          401,
          'invalid_client',
          700027,
          `Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${String(sentX5t ?? '')}']`,
        );
      }
      if (!verifyRs256(jwt, createPublicKey(app.certificatePem), true)) {
        return entraError(
          401,
          'invalid_client',
          700027,
          'Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]',
        );
      }
      const c = jwt.claims;
      if (c.iss !== clientId || c.sub !== clientId) {
        return entraError(401, 'invalid_client', 700021, `Client assertion application identifier doesn't match 'client_id' parameter.`);
      }
      if (c.aud !== microsoftTokenUrl(tenant)) {
        return entraError(401, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${String(c.aud)}'.`);
      }
      const sec = now() / 1000;
      if (typeof c.exp !== 'number' || c.exp <= sec || (typeof c.nbf === 'number' && c.nbf > sec + 300)) {
        return entraError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
      }
      if (typeof c.jti !== 'string' || !c.jti) return entraError(400, 'invalid_request', 50027, 'JWT token is invalid or malformed (no jti).');
    } else {
      return entraError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }

    if (!scope || !/^\S+\/\.default$/.test(scope)) {
      return entraError(
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope ?? ''} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const t = issue('microsoft', clientId, scope, undefined);
    return { status: 200, body: { token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: t.token } };
  };

  const google = (form: URLSearchParams, rec: TokenRequest): Reply => {
    const grantType = form.get('grant_type') ?? undefined;
    if (grantType !== undefined) rec.grantType = grantType;
    if (grantType === JWT_BEARER_GRANT) {
      const jwt = parseJwt(form.get('assertion') ?? '');
      if (!jwt) return googleError(400, 'invalid_grant', 'Invalid JWT Signature.');
      const c = jwt.claims;
      const iss = typeof c.iss === 'string' ? c.iss : '';
      const sub = typeof c.sub === 'string' ? c.sub : undefined;
      const scope = typeof c.scope === 'string' ? c.scope : '';
      rec.clientId = iss;
      if (sub !== undefined) rec.sub = sub;
      if (scope) rec.scope = scope;
      const account = accounts.get(iss.toLowerCase());
      if (!account) return googleError(400, 'invalid_grant', 'Invalid grant: account not found');
      if ((account.privateKeyId !== undefined && jwt.header.kid !== account.privateKeyId) || !verifyRs256(jwt, account.key)) {
        return googleError(400, 'invalid_grant', 'Invalid JWT Signature.');
      }
      const sec = now() / 1000;
      if (typeof c.iat !== 'number' || typeof c.exp !== 'number' || c.exp > c.iat + 3600 || c.exp <= sec || c.iat > sec + 300) {
        return googleError(
          400,
          'invalid_grant',
          'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.',
        );
      }
      if (c.aud !== googleTokenUrl()) return googleError(400, 'invalid_grant', 'Invalid JWT: Failed audience check.');
      const scopes = scope.split(/\s+/).filter(Boolean);
      if (!scopes.includes(GMAIL_SCOPE)) return googleError(400, 'invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
      const user = sub ?? iss;
      if (sub !== undefined && !account.users.some((u) => u.toLowerCase() === sub.toLowerCase())) {
        return googleError(400, 'invalid_grant', 'Invalid email or User ID');
      }
      if (!scopes.every((s) => account.delegatedScopes.includes(s))) {
        return googleError(
          401,
          'unauthorized_client',
          'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
        );
      }
      const t = issue('google', iss, scopes.join(' '), user);
      return { status: 200, body: { access_token: t.token, expires_in: expiresIn, token_type: 'Bearer' } };
    }
    if (grantType === 'refresh_token') {
      const clientId = form.get('client_id') ?? '';
      rec.clientId = clientId;
      const grants = [...refreshTokens.values()].filter((g) => g.clientId === clientId);
      if (!clientId || grants.length === 0) return googleError(401, 'invalid_client', 'The OAuth client was not found.');
      if (!grants.some((g) => g.clientSecret === form.get('client_secret'))) return googleError(401, 'invalid_client', 'Unauthorized');
      const grant = refreshTokens.get(form.get('refresh_token') ?? '');
      if (grant) rec.sub = grant.user;
      if (!grant || grant.revoked || grant.clientId !== clientId) return googleError(400, 'invalid_grant', 'Token has been expired or revoked.');
      const scope = grant.scope ?? GMAIL_SCOPE;
      rec.scope = scope;
      const t = issue('google', clientId, scope, grant.user);
      return { status: 200, body: { access_token: t.token, expires_in: expiresIn, scope, token_type: 'Bearer' } };
    }
    if (!grantType) return googleError(400, 'invalid_request', 'Missing required parameter: grant_type');
    return googleError(400, 'unsupported_grant_type', `Invalid grant_type: ${grantType}`);
  };

  const readBody = (req: IncomingMessage): Promise<string | undefined> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_BODY) chunks.push(c);
      });
      req.on('end', () => resolve(size > MAX_BODY ? undefined : Buffer.concat(chunks).toString('utf8')));
      req.on('error', () => resolve(undefined));
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const ms = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(pathname);
    const route: TokenRequest['route'] = ms ? 'microsoft' : pathname === '/token' ? 'google' : 'other';
    const rec: TokenRequest = { at: 0, method, path: pathname, route, status: 0 };
    const tenant = ms ? decodeURIComponent(ms[1]!) : undefined;
    if (tenant !== undefined) rec.tenant = tenant;
    const body = await readBody(req);

    let reply: Reply;
    if (route === 'other') {
      reply = { status: 404, error: 'not_found', body: { error: 'not_found', error_description: `No route for ${pathname}` } };
    } else if (method !== 'POST') {
      reply = {
        status: 405,
        error: 'invalid_request',
        body: { error: 'invalid_request', error_description: 'The token endpoint only accepts POST requests.' },
      };
      res.setHeader('Allow', 'POST');
    } else if (failures.left > 0) {
      failures.left--;
      const error = failures.status === 503 ? 'temporarily_unavailable' : 'server_error';
      reply = { status: failures.status, error, body: { error, error_description: `Injected failure (HTTP ${failures.status}).` } };
    } else if (body === undefined || !(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      reply =
        route === 'microsoft'
          ? entraError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.")
          : googleError(400, 'invalid_request', 'Request body must be application/x-www-form-urlencoded');
    } else {
      const form = new URLSearchParams(body);
      reply = route === 'microsoft' ? microsoft(tenant ?? '', form, rec) : google(form, rec);
    }

    rec.at = now();
    rec.status = reply.status;
    if (reply.error !== undefined) rec.error = reply.error;
    res.writeHead(reply.status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', Pragma: 'no-cache' });
    res.end(JSON.stringify(reply.body));
    requests.push(rec);
    for (const w of [...waiters]) w();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: 'server_error', error_description: String(err) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ts: TokenServer = {
    url: base,
    microsoftTokenUrl,
    googleTokenUrl: googleTokenUrl(),
    addMicrosoftApp(app) {
      tenants.add(app.tenant.toLowerCase());
      apps.set(`${app.tenant.toLowerCase()}\0${app.clientId}`, { ...app });
    },
    addServiceAccount(account) {
      accounts.set(account.clientEmail.toLowerCase(), { ...account, key: createPublicKey(account.publicKeyPem) });
    },
    addRefreshToken(grant) {
      refreshTokens.set(grant.refreshToken, { ...grant, revoked: false });
    },
    setExpiresIn(seconds) {
      expiresIn = seconds;
    },
    failNext(n, status = 503) {
      failures = { left: n, status };
    },
    revoke(token) {
      const t = byToken.get(token);
      if (t) t.revoked = true;
      const g = refreshTokens.get(token);
      if (g) g.revoked = true;
    },
    revokeAll(opts = {}) {
      for (const t of issued) t.revoked = true;
      if (!opts.keepRefreshTokens) for (const g of refreshTokens.values()) g.revoked = true;
    },
    now,
    advance(ms) {
      offset += ms;
    },
    requests,
    issued,
    isValid(token, user) {
      const t = byToken.get(token);
      if (!t || t.revoked || now() >= t.expiresAt) return false;
      if (user === undefined) return true;
      const want = user.toLowerCase();
      if (t.user !== undefined) return t.user.toLowerCase() === want;
      // Microsoft app-only token: any mailbox the app was granted (all when not restricted)
      const app = [...apps.values()].find((a) => a.clientId === t.clientId);
      return !app?.mailboxes || app.mailboxes.some((m) => m.toLowerCase() === want);
    },
    waitForRequests(n) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const check = (): void => {
          if (requests.length >= n) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
      });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
  return ts;
}
