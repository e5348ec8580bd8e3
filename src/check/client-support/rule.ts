/**
 * Check: client support. HTML and CSS features that caniemail.com's data marks as not
 * supported, only partly supported, or supported with a caveat its notes spell out
 * ("Buggy.", "Partial.", "Only supported in Safari"), in the email clients the config's
 * `audience` names: by default Outlook for Windows, Outlook.com, Gmail (webmail and
 * apps), Apple Mail (macOS and iOS), Yahoo Mail (webmail and apps) and Samsung Email
 * (caniemail.ts: DEFAULT_AUDIENCE). caniemail's note is quoted in the message.
 *
 * Why a baseline: every email built by our templates already relies on features some
 * of those clients ignore (<style> and @media for phones, border-radius on buttons,
 * MJML's reset CSS...). Those are deliberate, tested choices, and listing them on every
 * build would be noise nobody reads. So the rule is given the email our own templates
 * and config make for an empty issue (baseline-issue.ts: every section kind, every
 * optional part, the Markdown the schema documents) and reports only the features the
 * real email uses *beyond* it: a new template rule, a GIF or WebP image, Markdown that
 * produces an element the templates never make. Features are compared by caniemail's
 * feature slug.
 *
 * The rule does not render: whoever sets it up builds the baseline and hands it in
 * (check/extra-rules.ts, which renders it with render/ for the project's templates).
 */
import type { Config } from '../../config.js';
import type { Finding, Rule } from '../types.js';
import { DEFAULT_AUDIENCE, featureSupport, type ClientId, type ClientSupport, type EmailClient } from './caniemail.js';
import { detectCached, detectFeatures } from './detect.js';

export const RULE_ID = 'client-support';

export interface ClientSupportOptions {
  /**
   * The clients to report on, by id (the config's `audience`).
   * @default DEFAULT_AUDIENCE (caniemail.ts)
   */
  audience?: readonly ClientId[];
  /**
   * Also report features that are only partly supported (caniemail's "a"), or supported
   * with a caveat in caniemail's note (see CAVEAT_NOTE), when no client lacks them
   * entirely. On by default: past the baseline, a partial result usually is a real
   * degradation (a GIF's first frame only, max-width ignored), and caniemail's note,
   * quoted in the message, says which part.
   */
  partial?: boolean;
}

/**
 * A note that makes a "supported" result (caniemail's "y #1") worth reporting: it says
 * the support is buggy, partial or limited. Tuned on the notes of caniemail's "y"
 * results for the clients the config can name (2025-09 data): it catches "Buggy. ...",
 * "Partial. ...", "Only supported in Safari", "Works only the html/root element",
 * "`display:inline-flex` is not supported", "strips the tab character", and leaves out
 * the notes that only inform: "Works with prefix -webkit", "Supported on macOS 14
 * Sonoma", "Not live tested, only looked at processed code on Litmus", "supported, but
 * not confirmed whether it works according to spec", "Properties not supported by the
 * client are replaced by _filtered_a" (that is what @supports is for).
 */
export const CAVEAT_NOTE =
  /\b(?:buggy|bugs?|partial(?:ly)?|ignored|strips?|removed)\b|\bonly (?:supported|works?)\b|\bworks? only\b|^not supported\b|\b(?:is|are) not supported\b|\b(?:does not|doesn't|do not|don't) (?:support|work)\b/i;

const EXCERPT_MAX = 120;

/** A short excerpt of `html` at `offset`, starting at its tag or rule when that is close. */
export function excerptAt(html: string, offset: number, anchor = offset): string {
  // Far into a long tag or rule: keep the tag's name, then jump to the feature itself.
  const start = offset - anchor <= 50 ? anchor : offset;
  const lead = start > anchor ? `${/^<[\w-]+/.exec(html.slice(anchor, anchor + 40))?.[0] ?? ''} …` : '';
  const raw = html.slice(start, start + EXCERPT_MAX * 2).replace(/\s+/g, ' ');
  const room = EXCERPT_MAX - lead.length;
  return lead + (raw.length > room ? `${raw.slice(0, room - 1)}…` : raw);
}

/** "Gmail (webmail, iOS)" for clients of one family; families joined with commas and "and". */
function clientList(clients: readonly EmailClient[]): string {
  const families = new Map<string, string[]>();
  for (const c of clients) {
    const [family, platform] = /^(.*?) \((.*)\)$/.exec(c.name)?.slice(1) ?? [c.name, ''];
    const platforms = families.get(family!) ?? [];
    if (platform) platforms.push(platform);
    families.set(family!, platforms);
  }
  const names = [...families].map(([family, platforms]) => (platforms.length ? `${family} (${platforms.join(', ')})` : family));
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
}

/** Notes longer than this are shortened (the whole note is one click away, at the URL we give). */
const NOTE_MAX = 160;
/** At most this many notes are quoted; the notes that are the reason for the report come first. */
const NOTES_SHOWN = 3;
/** A note that only adds to a "not supported" verdict is quoted only when there is room for it, up to this many notes in all. */
const EXTRA_NOTES_SHOWN = 2;

