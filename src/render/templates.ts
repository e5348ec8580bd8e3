/**
 * The template set: the layout, one partial per section kind, and the two
 * stylesheets. Compiled with Handlebars in strict mode, so a partial that names a
 * field the view does not have is an error, not an empty string. Compiled
 * templates are cached by source text, so a warm rebuild skips compiling.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import Handlebars from 'handlebars';
import { NewsletterError } from '../errors.js';
import { SECTION_KINDS, type SectionKind } from '../issue/schema.js';
import { PRECOMPILED } from './precompiled-templates.js';

export type Template = (data: object) => string;

export interface TemplateSet {
  dir: string;
  layout: Template;
  emailCss: Template;
  headCss: Template;
  sections: Record<SectionKind, Template>;
  /** Display name of each template file, relative to the project, for messages. */
  names: { layout: string; sections: Record<SectionKind, string> };
}

const hbs = Handlebars.create();
const cache = new Map<string, Template>();

/**
 * How every template is compiled; scripts/bundle.mjs precompiles with the same (it reads them
 * from here). Frozen, and each compile gets a copy: Handlebars writes into the options it is
 * given (data: true), which would change every later templateKey.
 */
export const COMPILE_OPTIONS = Object.freeze({ strict: true, preventIndent: true });

/** A template's key in PRECOMPILED: its source and the options it is compiled with. */
export function templateKey(source: string): string {
  return createHash('sha256').update(JSON.stringify(COMPILE_OPTIONS)).update('\0').update(source).digest('hex');
}

function compile(source: string, name: string): Template {
  const key = `${name}\0${source}`;
  const hit = cache.get(key);
  if (hit) return hit;
  let compiled: HandlebarsTemplateDelegate;
  try {
    // Compiled now, once: syntax errors surface here with the file name. (hbs.compile is lazy,
    // so forcing it with hbs.precompile parsed and compiled every template twice on a cold build.)
    // precompile writes the same template spec hbs.compile makes, as source to evaluate.
    const pre = PRECOMPILED.size ? PRECOMPILED.get(templateKey(source)) : undefined;
    compiled = hbs.template(pre ?? new Function(`return ${hbs.precompile(source, { ...COMPILE_OPTIONS })}`)());
  } catch (err) {
    throw templateError(err, name);
  }
  const run: Template = (data) => {
    try {
      return unescapeSafe(compiled(data));
    } catch (err) {
      throw templateError(err, name);
    }
  };
  cache.set(key, run);
  return run;
}

/**
 * Handlebars escapes = ' and ` as entities too, for unquoted attributes. Every
 * attribute in our templates is double-quoted, where these three are harmless, so
 * put them back: `mailto:x?subject=...` stays readable and each apostrophe costs
 * one byte, not six. (& < > " stay escaped.)
 */
function unescapeSafe(out: string): string {
  return out.replace(/&#x(3D|27|60);/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Wrap a Handlebars error with the template's file name and line. */
export function templateError(err: unknown, name: string): NewsletterError {
  const raw = (err as Error).message ?? String(err);
  const parse = /Parse error on line (\d+):/.exec(raw);
  const strict = /"(.+)" not defined in .* - (\d+):(\d+)/.exec(raw);
  if (strict) {
    return new NewsletterError(
      'ETEMPLATE',
      `${name}:${strict[2]}:${Number(strict[3]) + 1} the template uses "{{${strict[1]}}}", which this section does not have`,
      {
        hint: "Check the spelling against the section's fields in src/issue/schema.ts, or wrap an optional field in {{#if ...}}.",
        cause: err,
      },
    );
  }
  if (/got 'EOF'/.test(raw)) {
    return new NewsletterError(
      'ETEMPLATE',
      `${name}: a block is opened but never closed: each {{#if ...}}, {{#each ...}} and {{#unless ...}} needs its {{/if}}, {{/each}} or {{/unless}}`,
      {
        hint: 'Find the block that has no closing tag and add it.',
        cause: err,
      },
    );
  }
  return new NewsletterError(
    'ETEMPLATE',
    `${name}${parse ? `:${parse[1]}` : ''} the template does not compile: ${raw.split('\n').filter(Boolean).slice(-1)[0] ?? raw}`,
    {
      hint: 'Fix the Handlebars syntax ({{field}}, {{{html}}}, {{#if x}}...{{/if}}, {{#each list}}...{{/each}}).',
      cause: err,
    },
  );
}

async function readTemplate(dir: string, file: string, label: string): Promise<string> {
  try {
    return await readFile(path.join(dir, file), 'utf8');
  } catch (err) {
    const present = await readdir(path.join(dir, 'sections')).catch(() => [] as string[]);
    throw new NewsletterError('ETEMPLATE', `${label}: template not found`, {
      hint: file.startsWith('sections/')
        ? `Every section kind needs templates/sections/<kind>.mjml.hbs. Found: ${present.join(', ') || 'none'}. Restore the file (git checkout ${label}) or remove the sections of that kind.`
        : `Restore ${label} (git checkout ${label}).`,
      cause: err,
    });
  }
}

/**
 * Load and compile every template under `dir` (the project's `templates/`).
 * `kinds` limits the section partials read to those an issue uses.
 */
export async function loadTemplates(dir: string, kinds: readonly SectionKind[] = SECTION_KINDS, root = process.cwd()): Promise<TemplateSet> {
  const rel = (f: string) => path.join(path.relative(root, dir) || '.', f);
  const [layout, emailCss, headCss, ...parts] = await Promise.all([
    readTemplate(dir, 'layout.mjml.hbs', rel('layout.mjml.hbs')),
    readTemplate(dir, 'email.css.hbs', rel('email.css.hbs')),
    readTemplate(dir, 'head.css.hbs', rel('head.css.hbs')),
    ...kinds.map((k) => readTemplate(dir, `sections/${k}.mjml.hbs`, rel(`sections/${k}.mjml.hbs`))),
  ]);
  const sections = {} as Record<SectionKind, Template>;
  const sectionNames = {} as Record<SectionKind, string>;
  kinds.forEach((k, i) => {
    sectionNames[k] = rel(`sections/${k}.mjml.hbs`);
    sections[k] = compile(parts[i]!, sectionNames[k]);
  });
  return {
    dir,
    layout: compile(layout!, rel('layout.mjml.hbs')),
    emailCss: compile(emailCss!, rel('email.css.hbs')),
    headCss: compile(headCss!, rel('head.css.hbs')),
    sections,
    names: { layout: rel('layout.mjml.hbs'), sections: sectionNames },
  };
}
