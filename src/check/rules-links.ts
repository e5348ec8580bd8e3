/**
 * Links: every link must work in every client and say where it goes.
 *  - "links": only absolute https: and mailto: (http: warns); "#", "", leftover
 *    {{...}}, relative links, #anchors that no section has, and bad mailto: are errors.
 *  - "link-text": link text that says nothing out of context ("click here", "here",
 *    "read more") or shows one address while going to another domain warns.
 * Both read the issue's link inventory, so each finding points at the YAML line.
 */
import { parseAddress } from '../issue/email-address.js';
import { safeDecode } from '../issue/markdown-links.js';
import { hostOf } from '../render/markdown.js';
import { anchorHrefs, campaignParam, configLinks, excluded, untrackedByDesign } from '../render/track-links.js';
import { inventory, type LinkEntry } from '../issue/inventory.js';
import type { CheckContext, Finding, Rule } from './types.js';

const VAGUE = new Set(['click here', 'here', 'read more', 'more', 'click', 'link', 'this', 'this link', 'learn more', 'more info', 'find out more', 'go']);

function linkProblem(l: LinkEntry, ids: Set<string>): { severity: 'error' | 'warning'; message: string } | undefined {
  const href = l.href.trim();
  const what = l.text.trim() ? `${l.kind === 'text' ? 'link' : l.kind} "${l.text}"` : `a ${l.kind === 'text' ? 'link' : l.kind} with no words`;
  if (href === '') return { severity: 'error', message: `${what} has no address: give it the https:// address of the page it should open` };
  if (href === '#') return { severity: 'error', message: `${what} goes to "#", a placeholder: replace it with the page's https:// address` };
  if (/\{\{|\}\}|%7B%7B/i.test(href)) return { severity: 'error', message: `${what} goes to "${href}", a template placeholder that was never filled in` };
  if (href.startsWith('#')) {
    return ids.has(href.slice(1))
      ? undefined
      : {
          severity: 'error',
          message: `${what} goes to "${href}", but no section of this issue has the id "${href.slice(1)}": use one of ${[...ids].map((i) => `#${i}`).join(', ')}`,
        };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(href)?.[1]?.toLowerCase();
  if (scheme === 'https') {
    try {
      new URL(href);
      return undefined;
    } catch {
      return { severity: 'error', message: `${what} goes to "${href}", which is not a valid address` };
    }
  }
  if (scheme === 'mailto') {
    // The same address rule as lists, config and invites: every address before the "?", percent-decoded.
    const addresses = href.slice('mailto:'.length).split('?')[0]!;
    const refused = addresses
      .split(',')
      .map((a) => parseAddress(safeDecode(a)))
      .find((r) => !r.ok);
    if (!addresses) return { severity: 'error', message: `${what} goes to "${href}", which names no email address` };
    return refused && !refused.ok
      ? { severity: 'error', message: `${what} goes to "${href}", which is not a valid email address: ${refused.reason}` }
      : undefined;
  }
  if (scheme === 'http')
    return {
      severity: 'warning',
      message: `${what} goes to "${href}" over plain http: use https:// (most sites redirect, but some clients warn about http links)`,
    };
  if (scheme) return { severity: 'error', message: `${what} goes to "${href}": only https:// and mailto: links can go in an email` };
  return { severity: 'error', message: `${what} goes to "${href}", which is not an absolute address: write it in full, starting https://` };
}

export const linksRule: Rule = {
  id: 'links',
  description: 'every link is an absolute https: or mailto: address, with no placeholders left',
  run(ctx: CheckContext): Finding[] {
    const ids = htmlIds(ctx.html);
    const findings: Finding[] = [];
    const { links } = inventory(ctx);
    for (const l of links) {
      const p = linkProblem(l, ids);
      if (p) findings.push({ rule: 'links', ...p, where: l.where });
    }
    // Placeholders can also come from a template: look at the HTML itself, for any
    // not already reported at their line in the issue or config.
    const known = new Set(links.map((l) => l.href.trim()));
    for (const m of ctx.html.matchAll(/href="([^"]*)"/g)) {
      const href = m[1]!;
      if (href === '' || href === '#' || /\{\{|%7B%7B/i.test(href)) {
        if (known.has(safeDecode(href.replace(/&amp;/g, '&')))) continue;
        findings.push({
          rule: 'links',
          severity: 'error',
          message: `a link in the email goes to "${href}": fix the template or field that produces it`,
          where: { excerpt: excerpt(ctx.html, m.index) },
        });
      }
    }
    // Gmail's web app, Outlook for Windows, Windows Mail, Yahoo and AOL follow an in-email link only to
    // an <a name="..."> target, not to an id (caniemail: html-anchor-links). One warning per target.
    const names = htmlAnchorNames(ctx.html);
    const unnamed = new Set<string>();
    for (const m of ctx.html.matchAll(/href="#([^"]+)"/g)) {
      const target = m[1]!;
      if (!ids.has(target) || names.has(target) || unnamed.has(target)) continue;
      unnamed.add(target);
      findings.push({
        rule: 'links',
        severity: 'warning',
        message: `a link in the email goes to "#${target}", which has an id but no <a name="${target}"> anchor: Gmail, Outlook for Windows, Windows Mail, Yahoo and AOL follow in-email links only to named anchors. Add <a name="${target}"></a> at the target in its template`,
        where: { excerpt: excerpt(ctx.html, m.index) },
      });
    }
    if (/\{\{[^}]*\}\}/.test(ctx.html.replace(/href="[^"]*"/g, ''))) {
      const i = ctx.html.search(/\{\{[^}]*\}\}/);
      findings.push({
        rule: 'links',
        severity: 'error',
        message: 'the email contains a {{...}} placeholder that was never filled in',
        where: { excerpt: excerpt(ctx.html, i) },
      });
    }
    return findings;
  },
};

