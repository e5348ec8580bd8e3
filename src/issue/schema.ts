/**
 * The issue file's schema, declared once. It gives validation (with the hints
 * used in error messages: each field's `.describe()` text is the fix we suggest),
 * the TypeScript types of a loaded issue, and the JSON Schema for editors.
 *
 * Adding a section kind = one entry in `sectionSchemas` + one partial
 * `templates/sections/<kind>.mjml.hbs`.
 */
import * as z from 'zod';
import { Href, Image } from './fields.js';
import { londonToUtc } from './london-time.js';
import { CHECK_RULE_IDS } from './rule-ids.js';

export { Href, Image, LINK_SCHEMES, RemoteImage, hasForbiddenScheme, linkScheme } from './fields.js';

/** Markdown text: paragraphs, **bold**, *italic*, [links](https://...), bullet lists. Raw HTML is shown as text. */
export const Markdown = z
  .string()
  .min(1)
  .describe('Markdown text: paragraphs, **bold**, [link text](https://...) and "- " bullet lists; write it after a "|" on its own line');

export const Button = z
  .strictObject({
    label: z.string().trim().min(1).describe('The words on the button, saying where it goes ("Get tickets")'),
    href: Href,
  })
  .describe('A button: label and href');

const Heading = z.string().trim().min(1).describe('The section heading, exactly as it should appear');
const Id = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, { message: 'must be lower-case letters, digits and hyphens, starting with a letter' })
  .describe('A short anchor name for the contents list, such as "vess" (made from the heading if left out)');
const Contents = z.string().trim().min(1).describe('The entry for this section in the contents list; leave out to keep the section out of the list');

/** The fields of every section that has a heading and may appear in the contents list. */
const headed = { id: Id.optional(), heading: Heading, contents: Contents.optional() };

/**
 * The same, for a section that may go without a heading (tiles, event). A heading starts a
 * new group of the email (the grey band above it); without one the section belongs to the
 * group above it.
 */
const optionallyHeaded = (heading: string) => ({
  id: Id.optional(),
  heading: Heading.optional().describe(heading),
  contents: Contents.optional(),
});

/** `id` and `contents` point at the heading: without one, the contents list would have nothing to link to. */
function anchorsNeedHeading(section: { id?: string; heading?: string; contents?: string }, ctx: z.RefinementCtx): void {
  for (const key of ['id', 'contents'] as const) {
    if (section[key] !== undefined && section.heading === undefined) {
      ctx.addIssue({ code: 'custom', path: [key], input: section[key], message: 'needs a "heading" in the same section, for the contents list to link to' });
    }
  }
}

/**
 * A London wall-clock time as editors write it: YYYY-MM-DDTHH:MM, seconds optional. The
 * date part is zod's own date pattern (real days only, 29 February in leap years). No "Z"
 * and no offset: BST or GMT follows from the date. The JSON Schema carries the same
 * pattern, so the editor's autocompletion accepts what the build accepts.
 */
const LONDON_TIME = new RegExp(`^${z.regexes.date.source.replace(/^\^|\$$/g, '')}T(?:[01]\\d|2[0-3]):[0-5]\\d(?::[0-5]\\d)?$`);
const londonTime = (what: string, example: string) =>
  z
    .string()
    .regex(LONDON_TIME)
    .describe(`${what}, London time as YYYY-MM-DDTHH:MM, e.g. ${example} (seconds optional; no "Z" or "+01:00": BST or GMT follows from the date)`);

/** An event's times: an end needs a start, and comes after it (as the calendar invite reads them, src/issue/london-time.ts). */
function checkEventTimes(event: { start?: string; end?: string }, ctx: z.RefinementCtx): void {
  if (event.end !== undefined && event.start === undefined) {
    ctx.addIssue({ code: 'custom', path: ['start'], input: undefined, message: 'is required when the event has an end' });
  }
  if (event.start === undefined || event.end === undefined || !LONDON_TIME.test(event.start) || !LONDON_TIME.test(event.end)) return;
  if (londonToUtc(event.end).getTime() <= londonToUtc(event.start).getTime()) {
    ctx.addIssue({ code: 'custom', path: ['end'], input: event.end, message: `must be after the start, ${event.start}` });
  }
}

