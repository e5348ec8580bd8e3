/**
 * Brand and sender settings, from `newsletter.config.yaml` at the project root.
 * A second LIIA newsletter is a second config, not a fork of the templates.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as z from 'zod';
import { NewsletterError } from './errors.js';
import { parseAddress } from './issue/email-address.js';
import { Href, RemoteImage } from './issue/fields.js';
import { CHECK_RULE_IDS } from './issue/rule-ids.js';
import { parseValidated } from './issue/yaml-validate.js';

/** Mail provider presets (send/providers.ts holds what each sets). */
export const PROVIDER_IDS = ['generic', 'microsoft365', 'google-workspace'] as const;

const Email = z
  .string()
  .superRefine((s, ctx) => {
    const a = parseAddress(s);
    if (!a.ok) ctx.addIssue({ code: 'custom', message: `not an email address: ${a.reason}` });
  })
  .describe('An email address, e.g. liiateam@londoncouncils.gov.uk');
const Colour = z
  .string()
  .regex(/^#[0-9a-f]{6}$/i, { message: 'must be a colour as #rrggbb' })
  .describe('A colour as #rrggbb');

const CheckSetting = z
  .strictObject({
    level: z.enum(['off', 'warning', 'error']).describe('off, warning or error'),
    reason: z.string().trim().min(1).describe('Why this team changes the rule: shown in every report'),
  })
  .describe('A rule turned off or re-levelled, with the reason');

export const ConfigSchema = z
  .strictObject({
    lang: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/, { message: 'must be a language tag such as en-GB' })
      .default('en-GB')
      .describe('The language of the email, as a tag such as en-GB (screen readers use it to choose a voice)'),
    sender: z
      .strictObject({
        name: z
          .string()
          .trim()
          .min(1)
          .max(100)
          .regex(/^[^\r\n]*$/, { message: 'must be on one line' })
          .describe('The name recipients see in From, e.g. "LIIA" (at most 100 characters)'),
        address: Email,
      })
      .describe('Who the email is from'),
    replyTo: Email.optional().describe('Where replies go, if not to the sender'),
    bounceAddress: Email.optional().describe(
      "Where bounces go (the envelope sender, MAIL FROM), if not to the sender's address: a mailbox of their own keeps them out of the team's inbox; build-issue inbox reads it",
    ),
    editors: z.array(Email).min(1).describe("Editors' addresses: test sends go to them"),
    postalAddress: z.string().trim().min(1).describe("The sender's postal address, shown in the footer (UK PECR and US CAN-SPAM expect one)"),
    unsubscribe: z
      .strictObject({
        mailto: Email.describe('The address people write to in order to unsubscribe'),
        url: Href.optional().describe('A one-click unsubscribe page (https), if there is one'),
      })
      .describe('How recipients leave the list'),
    social: z
      .array(z.strictObject({ label: z.string().trim().min(1), href: Href }))
      .default([])
      .describe('Social links shown in the footer: label and href each'),
    brand: z
      .strictObject({
        logo: RemoteImage.extend({
          alt: z
            .string()
            .trim()
            .min(1)
            .describe("The organisation's name, short enough to fit the logo's box when images are off (Outlook blocks them by default): LIIA"),
          title: z
            .string()
            .trim()
            .min(1)
            .optional()
            .describe('Said on hover and by screen readers with the link: where the logo goes, e.g. "Go to the LIIA website"'),
        }),
        website: Href.describe('The organisation website, linked from the logo'),
        fontFamily: z
          .string()
          .trim()
          .min(1)
          .max(200)
          // It goes into CSS and an attribute: font names, quoted or not, separated by commas; nothing that could end a rule or a tag.
          .regex(/^(?:\s*(?:[A-Za-z][\w -]*|"[\w ,-]+"|'[\w ,-]+')\s*)(?:,\s*(?:[A-Za-z][\w -]*|"[\w ,-]+"|'[\w ,-]+')\s*)*$/, {
            message: 'must be a list of font names separated by commas, such as Arial, Helvetica, sans-serif (names with spaces may be quoted)',
          })
          .default('Arial, Helvetica, sans-serif')
          .describe('A CSS font stack of fonts recipients already have; no web fonts (Outlook ignores them)'),
        colours: z
          .strictObject({
            primary: Colour.describe('Header background and headings'),
            accent: Colour.describe('Buttons and links'),
            text: Colour.describe('Body text'),
            muted: Colour.describe('Secondary text such as roles and dates'),
            background: Colour.describe('Behind the email'),
            panel: Colour.describe('Tiles, cards and quoted excerpts'),
          })
          .describe('Brand colours; keep text at 4.5:1 contrast or more against its background'),
        dark: z
          .strictObject({
            background: Colour.default('#121218').describe('Behind the email'),
            section: Colour.default('#1e1e2a').describe('Behind the text (white in the light scheme)'),
            panel: Colour.default('#2a2a3a').describe('Tiles, cards and quoted excerpts'),
            text: Colour.default('#ececf1').describe('Body text'),
            muted: Colour.default('#b8b8c6').describe('Secondary text such as roles, dates and the footer'),
            heading: Colour.default('#ffffff').describe('Headings (primary in the light scheme)'),
            link: Colour.default('#9ecbff').describe('Links (accent in the light scheme)'),
          })
          .prefault({})
          .describe(
            'The dark-mode palette, for clients that honour prefers-color-scheme (Apple Mail, Outlook for Mac and iOS) and Outlook.com; the masthead and buttons keep their light colours. Keep text at 4.5:1 or more against section and panel',
          ),
      })
      .describe('Brand: logo, website, fonts and colours (light and dark)'),
    archiveBaseUrl: z
      .string()
      .regex(/^https:\/\/[^\s]+[^/\s]$/, { message: 'must be an https:// address without a trailing slash' })
      .optional()
      .describe(
        'Where dist/ is published on the web, e.g. https://liia.london/newsletter: issues are then at <archiveBaseUrl>/<slug>/, and their calendar invites beside them',
      ),
    assetBaseUrl: z
      .string()
      .regex(/^https:\/\/[^\s]+[^/\s]$/, { message: 'must be an https:// address without a trailing slash' })
      .optional()
      .describe(
        "Where the issues' local images are uploaded, e.g. https://liia.london/newsletter/assets: an image is then at <assetBaseUrl>/<slug>/<file> (upload dist/<slug>/assets/ there). Without it, images are addressed under archiveBaseUrl",
      ),
    tracking: z
      .strictObject({
        enabled: z.boolean().default(true).describe("Append the parameters to the issue's http(s) links; false turns tracking off"),
        params: z
          .record(z.string().regex(/^[\w.-]+$/), z.string())
          .default({ utm_source: 'newsletter', utm_medium: 'email', utm_campaign: '{slug}' })
          .describe('Query parameters to append; "{slug}" becomes the issue name'),
        exclude: z.array(z.string().trim().min(1)).default([]).describe('Domains whose links are left as written (their subdomains too)'),
      })
      .prefault({})
      .describe('Tracked links: UTM (or other) parameters on every http(s) link of the issue'),
    listId: z
      .string()
      .trim()
      .regex(/^[^<>]*<[a-z0-9.-]+\.[a-z]{2,}>$/i, { message: 'must look like: Name <list-name.example.org>' })
      .optional()
      .describe('The List-Id header: a name and a unique id under your domain, e.g. "LIIA Adolescent Safeguarding <adolescent-safeguarding.liia.london>"'),
    suppressionFile: z
      .string()
      .trim()
      .min(1)
      .optional()
      .describe('Unsubscribed addresses (CSV with an email column, or one per line), kept outside git, e.g. lists/unsubscribed.csv'),
    dkim: z
      .strictObject({
        domainName: z.string().trim().min(1).describe('The signing domain (d=), e.g. londoncouncils.gov.uk'),
        keySelector: z.string().trim().min(1).describe('The DNS selector (s=) of the public key'),
        privateKeyFile: z
          .string()
          .trim()
          .min(1)
          .optional()
          .describe('Path to the PEM private key, outside git; or set DKIM_PRIVATE_KEY in the environment or .env'),
      })
      .optional()
      .describe('DKIM signing of sent messages (optional; many relays sign for you)'),
    send: z
      .strictObject({
        provider: z
          .enum(PROVIDER_IDS)
          .default('generic')
          .describe(
            "The mail provider: microsoft365, google-workspace or generic. Sets the OAuth2 sign-in's token endpoint and scope, and the provider's published limits (rate, connections, perDay), each overridable here",
          ),
        rate: z
          .number()
          .positive()
          .optional()
          .describe("Messages per second (default: the provider's, 10 for generic; Microsoft 365 0.5, i.e. 30 a minute); --rate overrides"),
        connections: z
          .number()
          .int()
          .min(1)
          .max(20)
          .optional()
          .describe("SMTP connections at once (default: the provider's, 2; Microsoft 365 allows 3); --connections overrides"),
        perDay: z
          .number()
          .int()
          .min(1)
          .optional()
          .describe(
            "Recipients this mailbox may send to in any 24 hours, counted across every issue's sends (default: the provider's, Microsoft 365 10000, Google Workspace 2000; none for generic)",
          ),
        maxRetries: z.number().int().min(0).max(10).default(3).describe('Retries of a temporary failure (4xx, dropped connection) before it counts as failed'),
        retryBaseMs: z.number().int().min(0).default(2000).describe('First retry delay in ms; each retry doubles it'),
        failureWindow: z.number().int().min(10).default(100).describe('How many recent results the failure rate is measured over'),
        failureRate: z.number().min(0).max(1).default(0.05).describe('Pause the send when more than this share of the recent results failed'),
      })
      .prefault({})
      .describe('Sending limits and fault handling'),
    audience: z
      .array(
        // The ids of check/client-support/caniemail.ts's EMAIL_CLIENTS (it is typed from this list, so the two cannot drift).
        z
          .enum([
            'outlook-windows',
            'outlook-windows-mail',
            'outlook-com',
            'outlook-macos',
            'outlook-ios',
            'outlook-android',
            'gmail-webmail',
            'gmail-mobile-webmail',
            'gmail-ios',
            'gmail-android',
            'apple-mail-macos',
            'apple-mail-ios',
            'yahoo-webmail',
            'yahoo-ios',
            'yahoo-android',
            'aol-webmail',
            'aol-ios',
            'aol-android',
            'samsung-email',
            'thunderbird',
            'fastmail',
            'protonmail-webmail',
            'protonmail-ios',
            'protonmail-android',
            'hey',
          ])
          .describe('An email client, by the id the README lists'),
      )
      .min(1)
      .optional()
      .describe(
        'The email clients your readers use: the client-support check reports what caniemail.com says they lack, do in part or get wrong. Default: outlook-windows, outlook-com, gmail-webmail, gmail-mobile-webmail, gmail-ios, gmail-android, apple-mail-macos, apple-mail-ios, yahoo-webmail, yahoo-ios, yahoo-android, samsung-email',
      ),
    checks: z
      .partialRecord(z.enum(CHECK_RULE_IDS), CheckSetting)
      .optional()
      .describe(`Check rules turned off or re-levelled, each with a reason. Rules: ${CHECK_RULE_IDS.join(', ')}`),
  })
  .describe('Newsletter settings');

export type Config = z.output<typeof ConfigSchema>;

/** The config file's name, at the project root. */
export const CONFIG_FILE = 'newsletter.config.yaml';

/** Read and validate the config at `file`. Throws NewsletterError ECONFIG. */
export async function loadConfig(file: string, root = process.cwd()): Promise<Config> {
  const shown = path.relative(root, file) || file;
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (err) {
    throw new NewsletterError('ECONFIG', `${shown}: cannot read the newsletter config (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, {
      hint: `Run the command from the project folder, which holds ${path.basename(file)}.`,
      cause: err,
    });
  }
  return parseValidated(source, shown, ConfigSchema, 'ECONFIG');
}
