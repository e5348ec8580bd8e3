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
      ...headed,
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
    .describe('A grid of linked tiles (the Practice Spotlight categories)'),

  excerpt: z
    .strictObject({
      kind: z.literal('excerpt'),
      image: Image.optional().describe('The document cover shown beside the excerpt, usually linked to the document'),
      title: z.string().trim().min(1).optional().describe('The document title shown above the quoted text'),
      body: Markdown.describe('The quoted text, in Markdown'),
    })
    .describe('A quoted excerpt of a document, beside its cover image'),

  event: z
    .strictObject({
      kind: z.literal('event'),
      date: z.string().trim().min(1).describe('The date as shown on the card, e.g. "Thursday, 10 July"'),
      title: z.string().trim().min(1).describe('The event title'),
      description: Markdown,
      price: z.string().trim().min(1).describe('The price as shown, e.g. "Free"'),
      when: z.string().trim().min(1).describe('Date and time as shown, e.g. "Jul 10 - 14:00 BST"'),
      start: z.iso.datetime({ local: true }).optional().describe('Start as an ISO date-time in London time, e.g. 2025-07-10T14:00'),
      end: z.iso.datetime({ local: true }).optional().describe('End as an ISO date-time in London time, e.g. 2025-07-10T15:30'),
      button: Button,
    })
    .describe('An event card: date, title, description, price, time and a register button'),

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
