/**
 * The document as a whole: size (Gmail's clipping), language, title, preheader,
 * subject, headings, layout tables, Outlook's conditional comments, and content
 * that email clients strip or that marks mail as dangerous.
 */
import { excerpt } from './rules-links.js';
import { hiddenCharacters } from '../issue/text-safety.js';
import type { Finding, Rule, Where } from './types.js';

/** Gmail clips an HTML part over about 102 KB and hides the rest, unsubscribe line included. */
export const SIZE_ERROR_BYTES = 102_000;
/** Leave room for an ESP's link rewriting and tracking pixel. */
export const SIZE_WARNING_BYTES = 90_000;
export const SUBJECT_MAX = 60;
export const SUBJECT_WARN = 50;

export const sizeRule: Rule = {
  id: 'size',
  description: "the HTML stays under Gmail's clipping limit",
  run(ctx) {
    const bytes = Buffer.byteLength(ctx.html);
    const where = undefined;
    if (bytes > SIZE_ERROR_BYTES) {
      return [
        {
          rule: 'size',
          severity: 'error',
          message: `the HTML is ${bytes} bytes, over Gmail's ${SIZE_ERROR_BYTES}-byte limit: Gmail will cut the email and hide the rest, unsubscribe line included. Shorten the issue or move long items to web pages`,
          where,
        },
      ];
    }
    if (bytes > SIZE_WARNING_BYTES) {
      return [
        {
          rule: 'size',
          severity: 'warning',
          message: `the HTML is ${bytes} bytes: close to Gmail's ${SIZE_ERROR_BYTES}-byte clipping limit once a mailing service rewrites the links; aim for ${SIZE_WARNING_BYTES} or less`,
          where,
        },
      ];
    }
    return [];
  },
};

const LANG = /^[a-z]{2,3}(-[A-Za-z]{4})?(-([A-Z]{2}|\d{3}))?$/;

export const documentRule: Rule = {
  id: 'document',
  description: 'language, title, preheader, subject, one h1, no skipped heading levels, presentation tables',
  run(ctx) {
    const f: Finding[] = [];
    const add = (severity: Finding['severity'], message: string, where?: Where) => f.push({ rule: 'document', severity, message, where });
    const html = ctx.html;

    const lang = /<html\b[^>]*\slang="([^"]*)"/i.exec(html)?.[1];
    if (!lang || lang === 'und' || !LANG.test(lang))
      add(
        'error',
        `the email's language is "${lang ?? 'missing'}": set lang in newsletter.config.yaml to a real language tag such as en-GB, so screen readers choose the right voice`,
        { file: 'newsletter.config.yaml', path: 'lang' },
      );

    const title = /<title>([^<]*)<\/title>/i.exec(html)?.[1]?.trim();
    if (!title) add('error', 'the HTML has no <title>: set title in the issue file', ctx.locate(['title']));

    const preheader = ctx.issue.preheader.trim();
    const subject = ctx.issue.subject.trim();
    if (!/<div style="display:none;[^"]*">[^<]+<\/div>/.test(html))
      add(
        'error',
        'the email has no hidden preheader: inboxes will show the first words of the body instead. Set preheader in the issue file',
        ctx.locate(['preheader']),
      );
    if (preheader && preheader.toLowerCase() === subject.toLowerCase())
      add('warning', 'the preheader repeats the subject: inboxes show both side by side, so use it to say something more', ctx.locate(['preheader']));
    // A new issue's placeholders ("TODO: subject for August 2025") must not reach a send.
    for (const field of ['subject', 'preheader', 'label'] as const) {
      if (/\bTODO\b/.test(ctx.issue[field])) add('error', `the ${field} still says TODO ("${ctx.issue[field]}"): write the real one`, ctx.locate([field]));
    }
    if (/\bTODO\b/.test(ctx.text))
      add('error', 'the email still contains TODO placeholders: search the issue file for TODO and write the real text', { file: ctx.issueFile });
    const subjectLength = [...subject].length;
    if (!subject) add('error', 'the email has no subject', ctx.locate(['subject']));
    else if (subjectLength > SUBJECT_MAX)
      add(
        'error',
        `the subject is ${subjectLength} characters: inboxes cut it after about ${SUBJECT_MAX}, phones after ${SUBJECT_WARN}. Shorten it`,
        ctx.locate(['subject']),
      );
    else if (subjectLength > SUBJECT_WARN)
      add('warning', `the subject is ${subjectLength} characters: phones cut it after about ${SUBJECT_WARN}`, ctx.locate(['subject']));

    // Invisible characters that change how the inbox line reads (used for spoofing).
    const shown: [string, string, Where | undefined][] = [
      ['subject', subject, ctx.locate(['subject'])],
      ['preheader', preheader, ctx.locate(['preheader'])],
      ["sender's name", ctx.config.sender.name, { file: 'newsletter.config.yaml', path: 'sender.name' }],
    ];
    for (const [field, value, where] of shown) {
      const hidden = hiddenCharacters(value);
      if (hidden.length)
        add('warning', `the ${field} holds invisible characters (${hidden.join(', ')}) that can change how it reads, as spoofed mail does: delete them`, where);
    }

    const headings = [...html.matchAll(/<h([1-6])\b/gi)].map((m) => ({ level: Number(m[1]), index: m.index }));
    const h1s = headings.filter((h) => h.level === 1).length;
    if (h1s !== 1)
      add('error', `the email has ${h1s} h1 headings: it needs exactly one (the masthead), so screen readers can find the start`, {
        file: 'templates/layout.mjml.hbs',
      });
    let previous = 0;
    for (const h of headings) {
      if (previous && h.level > previous + 1) {
        add('error', `an h${h.level} follows an h${previous}: a skipped heading level confuses screen-reader navigation. Use h${previous + 1}`, {
          excerpt: excerpt(html, h.index),
        });
      }
      previous = h.level;
    }

    for (const m of html.matchAll(/<table\b[^>]*>/gi)) {
      if (!/\srole="presentation"/i.test(m[0]))
        add('error', 'a layout table has no role="presentation": screen readers will read it as a data table, cell by cell', {
          excerpt: excerpt(html, m.index),
        });
    }
    return f;
  },
};

