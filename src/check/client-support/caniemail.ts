/**
 * caniemail.com's data: which email clients support which HTML and CSS features. The
 * file is vendored (data/, from the caniemail npm package; see data/README.md);
 * nothing is fetched at run time. This module names the clients a config's `audience`
 * may list, reads the data and answers, for one feature, what each of those clients
 * does with it, with caniemail's notes.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.js';

/** One feature as caniemail.json has it (only the fields we read). */
interface RawFeature {
  slug: string;
  title: string;
  url: string;
  category: 'css' | 'html' | 'image' | 'others';
  /** family -> platform -> version -> "y" | "n" | "a" | "u", with "#1" note numbers. */
  stats: Record<string, Record<string, Record<string, string>> | undefined>;
  notes: string | null;
  notes_by_num: Record<string, string> | null;
}

interface RawData {
  api_version: string;
  last_update_date: string;
  data: RawFeature[];
}

/** A client caniemail tests, by the id the config's `audience` names it with. */
export type ClientId = NonNullable<Config['audience']>[number];

/** A client we can report on: a caniemail family and platform, and the name readers know. */
export interface EmailClient {
  id: ClientId;
  family: string;
  platform: string;
  /** Shown in messages: "Gmail (iOS)". Clients of one family share the part before the brackets, so messages can group them. */
  name: string;
}

/**
 * Every client the config's `audience` may name: caniemail's families and platforms
 * that readers of an English-language newsletter use. Left out: the regional webmails
 * (GMX, WEB.DE, Orange, SFR, La Poste, Mail.ru, Free, T-Online, 1&1, WP.pl), and
 * caniemail's few Thunderbird-on-Windows tests (its macOS ones cover the same engine).
 * caniemail files the new Outlook for Windows under outlook.com: same engine.
 */
export const EMAIL_CLIENTS: { readonly [id in ClientId]: Omit<EmailClient, 'id'> } = {
  // The Word engine: Outlook 2007-2021 and Microsoft 365 for Windows.
  'outlook-windows': { family: 'outlook', platform: 'windows', name: 'Outlook (Windows)' },
  'outlook-windows-mail': { family: 'outlook', platform: 'windows-mail', name: 'Outlook (Windows Mail)' },
  'outlook-com': { family: 'outlook', platform: 'outlook-com', name: 'Outlook (Outlook.com)' },
  'outlook-macos': { family: 'outlook', platform: 'macos', name: 'Outlook (macOS)' },
  'outlook-ios': { family: 'outlook', platform: 'ios', name: 'Outlook (iOS)' },
  'outlook-android': { family: 'outlook', platform: 'android', name: 'Outlook (Android)' },
  'gmail-webmail': { family: 'gmail', platform: 'desktop-webmail', name: 'Gmail (webmail)' },
  'gmail-mobile-webmail': { family: 'gmail', platform: 'mobile-webmail', name: 'Gmail (mobile webmail)' },
  'gmail-ios': { family: 'gmail', platform: 'ios', name: 'Gmail (iOS)' },
  'gmail-android': { family: 'gmail', platform: 'android', name: 'Gmail (Android)' },
  'apple-mail-macos': { family: 'apple-mail', platform: 'macos', name: 'Apple Mail (macOS)' },
  'apple-mail-ios': { family: 'apple-mail', platform: 'ios', name: 'Apple Mail (iOS)' },
  'yahoo-webmail': { family: 'yahoo', platform: 'desktop-webmail', name: 'Yahoo (webmail)' },
  'yahoo-ios': { family: 'yahoo', platform: 'ios', name: 'Yahoo (iOS)' },
  'yahoo-android': { family: 'yahoo', platform: 'android', name: 'Yahoo (Android)' },
  'aol-webmail': { family: 'aol', platform: 'desktop-webmail', name: 'AOL (webmail)' },
  'aol-ios': { family: 'aol', platform: 'ios', name: 'AOL (iOS)' },
  'aol-android': { family: 'aol', platform: 'android', name: 'AOL (Android)' },
  'samsung-email': { family: 'samsung-email', platform: 'android', name: 'Samsung Email' },
  thunderbird: { family: 'thunderbird', platform: 'macos', name: 'Thunderbird' },
  fastmail: { family: 'fastmail', platform: 'desktop-webmail', name: 'Fastmail' },
  'protonmail-webmail': { family: 'protonmail', platform: 'desktop-webmail', name: 'Proton Mail (webmail)' },
  'protonmail-ios': { family: 'protonmail', platform: 'ios', name: 'Proton Mail (iOS)' },
  'protonmail-android': { family: 'protonmail', platform: 'android', name: 'Proton Mail (Android)' },
  hey: { family: 'hey', platform: 'desktop-webmail', name: 'HEY' },
};

/** Every id the config's `audience` may name, in EMAIL_CLIENTS' order. */
export const CLIENT_IDS = Object.keys(EMAIL_CLIENTS) as ClientId[];

/** The client named `id`. */
export function emailClient(id: ClientId): EmailClient {
  return { id, ...EMAIL_CLIENTS[id] };
}

