/**
 * The project's `.env` file: read once, with Node's own parser (util.parseEnv), and merged
 * under the real environment, variable by variable. It is never loaded into process.env:
 * the merged view is passed to the code that needs it (SMTP_URL, DKIM_PRIVATE_KEY,
 * CHROMIUM_PATH), so nothing else in the process sees the secrets.
 *
 * The library never prints: a `.env` that other users can read is reported in `warnings`,
 * for the CLI to show. Nothing here ever quotes a value: they are secrets.
 */
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { NewsletterError } from './errors.js';

/** The variables of an OAuth2 sign-in to the mail server (README, docs/providers/). */
export const OAUTH2_VARIABLES = [
  'SMTP_OAUTH2_CLIENT_ID',
  'SMTP_OAUTH2_CLIENT_SECRET',
  'SMTP_OAUTH2_CERTIFICATE_FILE',
  'SMTP_OAUTH2_TENANT',
  'SMTP_OAUTH2_SERVICE_ACCOUNT_FILE',
  'SMTP_OAUTH2_REFRESH_TOKEN',
  'SMTP_OAUTH2_TOKEN_URL',
  'SMTP_OAUTH2_SCOPE',
] as const;

/** The variables the tool reads, as the README documents them. */
export const ENV_VARIABLES = ['SMTP_URL', ...OAUTH2_VARIABLES, 'DKIM_PRIVATE_KEY', 'UNSUBSCRIBE_SECRET', 'IMAP_URL', 'CHROMIUM_PATH'] as const;

export interface EnvView {
  /**
   * The merged view: `.env`'s variables, each replaced by the real environment's value when
   * that is set and not empty. A plain object: changing it changes nothing else.
   */
  env: NodeJS.ProcessEnv;
  /** Things the user should be told (a `.env` others can read), as sentences. Never printed here. */
  warnings: string[];
  /** The `.env` file read, when there is one. */
  file?: string;
  /** Where a variable's value comes from: "the environment", ".env, line N", or undefined when it is not set. */
  sourceOf(name: string): string | undefined;
}

/** Views readEnv made, by their `env`: passing one back to readEnv reads nothing again. */
const views = new WeakMap<object, { root: string; base: NodeJS.ProcessEnv; view: EnvView }>();

/** Set, for the purpose of "the real environment wins": present and not empty (an empty value counts as unset, as it always has here). */
const isSet = (v: string | undefined): v is string => v !== undefined && v !== '';

const KEY = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=/;

function configError(message: string, hint?: string): NewsletterError {
  return new NewsletterError('ECONFIG', message, {
    hint: hint ?? 'Write each setting on its own line as NAME=value (a value on several lines goes in double quotes); lines starting with # are comments.',
  });
}

/**
 * The line (1-based) of the last assignment of each variable in `.env`, checking that every
 * line is blank, a comment, NAME=value, or inside a quoted value: Node's parser silently
 * skips (or joins to the next line) anything else, which would lose settings without a word.
 * Throws ECONFIG naming the line, quoting nothing of it.
 */
function scanLines(text: string): Map<string, number> {
  const lines = text.split('\n');
  const found = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = KEY.exec(line);
    if (!m) {
      throw configError(`.env, line ${i + 1} is not a setting: each line must be NAME=value, a comment starting with #, or blank`);
    }
    const name = m[1]!;
    found.set(name, i + 1);
    const value = line.slice(m[0].length).trimStart();
    const quote = value[0];
    if (quote !== '"' && quote !== "'" && quote !== '`') continue;
    // A quoted value may run over several lines, to its closing quote (as Node's parser reads it).
    const close = value.indexOf(quote, 1);
    if (close >= 0) continue;
    let j = i + 1;
    while (j < lines.length && !lines[j]!.includes(quote)) j++;
    if (j >= lines.length) {
      const which = (ENV_VARIABLES as readonly string[]).includes(name) ? `the value of ${name}` : 'the value';
      throw configError(
        `.env, line ${i + 1}: ${which} starts with a quote (${quote}) that is never closed`,
        `Close the quote at the end of the value, or remove it.`,
      );
    }
    i = j;
  }
  return found;
}

/** `<root>/.env`'s text and mode, or undefined when there is none. Throws ECONFIG when it exists but cannot be read. */
async function readFileAndMode(file: string): Promise<{ text: string; mode: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw configError(
      `cannot read .env (${code ?? (err as Error).message})`,
      'Make .env a file you can read (chmod 600 .env), or remove it and set the variables in the environment.',
    );
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw configError('.env is not a file', 'Remove it, or make it a file of NAME=value lines.');
    const bytes = await handle.readFile();
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw configError('.env is not UTF-8 text', 'Save it as UTF-8 (plain text).');
    }
    return { text, mode: stat.mode };
  } catch (err) {
    if (err instanceof NewsletterError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw configError(`cannot read .env (${code ?? (err as Error).message})`);
  } finally {
    await handle.close();
  }
}

/** The warning for a `.env` other users can read or change, or undefined. */
export function modeWarning(mode: number, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32' || (mode & 0o077) === 0) return undefined;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  const what = mode & 0o044 ? 'read' : 'changed';
  return `.env can be ${what} by other users of this computer (mode ${octal}): run chmod 600 .env`;
}

/**
 * Read `<root>/.env` (if there is one) and merge it under `env`, the real environment, which
 * wins variable by variable. Returns the merged view without touching process.env.
 *
 * Passing a view's `env` back (as the CLI may, having shown the warnings) returns the same
 * view: the file is read once.
 *
 * Throws ECONFIG when `.env` exists but cannot be read or is not NAME=value lines, naming the
 * line and never quoting a value.
 */
export async function readEnv(root: string, env: NodeJS.ProcessEnv = process.env): Promise<EnvView> {
  const dir = path.resolve(root);
  const earlier = views.get(env);
  if (earlier) {
    if (earlier.root === dir) return earlier.view;
    env = earlier.base;
  }
  const file = path.join(dir, '.env');
  const read = await readFileAndMode(file);
  const base = env;
  const fromFile: Record<string, string> = {};
  let lines = new Map<string, number>();
  const warnings: string[] = [];
  if (read) {
    // Node keeps a byte-order mark as part of the first name, and its \r handling is its own: normalise both first.
    const text = read.text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
    lines = scanLines(text);
    const parsed = parseEnv(text) as Record<string, string>;
    for (const name of lines.keys()) {
      const value = parsed[name];
      // The scan and the parser agree on well-formed files; a name the parser did not return is a line it read otherwise.
      if (value === undefined) throw configError(`.env, line ${lines.get(name)} could not be read as NAME=value`);
      fromFile[name] = value;
    }
    const warning = modeWarning(read.mode);
    if (warning) warnings.push(warning);
  }
  const merged: NodeJS.ProcessEnv = { ...fromFile };
  for (const [name, value] of Object.entries(base)) {
    if (isSet(value) || !(name in fromFile)) merged[name] = value;
  }
  const view: EnvView = {
    env: merged,
    warnings,
    file: read ? file : undefined,
    sourceOf(name: string) {
      if (isSet(base[name])) return 'the environment';
      const line = lines.get(name);
      if (line !== undefined && isSet(merged[name])) return `.env, line ${line}`;
      return base[name] !== undefined ? 'the environment' : undefined;
    },
  };
  views.set(merged, { root: dir, base, view });
  return view;
}
