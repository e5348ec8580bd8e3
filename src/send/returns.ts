/**
 * What comes back to the sender's mailbox, read and sorted (`build-issue inbox`):
 *
 * - hard bounce: a delivery status notification (RFC 3464, message/delivery-status) with a
 *   5.x.x status for a recipient, or one of the common bounces without it (qmail's, and
 *   others that quote an SMTP 5xx reply next to the address). 5.7.x (policy: the server
 *   refused the sender, not the address) counts as soft: it says nothing about the address.
 * - soft bounce: a 4.x.x status (mailbox full, delayed), or 5.7.x as above.
 * - complaint: an abuse report (ARF, RFC 5965: message/feedback-report).
 * - unsubscribe: a message to the unsubscribe address with a valid token in its subject (the
 *   List-Unsubscribe mailto), or asking to be removed from an address on the list.
 * - auto-reply: RFC 3834's Auto-Submitted (out of office and the like): ignored.
 * - other: left alone.
 *
 * The original message is found (the DSN's or ARF's returned headers, an In-Reply-To) to
 * tie a bounce to the send that caused it: our Message-IDs are <slug.hash.random@domain>.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { addressKey } from '../issue/email-address.js';
import { readUnsubscribeToken, type UnsubscribeKeys } from './unsubscribe-token.js';

export type ReturnKind = 'hard-bounce' | 'soft-bounce' | 'complaint' | 'unsubscribe' | 'auto-reply' | 'other';

export interface ClassifiedReturn {
  kind: ReturnKind;
  /** The addresses it concerns (address keys): bounced, complained, leaving. */
  addresses: string[];
  /** A bounce's enhanced status (5.1.1), when known. */
  status?: string;
  /** The returned message's own Message-ID, or a hash of it when it has none: what `inbox` remembers. */
  id: string;
  /** The issue whose copy came back (from the original Message-ID), when found. */
  issue?: string;
  /** One short line: why it was put in its kind. */
  why: string;
}

export interface ReturnContext {
  /** The unsubscribe address (config unsubscribe.mailto). */
  unsubscribeAddress: string;
  /** Our own addresses (sender, reply-to): never taken for a recipient. */
  ownAddresses: string[];
  keys?: UnsubscribeKeys;
  /** Whether an address (key) is on the circulation list, for unsubscribe requests without a token. */
  onList?: (key: string) => boolean;
}

interface Part {
  type: string;
  params: Record<string, string>;
  headers: string;
  body: string;
}

const ADDRESS = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+/g;

