/**
 * Writing a build's files as one unit. Everything is written into a fresh
 * folder beside the target, then swapped in by rename, so a failed or
 * interrupted build leaves the previous `dist/<slug>/` as it was and never a
 * half-written file.
 *
 * The fence: the tool replaces only folders it made itself. Each one carries a
 * marker file (BUILD_MARKER); a folder without it is replaced only when it holds
 * nothing but a build's own files (a build from before the marker existed). The
 * project folder, its ancestors and any folder that looks like a project
 * (newsletter.config.yaml, issues/, templates/, .git, sends/) are never output.
 */
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NewsletterError } from '../errors.js';

/** The marker file in every folder a build writes: its presence says the folder is ours to replace. */
export const BUILD_MARKER = '.build-issue';
const MARKER_TEXT = 'This folder is written by build-issue and replaced whole on every build: keep nothing of your own in it.\n';

/** What makes a folder a project (or part of one): never an output folder. */
const PROJECT_MARKERS = ['newsletter.config.yaml', 'issues', 'templates', '.git', 'sends'];

/** The files a build writes into dist/<slug>/ (a folder holding only these is an earlier build). */
const BUILD_FILE = /^(?:email\.(?:html|txt|eml)|report\.json|index\.html|issue\.json|[a-z0-9-]+\.ics|screenshot-[a-z-]+\.png|assets|\.build-issue)$/;

const refused = (message: string, hint: string, code: 'EWRITE' | 'EUSAGE' = 'EWRITE') => new NewsletterError(code, message, { hint });

const isInside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

/** The names in `dir`; undefined when it cannot be listed (missing, a file: the write then fails with EWRITE). */
async function entries(dir: string): Promise<string[] | undefined> {
  return readdir(dir).catch(() => undefined);
}

/**
 * Refuse an output folder (`dist/`, or `--out`) that is the project, holds it, or is
 * a project itself: the archive pages are written into it, and its issue folders replaced.
 */
export async function checkOutputFolder(outDir: string, root: string, shown: (f: string) => string): Promise<void> {
  // A wrong --out is a usage mistake (exit 2).
  const hint = 'Write the build into dist/ (the default) or another folder of its own: --out <new-folder>.';
  const no = (why: string) => refused(`--out ${shown(outDir)}: cannot write the build there: ${why}`, hint, 'EUSAGE');
  if (isInside(root, outDir)) throw no(outDir === root ? 'it is the project folder' : 'it holds the project folder');
  for (const inner of ['issues', 'templates', 'sends', '.git', 'node_modules']) {
    if (isInside(outDir, path.join(root, inner))) throw no(`it is inside the project's ${inner}/ folder`);
  }
  const names = (await entries(outDir)) ?? [];
  const project = PROJECT_MARKERS.filter((m) => names.includes(m));
  if (project.length) throw no(`it holds ${project.join(', ')}, so it looks like a project, not an output folder`);
}

/**
 * Refuse to replace `dir` unless it is missing, carries the build marker, or holds
 * only a build's own files. Never follows a link: a link is refused.
 */
export async function checkReplaceable(dir: string, shown: (f: string) => string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st) return;
  const hint = `Move or rename ${shown(dir)} (the build would replace it whole), or build elsewhere with --out <folder>.`;
  if (!st.isDirectory())
    throw refused(`${shown(dir)} is ${st.isSymbolicLink() ? 'a link' : 'a file'}, not a folder this tool wrote: it was left as it is`, hint);
  const names = (await entries(dir)) ?? [];
  if (names.includes(BUILD_MARKER)) return;
  const foreign = names.filter((n) => !BUILD_FILE.test(n));
  if (foreign.length) {
    throw refused(
      `${shown(dir)} was not written by build-issue (it holds ${foreign.slice(0, 4).join(', ')}${foreign.length > 4 ? `, and ${foreign.length - 4} more` : ''}): it was left as it is`,
      hint,
    );
  }
}

/**
 * Refuse to overwrite a file of the archive (dist/index.html, dist/feed.xml) that the
 * tool did not write: `marks` are strings one of which every version of that file has held.
 */
export async function checkOwnFile(file: string, marks: readonly string[], shown: (f: string) => string): Promise<void> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined || marks.some((m) => text.includes(m))) return;
  throw refused(
    `${shown(file)} was not written by build-issue: it was left as it is, and nothing was built`,
    `The archive writes ${path.basename(file)} into the output folder. Build into a folder of its own: --out <new-folder>.`,
  );
}

/** Write `files` (name, or folder/name -> content) as the whole content of `dir`, with the build marker. */
export async function writeOutputDir(dir: string, files: Record<string, string | Buffer>, shown: (f: string) => string = (f) => f): Promise<void> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let staging: string | undefined;
  // Checked again here, just before the swap: the folder may have changed during the build.
  await checkReplaceable(dir, shown);
  try {
    await mkdir(parent, { recursive: true });
    staging = await mkdtemp(path.join(parent, `.${base}.new-`));
    // mkdtemp makes a private (0700) folder; dist/ is published as the web archive, so make it readable like any other.
    await chmod(staging, 0o755);
    // Names may hold a folder ("assets/leaflet.3f2a9c1b.png").
    const folders = new Set(
      Object.keys(files)
        .map((name) => path.dirname(name))
        .filter((d) => d !== '.'),
    );
    await Promise.all([...folders].map((d) => mkdir(path.join(staging!, d), { recursive: true })));
    // allSettled, not all: on a failed write the others must have finished before the staging folder is removed below.
    const writes = await Promise.allSettled(
      Object.entries({ ...files, [BUILD_MARKER]: MARKER_TEXT }).map(([name, content]) => writeFile(path.join(staging!, name), content)),
    );
    const failed = writes.find((w) => w.status === 'rejected');
    if (failed) throw failed.reason;
    const old = `${path.join(parent, `.${base}.old-`)}${process.pid}-${Date.now()}`;
    const hadOld = await lstat(dir).then(
      () => true,
      () => false,
    );
    if (hadOld) await rename(dir, old);
    try {
      await rename(staging, dir);
    } catch (err) {
      if (hadOld) await rename(old, dir); // put the previous build back
      throw err;
    }
    staging = undefined;
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    if (staging) await rm(staging, { recursive: true, force: true }).catch(() => {});
    throw new NewsletterError('EWRITE', `could not write ${shown(dir)}: ${(err as Error).message}`, {
      hint: 'Check that the output folder is writable and the disk is not full; the previous build was left as it was.',
      cause: err,
    });
  }
}

/** Write one file by rename, so a reader never sees half of it. */
export async function replaceFile(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, file);
}
