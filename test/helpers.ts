/** Shared test helpers: temporary project folders and an in-process CLI. */
import { cp, mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { convert } from 'html-to-text';
import { PNG } from 'pngjs';
import { expect } from 'vitest';
import { run } from '../src/cli.js';
import { NewsletterError } from '../src/errors.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const JULY_YAML = path.join(ROOT, 'issues', 'july-2025.yaml');

/** A temporary copy of the project (config, templates, the July issue), for tests that write. */
export async function makeProject(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'newsletter-test-'));
  await cp(path.join(ROOT, 'templates'), path.join(dir, 'templates'), { recursive: true });
  await cp(path.join(ROOT, 'newsletter.config.yaml'), path.join(dir, 'newsletter.config.yaml'));
  await mkdir(path.join(dir, 'issues'));
  await cp(JULY_YAML, path.join(dir, 'issues', 'july-2025.yaml'));
  return dir;
}

/** The July issue's YAML text. */
export const julyYaml = () => readFile(JULY_YAML, 'utf8');

/** Write `issues/<name>.yaml` in `project`. */
export async function writeIssue(project: string, name: string, text: string): Promise<string> {
  const file = path.join(project, 'issues', `${name}.yaml`);
  await writeFile(file, text);
  return file;
}

/** Replace exactly one occurrence of `from` (throws if it is missing or repeated, so a fixture cannot silently stop applying). */
export function replaceOnce(text: string, from: string, to: string): string {
  const first = text.indexOf(from);
  if (first < 0 || text.indexOf(from, first + 1) >= 0) throw new Error(`fixture text must occur exactly once: ${from}`);
  return text.slice(0, first) + to + text.slice(first + from.length);
}

/** 1-based line number of the first line containing `needle`. */
export function lineOf(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`not found: ${needle}`);
  return i + 1;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<NewsletterError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(NewsletterError);
    return err as NewsletterError;
  }
  throw new Error('expected a NewsletterError');
}

/** A PNG of `width` x `height`: a band of colour a row (a few KB), or with `noise` incompressible (for a big file). */
export function png(width: number, height: number, noise = false): Buffer {
  const image = new PNG({ width, height });
  for (let i = 0; i < width * height * 4; i++) image.data[i] = noise ? Math.floor(Math.random() * 256) : i % 4 === 3 ? 255 : Math.floor(i / (width * 4)) % 256;
  return PNG.sync.write(image);
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Run the CLI in-process in `cwd`. */
export async function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  let out = '';
  let err = '';
  const code = await run(args, { out: (t) => (out += t), err: (t) => (err += t), env, cwd });
  return { code, out, err };
}

/** The words a reader sees in an HTML email (head, images and link targets left out), whitespace collapsed. */
export function visibleText(html: string): string {
  return normalise(
    convert(html.replace(/<div style="display:none;[^"]*">[\s\S]*?<\/div>/, ''), {
      wordwrap: false,
      selectors: [
        { selector: 'a', options: { ignoreHref: true } },
        { selector: 'img', format: 'skip' },
        ...['h1', 'h2', 'h3', 'h4'].map((selector) => ({ selector, options: { uppercase: false } })),
        { selector: 'ul', options: { itemPrefix: ' ' } },
      ],
    }),
  );
}

export const normalise = (s: string) => s.replace(/\s+/g, ' ').trim();

/** A project that sends fast and retries quickly (the providers' pace is for real servers), with `send` added to its config's send: section, and a lists/ folder. */
export async function sendingProject(send = ''): Promise<string> {
  const project = await makeProject();
  const file = path.join(project, 'newsletter.config.yaml');
  await writeFile(file, `${await readFile(file, 'utf8')}\nsend:\n  rate: 1000\n  retryBaseMs: 20\n${send}`);
  await mkdir(path.join(project, 'lists'));
  return project;
}

/** lists/list.csv of `n` readers, reader001@example.org on. */
export async function writeReaders(project: string, n: number): Promise<{ rel: string; emails: string[] }> {
  const emails = Array.from({ length: n }, (_, i) => `reader${String(i + 1).padStart(3, '0')}@example.org`);
  const rel = path.join('lists', 'list.csv');
  await writeFile(path.join(project, rel), `email\n${emails.join('\n')}\n`);
  return { rel, emails };
}
