/**
 * The slower checks, chosen per run: SpamAssassin's score (about 1.3 s of Perl),
 * html-validate's accessibility rules and the client-support comparison run with `build-issue check`; the online link check, which
 * needs the network and other people's servers, only with `check --links`. An
 * ordinary build stays fast and offline; the full set runs before a send.
 *
 * Setting up the client-support rule includes building its baseline (the email our
 * templates and config make for an empty issue) with render/: the rule is handed it.
 */
import path from 'node:path';
import { CONFIG_FILE, loadConfig, type Config } from '../config.js';
import { inventory } from '../issue/inventory.js';
import { SECTION_KINDS } from '../issue/schema.js';
import { compileMjml } from '../render/compile-mjml.js';
import { inlineCss } from '../render/inline-css.js';
import { minifyHtml } from '../render/minify-html.js';
import { renderMjml } from '../render/render-mjml.js';
import { loadTemplates } from '../render/templates.js';
import { baselineIssue } from './client-support/baseline-issue.js';
import { makeClientSupportRule } from './client-support/rule.js';
import { htmlValidateRule } from './html-validate.js';
import { checkLinksOnline, type CheckLinksOptions, type LinkTarget } from './links-online.js';
import { SPAM_ERROR, SPAM_WARN, createSpamRule, spamAvailability } from './spam.js';
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

export interface BaselineOptions {
  /** The templates folder. @default `<root>/templates` */
  templatesDir?: string;
  /** The config to build with (the build's own, so brand, footer and social links match). @default loaded from `configFile` */
  config?: Config;
  /** @default `<root>/newsletter.config.yaml`; not read when `config` is given */
  configFile?: string;
}

/**
 * Compiled baselines, by the MJML they were compiled from: compiling is the slow part
 * (MJML and juice, ~0.1 s), rendering the templates is not. Keyed by content, not by
 * folder, so a template edited in a long-running process (preview) is picked up.
 */
const baselines = new Map<string, Promise<string>>();

/**
 * The email HTML our templates and config make for the client-support baseline issue:
 * the same steps as buildIssue (render, compile, inline, minify), nothing written.
 * Needs the project folder only to find `templates/` and the config; it never depends
 * on process.cwd() when `root` is given.
 */
export async function baselineHtml(root: string, options: BaselineOptions = {}): Promise<string> {
  const dir = path.resolve(root, options.templatesDir ?? 'templates');
  const [config, templates] = await Promise.all([
    options.config ?? loadConfig(path.resolve(root, options.configFile ?? CONFIG_FILE), root),
    loadTemplates(dir, SECTION_KINDS, root),
  ]);
  const rendered = renderMjml(baselineIssue(), config, templates);
  const key = `${rendered.mjml}\0${rendered.inlineCss}`;
  let html = baselines.get(key);
  if (!html) {
    html = compileMjml(rendered).then((compiled) => minifyHtml(inlineCss(compiled, rendered.inlineCss)));
    html.catch(() => baselines.delete(key));
    if (baselines.size >= 4) baselines.delete(baselines.keys().next().value!);
    baselines.set(key, html);
  }
  return html;
}

/**
 * The client-support rule for a project folder, handed its baseline: built from
 * `root`'s templates (or `templatesDir`) with the build's own config (ctx.config).
 */
export function clientSupportRule(options: { root: string; templatesDir?: string }): Rule {
  const root = path.resolve(options.root);
  return makeClientSupportRule({ baseline: (config) => baselineHtml(root, { templatesDir: options.templatesDir, config }) });
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
            message: `none of the ${web.length} links and images could be reached (${/ cannot be reached: ([^.]*)/.exec(findings[0]!.message)?.[1] ?? 'no answer'}): this computer seems to be offline. Run "build-issue check <issue> --links" again when connected`,
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
          onScore: (r) =>
            notes.push(
              `SpamAssassin ${spam.version} scores the .eml ${r.score.toFixed(1)} (warning at ${SPAM_WARN.toFixed(1)}, error at ${SPAM_ERROR.toFixed(1)}).`,
            ),
        }),
      );
    } else notes.push(spam.reason);
  }
  if (options.accessibility) rules.push(htmlValidateRule);
  if (options.clientSupport) rules.push(clientSupportRule(options.clientSupport));
  if (options.checkLinks) rules.push(linksOnlineRule(typeof options.checkLinks === 'object' ? options.checkLinks : {}));
  return { rules, notes };
}
