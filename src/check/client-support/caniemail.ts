/**
 * caniemail.com's data: which email clients support which HTML and CSS features. The
 * file is vendored (data/, from the caniemail npm package; see data/README.md);
 * nothing is fetched at run time. This module reads it and answers, for
 * one feature, what each of the clients we report on does with it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** A client we report on: a caniemail family and platform, and the name readers know. */
export interface EmailClient {
  family: string;
  platform: string;
  /** Shown in messages: "Gmail (iOS)". */
  name: string;
}

/**
 * The clients the spec names: Outlook for Windows (the Word engine, 2007-2021 and
 * Microsoft 365; not the new Outlook, which caniemail files under outlook.com), Gmail
 * everywhere, Apple Mail, Yahoo. Together they open most of our readers' mail.
 */
export const CLIENTS: readonly EmailClient[] = [
  { family: 'outlook', platform: 'windows', name: 'Outlook (Windows)' },
  { family: 'gmail', platform: 'desktop-webmail', name: 'Gmail (webmail)' },
  { family: 'gmail', platform: 'mobile-webmail', name: 'Gmail (mobile webmail)' },
  { family: 'gmail', platform: 'ios', name: 'Gmail (iOS)' },
  { family: 'gmail', platform: 'android', name: 'Gmail (Android)' },
  { family: 'apple-mail', platform: 'macos', name: 'Apple Mail (macOS)' },
  { family: 'apple-mail', platform: 'ios', name: 'Apple Mail (iOS)' },
  { family: 'yahoo', platform: 'desktop-webmail', name: 'Yahoo (webmail)' },
  { family: 'yahoo', platform: 'ios', name: 'Yahoo (iOS)' },
  { family: 'yahoo', platform: 'android', name: 'Yahoo (Android)' },
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
  /** One entry per client in CLIENTS that caniemail has data for. */
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
 * What caniemail says about `slug` for each of our clients, using the latest version
 * it tested (as caniemail.com's summary does). A client with no data is left out.
 */
export function featureSupport(slug: string): FeatureSupport | undefined {
  const feature = caniemail().bySlug.get(slug);
  if (!feature) return undefined;
  const clients: ClientSupport[] = [];
  for (const client of CLIENTS) {
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
