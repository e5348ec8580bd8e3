/**
 * The unsubscribe endpoint (`build-issue unsubscribe-server`): plain node:http, as it does
 * three things and a framework would add more surface than it saves.
 *
 * - GET ?t=<token>: a page with one button. Nothing is unsubscribed on GET: mail scanners
 *   and link previewers follow links.
 * - POST ?t=<token> with the body List-Unsubscribe=One-Click (RFC 8058, what Gmail, Yahoo
 *   and Outlook.com send from their "Unsubscribe" button): unsubscribed at once. The page's
 *   button posts t=<token> and confirm=yes, which does the same.
 * - Anything else: 400 (malformed, a bad token), 405 (another method), 413 (a body over
 *   4 KB), 429 (more than `perMinute` requests a minute from one client).
 *
 * Tokens are checked in constant time (unsubscribe-token.ts). An unsubscribe is written to
 * the suppression file durably (suppression.ts: flushed, renamed into place) before the
 * answer goes, so a 200 means it is on disk. Every answer to a valid token is the same
 * whether the address was on the list, already unsubscribed, or never there; pages never show
 * the address. Nothing is logged but counts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { addSuppressions } from './suppression.js';
import { readUnsubscribeToken, type UnsubscribeKeys } from './unsubscribe-token.js';

export interface UnsubscribeServerOptions {
  keys: UnsubscribeKeys;
  suppressionFile: string;
  /** Who the pages say the list is from ("LIIA"). */
  listName: string;
  /** The address people may write to instead. */
  mailto: string;
  host?: string;
  port?: number;
  /** Requests a minute from one client before 429 (mail providers post one-clicks from few addresses: generous). @default 600 */
  perMinute?: number;
  /** Told of each unsubscribe, with no address: for the terminal. */
  onUnsubscribe?: (how: 'one-click' | 'page', added: boolean) => void;
}

export interface UnsubscribeServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 4096;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>${esc(title)}</title><style>body{font:18px/1.5 system-ui,sans-serif;max-width:34em;margin:3em auto;padding:0 1em;color:#1b1b1b}button{font:inherit;padding:.6em 1.4em;border:0;border-radius:4px;background:#1d4f91;color:#fff;cursor:pointer}button:focus{outline:3px solid #fd0;outline-offset:2px}</style></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

/** The client a request is from: the socket's address, or the last X-Forwarded-For hop when the socket is a proxy on this machine. */
function clientOf(req: IncomingMessage): string {
  const remote = req.socket.remoteAddress ?? '';
  const forwarded = req.headers['x-forwarded-for'];
  if (forwarded && /^(127\.|::1$|::ffff:127\.)/.test(remote)) {
    const hops = String(forwarded)
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    return hops[hops.length - 1] ?? remote;
  }
  return remote;
}

/** The body, up to MAX_BODY bytes: undefined when longer (the caller answers 413). */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > MAX_BODY) {
      req.resume();
      return resolve(undefined);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.destroy();
        resolve(undefined);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The form fields of a POST body: urlencoded, or the simple fields of multipart/form-data (RFC 8058 allows both). */
function formFields(contentType: string, body: string): Map<string, string> | undefined {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' || (type === '' && /^[\w.=&%+-]*$/.test(body))) return new Map(new URLSearchParams(body));
  if (type === 'multipart/form-data') {
    const fields = new Map<string, string>();
    for (const m of body.matchAll(/content-disposition:\s*form-data;\s*name="([^"]{1,100})"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([^\r\n]{0,1000})/gi))
      fields.set(m[1]!, m[2]!);
    return fields;
  }
  return undefined;
}

export async function startUnsubscribeServer(o: UnsubscribeServerOptions): Promise<UnsubscribeServer> {
  const perMinute = o.perMinute ?? 600;
  const seen = new Map<string, { windowStart: number; count: number }>();
  const write = (res: ServerResponse, status: number, title: string, body: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
      ...extra,
    });
    res.end(page(title, body));
  };
  const notValid = (res: ServerResponse) =>
    write(
      res,
      400,
      'This unsubscribe link is not valid',
      `<p>The link may have been cut short when it was copied. Use the Unsubscribe link at the foot of the email, or write to <a href="mailto:${esc(o.mailto)}?subject=Unsubscribe">${esc(o.mailto)}</a> and we will take you off the list.</p>`,
    );
  const done = (res: ServerResponse) =>
    write(
      res,
      200,
      'You are unsubscribed',
      `<p>You will get no more emails from ${esc(o.listName)}. If this was a mistake, write to <a href="mailto:${esc(o.mailto)}">${esc(o.mailto)}</a>.</p>`,
    );

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Rate: a fixed one-minute window per client, enough against a loop or a scanner.
    const client = clientOf(req);
    const now = Date.now();
    const slot = seen.get(client);
    if (!slot || now - slot.windowStart >= 60_000) seen.set(client, { windowStart: now, count: 1 });
    else if (++slot.count > perMinute) return write(res, 429, 'Too many requests', '<p>Please try again in a minute.</p>', { 'retry-after': '60' });
    if (seen.size > 10_000) for (const [k, v] of seen) if (now - v.windowStart >= 60_000) seen.delete(k);

    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://unsubscribe.invalid');
    } catch {
      return notValid(res);
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const token = url.searchParams.get('t');
      // The page itself, without a token (the footer link of an issue, for now): how to leave.
      if (token === null)
        return write(
          res,
          200,
          `Unsubscribe from ${o.listName}`,
          `<p>Use the <strong>Unsubscribe</strong> button your mail app shows next to the sender's name on one of our emails, or write to <a href="mailto:${esc(o.mailto)}?subject=Unsubscribe">${esc(o.mailto)}</a> with the subject "Unsubscribe" from the address you get them at.</p>`,
        );
      if (!readUnsubscribeToken(o.keys, token)) return notValid(res);
      return write(
        res,
        200,
        `Unsubscribe from ${o.listName}?`,
        `<p>Press the button to stop getting these emails.</p><form method="post"><input type="hidden" name="t" value="${esc(token)}"><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>`,
      );
    }
    if (req.method !== 'POST') return write(res, 405, 'Not allowed', '<p>Use the link in the email.</p>', { allow: 'GET, HEAD, POST' });
    const body = await readBody(req);
    if (body === undefined) return write(res, 413, 'Too large', '<p>That request was too large.</p>', { connection: 'close' });
    const fields = formFields(String(req.headers['content-type'] ?? ''), body);
    if (!fields) return notValid(res);
    const oneClick = fields.get('List-Unsubscribe') === 'One-Click';
    const confirmed = fields.get('confirm') === 'yes';
    if (!oneClick && !confirmed) return notValid(res);
    const address = readUnsubscribeToken(o.keys, url.searchParams.get('t') ?? fields.get('t') ?? '');
    if (!address) return notValid(res);
    const added = await addSuppressions(o.suppressionFile, [
      { email: address, reason: 'unsubscribed', date: new Date().toISOString(), source: oneClick ? 'one-click' : 'unsubscribe page' },
    ]);
    o.onUnsubscribe?.(oneClick ? 'one-click' : 'page', added.length > 0);
    return done(res);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The suppression file could not be written: say so, so the mail client (or the person) tries again.
      if (!res.headersSent)
        write(res, 503, 'Please try again later', '<p>Your request could not be recorded just now. Please try again in a few minutes.</p>', {
          'retry-after': '300',
        });
      else res.destroy();
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 8025, o.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    port,
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
