/**
 * SMTP settings from the environment: SMTP_URL, from the process environment or
 * a .env file at the project root. Credentials live only here: never in an issue
 * file, never printed (messages show the form `redactUrl` builds from the parsed parts,
 * or nothing of the URL), never written to dist/ or the ledger.
 */
import { isIP } from 'node:net';
import { readEnv } from '../env-file.js';
import { NewsletterError } from '../errors.js';

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
  let user: string;
  let pass: string;
  try {
    user = decodeURIComponent(url.username);
    pass = decodeURIComponent(url.password);
  } catch {
    // URIError: a % not followed by two hex digits, or an encoding that is not UTF-8.
    return { problem: 'the user name or password holds a % that does not start a percent-encoding such as %40' };
  }
  if (user && !pass) return { problem: 'it has a user name but no password (is the colon between them missing?)' };
  if (pass && !user) return { problem: 'it has a password but no user name before it' };
  return { scheme, host: url.hostname, port: url.port, user, pass };
}

function defaultPort(scheme: string, loopback: boolean): number {
  return scheme === 'smtps' ? 465 : loopback ? 25 : 587;
}

/** The shown form, built from parsed parts only: scheme, user, ***, host, port. */
function showParts(p: Parts, port: number): string {
  const user = p.user ? `${SHOWABLE_USER.test(p.user) ? p.user : '***'}:***@` : '';
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
 */
export function parseSmtpUrl(raw: string, source?: string): SmtpSettings {
  const p = readUrl(raw.trim());
  if ('problem' in p) {
    throw new NewsletterError('ESMTP_CONFIG', `SMTP_URL${source ? ` (from ${source})` : ''} is not a URL of the form ${FORM}: ${p.problem}`, { hint: HINT });
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
    auth: p.user ? { user: p.user, pass: p.pass } : undefined,
    shown: showParts(p, port),
  };
}

/**
 * SMTP_URL from `env`, or from `<root>/.env` when the environment does not set it (see
 * readEnv: the file is read, never loaded into process.env, so nothing else sees it).
 * `env` may be the merged view readEnv returned: the file is then not read again, and the
 * message still says where SMTP_URL came from.
 */
export async function smtpSettings(root: string, env: NodeJS.ProcessEnv = process.env): Promise<SmtpSettings> {
  const view = await readEnv(root, env);
  const raw = view.env.SMTP_URL;
  if (!raw) {
    throw new NewsletterError('ESMTP_CONFIG', 'SMTP_URL is not set: there is no mail server to send through', {
      hint: 'Put SMTP_URL=smtps://user:password@smtp.example.org:465 in a .env file in the project folder (it is git-ignored), or set it in the environment.',
    });
  }
  return parseSmtpUrl(raw, view.sourceOf('SMTP_URL'));
}
