/**
 * Pre-send check, online: does every link and image still answer?
 *
 * Only run on request (`check --links`): it needs the network, takes seconds, and its
 * result depends on other people's servers, so it must not make an ordinary build flaky.
 *
 * Uses Node's built-in fetch (undici) so the check adds no dependency.
 */
import { STATUS_CODES } from 'node:http';
import type { Finding, Severity, Where } from './types.js';

export interface LinkTarget {
  url: string;
  kind: 'link' | 'image';
  /** Passed through to every finding about this place. */
  where?: Where;
}

export interface CheckLinksOptions {
  /** Requests in flight at once; small so we never look like an attack to a council's firewall. @default 8 */
  concurrency?: number;
  /** Per request, until the headers arrive. @default 10000 */
  timeoutMs?: number;
  /** @default DEFAULT_USER_AGENT */
  userAgent?: string;
  /** For tests or a proxy-aware fetch. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Names the tool honestly, so a site owner who sees it in their logs knows what it is;
 * sites that block non-browser agents get a warning (403/999), not an error.
 */
export const DEFAULT_USER_AGENT = 'liia-newsletter-link-check/0.1 (pre-send link checker; +https://liia.london/)';

const RULE = 'links-online';
/** Browsers give up around 20 hops; past 5 the link is worth fixing anyway, and it bounds the work per URL. */
const MAX_HOPS = 5;
/** Sites that answer these to robots or to visitors without a login usually work for readers. */
const BLOCKED = new Set([401, 403, 429, 999]);

/** One request's answer, or why there was none. */
type Answer = { status: number; location?: string } | { error: string };

interface Hop {
  url: string;
  status: number;
  location: string;
}

/** What happened to one URL, from the first request to the last redirect. */
interface Outcome {
  /** Redirects followed, in order. */
  hops: Hop[];
  /** The URL that gave the final answer. */
  finalUrl: string;
  final: Answer;
  /** The chain ended at a non-web address (mailto:, a store app link...), which we cannot follow. */
  nonWeb?: boolean;
}

/**
 * Check links and images over HTTP and return findings for the ones that fail or redirect.
 *
 * Each distinct URL is fetched once (an issue often repeats the same link in a button and
 * a text link), and the result is reported at every place it is written, because each
 * place is a line the editor has to change.
 */
export async function checkLinksOnline(targets: LinkTarget[], opts: CheckLinksOptions = {}): Promise<Finding[]> {
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 8));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const headers = { 'user-agent': opts.userAgent ?? DEFAULT_USER_AGENT, accept: '*/*' };

  // Group by what is actually requested: the fragment never reaches the server.
  const groups = new Map<string, LinkTarget[]>();
  for (const t of targets) {
    const key = requestKey(t.url);
    if (key === undefined) continue;
    const list = groups.get(key);
    if (list) list.push(t);
    else groups.set(key, [t]);
  }

  const request = async (url: string, method: 'HEAD' | 'GET'): Promise<Answer> => {
    try {
      const res = await doFetch(url, { method, redirect: 'manual', headers, signal: AbortSignal.timeout(timeoutMs) });
      // We only need the status: drop the body so images and pages are not downloaded.
      await res.body?.cancel().catch(() => {});
      return { status: res.status, location: res.headers.get('location') ?? undefined };
    } catch (e) {
      return { error: describeNetworkError(e, timeoutMs) };
    }
  };

  /** HEAD is cheap, but many servers mishandle it; a GET is the reader's view, so it decides. */
  const ask = async (url: string): Promise<Answer> => {
    const head = await request(url, 'HEAD');
    if ('status' in head && head.status >= 400 && head.status !== 404 && head.status !== 410) return request(url, 'GET');
    return head;
  };

  const check = async (start: string): Promise<Outcome> => {
    const hops: Hop[] = [];
    let url = start;
    for (;;) {
      const answer = await ask(url);
      if ('error' in answer || answer.status < 300 || answer.status >= 400) return { hops, finalUrl: url, final: answer };
      if (!answer.location) {
        return { hops, finalUrl: url, final: { error: `it answers ${statusText(answer.status)} but does not say where to go (no Location header)` } };
      }
      let next: URL;
      try {
        next = new URL(answer.location, url);
      } catch {
        return { hops, finalUrl: url, final: { error: `it redirects to "${answer.location}", which is not a valid address` } };
      }
      next.hash = '';
      hops.push({ url, status: answer.status, location: next.href });
      if (hops.length > MAX_HOPS) return { hops, finalUrl: next.href, final: { error: `it redirects more than ${MAX_HOPS} times` } };
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return { hops, finalUrl: next.href, final: { status: 200 }, nonWeb: true };
      if (next.href === start || hops.some((h) => h.url === next.href)) {
        return { hops, finalUrl: next.href, final: { error: 'the redirects go round in a loop' } };
      }
      url = next.href;
    }
  };

  // A small worker pool rather than Promise.all: an issue can hold a hundred links and
  // we must not open a hundred sockets at once.
  const keys = [...groups.keys()];
  const outcomes = new Map<string, Outcome>();
  let nextIndex = 0;
  const worker = async () => {
    while (nextIndex < keys.length) {
      const key = keys[nextIndex++]!;
      outcomes.set(key, await check(key));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));

  const findings: Finding[] = [];
  for (const t of targets) {
    const key = requestKey(t.url);
    if (key === undefined) continue;
    const judged = judge(t, outcomes.get(key)!);
    if (judged) findings.push({ rule: RULE, severity: judged.severity, message: judged.message, ...(t.where ? { where: t.where } : {}) });
  }
  return findings;
}

