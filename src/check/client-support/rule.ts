/**
 * Check: client support. HTML and CSS features that caniemail.com's data marks as
 * not supported (or only partly supported) in the clients most of our readers use:
 * Outlook for Windows, Gmail (webmail and apps), Apple Mail (macOS and iOS) and
 * Yahoo Mail (webmail and apps).
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
import { featureSupport, type ClientSupport, type EmailClient } from './caniemail.js';
import { detectCached, detectFeatures } from './detect.js';

export const RULE_ID = 'client-support';

export interface ClientSupportOptions {
  /**
   * Also report features that are only partly supported (caniemail's "a"), when no
   * client lacks them entirely. On by default: past the baseline, a partial result
   * usually is a real degradation (a GIF's first frame only, max-width ignored), and
   * caniemail's note, quoted in the message, says which part.
   */
  partial?: boolean;
}

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

/**
 * caniemail's notes are written for its site: keep the short ones (a long note is one
 * click away, at the URL we give), on one line, without Markdown links, each once with
 * the clients it is about.
 */
function shortNotes(support: readonly ClientSupport[]): string[] {
  const notes = new Map<string, EmailClient[]>();
  for (const s of support) {
    for (const n of s.notes) {
      const text = n
        .replace(/\[([^\]]+)\]\([^)]+\)/g, '$1')
        .replace(/`/g, '')
        .replace(/\s+/g, ' ')
        .trim()
        .replace(/\.$/, '');
      if (text && text.length <= 160) notes.set(text, [...(notes.get(text) ?? []), s.client]);
    }
  }
  return [...notes].slice(0, 2).map(([text, clients]) => `${clientList(clients)}: ${text}`);
}

/**
 * Features `html` uses that caniemail marks unsupported (or partly supported, see
 * `options.partial`) in Outlook for Windows, Gmail, Apple Mail or Yahoo, leaving out
 * every feature `baselineHtml` uses too (same caniemail slug): what our templates
 * already rely on is known and accepted. One warning per feature, at its first use,
 * in the order the email uses them.
 */
export function clientSupportFindings(html: string, baselineHtml: string, options: ClientSupportOptions = {}): Finding[] {
  const partial = options.partial ?? true;
  const baseline = detectCached(baselineHtml);
  const uses = [...detectFeatures(html).values()].filter((u) => !baseline.has(u.slug)).sort((a, b) => a.offset - b.offset);
  const findings: Finding[] = [];
  for (const use of uses) {
    const support = featureSupport(use.slug);
    if (!support) continue;
    const none = support.clients.filter((c) => c.level === 'n');
    const some = support.clients.filter((c) => c.level === 'a');
    if (!none.length && !(partial && some.length)) continue;
    const parts: string[] = [];
    if (none.length) parts.push(`not supported in ${clientList(none.map((c) => c.client))}`);
    if (some.length) parts.push(`${none.length ? 'only partly' : 'only partly supported'} in ${clientList(some.map((c) => c.client))}`);
    const notes = shortNotes([...none, ...some]);
    const url = `https://www.caniemail.com/features/${use.slug}/`;
    findings.push({
      rule: RULE_ID,
      severity: 'warning',
      message:
        `"${support.title.trim()}" is ${parts.join('; ')} (caniemail.com). ` +
        (notes.length ? `Notes: ${notes.join('; ')}. ` : '') +
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

/** The rule, given its baseline. */
export function makeClientSupportRule(options: ClientSupportRuleOptions): Rule {
  const { baseline } = options;
  return {
    id: RULE_ID,
    description: "HTML and CSS that Outlook, Gmail, Apple Mail or Yahoo do not support (caniemail.com's data), beyond what our templates already use",
    async run(ctx) {
      const base = typeof baseline === 'string' ? baseline : await baseline(ctx.config);
      return clientSupportFindings(ctx.html, base, options);
    },
  };
}
