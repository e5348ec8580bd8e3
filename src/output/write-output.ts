/**
 * Writing a build's files as one unit. Everything is written into a fresh
 * folder beside the target, then swapped in by rename, so a failed or
 * interrupted build leaves the previous `dist/<slug>/` as it was and never a
 * half-written file.
 */
import { chmod, mkdir, mkdtemp, rename, rm, writeFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { NewsletterError } from '../errors.js';

/** Write `files` (name, or folder/name -> content) as the whole content of `dir`. */
export async function writeOutputDir(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let staging: string | undefined;
  try {
    await mkdir(parent, { recursive: true });
    staging = await mkdtemp(path.join(parent, `.${base}.new-`));
    // mkdtemp makes a private (0700) folder; dist/ is published as the web archive, so make it readable like any other.
    await chmod(staging, 0o755);
    // Names may hold a folder ("assets/leaflet.3f2a9c1b.png").
    const folders = new Set(Object.keys(files).map((name) => path.dirname(name)).filter((d) => d !== '.'));
    await Promise.all([...folders].map((d) => mkdir(path.join(staging!, d), { recursive: true })));
    await Promise.all(Object.entries(files).map(([name, content]) => writeFile(path.join(staging!, name), content)));
    const old = `${path.join(parent, `.${base}.old-`)}${process.pid}-${Date.now()}`;
    const hadOld = await stat(dir).then(() => true, () => false);
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
    throw new NewsletterError('EWRITE', `could not write ${dir}: ${(err as Error).message}`, {
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
