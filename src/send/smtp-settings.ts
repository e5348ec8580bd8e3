/**
 * SMTP settings from the environment: SMTP_URL, from the process environment or
 * a .env file at the project root. Credentials live only here: never in an issue
 * file, never printed (messages show the form `redactUrl` builds from the parsed parts,
 * or nothing of the URL), never written to dist/ or the ledger.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { OAUTH2_VARIABLES, readEnv, type EnvView } from '../env-file.js';
import { NewsletterError } from '../errors.js';
import { readCertificate, tokenSource, type OAuth2Grant, type OAuth2Settings, type TokenSource } from './oauth2.js';
import { PROVIDERS, providerOfHost, type ProviderId } from './providers.js';

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (smtps:, port 465). */
  secure: boolean;
  /** Refuse to send unless STARTTLS upgrades the connection (every non-loopback smtp: URL). */
  requireTLS: boolean;
  /** Plain text is allowed: loopback only (a local relay or a test server). */
  loopback: boolean;
  auth?: { user: string; pass: string };
  /** SMTP_URL's user when it has no password: the mailbox an OAuth2 token signs in as. */
  mailbox?: string;
  /** SASL XOAUTH2: the mailbox, and where its tokens come from (SMTP_OAUTH2_ variables). */
  oauth2?: { user: string; tokens: TokenSource };
  /** The provider whose token endpoint and limits apply: the config's, or the host's when it says generic. */
  provider: ProviderId;
  /** Things the user should know (a password sign-in Microsoft is turning off...), one sentence each. */
  notes: string[];
  /** The URL with the password replaced by ***: the only form ever shown. */
  shown: string;
}

/** The form SMTP_URL must have, as messages say it. */
const FORM = 'smtps://user:password@host:port';

const HINT =
  'Write it as smtps://user:password@smtp.example.org:465 (or smtp://127.0.0.1:2525 for a local test server). ' +
  'In the user name and password, write @ as %40, : as %3A, a slash as %2F, a question mark as %3F, # as %23, a space as %20 and % itself as %25.';

/** Schemes a message may name when SMTP_URL starts with one: anything else might be a user name or password. */
const KNOWN_SCHEMES = new Set([
  'http',
  'https',
  'ftp',
  'ftps',
  'mailto',
  'file',
  'ssh',
  'imap',
  'imaps',
  'pop',
  'pop3',
  'pop3s',
  'submission',
  'submissions',
  'ldap',
  'ldaps',
]);

/** A user name shown as it is: letters, digits and the punctuation of addresses and API keys. Anything else is shown as ***. */
const SHOWABLE_USER = /^[\p{L}\p{N}._+@=-]{1,100}$/u;

/** A host name (IDN letters allowed), an IPv4 address, or a bracketed IPv6 address. */
const HOST =
  /^(?:\[[\da-f:.]+\]|[\p{L}\p{N}_](?:[\p{L}\p{N}\p{M}_-]*[\p{L}\p{N}\p{M}_])?(?:\.[\p{L}\p{N}_](?:[\p{L}\p{N}\p{M}_-]*[\p{L}\p{N}\p{M}_])?)*\.?)$/iu;

interface Parts {
  scheme: 'smtp' | 'smtps';
  host: string;
  /** The port as written, or '' for the default. */
  port: string;
  user: string;
  pass: string;
}

/**
 * SMTP_URL read into its parts, or what is wrong with it, said without quoting any of
 * it: when a URL is malformed there is no telling its user name from its password, nor
 * its host from the end of a password, so nothing of it is repeated.
 *
 * The parts are WHATWG URL's, as they always were; the checks around it refuse what
 * would make URL split the password somewhere else, or show part of it as the host.
 */