export const sectionSchemas = {
  letter: z
    .strictObject({
      kind: z.literal('letter'),
      greeting: z.string().trim().min(1).describe('The opening line, e.g. "Dear colleagues,"'),
      body: Markdown,
      signature: z
        .strictObject({
          name: z.string().trim().min(1).describe('Who signs the letter'),
          role: z.string().trim().min(1).describe("The signatory's role(s), one paragraph"),
          image: Image.optional(),
        })
        .describe('The signature: name, role and an optional photo'),
    })
    .describe("A letter with greeting, body and signature (the chair's letter)"),

  contents: z
    .strictObject({
      kind: z.literal('contents'),
      heading: Heading,
    })
    .describe('The contents list, built from the "contents" entries of the sections that follow'),

  article: z
    .strictObject({
      kind: z.literal('article'),
      ...headed,
      subheading: z.string().trim().min(1).optional().describe('A second-level heading under the section heading'),
      body: Markdown,
      image: Image.optional(),
      buttons: z.array(Button).min(1).optional().describe('Buttons shown after the image'),
      closing: Markdown.optional().describe('Markdown shown after the image and buttons'),
    })
    .describe('An article: heading, Markdown body, optional image, buttons and closing text'),

  tiles: z
    .strictObject({
      kind: z.literal('tiles'),
      ...optionallyHeaded('A heading over the tiles, starting a new group of the email; leave it out to keep the tiles with the section above'),
      intro: Markdown.optional(),
      columns: z.number().int().min(1).max(4).default(3).describe('Tiles per row on a wide screen (phones show one per row); default 3'),
      numbered: z.boolean().default(true).describe('Show "1.", "2."... before each tile label; default true'),
      tiles: z
        .array(
          z.strictObject({
            label: z.string().trim().min(1).describe('The words on the tile'),
            href: Href,
          }),
        )
        .min(1)
        .describe('The tiles, in reading order: label and href each'),
      closing: Markdown.optional(),
    })
    .superRefine(anchorsNeedHeading)
    .describe('A grid of linked tiles (the Practice Spotlight categories)'),

  excerpt: z
    .strictObject({
      kind: z.literal('excerpt'),
      image: Image.optional().describe('The document cover shown beside the excerpt, usually linked to the document'),
      title: z.string().trim().min(1).optional().describe('The document title shown above the quoted text'),
      body: Markdown.describe('The quoted text, in Markdown'),
    })
    .describe('A quoted excerpt of a document, beside its cover image'),

  quote: z
    .strictObject({
      kind: z.literal('quote'),
      quotation: Markdown.describe('The words quoted, in Markdown (or plain text), without quotation marks'),
      attribution: z.string().trim().min(1).describe('Who said or wrote it, e.g. "Florence Kroll"'),
      role: z.string().trim().min(1).optional().describe('Their role or organisation, shown after the name, e.g. "Chair, ALDCS"'),
    })
    .describe('A pull quote: a few words someone said, with who said them, set apart in a panel'),

  event: z
    .strictObject({
      kind: z.literal('event'),
      ...optionallyHeaded(
        'A heading over this event, starting a new group of the email: the events right after it without a heading join the group. Leave it out to keep the event with the section above',
      ),
      date: z.string().trim().min(1).describe('The date as shown on the card, e.g. "Thursday, 10 July"'),
      title: z.string().trim().min(1).describe('The event title'),
      description: Markdown,
      price: z.string().trim().min(1).describe('The price as shown, e.g. "Free"'),
      when: z.string().trim().min(1).describe('Date and time as shown, e.g. "Jul 10 - 14:00 BST"'),
      start: londonTime('When the event starts, for its calendar invite', '2025-07-10T14:00').optional(),
      end: londonTime('When the event ends, after its start (default: an hour after)', '2025-07-10T15:30').optional(),
      button: Button,
    })
    .superRefine(anchorsNeedHeading)
    .superRefine(checkEventTimes)
    .describe('An event card: date, title, description, price, time and a register button; an optional heading over it and the events after it'),

  partners: z
    .strictObject({
      kind: z.literal('partners'),
      ...headed,
      intro: Markdown.optional(),
      cards: z
        .array(
          z.strictObject({
            image: Image.optional(),
            body: Markdown,
          }),
        )
        .min(1)
        .describe("Partners' newsletters: an image (linked to the newsletter) beside a Markdown summary"),
    })
    .describe("Cards for partners' newsletters, each an image beside its highlights"),

  notice: z
    .strictObject({
      kind: z.literal('notice'),
      ...headed,
      body: Markdown,
    })
    .describe('A short notice: heading and a few lines (members area, get in touch)'),

  footer: z
    .strictObject({
      kind: z.literal('footer'),
      thanks: z.string().trim().min(1).describe('The sign-off line, e.g. "THANKS FOR READING!"'),
      follow: z.string().trim().min(1).describe('The heading over the social links, e.g. "FOLLOW LIIA"'),
    })
    .describe('The footer: sign-off, social links, postal address and unsubscribe (the last three from config)'),
} as const;