export const linkTextRule: Rule = {
  id: 'link-text',
  description: 'link text says where the link goes, out of context too (screen readers list links on their own)',
  run(ctx: CheckContext): Finding[] {
    const findings: Finding[] = [];
    for (const l of inventory(ctx).links) {
      if (l.kind === 'image') continue; // the images rule checks the alt text of linked images
      const text = l.text
        .trim()
        .replace(/[.!:…]+$/, '')
        .toLowerCase();
      if (VAGUE.has(text)) {
        findings.push({
          rule: 'link-text',
          severity: 'warning',
          message: `link text "${l.text}" says nothing on its own (screen readers list links out of context): make the link words say where it goes, e.g. "the full report on GOV.UK"`,
          where: l.where,
        });
        continue;
      }
      // Text that looks like an address must go to that address's site.
      if (/^(https?:\/\/)?([a-z0-9-]+\.)+[a-z]{2,}(\/\S*)?$/i.test(l.text.trim()) && /^https?:/i.test(l.href)) {
        const shown = hostOf(l.text.trim());
        const real = hostOf(l.href);
        if (shown && real && shown !== real && !real.endsWith(`.${shown}`)) {
          findings.push({
            rule: 'link-text',
            severity: 'warning',
            message: `link text "${l.text}" looks like an address on ${shown}, but the link goes to ${real}: spam filters and careful readers distrust that. Show the real address, or use words instead`,
            where: l.where,
          });
        }
      }
    }
    return findings;
  },
};

/** Up to 120 characters of `html` around `index`, on one line. */
export function excerpt(html: string, index: number, width = 120): string {
  const start = Math.max(0, index - 30);
  const text = html.slice(start, start + width).replace(/\s+/g, ' ');
  return (start > 0 ? '…' : '') + text + (start + width < html.length ? '…' : '');
}

/**
 * "tracking": every http(s) link of the email carries this issue's campaign parameter
 * (utm_campaign=<slug> by default), so the analytics count it. Read from the final
 * HTML, so it also catches what the build could not tag. A link that already had another
 * campaign's value is left alone by the build, and reported here at its YAML line.
 * Left out, as the build leaves them: mailto:, excluded domains, the config's own links
 * and the issue's archive (web version, calendar invites).
 */
export const trackingRule: Rule = {
  id: 'tracking',
  description: "every link of the issue carries this issue's campaign parameter",
  run(ctx: CheckContext): Finding[] {
    const t = ctx.config.tracking;
    const key = campaignParam(t);
    const slug = ctx.slug;
    if (!t.enabled || !key || !slug) return [];
    const own = configLinks(ctx.config);
    // Where each address is written in the issue file (the build tags, never rewrites, them).
    const written = new Map<string, LinkEntry>();
    for (const l of inventory(ctx).links) if (l.where.file === ctx.issueFile && !written.has(l.href)) written.set(l.href, l);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const { href, index } of anchorHrefs(ctx.html)) {
      if (!/^https?:\/\//i.test(href) || untrackedByDesign(href, own, ctx.config.archiveBaseUrl) || seen.has(href)) continue;
      seen.add(href);
      let url: URL;
      try {
        url = new URL(href);
      } catch {
        continue; // the links rule reports it
      }
      if (excluded(url.hostname, t)) continue;
      const value = url.searchParams.get(key);
      if (value === slug) continue;
      const source = written.get(href);
      findings.push({
        rule: 'tracking',
        severity: 'warning',
        message:
          value !== null
            ? `${source ? `link "${source.text}"` : `a link to ${href}`} already carries ${key}=${value}, not this issue's ${key}=${slug}: its visits will be counted for "${value}". Remove the parameter from the address to track it with this issue`
            : `${source ? `link "${source.text}"` : `a link to ${href}`} has no ${key}=${slug}, so its visits will not be counted for this issue: check how the template writes it, or add its domain to tracking.exclude in newsletter.config.yaml to leave it untracked on purpose`,
        where: source?.where ?? { excerpt: excerpt(ctx.html, index) },
      });
    }
    return findings;
  },
};

/** The names of the HTML's named anchors (<a name="...">): where Gmail and Outlook can follow "#name" links. */
export function htmlAnchorNames(html: string): Set<string> {
  return new Set([...html.matchAll(/<a\s[^>]*?\bname="([^"]+)"/g)].map((m) => m[1]!));
}

/** The ids in the HTML: where "#id" links can go. */
export function htmlIds(html: string): Set<string> {
  return new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]!));
}