/**
 * The URL to request, or undefined for what this check does not own: mailto: and
 * in-page #anchors cannot be fetched, and malformed or non-web addresses are the
 * offline link rule's business (it runs on every build).
 */
function requestKey(raw: string): string | undefined {
  const s = raw.trim();
  if (s === '' || s.startsWith('#') || /^mailto:/i.test(s)) return undefined;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  u.hash = '';
  return u.href;
}

function judge(t: LinkTarget, o: Outcome): { severity: Severity; message: string } | undefined {
  const what = t.kind === 'image' ? 'Image' : 'Link';
  const fix = t.kind === 'image' ? 'Fix the image address or upload the image again.' : 'Fix the address or remove the link.';
  const via = o.hops.length ? ` redirects (${redirectPath(o.hops)})` : '';
  const at = o.hops.length ? `, and ${o.finalUrl}` : '';

  if ('error' in o.final) {
    const reason = o.hops.length ? `${via}${at} cannot be reached: ${o.final.error}` : ` cannot be reached: ${o.final.error}`;
    return { severity: 'error', message: `${what} ${t.url}${reason}. ${fix}` };
  }
  const status = o.final.status;
  if (status >= 400) {
    if (BLOCKED.has(status)) {
      return {
        severity: 'warning',
        message: `${what} ${t.url}${via}${at} answers ${statusText(status)}: the site ${blockedWhy(status)}, so the checker cannot tell whether it works. Open it in a browser to confirm readers can see it.`,
      };
    }
    return { severity: 'error', message: `${what} ${t.url}${via}${at} answers ${statusText(status)}. ${fix}` };
  }
  if (o.nonWeb) {
    return {
      severity: 'warning',
      message: `${what} ${t.url} redirects (${redirectPath(o.hops)}), which is not a web address the checker can follow. Link to ${o.finalUrl} directly if that is intended.`,
    };
  }
  if (o.hops.length) {
    return {
      severity: 'warning',
      message: `${what} ${t.url} redirects (${redirectPath(o.hops)}), and ${o.finalUrl} answers ${statusText(status)}. Use ${o.finalUrl} instead: redirects can break or change without notice, and some spam filters distrust them.`,
    };
  }
  return undefined;
}

/** "301 to https://b, then 302 to https://c": every hop, because a chain is often the clue (http->https->new site). */
function redirectPath(hops: Hop[]): string {
  return hops.map((h, i) => `${i ? 'then ' : ''}${h.status} to ${h.location}`).join(', ');
}

function statusText(status: number): string {
  if (status === 999) return '999 (request denied)';
  const text = STATUS_CODES[status];
  return text ? `${status} ${text}` : String(status);
}

function blockedWhy(status: number): string {
  if (status === 401) return 'asks for a login';
  if (status === 429) return 'is limiting how often it can be visited';
  return 'refuses automated visitors';
}

/**
 * Plain words for fetch's failures. undici throws `TypeError: fetch failed` and hides the
 * useful part in `cause` (an errno code, sometimes inside an AggregateError when several
 * addresses were tried); a timeout is a DOMException named TimeoutError.
 */
export function describeNetworkError(e: unknown, timeoutMs: number): string {
  const err = e as { name?: string; message?: string; cause?: unknown };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `it did not answer within ${formatSeconds(timeoutMs)}`;
  const cause = (err?.cause ?? err) as { code?: string; message?: string; errors?: { code?: string }[]; name?: string };
  const code = cause?.code ?? cause?.errors?.find((x) => x?.code)?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'the connection was refused (nothing answers at that address; the site may be down)';
    case 'ENOTFOUND':
      return 'the domain name does not exist (check the spelling)';
    case 'EAI_AGAIN':
      return 'the domain name could not be looked up (DNS failure; check your connection)';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'the server closed the connection without answering';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'it did not answer in time';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'the server cannot be reached from this network';
    case 'CERT_HAS_EXPIRED':
      return "the site's security certificate has expired (readers will see a warning)";
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return "the site's security certificate is for a different name (readers will see a warning)";
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return "the site's security certificate is not trusted (readers will see a warning)";
  }
  if (typeof code === 'string' && /^(ERR_SSL|ERR_TLS|EPROTO)/.test(code)) return `the secure connection failed (${code})`;
  const detail = cause?.message ?? err?.message ?? String(e);
  return detail === 'bad port' ? 'browsers refuse to open that port' : `the request failed (${detail})`;
}

const formatSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);