function readUrl(text: string): Parts | { problem: string } {
  if (text === '') return { problem: 'it is empty' };
  // URL would silently drop a tab or line break; here it is a sign of a bad paste or a broken .env line.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(text)) return { problem: 'it holds a line break, tab or other control character: write it on one line' };
  const start = /^([a-z][a-z\d+.-]*):\/\//i.exec(text);
  if (!start) {
    const smtp = /^(smtps?)(:?)(\/?)/i.exec(text);
    if (smtp?.[2]) return { problem: `"${smtp[1]!.toLowerCase()}:" must be followed by two slashes` };
    if (smtp?.[3]) return { problem: `the colon after "${smtp[1]!.toLowerCase()}" is missing` };
    return { problem: 'it does not start with smtps:// or smtp://' };
  }
  const scheme = start[1]!.toLowerCase();
  if (scheme !== 'smtp' && scheme !== 'smtps') {
    return { problem: `it must start smtps:// or smtp://${KNOWN_SCHEMES.has(scheme) ? `, not ${scheme}://` : ''}` };
  }
  const rest = text.slice(start[0].length);
  // URL ends the user:password@host part at the first "/", "?" or "#": an "@" after one means
  // the password holds it, and URL would take part of the password for the host.
  const end = rest.search(/[/?#]/);
  if (end === 0) return { problem: 'there is no host after the // (one slash too many?)' };
  if (end >= 0 && rest.includes('@', end)) {
    return { problem: 'the user name or password holds a slash, question mark or # that is not percent-encoded' };
  }
  // Nothing is read after the port; something there is a mistake (or a password without its
  // user name and @), never to be shown as if it were part of the address.
  if (end >= 0 && rest.slice(end) !== '/') return { problem: 'there is more after the host and port (a path, "?" or "#"): it must end at the port' };
  const authority = end < 0 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf('@');
  const hostPort = authority.slice(at + 1);
  const hp = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  if (!hp || hp[1] === '') return { problem: at < 0 ? 'there is no host after the //' : 'there is no host after the @' };
  const port = hp[2] ?? '';
  if (port !== '' && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return { problem: 'the port (after the host and a colon) must be a number from 1 to 65535' };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'the host is not a valid host name (letters, digits, dots and hyphens) or [IPv6 address]' };
  }
  if (!url.hostname) return { problem: 'there is no host' };
  // URL takes almost anything as the host of an smtp: URL; a mail server's name is letters, digits,
  // hyphens and dots (underscores for a container's name), or an [IPv6] address. Anything else is
  // likely the end of a password holding an "@", with the host left out.
  if (!HOST.test(url.hostname)) return { problem: 'the host is not a valid host name (letters, digits, dots and hyphens) or [IPv6 address]' };
  const credentials = userinfo(url);
  if (!credentials) return { problem: 'the user name or password holds a % that does not start a percent-encoding such as %40' };
  const { user, pass } = credentials;
  if (pass && !user) return { problem: 'it has a password but no user name before it' };
  return { scheme, host: url.hostname, port: url.port, user, pass };
}

/** A URL's user name and password, percent-decoded; undefined when a % does not start a percent-encoding (or it is not UTF-8). */
export function userinfo(url: URL): { user: string; pass: string } | undefined {
  try {
    return { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
  } catch {
    return undefined;
  }
}

function defaultPort(scheme: string, loopback: boolean): number {
  return scheme === 'smtps' ? 465 : loopback ? 25 : 587;
}

/** The shown form, built from parsed parts only: scheme, user, ***, host, port. */
function showParts(p: Parts, port: number): string {
  // A user name with no password may be a password run into it (a missing colon): shown only
  // once OAuth2 is known to be set up (oauth2Settings), where the user is the mailbox.
  const user = p.user ? `${p.pass && SHOWABLE_USER.test(p.user) ? p.user : '***'}${p.pass ? ':***' : ''}@` : '';
  return `${p.scheme}://${user}${p.host}:${port}`;
}

/**
 * SMTP_URL as messages and logs may show it: built from its parsed parts, with the
 * password as ***; or, when it is not a URL of the form smtps://user:password@host:port,
 * a placeholder that repeats none of it.
 */
export function redactUrl(raw: string): string {
  const p = readUrl(raw.trim());
  if ('problem' in p) return `(SMTP_URL not shown: it is not of the form ${FORM})`;
  return showParts(p, p.port ? Number(p.port) : defaultPort(p.scheme, isLoopback(p.host)));
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * Parse an SMTP_URL. Throws ESMTP_CONFIG with what is wrong and how to fix it, quoting
 * none of the URL. `source` says where it came from ("the environment", ".env, line 3").
 * With `oauth2`, a user name without a password is the mailbox that signs in with a token.
 */
export function parseSmtpUrl(raw: string, source?: string, options: { oauth2?: boolean } = {}): SmtpSettings {
  const p = readUrl(raw.trim());
  const from = `SMTP_URL${source ? ` (from ${source})` : ''}`;
  if ('problem' in p) throw new NewsletterError('ESMTP_CONFIG', `${from} is not a URL of the form ${FORM}: ${p.problem}`, { hint: HINT });
  if (p.user && !p.pass && !options.oauth2) {
    throw new NewsletterError(
      'ESMTP_CONFIG',
      `${from} is not a URL of the form ${FORM}: it has a user name but no password (is the colon between them missing?)`,
      {
        hint: `${HINT} For an OAuth2 sign-in (Microsoft 365, Google Workspace), leave the password out and set SMTP_OAUTH2_CLIENT_ID and the rest (docs/providers/).`,
      },
    );
  }
  const secure = p.scheme === 'smtps';
  const loopback = isLoopback(p.host);
  const port = p.port ? Number(p.port) : defaultPort(p.scheme, loopback);
  return {
    host: p.host,
    port,
    secure,
    // Plain SMTP is allowed to this machine only; elsewhere STARTTLS must succeed or nothing is sent.
    requireTLS: !secure && !loopback,
    loopback,
    auth: p.user && p.pass ? { user: p.user, pass: p.pass } : undefined,
    shown: showParts(p, port),
    provider: 'generic',
    notes: [],
    ...(p.user && !p.pass ? { mailbox: p.user } : {}),
  };
}

/**
 * SMTP_URL and the SMTP_OAUTH2_ variables from `env`, or from `<root>/.env` when the
 * environment does not set them (see readEnv: the file is read, never loaded into
 * process.env, so nothing else sees it). `env` may be the merged view readEnv returned: the
 * file is then not read again, and the message still says where each came from.
 * `provider` is the config's send.provider: the OAuth2 endpoint, scope and limits.
 */
export async function smtpSettings(root: string, env: NodeJS.ProcessEnv = process.env, provider: ProviderId = 'generic'): Promise<SmtpSettings> {
  const view = await readEnv(root, env);
  const raw = view.env.SMTP_URL;
  if (!raw) {
    throw new NewsletterError('ESMTP_CONFIG', 'SMTP_URL is not set: there is no mail server to send through', {
      hint: 'Put SMTP_URL=smtps://user:password@smtp.example.org:465 in a .env file in the project folder (it is git-ignored), or set it in the environment.',
    });
  }
  const oauth2Vars = OAUTH2_VARIABLES.filter((name) => view.env[name]);
  const s = parseSmtpUrl(raw, view.sourceOf('SMTP_URL'), { oauth2: oauth2Vars.length > 0 });
  // The config names the provider; failing that, a well-known host does.
  s.provider = provider !== 'generic' ? provider : providerOfHost(s.host);
  const preset = PROVIDERS[s.provider];
  if (preset.host && s.host.toLowerCase() !== preset.host && !s.loopback)
    s.notes.push(`send.provider is ${s.provider}, whose server is ${preset.host}, but SMTP_URL names ${s.host}`);
  if (!oauth2Vars.length) {
    if (s.provider === 'microsoft365' && s.auth)
      s.notes.push(
        'Microsoft 365 turns off password sign-in (Basic authentication) for SMTP by default at the end of December 2026: set up OAuth2 (docs/providers/microsoft365.md)',
      );
    return s;
  }
  const where = (name: string) => `${name}${view.sourceOf(name) ? ` (from ${view.sourceOf(name)})` : ''}`;
  if (s.auth)
    throw new NewsletterError(
      'ESMTP_CONFIG',
      `SMTP_URL has a password, and ${oauth2Vars.map(where).join(', ')} ${oauth2Vars.length === 1 ? 'asks' : 'ask'} for an OAuth2 sign-in`,
      {
        hint: 'Use one: for OAuth2, write SMTP_URL with the mailbox and no password (smtp://newsletter%40example.org@smtp.office365.com:587); for a password, remove the SMTP_OAUTH2_ variables.',
      },
    );
  if (!s.mailbox)
    throw new NewsletterError(
      'ESMTP_CONFIG',
      `SMTP_URL names no mailbox, and ${oauth2Vars.map(where).join(', ')} ${oauth2Vars.length === 1 ? 'asks' : 'ask'} for an OAuth2 sign-in as one`,
      {
        hint: 'Write the mailbox to send as in SMTP_URL, with @ as %40 and no password: smtp://newsletter%40example.org@smtp.office365.com:587',
      },
    );
  const settings = await oauth2Settings(root, view, s.mailbox, s.provider);
  s.oauth2 = { user: s.mailbox, tokens: tokenSource(settings) };
  s.shown = `${s.secure ? 'smtps' : 'smtp'}://${SHOWABLE_USER.test(s.mailbox) ? s.mailbox : '***'}@${s.host}:${s.port} (OAuth2, ${PROVIDERS[s.provider].name})`;
  return s;
}

/** A file named by an SMTP_OAUTH2_ variable, relative to the project folder. */
async function readNamedFile(root: string, view: EnvView, name: string): Promise<{ text: string; shown: string }> {
  const value = view.env[name]!;
  const shown = `${name} (${value})`;
  try {
    return { text: await readFile(path.resolve(root, value), 'utf8'), shown };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new NewsletterError(
      'ESMTP_CONFIG',
      `${shown} could not be read: ${e.code === 'ENOENT' ? 'there is no such file' : e.code === 'EACCES' ? 'permission denied' : e.message}`,
      { hint: 'Give the path of the file (absolute, or from the project folder); keep it outside the project or git-ignored.', cause: err },
    );
  }
}

/** A token endpoint: https, or plain http to this machine only (a test server), like plain SMTP. */
function checkTokenUrl(url: string, name: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new NewsletterError('ESMTP_CONFIG', `${name} is not a URL`, {
      hint: "Write it as https://login.example.org/oauth2/token, or leave it unset for the provider's.",
    });
  }
  if (u.protocol === 'https:' || (u.protocol === 'http:' && isLoopback(u.hostname))) return u.href;
  throw new NewsletterError('ESMTP_CONFIG', `${name} must be an https: URL (plain http: only to this machine, for a test server)`, {
    hint: 'The token request carries the client secret: it must be encrypted.',
  });
}

/** The OAuth2 grant and endpoint the SMTP_OAUTH2_ variables describe, or what is missing from them. */
async function oauth2Settings(root: string, view: EnvView, user: string, provider: ProviderId): Promise<OAuth2Settings> {
  const v = (name: (typeof OAUTH2_VARIABLES)[number]) => view.env[name] || undefined;
  const preset = PROVIDERS[provider];
  const guide = provider === 'generic' ? 'docs/providers/' : `docs/providers/${provider}.md`;
  const missing = (what: string, hint: string) =>
    new NewsletterError('ESMTP_CONFIG', `the OAuth2 sign-in is incomplete: ${what}`, { hint: `${hint} See ${guide}.` });
  let grant: OAuth2Grant;
  let fileTokenUrl: string | undefined;
  const clientId = v('SMTP_OAUTH2_CLIENT_ID');
  const secret = v('SMTP_OAUTH2_CLIENT_SECRET');
  if (v('SMTP_OAUTH2_SERVICE_ACCOUNT_FILE')) {
    const file = await readNamedFile(root, view, 'SMTP_OAUTH2_SERVICE_ACCOUNT_FILE');
    let key: { type?: string; client_email?: string; private_key?: string; private_key_id?: string; token_uri?: string };
    try {
      key = JSON.parse(file.text);
    } catch {
      key = {};
    }
    if (key.type !== 'service_account' || !key.client_email || !key.private_key)
      throw new NewsletterError(
        'ESMTP_CONFIG',
        `${file.shown} is not a service account's JSON key (with "type": "service_account", client_email and private_key)`,
        {
          hint: 'In the Google Cloud console, IAM & Admin > Service Accounts > your account > Keys > Add key > JSON; give the path of the downloaded file.',
        },
      );
    let privateKey: ReturnType<typeof createPrivateKey>;
    try {
      privateKey = createPrivateKey(key.private_key);
    } catch (err) {
      throw new NewsletterError('ESMTP_CONFIG', `${file.shown}: its private_key could not be read (${(err as Error).message})`, {
        hint: 'Download a new JSON key: the file may have been edited or cut short.',
        cause: err,
      });
    }
    grant = { kind: 'service-account', clientEmail: key.client_email, key: privateKey, ...(key.private_key_id ? { keyId: key.private_key_id } : {}) };
    fileTokenUrl = key.token_uri;
  } else if (v('SMTP_OAUTH2_REFRESH_TOKEN')) {
    if (!clientId || !secret)
      throw missing(
        `SMTP_OAUTH2_REFRESH_TOKEN is set, but not ${[clientId ? '' : 'SMTP_OAUTH2_CLIENT_ID', secret ? '' : 'SMTP_OAUTH2_CLIENT_SECRET'].filter(Boolean).join(' and ')}`,
        'A refresh token is used with the OAuth client it was issued to: set its client ID and secret too.',
      );
    grant = { kind: 'refresh-token', clientId, secret, refreshToken: v('SMTP_OAUTH2_REFRESH_TOKEN')! };
  } else {
    if (provider === 'google-workspace')
      throw missing(
        'Google Workspace signs in with a service account (SMTP_OAUTH2_SERVICE_ACCOUNT_FILE) or a refresh token (SMTP_OAUTH2_REFRESH_TOKEN), and neither is set',
        'Google has no client-credentials sign-in for Gmail: use a service account with domain-wide delegation.',
      );
    if (!clientId) throw missing('SMTP_OAUTH2_CLIENT_ID is not set', "Set it to the app's Application (client) ID.");
    const certificate = v('SMTP_OAUTH2_CERTIFICATE_FILE');
    if (secret && certificate)
      throw missing(
        'both SMTP_OAUTH2_CLIENT_SECRET and SMTP_OAUTH2_CERTIFICATE_FILE are set',
        'Set one of them: the app signs in with a secret or with a certificate.',
      );
    if (certificate) {
      const file = await readNamedFile(root, view, 'SMTP_OAUTH2_CERTIFICATE_FILE');
      grant = { kind: 'client-certificate', clientId, ...readCertificate(file.text, file.shown) };
    } else if (secret) grant = { kind: 'client-secret', clientId, secret };
    else
      throw missing(
        'neither SMTP_OAUTH2_CLIENT_SECRET nor SMTP_OAUTH2_CERTIFICATE_FILE is set',
        "Set SMTP_OAUTH2_CLIENT_SECRET to the client secret's Value, or SMTP_OAUTH2_CERTIFICATE_FILE to a PEM file of the app's certificate and private key.",
      );
  }
  const tenant = v('SMTP_OAUTH2_TENANT');
  const override = v('SMTP_OAUTH2_TOKEN_URL');
  const tokenUrl = override ?? fileTokenUrl ?? preset.oauth2?.tokenUrl(tenant);
  if (!tokenUrl)
    throw provider === 'microsoft365'
      ? missing(
          'SMTP_OAUTH2_TENANT is not set',
          "Set it to the Directory (tenant) ID from the app registration's Overview page (or the tenant's domain, contoso.onmicrosoft.com).",
        )
      : missing(
          'SMTP_OAUTH2_TOKEN_URL is not set, and send.provider does not say whose sign-in this is',
          'Set send.provider in newsletter.config.yaml (microsoft365 or google-workspace), or SMTP_OAUTH2_TOKEN_URL and SMTP_OAUTH2_SCOPE for another provider.',
        );
  const scope = v('SMTP_OAUTH2_SCOPE') ?? preset.oauth2?.scope;
  if (!scope) throw missing('SMTP_OAUTH2_SCOPE is not set', "Set it to the scope your provider's documentation gives for SMTP.");
  return {
    grant,
    tokenUrl: checkTokenUrl(
      tokenUrl,
      override ? 'SMTP_OAUTH2_TOKEN_URL' : fileTokenUrl ? 'the token_uri in SMTP_OAUTH2_SERVICE_ACCOUNT_FILE' : 'the token URL',
    ),
    scope,
    user,
    provider,
  };
}