/**
 * The audience when the config names none: the clients that open most of our
 * readers' mail. Outlook for Windows (the Word engine) and Outlook.com with the new
 * Outlook; Gmail everywhere, its mobile webmail (Gmail in a phone's browser) included:
 * it drops <style>, which the baseline accepts anyway, and in caniemail's data it never
 * flags a feature the baseline lacks on its own, only alongside Gmail's webmail, so it
 * costs no noise; Apple Mail; Yahoo's webmail and apps; Samsung Email, the default
 * client on Samsung's Android phones.
 */
export const DEFAULT_AUDIENCE: readonly ClientId[] = [
  'outlook-windows',
  'outlook-com',
  'gmail-webmail',
  'gmail-mobile-webmail',
  'gmail-ios',
  'gmail-android',
  'apple-mail-macos',
  'apple-mail-ios',
  'yahoo-webmail',
  'yahoo-ios',
  'yahoo-android',
  'samsung-email',
];

export type SupportLevel = 'y' | 'n' | 'a' | 'u';

/** A client's support for a feature, as of the latest version caniemail tested. */
export interface ClientSupport {
  client: EmailClient;
  level: SupportLevel;
  /** caniemail's notes for that result ("#1" -> the note's text). */
  notes: string[];
}

export interface FeatureSupport {
  slug: string;
  title: string;
  url: string;
  /** One entry per client of the audience that caniemail has data for, in the audience's order. */
  clients: ClientSupport[];
}

/** Where the data is, from the project folder (beside this module). */
export const CANIEMAIL_DATA = 'src/check/client-support/data/caniemail.json';

/**
 * The data file. From src/ (tsx, vitest) it is beside this module, in data/; from the
 * CLI bundle in lib/ (scripts/bundle.mjs), where import.meta.url is lib/build-issue.cjs,
 * it is CANIEMAIL_DATA in the project folder above. So the first folder at or above
 * `from` that holds either.
 */
export function caniemailDataFile(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    for (const file of [path.join(dir, 'data', 'caniemail.json'), path.join(dir, CANIEMAIL_DATA)]) if (existsSync(file)) return file;
    if (path.dirname(dir) === dir) {
      throw new Error(
        `caniemail's data (${CANIEMAIL_DATA}) is not in the project folder above ${from}: restore it from git, or run "npm run update-caniemail"`,
      );
    }
  }
}

let data: { raw: RawData; bySlug: Map<string, RawFeature> } | undefined;

/**
 * caniemail's data, read on first use (about 5 ms). Read from the file, not imported:
 * the CLI bundle would otherwise carry the 640 KB in its code, and every build, with
 * or without --check, would pay to load it.
 */
function caniemail(): { raw: RawData; bySlug: Map<string, RawFeature> } {
  if (!data) {
    const raw = JSON.parse(readFileSync(caniemailDataFile(), 'utf8')) as RawData;
    data = { raw, bySlug: new Map(raw.data.map((f) => [f.slug, f])) };
  }
  return data;
}

/** The date of caniemail's data, for reports: "2025-09-09". */
export function caniemailDataDate(): string {
  return caniemail().raw.last_update_date.slice(0, 10);
}

/** Every feature slug in caniemail's data. */
export function caniemailSlugs(): string[] {
  return [...caniemail().bySlug.keys()];
}

/**
 * Order caniemail's version keys. They mix dates ("2024-05"), years ("2019") and
 * version numbers ("16.0", "6.21.1"); caniemail moved to dated tests in 2019, so a
 * version number is older than any date, and numbers compare part by part.
 */
function versionRank(key: string): number[] {
  const date = /^(\d{4})(?:-(\d{2}))?/.exec(key);
  if (date && Number(date[1]) >= 2000) return [1, Number(date[1]), Number(date[2] ?? 0)];
  return [0, ...key.split('.').map((n) => Number.parseInt(n, 10) || 0)];
}

function compareVersions(a: string, b: string): number {
  const x = versionRank(a);
  const y = versionRank(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/**
 * What caniemail says about `slug` for each client of `audience`, using the latest
 * version it tested (as caniemail.com's summary does). A client with no data is left out.
 */
export function featureSupport(slug: string, audience: readonly ClientId[] = DEFAULT_AUDIENCE): FeatureSupport | undefined {
  const feature = caniemail().bySlug.get(slug);
  if (!feature) return undefined;
  const clients: ClientSupport[] = [];
  for (const client of [...new Set(audience)].map(emailClient)) {
    const versions = feature.stats[client.family]?.[client.platform];
    if (!versions) continue;
    const latest = Object.keys(versions).sort(compareVersions).at(-1);
    const result = latest === undefined ? undefined : versions[latest];
    if (!result) continue;
    const level = result.trim().charAt(0) as SupportLevel;
    if (!'ynau'.includes(level)) continue;
    const notes = [...result.matchAll(/#(\d+)/g)].flatMap((m) => feature.notes_by_num?.[m[1]!] ?? []);
    clients.push({ client, level, notes });
  }
  return { slug, title: feature.title, url: feature.url, clients };
}
