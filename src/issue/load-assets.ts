/**
 * Local images: an issue's image `src` may be a file under `issues/assets/`
 * (`assets/august-2025/vess-leaflet.png`, written relative to the issue file, as in
 * Markdown) instead of an https:// address. Loading reads each one, checks it is an
 * image every email client shows (PNG, JPEG or GIF), reads its pixel size, and names
 * its copy by content (`vess-leaflet.3f2a9c1b.png`), so a changed picture gets a new
 * address and no inbox or web cache shows the old one.
 *
 * Where the email points: `<assetBaseUrl>/<slug>/<name>` when the config sets
 * assetBaseUrl; else `<archiveBaseUrl>/<slug>/assets/<name>`, since publishing dist/
 * publishes dist/<slug>/assets/ too; else the relative `assets/<name>`, which the
 * checks report as an error (the build still writes its files, to look at).
 */
import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { imageSize } from 'image-size';
import type { Config } from '../config.js';
import { NewsletterError, type Problem } from '../errors.js';
import { inventory } from './inventory.js';
import type { LoadedIssue } from './load-issue.js';
import { verifyImage } from './verify-image.js';

/** A local image of an issue, read and named for dist/<slug>/assets/. */
export interface LocalAsset {
  /** As written in the issue file: `assets/august-2025/vess-leaflet.png`. */
  src: string;
  /** The file on disk. */
  file: string;
  /** Its name in dist/<slug>/assets/, with a content hash: `vess-leaflet.3f2a9c1b.png`. */
  name: string;
  /** The address written into the email (relative `assets/<name>` when no base URL is configured). */
  url: string;
  contentType: 'image/png' | 'image/jpeg' | 'image/gif';
  /** Pixel size of the picture as it shows (JPEG rotation applied). */
  width: number;
  height: number;
  content: Buffer;
  /** Where the first use is written: `issues/august-2025.yaml:42:12` and the field. */
  where: { file: string; line?: number; col?: number; path?: string };
}

/** The local images of an issue, by `src` as written. */
export type Assets = ReadonlyMap<string, LocalAsset>;

/** Files over this many bytes get a warning: a phone on a slow connection waits for every one. */
export const ASSET_WARN_BYTES = 300_000;

/** Files over this many bytes are refused before they are read: an email picture that big is a mistake. */
export const ASSET_MAX_BYTES = 10_000_000;

const TYPES: Record<string, LocalAsset['contentType']> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif' };

/** True when an image `src` is a file path rather than an address (no scheme, not `//host`). */
export function isLocalSrc(src: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(src) && !src.startsWith('//');
}

/** A copy of `html` with each local image's address (as the build wrote it) replaced by `to(asset)`. */
export function replaceAssetUrls(html: string, assets: Iterable<LocalAsset>, to: (asset: LocalAsset) => string): string {
  let out = html;
  for (const asset of assets) out = out.replaceAll(`src="${asset.url}"`, `src="${to(asset)}"`);
  return out;
}

/** `VESS Leaflet (final).PNG` + hash -> `vess-leaflet-final.3f2a9c1b.png` */
function hashedName(file: string, content: Buffer, ext: string): string {
  const stem =
    path
      .basename(file, path.extname(file))
      .toLowerCase()
      .normalize('NFKD')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'image';
  return `${stem}.${createHash('sha256').update(content).digest('hex').slice(0, 8)}.${ext}`;
}

function assetUrl(config: Config, slug: string, name: string): string {
  if (config.assetBaseUrl) return `${config.assetBaseUrl}/${slug}/${name}`;
  if (config.archiveBaseUrl) return `${config.archiveBaseUrl}/${slug}/assets/${name}`;
  return `assets/${name}`;
}

/** What reading a local picture's file found. */
type ReadOutcome =
  | { kind: 'ok'; content: Buffer }
  | { kind: 'missing' }
  /** Its real path (links followed) is outside issues/assets/. */
  | { kind: 'outside' }
  | { kind: 'folder' }
  /** A device, FIFO or socket: reading one could block or never end. */
  | { kind: 'special' }
  | { kind: 'too-big'; bytes: number }
  | { kind: 'error'; code: string };

