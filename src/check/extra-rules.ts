/**
 * The slower checks, chosen per run: SpamAssassin's score (about 1.3 s of Perl),
 * html-validate's accessibility rules and the client-support comparison run with --check; the online link check, which
 * needs the network and other people's servers, only with --check-links. An
 * ordinary build stays fast and offline; the full set runs before a send.
 */
import { inventory } from './inventory.js';
import { checkLinksOnline, type CheckLinksOptions, type LinkTarget } from './links-online.js';
import { SPAM_ERROR, SPAM_WARN, createSpamRule, spamAvailability } from './spam.js';
import { makeClientSupportRule } from './client-support.js';
import { htmlValidateRule } from './html-validate.js';
import type { Rule } from './types.js';

export interface ExtraRuleOptions {
  /** Run SpamAssassin (when installed). */
  spam?: boolean;
  /** Fetch every link and image. */
  checkLinks?: boolean | CheckLinksOptions;
  /** Run html-validate's accessibility and document rules. */
  accessibility?: boolean;
  /** Compare the features the email uses with caniemail's data, beyond our templates' own baseline. */
  clientSupport?: { root: string; templatesDir?: string };
}

/** A rule that fetches every http(s) link and image of the issue and config. */
export function linksOnlineRule(options: CheckLinksOptions = {}): Rule {
  return {
    id: 'links-online',
    description: 'every link and image answers (fetched online)',
    async run(ctx) {
      const { links, images } = inventory(ctx);
      const targets: LinkTarget[] = [
        ...links.map((l) => ({ url: l.href, kind: 'link' as const, where: l.where })),
        // A local image is fetched where the email points: the upload is what this checks.
        ...images.map((i) => ({ url: ctx.assets?.get(i.image.src)?.url ?? i.image.src, kind: 'image' as const, where: i.where })),
      ];
      const findings = await checkLinksOnline(targets, options);
      // When no site at all can be reached, the network is down, not every link broken:
      // say that once rather than blame each of forty links.
      const web = targets.filter((t) => /^https?:\/\//i.test(t.url));
      if (web.length > 1 && findings.length >= web.length && findings.every((f) => / cannot be reached: /.test(f.message))) {
        return [
          {
            rule: 'links-online',
            severity: 'error',
            message: `none of the ${web.length} links and images could be reached (${/ cannot be reached: ([^.]*)/.exec(findings[0]!.message)?.[1] ?? 'no answer'}): this computer seems to be offline. Run --check-links again when connected`,
          },
        ];
      }
      return findings;
    },
  };
}

/** The extra rules to run, and a note for each one that cannot run here. */
export async function extraRules(options: ExtraRuleOptions): Promise<{ rules: Rule[]; notes: string[] }> {
  const rules: Rule[] = [];
  const notes: string[] = [];
  if (options.spam) {
    const spam = await spamAvailability();
    if (spam.available) {
      rules.push(
        createSpamRule({
          onScore: (r) => notes.push(`SpamAssassin ${spam.version} scores the .eml ${r.score.toFixed(1)} (warning at ${SPAM_WARN.toFixed(1)}, error at ${SPAM_ERROR.toFixed(1)}).`),
        }),
      );
    }
    else notes.push(spam.reason);
  }
  if (options.accessibility) rules.push(htmlValidateRule);
  if (options.clientSupport) rules.push(makeClientSupportRule(options.clientSupport));
  if (options.checkLinks) rules.push(linksOnlineRule(typeof options.checkLinks === 'object' ? options.checkLinks : {}));
  return { rules, notes };
}