/** A header block's field (unfolded), or undefined. */
function field(headers: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r?\\n[ \\t].*)*)`, 'im').exec(headers);
  return m?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim();
}

function contentType(headers: string): { type: string; params: Record<string, string> } {
  const value = field(headers, 'content-type') ?? 'text/plain';
  const [type, ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const p of rest) {
    const m = /^\s*([\w-]+)\s*=\s*"?([^";]*)"?/.exec(p);
    if (m) params[m[1]!.toLowerCase()] = m[2]!;
  }
  return { type: type!.trim().toLowerCase(), params };
}

/** The body of a part, its transfer encoding undone (DSN and ARF parts are 7bit; the human parts may not be). */
function decode(headers: string, body: string): string {
  const enc = (field(headers, 'content-transfer-encoding') ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') return body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return body;
}

/** The parts of a multipart message (one level), or the message itself as one part. */
function parts(raw: string): { top: Part; children: Part[] } {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const ct = contentType(headers);
  const top: Part = { ...ct, headers, body };
  const boundary = ct.params.boundary;
  if (!ct.type.startsWith('multipart/') || !boundary) return { top, children: [] };
  const children: Part[] = [];
  const pieces = body.split(new RegExp(`^--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*\\r?$`, 'm')).slice(1, -1);
  for (const piece of pieces) {
    const p = piece.replace(/^\r?\n/, '');
    const s = p.search(/\r?\n\r?\n/);
    const h = s < 0 ? p : p.slice(0, s);
    const b = s < 0 ? '' : p.slice(s).replace(/^\r?\n\r?\n/, '');
    children.push({ ...contentType(h), headers: h, body: decode(h, b) });
  }
  return { top, children };
}

/** The per-recipient blocks of a message/delivery-status body: recipient, action, status. */
function deliveryStatus(body: string): { address: string; action: string; status: string; diagnostic?: string }[] {
  const blocks = body.split(/\r?\n[ \t]*\r?\n/).slice(1);
  const out: { address: string; action: string; status: string; diagnostic?: string }[] = [];
  for (const block of blocks) {
    const recipient = field(block, 'final-recipient') ?? field(block, 'original-recipient');
    const address = recipient?.split(';').pop()?.trim().replace(/^<|>$/g, '');
    if (!address?.includes('@')) continue;
    out.push({
      address,
      action: (field(block, 'action') ?? '').toLowerCase(),
      status: /\d\.\d{1,3}\.\d{1,3}/.exec(field(block, 'status') ?? '')?.[0] ?? '',
      diagnostic: field(block, 'diagnostic-code'),
    });
  }
  return out;
}

/** Our Message-IDs are <slug.hash12.random@domain>: the slug, from an original message's headers. */
function issueOf(headers: string | undefined): string | undefined {
  const id = headers && (field(headers, 'message-id') ?? field(headers, 'in-reply-to') ?? field(headers, 'references'));
  return id ? /<([a-z0-9][a-z0-9-]*)\.[0-9a-f]{12}\.[\w-]+@/.exec(id)?.[1] : undefined;
}

const isBounceStatus = (status: string) => /^[45]\./.test(status);
/** A hard bounce says the address is bad: 5.x.x but not 5.7.x (policy, the sender refused) nor 5.4.x (routing, for now). */
const isHard = (status: string) => status.startsWith('5.') && !/^5\.[47]\./.test(status);

/** Classify one returned message. */
export async function classifyReturn(raw: Buffer, ctx: ReturnContext): Promise<ClassifiedReturn> {
  const text = raw.toString('latin1');
  const { top, children } = parts(text);
  // Required when first needed (only inbox reads returned mail); the bundle leaves it in node_modules.
  const { simpleParser } = createRequire(import.meta.url)('mailparser') as typeof import('mailparser');
  const mail = await simpleParser(raw, { skipHtmlToText: false, skipTextToHtml: true, skipImageLinks: true });
  const id = mail.messageId ?? `sha256:${createHash('sha256').update(raw).digest('hex').slice(0, 32)}`;
  const own = new Set([ctx.unsubscribeAddress, ...ctx.ownAddresses].map(addressKey));
  const notOwn = (a: string) => !own.has(addressKey(a));
  const original = children.find((p) => p.type === 'text/rfc822-headers' || p.type === 'message/rfc822' || p.type === 'message/rfc822-headers');
  const issue = issueOf(original?.body) ?? issueOf(top.headers.replace(/^message-id:.*$/im, ''));

  // A complaint (ARF).
  const feedback = children.find((p) => p.type === 'message/feedback-report');
  if (feedback || (top.type === 'multipart/report' && top.params['report-type'] === 'feedback-report')) {
    const rcpt = feedback && field(feedback.body, 'original-rcpt-to');
    const fromOriginal = original && (field(original.body, 'to') ?? '');
    const addresses = [...new Set([...(rcpt?.match(ADDRESS) ?? []), ...(rcpt ? [] : (fromOriginal?.match(ADDRESS) ?? []))].filter(notOwn).map(addressKey))];
    return { kind: 'complaint', addresses, id, issue, why: `abuse report (${field(feedback?.body ?? '', 'feedback-type') ?? 'feedback-report'})` };
  }

  // A delivery status notification (RFC 3464).
  const dsn = children.find((p) => p.type === 'message/delivery-status' || p.type === 'message/global-delivery-status');
  if (dsn) {
    const failed = deliveryStatus(dsn.body).filter((r) => (r.action === 'failed' || r.action === 'delayed') && isBounceStatus(r.status) && notOwn(r.address));
    if (failed.length) {
      const hard = failed.filter((r) => r.action === 'failed' && isHard(r.status));
      const chosen = hard.length ? hard : failed;
      return {
        kind: hard.length ? 'hard-bounce' : 'soft-bounce',
        addresses: [...new Set(chosen.map((r) => addressKey(r.address)))],
        status: chosen[0]!.status,
        id,
        issue,
        why: `delivery status ${chosen[0]!.status}${chosen[0]!.diagnostic ? `: ${chosen[0]!.diagnostic.slice(0, 120)}` : ''}`,
      };
    }
    return { kind: 'other', addresses: [], id, issue, why: 'a delivery status notification with no failure in it' };
  }

  // The List-Unsubscribe mailto, with its token: before the auto-reply check, as mail clients mark
  // the mail they send for it as auto-submitted (Apple Mail: Auto-Submitted: auto-replied).
  const to = [...(Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((t) => t.value.map((v) => v.address ?? ''))];
  const toUnsubscribe = to.some((a) => addressKey(a) === addressKey(ctx.unsubscribeAddress));
  const token = toUnsubscribe ? /\bunsubscribe\s+([A-Za-z0-9_-]{40,600})\b/i.exec(mail.subject ?? '')?.[1] : undefined;
  const sealed = token && ctx.keys ? readUnsubscribeToken(ctx.keys, token) : undefined;
  if (sealed) return { kind: 'unsubscribe', addresses: [sealed], id, issue, why: 'the unsubscribe link (mailto) with a valid token' };
  const sender = mail.from?.value[0]?.address ?? '';
  if (token) {
    // A token that is not ours (made with an earlier secret, or cut short): the person still wants to leave.
    if (sender && ctx.onList?.(addressKey(sender)))
      return {
        kind: 'unsubscribe',
        addresses: [addressKey(sender)],
        id,
        issue,
        why: 'an unsubscribe mailto with a token that is not valid, from an address on the list',
      };
    return { kind: 'other', addresses: [], id, issue, why: 'an unsubscribe mailto with a token that is not valid: for a person to read' };
  }

  // Auto-replies (RFC 3834): out of office and the like. After the DSN and ARF checks, as those are auto-submitted too.
  const autoSubmitted = (field(top.headers, 'auto-submitted') ?? 'no').toLowerCase();
  const from = sender;
  const subject = mail.subject ?? '';
  const body = mail.text ?? '';
  const bounceSender = /^(mailer-daemon|postmaster|mail-daemon)@/i.test(from);
  const bounceSubject = /undeliver|delivery (status notification|failure|has failed)|returned mail|failure notice|mail delivery failed|non[- ]delivery/i.test(
    subject,
  );

  // Bounces without a delivery-status part: the address next to a permanent (5xx, #5.x.x) or temporary reason.
  if (bounceSender || (bounceSubject && autoSubmitted !== 'no')) {
    const cut = body.search(/^-+ ?(Below this line is a copy of the message|Original message|original message follows)/im);
    const report = cut >= 0 ? body.slice(0, cut) : body;
    const status = /#?([45]\.\d{1,3}\.\d{1,3})\b/.exec(report)?.[1] ?? (/\b([45])\d\d[ -]/.exec(report) ? `${/\b([45])\d\d[ -]/.exec(report)![1]}.0.0` : '');
    const addresses = [...new Set((report.match(ADDRESS) ?? []).filter((a) => notOwn(a) && addressKey(a) !== addressKey(from)).map(addressKey))];
    if (addresses.length && status)
      return {
        kind: isHard(status) ? 'hard-bounce' : 'soft-bounce',
        addresses,
        status,
        id,
        issue: issue ?? issueOf(cut >= 0 ? body.slice(cut) : undefined),
        why: `bounce without a delivery-status part, status ${status}`,
      };
  }
  if (autoSubmitted !== 'no' || field(top.headers, 'x-autoreply') || /^(automatic reply|auto[- ]?reply|out of (the )?office)\b/i.test(subject))
    return { kind: 'auto-reply', addresses: [], id, issue, why: `auto-reply (${autoSubmitted !== 'no' ? `Auto-Submitted: ${autoSubmitted}` : 'subject'})` };

  // Asked by hand, to the unsubscribe address: counts when it comes from an address on the list.
  if (toUnsubscribe) {
    const asks = /\b(unsubscribe|remove me|take me off|stop sending)\b/i.test(`${subject}\n${body.slice(0, 500)}`);
    if (asks && from && ctx.onList?.(addressKey(from)))
      return { kind: 'unsubscribe', addresses: [addressKey(from)], id, issue, why: 'asks to be removed, from an address on the list' };
    if (asks) return { kind: 'other', addresses: [], id, issue, why: 'asks to be removed, but from an address not on the list: for a person to read' };
  }
  return { kind: 'other', addresses: [], id, issue, why: 'not a bounce, complaint, unsubscribe or auto-reply' };
}