/**
 * Read `file` if it is a regular file of at most ASSET_MAX_BYTES whose real path lies
 * inside `realRoot` (the real path of issues/assets/). Links, a file's or a parent
 * folder's, are followed to see where they lead; nothing is opened before that is known,
 * and the file is opened without following a link or waiting on a pipe (in case it was
 * swapped meanwhile), checked again, and read to its size and no further.
 */
async function readInside(file: string, realRoot: Promise<string | undefined>): Promise<ReadOutcome> {
  const codeOf = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  let real: string;
  try {
    real = await realpath(file);
  } catch (err) {
    const code = codeOf(err);
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'error', code };
  }
  const root = await realRoot;
  if (!root || (real !== root && !real.startsWith(root + path.sep))) return { kind: 'outside' };
  const judge = (st: { isFile(): boolean; isDirectory(): boolean; size: number }): ReadOutcome | undefined =>
    st.isDirectory() ? { kind: 'folder' } : !st.isFile() ? { kind: 'special' } : st.size > ASSET_MAX_BYTES ? { kind: 'too-big', bytes: st.size } : undefined;
  try {
    const refused = judge(await stat(real));
    if (refused) return refused;
    const handle = await open(real, fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0));
    try {
      const st = await handle.stat();
      const changed = judge(st);
      if (changed) return changed;
      const content = Buffer.alloc(st.size);
      let got = 0;
      while (got < content.length) {
        const { bytesRead } = await handle.read(content, got, content.length - got, got);
        if (!bytesRead) break;
        got += bytesRead;
      }
      return { kind: 'ok', content: got === content.length ? content : content.subarray(0, got) };
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = codeOf(err);
    return code === 'ENOENT' ? { kind: 'missing' } : { kind: 'error', code };
  }
}

/**
 * Read every local image of the issue. Throws NewsletterError EISSUE_INVALID listing
 * every image that is missing, outside issues/assets/ (by its real path: links are
 * followed), not a regular file, over ASSET_MAX_BYTES, not a PNG, JPEG or GIF, or
 * damaged or incomplete (verify-image.ts), each with its line in the issue file.
 */
