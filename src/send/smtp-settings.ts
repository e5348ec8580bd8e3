/**
 * SMTP settings from the environment: SMTP_URL, from the process environment or
 * a .env file at the project root. Credentials live only here: never in an issue
 * file, never printed (see `redactUrl`), never written to dist/ or the ledger.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { parseEnv } from 'node:util';
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

/** The URL with any password replaced by ***, for messages and logs. */
export function redactUrl(raw: string): string {
  return raw.replace(/^([a-z]+:\/\/[^:/@\s]*:)[^@\s]*@/i, '$1***@');
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Parse an SMTP_URL. Throws ESMTP_CONFIG with what is wrong and how to fix it. */
export function parseSmtpUrl(raw: string): SmtpSettings {
  const shown = redactUrl(raw.trim());
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new NewsletterError('ESMTP_CONFIG', `SMTP_URL is not a URL: ${shown}`, {
      hint: 'Write it as smtps://user:password@smtp.example.org:465 (or smtp://127.0.0.1:2525 for a local test server).',
    });
  }
  const scheme = url.protocol.replace(/:$/, '').toLowerCase();
  if (scheme !== 'smtp' && scheme !== 'smtps') {
    throw new NewsletterError('ESMTP_CONFIG', `SMTP_URL must start smtps:// or smtp://, not ${scheme}:// (${shown})`);
  }
  const host = url.hostname;
  if (!host) throw new NewsletterError('ESMTP_CONFIG', `SMTP_URL has no host: ${shown}`);
  const secure = scheme === 'smtps';
  const loopback = isLoopback(host);
  const port = url.port ? Number(url.port) : secure ? 465 : loopback ? 25 : 587;
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  return {
    host,
    port,
    secure,
    // Plain SMTP is allowed to this machine only; elsewhere STARTTLS must succeed or nothing is sent.
    requireTLS: !secure && !loopback,
    loopback,
    auth: user ? { user, pass } : undefined,
    shown,
  };
}

/**
 * SMTP_URL from `env`, or from `<root>/.env` when the environment does not set it.
 * The .env file is read, never loaded into process.env, so nothing else sees it.
 */
export async function smtpSettings(root: string, env: NodeJS.ProcessEnv = process.env): Promise<SmtpSettings> {
  let raw = env.SMTP_URL;
  let from = 'the environment';
  if (!raw) {
    const file = path.join(root, '.env');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      raw = parseEnv(text).SMTP_URL;
      from = '.env';
    }
  }
  if (!raw) {
    throw new NewsletterError('ESMTP_CONFIG', 'SMTP_URL is not set: there is no mail server to send through', {
      hint: 'Put SMTP_URL=smtps://user:password@smtp.example.org:465 in a .env file in the project folder (it is git-ignored), or set it in the environment.',
    });
  }
  try {
    return parseSmtpUrl(raw);
  } catch (err) {
    if (err instanceof NewsletterError) throw new NewsletterError(err.code, `${err.message} (from ${from})`, { hint: err.hint, cause: err });
    throw err;
  }
}
