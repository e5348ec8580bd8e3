/**
 * The message as sent: a text/plain part next to the HTML, one From address, and
 * in both parts the two things the law and the inbox providers ask of a bulk
 * email: a way to unsubscribe and the sender's postal address.
 *
 * The .eml is our own nodemailer output, so a small reader of its MIME headers is
 * enough here (mailparser, used in the tests, costs ~90 ms to load on every build).
 */
import { excerpt } from './rules-links.js';
import type { CheckContext, Finding, Rule } from './types.js';

/** Header name (lower case) -> unfolded value, for the top of a MIME entity. */
export function readHeaders(entity: string): Map<string, string> {
  const end = entity.search(/\r?\n\r?\n/);
  const head = (end < 0 ? entity : entity.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return headers;
}

/** The content types of every part, depth first ("multipart/alternative", "text/plain", "text/html"). */
export function partTypes(eml: string): string[] {
  const types: string[] = [];
  const walk = (entity: string) => {
    const type = readHeaders(entity).get('content-type') ?? 'text/plain';
    types.push(type.split(';')[0]!.trim().toLowerCase());
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (!boundary) return;
    const parts = entity.split(`--${boundary}`).slice(1);
    for (const part of parts) if (!part.startsWith('--')) walk(part.replace(/^\r?\n/, ''));
  };
  walk(eml);
  return types;
}

/** Addresses in a header value: commas outside quotes and angle brackets. */
function countAddresses(value: string): number {
  let depth = 0;
  let quoted = false;
  let count = value.trim() ? 1 : 0;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') depth++;
    else if (!quoted && ch === '>') depth--;
    else if (!quoted && depth === 0 && ch === ',') count++;
  }
  return count;
}

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'");
const flat = (s: string) => decode(s).replace(/\s+/g, ' ');

export const messageRule: Rule = {
  id: 'message',
  description: 'a plain-text part, one From address, an unsubscribe route and the postal address',
  run(ctx: CheckContext): Finding[] {
    const f: Finding[] = [];
    const eml = ctx.eml.toString('utf8');
    const headers = readHeaders(eml);
    const types = partTypes(eml);
    if (!types.includes('text/plain'))
      f.push({
        rule: 'message',
        severity: 'error',
        message: 'the message has no text/plain part: some recipients and spam filters need one',
        where: { excerpt: `email.eml: ${types.join(', ')}` },
      });
    if (!types.includes('text/html'))
      f.push({ rule: 'message', severity: 'error', message: 'the message has no text/html part', where: { excerpt: `email.eml: ${types.join(', ')}` } });
    const from = headers.get('from') ?? '';
    if (countAddresses(from) !== 1)
      f.push({
        rule: 'message',
        severity: 'error',
        message: `From must be exactly one address, not "${from}": set sender in newsletter.config.yaml`,
        where: { file: 'newsletter.config.yaml', path: 'sender' },
      });

    const { unsubscribe, postalAddress } = ctx.config;
    const html = flat(ctx.html);
    const text = flat(ctx.text);
    const routes = [unsubscribe.mailto, unsubscribe.url].filter((r): r is string => Boolean(r));
    for (const [part, body] of [
      ['HTML', html],
      ['plain text', text],
    ] as const) {
      if (!routes.some((r) => body.includes(r)) || !/unsubscribe/i.test(body)) {
        f.push({
          rule: 'message',
          severity: 'error',
          message: `the ${part} has no unsubscribe route (${routes.join(' or ')}): the footer must say how to leave the list`,
          where: { file: 'newsletter.config.yaml', path: 'unsubscribe' },
        });
      }
      if (!body.includes(flat(postalAddress))) {
        f.push({
          rule: 'message',
          severity: 'error',
          message: `the ${part} does not show the sender's postal address ("${postalAddress}")`,
          where: { file: 'newsletter.config.yaml', path: 'postalAddress' },
        });
      }
    }
    if (f.length === 0 && !/^<[^<>@\s]+@[^<>@\s]+>$/.test(headers.get('message-id') ?? '')) {
      f.push({ rule: 'message', severity: 'error', message: 'the message has no valid Message-ID', where: { excerpt: excerpt(eml, 0) } });
    }
    return f;
  },
};