/** caniemail's note, written for its site, on one line, without Markdown links or code marks. */
function plainNote(note: string): string {
  return note
    .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
    .replace(/`/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.$/, '');
}

/** `text` cut to NOTE_MAX characters, at a word when one is near, with an ellipsis. */
function shortened(text: string): string {
  if (text.length <= NOTE_MAX) return text;
  const cut = text.slice(0, NOTE_MAX - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > NOTE_MAX * 0.6 ? cut.slice(0, space) : cut).replace(/[\s,;:.]+$/, '')}…`;
}

/** A client's result that the rule reports, and the notes that are its reason. */
interface Reported {
  support: ClientSupport;
  /** not supported, partly supported, supported with a caveat (a "y" whose note says so). */
  verdict: 'none' | 'partial' | 'caveat';
  /** The notes the report rests on (every note of a partial result, the caveats of a "y"); quoted whatever their length. */
  reasons: string[];
}

/** What the rule reports of one client's result, if anything. */
function reported(support: ClientSupport, partial: boolean): Reported | undefined {
  const { level, notes } = support;
  if (level === 'n') return { support, verdict: 'none', reasons: [] };
  if (!partial) return undefined;
  if (level === 'a') return { support, verdict: 'partial', reasons: notes };
  const caveats = level === 'y' ? notes.filter((n) => CAVEAT_NOTE.test(plainNote(n))) : [];
  return caveats.length ? { support, verdict: 'caveat', reasons: caveats } : undefined;
}

/**
 * The notes to quote, each once with the clients it is about: every note that is a
 * reason for the report (shortened if long), then a "not supported" result's own notes
 * when short and there is room; at most NOTES_SHOWN, the rest counted.
 */
function quotedNotes(results: readonly Reported[]): string[] {
  const notes = new Map<string, { clients: EmailClient[]; reason: boolean }>();
  const add = (note: string, client: EmailClient, reason: boolean) => {
    const text = plainNote(note);
    if (!text) return;
    const entry = notes.get(text) ?? { clients: [], reason };
    entry.clients.push(client);
    entry.reason ||= reason;
    notes.set(text, entry);
  };
  for (const r of results) for (const n of r.reasons) add(n, r.support.client, true);
  for (const r of results) if (r.verdict === 'none') for (const n of r.support.notes) add(n, r.support.client, false);
  const reasons = [...notes].filter(([, e]) => e.reason);
  const extras = [...notes].filter(([text, e]) => !e.reason && text.length <= NOTE_MAX);
  const shown = [...reasons.slice(0, NOTES_SHOWN), ...extras.slice(0, Math.max(0, EXTRA_NOTES_SHOWN - reasons.length))];
  // Notes about the same clients go together: "Outlook (Windows): Partial: ... . Buggy: ...".
  const byClients = new Map<string, string[]>();
  for (const [text, e] of shown) {
    const who = clientList(e.clients);
    byClients.set(who, [...(byClients.get(who) ?? []), shortened(text)]);
  }
  const quoted = [...byClients].map(([who, texts]) => `${who}: ${texts.join('. ')}`);
  const more = reasons.length - NOTES_SHOWN;
  return more > 0 ? [...quoted, `${more} more at caniemail.com`] : quoted;
}

/**
 * Features `html` uses that caniemail marks unsupported, partly supported or supported
 * with a caveat (see `options.partial`) in the clients of `options.audience`, leaving
 * out every feature `baselineHtml` uses too (same caniemail slug): what our templates
 * already rely on is known and accepted. One warning per feature, at its first use,
 * in the order the email uses them, quoting caniemail's notes.
 */
export function clientSupportFindings(html: string, baselineHtml: string, options: ClientSupportOptions = {}): Finding[] {
  const partial = options.partial ?? true;
  const audience = options.audience ?? DEFAULT_AUDIENCE;
  const baseline = detectCached(baselineHtml);
  const uses = [...detectFeatures(html).values()].filter((u) => !baseline.has(u.slug)).sort((a, b) => a.offset - b.offset);
  const findings: Finding[] = [];
  for (const use of uses) {
    const support = featureSupport(use.slug, audience);
    if (!support) continue;
    const results = support.clients.flatMap((c) => reported(c, partial) ?? []);
    if (!results.length) continue;
    const clients = (verdict: Reported['verdict']) => clientList(results.filter((r) => r.verdict === verdict).map((r) => r.support.client));
    const none = clients('none');
    const some = clients('partial');
    const caveat = clients('caveat');
    const parts: string[] = [];
    if (none) parts.push(`not supported in ${none}`);
    if (some) parts.push(`${none ? 'only partly' : 'only partly supported'} in ${some}`);
    if (caveat) parts.push(`supported with a caveat in ${caveat}`);
    const notes = quotedNotes(results).join('; ');
    const url = `https://www.caniemail.com/features/${use.slug}/`;
    findings.push({
      rule: RULE_ID,
      severity: 'warning',
      message:
        `"${support.title.trim()}" is ${parts.join('; ')} (caniemail.com). ` +
        (notes ? `Notes: ${notes}${notes.endsWith('…') ? '' : '.'} ` : '') +
        `Our templates do not use it: check the email in those clients, or do without it. ${url}`,
      where: { excerpt: excerptAt(html, use.offset, use.anchor) },
    });
  }
  return findings;
}

export interface ClientSupportRuleOptions extends ClientSupportOptions {
  /**
   * The email our templates and config make for the baseline issue (baseline-issue.ts),
   * or how to get it for the build's config (ctx.config: brand, footer and social links
   * must match). check/extra-rules.ts passes one that renders and caches it.
   */
  baseline: string | ((config: Config) => string | Promise<string>);
}

/** The rule, given its baseline. It reports on the build's config's `audience` (else `options.audience`, else DEFAULT_AUDIENCE). */
export function makeClientSupportRule(options: ClientSupportRuleOptions): Rule {
  const { baseline } = options;
  return {
    id: RULE_ID,
    description:
      "HTML and CSS that the config's audience of email clients (default: Outlook for Windows, Outlook.com, Gmail, Apple Mail, Yahoo, Samsung Email) lacks, supports only in part or gets wrong, by caniemail.com's data and notes, beyond what our templates already use",
    async run(ctx) {
      const base = typeof baseline === 'string' ? baseline : await baseline(ctx.config);
      return clientSupportFindings(ctx.html, base, { ...options, audience: ctx.config.audience ?? options.audience });
    },
  };
}