export type SectionKind = keyof typeof sectionSchemas;
export const SECTION_KINDS = Object.keys(sectionSchemas) as SectionKind[];

export const Section = z.discriminatedUnion(
  'kind',
  Object.values(sectionSchemas) as unknown as [(typeof sectionSchemas)[SectionKind], ...(typeof sectionSchemas)[SectionKind][]],
);

export const IssueSchema = z
  .strictObject({
    title: z.string().trim().min(1).describe('The newsletter title, used as the HTML <title>'),
    masthead: z.string().trim().min(1).describe('The name at the top of the email, as it should appear'),
    label: z.string().trim().min(1).describe('The issue label under the masthead, e.g. "July 2025 ISSUE"'),
    date: z.iso.date().describe('The issue date as YYYY-MM-DD, e.g. 2025-07-01'),
    subject: z
      .string()
      .trim()
      .min(1)
      .regex(/^[^\r\n]*$/, { message: 'must be on one line' })
      .describe('The email subject line; keep it under 60 characters'),
    preheader: z.string().trim().min(1).describe('The preview line inboxes show after the subject; say something the subject does not'),
    sections: z.array(Section).min(1).describe('The sections of the email, in order; each has a "kind"'),
    published: z
      .boolean()
      .optional()
      .describe(
        'true lists the issue in the web archive (dist/index.html, feed.xml) before it is sent to the list, or one sent some other way; a send to the list lists it by itself',
      ),
    accept: z
      .array(
        z.strictObject({
          rule: z.enum(CHECK_RULE_IDS).describe('The rule whose warning is accepted, as the report names it: [link-text]'),
          path: z.string().trim().min(1).describe('The field the warning points at, as the report shows it: sections[10].body'),
          reason: z.string().trim().min(1).describe('Why the warning stays: shown in every report'),
        }),
      )
      .optional()
      .describe('Check warnings the editors have read and accept for this issue, each with its reason'),
  })
  .describe('One issue of the newsletter');

export type Issue = z.infer<typeof IssueSchema>;
export type IssueSection = z.infer<typeof Section>;
export type SectionOf<K extends SectionKind> = Extract<IssueSection, { kind: K }>;
export type ImageData = z.infer<typeof Image>;
export type ButtonData = z.infer<typeof Button>;

/** The issue schema as JSON Schema (draft 2020-12), for editors' autocompletion. */
export function issueJsonSchema(): Record<string, unknown> {
  return {
    ...(z.toJSONSchema(IssueSchema, { io: 'input' }) as Record<string, unknown>),
    title: 'LIIA newsletter issue',
  };
}

/** issues/schema.json's exact text. */
export function issueSchemaJsonText(): string {
  return `${JSON.stringify(issueJsonSchema(), null, 2)}\n`;
}