export const outlookRule: Rule = {
  id: 'outlook',
  description: "Outlook's conditional comments are balanced and well-formed",
  run(ctx) {
    const f: Finding[] = [];
    // MJML never nests them: after each "<!--[if" the next marker must be its "<![endif]-->".
    const markers = [...ctx.html.matchAll(/<!--\[if\b|<!\[endif\]-->/g)];
    const unclosed = markers.filter((m, i) => m[0].startsWith('<!--[if') && !markers[i + 1]?.[0].startsWith('<![endif]'));
    const stray = markers.filter((m, i) => m[0].startsWith('<![endif]') && !markers[i - 1]?.[0].startsWith('<!--[if'));
    for (const m of unclosed) {
      f.push({
        rule: 'outlook',
        severity: 'error',
        message:
          'a block for Outlook ("<!--[if ...]>") is never closed with "<![endif]-->": everything after it disappears, in Outlook or in every other client. Close it in the template',
        where: { excerpt: excerpt(ctx.html, m.index) },
      });
    }
    for (const m of stray) {
      f.push({
        rule: 'outlook',
        severity: 'error',
        message: 'an "<![endif]-->" closes no "<!--[if ...]>" block: remove it from the template',
        where: { excerpt: excerpt(ctx.html, m.index) },
      });
    }
    for (const m of ctx.html.matchAll(/<!\[endif\]\/-->/g)) {
      f.push({
        rule: 'outlook',
        severity: 'error',
        message: '"<![endif]/-->" is malformed (stray slash): write "<![endif]-->"',
        where: { excerpt: excerpt(ctx.html, m.index) },
      });
    }
    return f;
  },
};

const GENERIC_FAMILY = /\b(serif|sans-serif|monospace|cursive|fantasy|system-ui)\s*(!important)?\s*$/i;

export const forbiddenRule: Rule = {
  id: 'forbidden',
  description: 'no scripts, forms, frames, video, objects or external stylesheets (clients strip them or flag the mail)',
  run(ctx) {
    const f: Finding[] = [];
    const html = ctx.html;
    for (const m of html.matchAll(/<(script|form|iframe|video|object|embed|frame|frameset|applet)\b/gi)) {
      f.push({
        rule: 'forbidden',
        severity: 'error',
        message: `<${m[1]!.toLowerCase()}> does not work in email (clients strip it, spam filters score it): remove it`,
        where: { excerpt: excerpt(html, m.index) },
      });
    }
    for (const m of html.matchAll(/<link\b[^>]*rel="?stylesheet"?[^>]*>/gi)) {
      f.push({
        rule: 'forbidden',
        severity: 'error',
        message: 'an external stylesheet: most clients ignore it; put the CSS in the templates instead',
        where: { excerpt: excerpt(html, m.index) },
      });
    }
    const imports = [...html.matchAll(/@import\b[^;]*;?/gi)];
    if (imports.length) {
      // A web font is fine only if every font stack falls back to a font everyone has.
      const stacks = [...html.matchAll(/font-family:\s*([^;"}]+)/gi)].map((m) => m[1]!.trim());
      const bare = stacks.filter((s) => !GENERIC_FAMILY.test(s));
      for (const m of imports) {
        f.push({
          rule: 'forbidden',
          severity: bare.length ? 'error' : 'warning',
          message: bare.length
            ? `@import of a web font, and the font stack "${bare[0]}" has no generic fallback (such as sans-serif): Outlook and Gmail will fall back to Times New Roman`
            : '@import of a web font: Outlook and Gmail ignore it (the fallback fonts are used); it costs a request for the others',
          where: { excerpt: excerpt(html, m.index) },
        });
      }
    }
    return f;
  },
};
