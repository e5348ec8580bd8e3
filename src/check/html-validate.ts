/**
 * Accessibility and document structure by html-validate's "a11y" and "document"
 * presets: empty links and headings, images without alt, duplicate ids, labels,
 * landmarks and the rest of its WCAG rules, which a well-kept library does better
 * than we would by hand.
 *
 * What it gets wrong on MJML output is turned off here, with the reason:
 *  - prefer-native-element: MJML wraps the email in <div role="article"
 *    aria-roledescription="email">, the Email Markup Consortium's pattern; some
 *    clients strip an <article> element, so the role is the right choice.
 *
 * html-validate loads in about 0.1 s and checks the July issue in 0.1-0.2 s, so it
 * runs with `build-issue check` (and before a send), not on every build.
 */
import { excerpt } from './rules-links.js';
import type { CheckContext, Finding, Rule } from './types.js';

/** Rules of the presets that misread MJML's markup, each with why. */
export const HTML_VALIDATE_OFF: Record<string, string> = {
  'prefer-native-element': 'MJML\'s <div role="article"> wrapper is the email-safe form of <article>',
};

export const htmlValidateRule: Rule = {
  id: 'accessibility',
  description: "html-validate's accessibility and document rules (WCAG), minus those that misread MJML's markup",
  async run(ctx: CheckContext): Promise<Finding[]> {
    const { HtmlValidate } = await import('html-validate');
    const validator = new HtmlValidate({
      extends: ['html-validate:a11y', 'html-validate:document'],
      rules: Object.fromEntries(Object.keys(HTML_VALIDATE_OFF).map((rule) => [rule, 'off'])),
    });
    const report = await validator.validateString(ctx.html, 'email.html');
    return report.results.flatMap((result) =>
      result.messages.map(
        (m): Finding => ({
          rule: 'accessibility',
          severity: m.severity === 2 ? 'error' : 'warning',
          message: `${m.message} (html-validate ${m.ruleId}: ${m.ruleUrl ?? 'https://html-validate.org/rules/'})`,
          where: { excerpt: excerpt(ctx.html, m.offset) },
        }),
      ),
    );
  },
};