export async function loadAssets(loaded: LoadedIssue, config: Config, slug: string): Promise<Map<string, LocalAsset>> {
  const assets = new Map<string, LocalAsset>();
  const local = inventory({ ...loaded, config, issueFile: loaded.shownAs }).images.filter((e) => e.path.length && isLocalSrc(e.image.src));
  if (!local.length) return assets;

  const issueDir = path.dirname(path.resolve(loaded.file));
  const assetsRoot = path.join(issueDir, 'assets');
  const ownFolder = path.join(assetsRoot, slug);
  const shownDir = path.dirname(loaded.shownAs);
  const suggested = `${shownDir}/assets/${slug}/`;
  // Its real path: the project itself may be under a linked folder (/tmp on macOS), or issues/assets/ a link to a shared drive.
  const realRoot = realpath(assetsRoot).catch(() => undefined);
  const problems: Problem[] = [];
  const problem = (where: LocalAsset['where'], message: string) =>
    problems.push({ where: where.line ? `${where.file}:${where.line}:${where.col}` : where.file, path: where.path, message });

  await Promise.all(
    [...new Map(local.map((e) => [e.image.src, e])).values()].map(async ({ image, where }) => {
      const src = image.src;
      const file = path.resolve(issueDir, src);
      const w = { file: where.file ?? loaded.shownAs, line: where.line, col: where.col, path: where.path };
      if (path.isAbsolute(src) || !file.startsWith(assetsRoot + path.sep)) {
        problem(
          w,
          `"${src}" is not in ${shownDir}/assets/: put the picture in ${suggested} and write src: assets/${slug}/${path.basename(src)} (paths are relative to the issue file)`,
        );
        return;
      }
      const read = await readInside(file, realRoot);
      if (read.kind !== 'ok' && read.kind !== 'missing') {
        const mb = read.kind === 'too-big' ? (read.bytes / 1_000_000).toFixed(1) : '';
        problem(
          w,
          read.kind === 'outside'
            ? `"${src}" is a link to somewhere outside ${shownDir}/assets/: copy the picture itself into ${suggested} (the build does not follow links out of the folder)`
            : read.kind === 'folder'
              ? `"${src}" is a folder, not a picture file: point src at a PNG, JPEG or GIF file`
              : read.kind === 'special'
                ? `"${src}" is not an ordinary file (a device, pipe or socket): point src at a PNG, JPEG or GIF file`
                : read.kind === 'too-big'
                  ? `"${src}" is ${mb} MB, over the ${ASSET_MAX_BYTES / 1_000_000} MB a picture may be: save a smaller copy (under 300 KB loads quickly on a phone)`
                  : `cannot read image file "${src}" (${read.code}): check that it is a readable file`,
        );
        return;
      }
      if (read.kind === 'missing') {
        // Say what is there: the usual slip is a name typed differently from the file's.
        const folder = path.dirname(file);
        const there = (await readdir(folder).catch(() => [] as string[])).filter((f) => /\.(png|jpe?g|gif)$/i.test(f));
        const ownHas = folder !== ownFolder && (await readdir(ownFolder).catch(() => [] as string[])).includes(path.basename(src));
        const shownFile = path.join(shownDir, path.relative(issueDir, file));
        problem(
          w,
          `image file "${src}" does not exist (looked for ${shownFile}): ` +
            (ownHas
              ? `did you mean src: assets/${slug}/${path.basename(src)}?`
              : there.length
                ? `pictures in ${path.dirname(shownFile)}/: ${there.slice(0, 6).join(', ')}${there.length > 6 ? ', ...' : ''} (letter case counts)`
                : `put the picture in ${suggested} or correct the file name (letter case counts)`),
        );
        return;
      }
      const content = read.content;
      let size: ReturnType<typeof imageSize>;
      try {
        size = imageSize(content);
      } catch {
        // A PNG, JPEG or GIF cut off inside its header: say so, rather than "not a picture".
        const whole = verifyImage(content);
        problem(
          w,
          !whole.ok && whole.kind
            ? `"${src}" is damaged or incomplete (${whole.reason}): save or export it again`
            : `"${src}" is not a picture this build can read: save it as PNG or JPEG (photos) and point src at that file`,
        );
        return;
      }
      const ext = size.type === 'jpg' ? (/\.jpeg$/i.test(src) ? 'jpeg' : 'jpg') : size.type;
      const contentType = size.type ? TYPES[size.type] : undefined;
      if (!contentType || !ext) {
        problem(
          w,
          `"${src}" is a ${String(size.type).toUpperCase()} image, which Outlook (and some webmail) does not show: save it as PNG, or JPEG for photos`,
        );
        return;
      }
      // The header alone passes a picture cut off in a copy or a download: prove the file whole.
      const whole = verifyImage(content);
      if (!whole.ok) {
        problem(
          w,
          whole.problem === 'too-large'
            ? `"${src}" is far too large for an email picture (${whole.reason}): save a smaller copy`
            : `"${src}" is damaged or incomplete (${whole.reason}): save or export it again`,
        );
        return;
      }
      // EXIF orientations 5-8 turn the picture a quarter: the shown size is the stored one swapped.
      const turned = (size.orientation ?? 1) >= 5;
      const name = hashedName(file, content, ext);
      assets.set(src, {
        src,
        file,
        name,
        url: assetUrl(config, slug, name),
        contentType,
        width: turned ? size.height : size.width,
        height: turned ? size.width : size.height,
        content,
        where: w,
      });
    }),
  );
  if (problems.length) {
    problems.sort((a, b) => (a.where ?? '').localeCompare(b.where ?? '', undefined, { numeric: true }));
    throw new NewsletterError('EISSUE_INVALID', `${loaded.shownAs}: ${problems.length} image${problems.length === 1 ? '' : 's'} to fix`, { problems });
  }
  return assets;
}
