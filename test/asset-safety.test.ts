/**
 * Local pictures are safe with any input (issue 10): a link under issues/assets/ cannot
 * bring a file from elsewhere into dist/ or a test send, a device, pipe, folder or huge
 * file fails fast, and a picture cut off or damaged is an error at its line naming the
 * file, not a broken image in every inbox. Every refusal: EISSUE_INVALID at the image's
 * `src` line, and nothing of the file in dist/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, readdir, symlink, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { ASSET_MAX_BYTES } from '../src/issue/load-assets.js';
import { verifyImage } from '../src/issue/verify-image.js';
import { lineOf, makeProject, png, rejection, replaceOnce } from './helpers.js';

/**
 * Real encoders' files (no JPEG or GIF encoder is installed here): CPython's
 * Lib/test/imghdrdata/python.jpg (543 bytes, 16x16 baseline JFIF, sha256 0171178a...)
 * and python.gif (610 bytes, 16x16 GIF89a written by ImageMagick, sha256 edb421b4...),
 * copied from /root/.pyenv/versions/3.7.16/lib/python3.7/test/imghdrdata/ (PSF licence).
 */
const JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q' +
    'EBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ' +
    'EBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQID' +
    'BAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/' +
    '2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx' +
    '4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+' +
    'Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolv' +
    'w4KOp1KM6iCNvngZHwetf//Z',
  'base64',
);
const GIF = Buffer.from(
  'R0lGODlhEAAQAPZkAOu7GOu+IfPBGvrHGf3LG//MHOvCKv/PI//PJP/QJf/QJv/TLf3SL//TLv/TL+vFNOjHPf/TMP/UMP3VNv/W' +
    'N/rTOf/XOP/XOf/XOvnVPv/YOuzORf3ZQf/aQf/aQv/bQv/bQ//bRP3dSv/eS//fTf3eTv/fTv/iVf/jV//jWP/mYf/nYf/nYvLh' +
    'bvXjb/3pav/rbDJghzZmkDZnkTVokjZpkzZplDdoljdqljlsljhslzltmTpvmzpwnDtwnDtwnTxxnj1zoD1zoj10oT50oj51oz92' +
    'pUB4pkB4p0F5qEJ7qkN8q0N9rUN9rkR9rUR+rUV/r0aAsEaAsUaBskeBskiDtEiEtUiFtkmFt0qHuUqGukuIu0yJvEyKvE2LvkyK' +
    'v06NwE+NwVCPw1KRxv///wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' +
    'AAAAAAAAAAAAAAAAAAAAAAAAAAAAACH5BAEAAGUAIf8LSW1hZ2VNYWdpY2sHZ2FtbWE9MAAsAAAAABAAEAAAB6iAZYJlYVpSTEZA' +
    'N4OMgl1kUkpEPTiNjFeRRD44NZZlX1dMRDkyOTiVjGNhXFVQR0A8NadlJyMZZWJfVFBKsDW/MWUjHROfV1SSQKczwRvEC2XHS0ed' +
    'jR0XCwdlh0czZS0vLCcmHRoLCARlTJJlLjAsKSYhFxEIBQKCQj5l7/Hl5wUKWIJnAsIDAwEAAPAUb16EBAI9lZF3QUICMukklqnw' +
    'sMAAjSAHBQIAOw==',
  'base64',
);

const VESS_URL = '"https://liia.london/newsletter/july-2025/images/vess-leaflet.png"';
const FOLDER = 'assets/july-2025';
const unix = process.platform !== 'win32';

/** July with the VESS leaflet's src set to `src` (a local path); assetBaseUrl set so the pictures have an address. */
async function julyWithSrc(src: string, project?: string) {
  project ??= await makeProject();
  await mkdir(path.join(project, 'issues', FOLDER), { recursive: true });
  await appendFile(path.join(project, 'newsletter.config.yaml'), '\nassetBaseUrl: https://liia.london/newsletter/assets\n');
  const file = path.join(project, 'issues', 'july-2025.yaml');
  const yaml = replaceOnce(await readFile(file, 'utf8'), VESS_URL, `"${src}"`);
  await writeFile(file, yaml);
  return { project, where: `issues/july-2025.yaml:${lineOf(yaml, src)}:12` };
}

/** Every file under `dir`, recursively (none when it does not exist). */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** The build is refused with one problem at `where`, and dist/ holds no copy of `content` (nor any picture). */
async function expectRefused(project: string, where: string, content?: Buffer) {
  const err = await rejection(buildIssue('july-2025', { root: project }));
  expect(err.code).toBe('EISSUE_INVALID');
  expect(err.problems.map((p) => p.where)).toEqual([where]);
  expect(err.problems[0]!.path).toBe('sections[3].image.src');
  const written = await filesUnder(path.join(project, 'dist'));
  expect(written.filter((f) => /\.(png|jpe?g|gif)$/i.test(f))).toEqual([]);
  if (content) for (const f of written) expect((await readFile(f)).equals(content), f).toBe(false);
  return { err };
}

/** A folder outside the project holding `secret.png`. */
async function outsideFolder() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'outside-project-'));
  const secret = png(40, 30);
  await writeFile(path.join(dir, 'secret.png'), secret);
  return { dir, secret };
}

/** Byte offset of the first chunk of `type` in a PNG. */
function chunkAt(data: Buffer, type: string): number {
  for (let pos = 8; pos + 8 <= data.length; pos += 12 + data.readUInt32BE(pos)) if (data.toString('latin1', pos + 4, pos + 8) === type) return pos;
  throw new Error(`no ${type} chunk`);
}

describe.skipIf(!unix)('links under issues/assets/ cannot bring in a file from elsewhere', () => {
  it('an absolute link to a picture outside the project', async () => {
    const { dir, secret } = await outsideFolder();
    const { project, where } = await julyWithSrc(`${FOLDER}/leaflet.png`);
    await symlink(path.join(dir, 'secret.png'), path.join(project, 'issues', FOLDER, 'leaflet.png'));
    const { err } = await expectRefused(project, where, secret);
    expect(err.problems[0]!.message).toContain('outside issues/assets/');
  });

  it('a relative link climbing out with ../../..', async () => {
    const { project, where } = await julyWithSrc(`${FOLDER}/leaflet.png`);
    const secret = png(40, 30);
    await writeFile(path.join(project, 'secret.png'), secret);
    await symlink('../../../secret.png', path.join(project, 'issues', FOLDER, 'leaflet.png'));
    expect((await readFile(path.join(project, 'issues', FOLDER, 'leaflet.png'))).equals(secret)).toBe(true);
    await expectRefused(project, where, secret);
  });

  it('a linked folder under issues/assets/ that points outside', async () => {
    const { dir, secret } = await outsideFolder();
    const { project, where } = await julyWithSrc(`${FOLDER}/shared/secret.png`);
    await symlink(dir, path.join(project, 'issues', FOLDER, 'shared'));
    await expectRefused(project, where, secret);
  });

  it('a link to /dev/zero or /dev/urandom ends at once with the error, reading nothing', async () => {
    for (const device of ['/dev/zero', '/dev/urandom']) {
      const { project, where } = await julyWithSrc(`${FOLDER}/leaflet.png`);
      await symlink(device, path.join(project, 'issues', FOLDER, 'leaflet.png'));
      // Reading the device would never end: that the build returns at all (within the test's
      // limit, a hang detector) is the proof; how fast is not a test's business.
      await expectRefused(project, where);
    }
  }, 60_000);

  it('a link that stays inside issues/assets/ is fine, and so is a project reached through a linked folder', async () => {
    const real = await makeProject();
    const picture = png(300, 200);
    await mkdir(path.join(real, 'issues', 'assets', 'shared'), { recursive: true });
    await writeFile(path.join(real, 'issues', 'assets', 'shared', 'logo.png'), picture);
    await julyWithSrc(`${FOLDER}/leaflet.png`, real);
    await symlink('../shared/logo.png', path.join(real, 'issues', FOLDER, 'leaflet.png'));
    // The whole project under a linked folder, as /tmp is on macOS.
    const linked = path.join(await mkdtemp(path.join(os.tmpdir(), 'linked-')), 'project');
    await symlink(real, linked);
    for (const root of [real, linked]) {
      const r = await buildIssue('july-2025', { root });
      const asset = r.assets.find((a) => a.src === `${FOLDER}/leaflet.png`)!;
      expect(asset.content.equals(picture)).toBe(true);
      expect((await readFile(path.join(root, 'dist/july-2025/assets', asset.name))).equals(picture)).toBe(true);
    }
  });
});

describe('a src that is not an ordinary picture file fails fast', () => {
  it('a folder named like a picture', async () => {
    const { project, where } = await julyWithSrc(`${FOLDER}/leaflet.png`);
    await mkdir(path.join(project, 'issues', FOLDER, 'leaflet.png'));
    const { err } = await expectRefused(project, where);
    expect(err.problems[0]!.message).toContain('is a folder');
  });

  it.skipIf(!unix)(
    'a named pipe (reading one would wait for ever)',
    async () => {
      const { project, where } = await julyWithSrc(`${FOLDER}/leaflet.png`);
      execFileSync('mkfifo', [path.join(project, 'issues', FOLDER, 'leaflet.png')]);
      // Opening a pipe for reading waits for a writer that never comes: returning at all is the proof.
      await expectRefused(project, where);
    },
    60_000,
  );

  it(`a file over ${ASSET_MAX_BYTES / 1_000_000} MB is refused before it is read`, async () => {
    const { project, where } = await julyWithSrc(`${FOLDER}/leaflet.png`);
    const file = path.join(project, 'issues', FOLDER, 'leaflet.png');
    // A real PNG's header, then zeros to 11 MB (a sparse file: nothing is written).
    await writeFile(file, png(40, 30));
    await truncate(file, ASSET_MAX_BYTES + 1_000_000);
    await expectRefused(project, where);
  });
});

describe('a damaged or incomplete picture is an error at its line', () => {
  const whole = png(200, 150, true);
  const idat = chunkAt(whole, 'IDAT');
  const flipped = Buffer.from(whole);
  flipped[idat + 8 + 1000] = flipped[idat + 8 + 1000]! ^ 0x01;
  // The same byte changed with the chunk's checksum made again: the compressed data itself is wrong.
  const rechecked = Buffer.from(flipped);
  const idatLength = rechecked.readUInt32BE(idat);
  rechecked.writeUInt32BE(zlib.crc32(rechecked.subarray(idat + 4, idat + 8 + idatLength)) >>> 0, idat + 8 + idatLength);

  it.each([
    ['PNG cut in half', 'png', whole.subarray(0, whole.length >> 1)],
    ['PNG without its IEND chunk', 'png', whole.subarray(0, chunkAt(whole, 'IEND'))],
    ['PNG one byte short', 'png', whole.subarray(0, whole.length - 1)],
    ['PNG with a byte changed in IDAT (checksum)', 'png', flipped],
    ['PNG with a byte changed in IDAT and the checksum made to match', 'png', rechecked],
    ['JPEG cut before its EOI marker', 'jpg', JPEG.subarray(0, JPEG.length - 2)],
    ['JPEG cut in half', 'jpg', JPEG.subarray(0, JPEG.length >> 1)],
    ['GIF cut before its trailer', 'gif', GIF.subarray(0, GIF.length - 1)],
    ['GIF cut in half', 'gif', GIF.subarray(0, GIF.length >> 1)],
    ['PNG cut inside its header', 'png', whole.subarray(0, 20)],
  ])('%s', async (_, ext, content) => {
    const { project, where } = await julyWithSrc(`${FOLDER}/picture.${ext}`);
    await writeFile(path.join(project, 'issues', FOLDER, `picture.${ext}`), content);
    const { err } = await expectRefused(project, where, content);
    expect(err.problems[0]!.message).toContain(`"${FOLDER}/picture.${ext}" is damaged or incomplete`);
  });

  it('whole PNG, JPEG and GIF files pass and are copied', async () => {
    for (const [ext, content] of [
      ['png', whole],
      ['jpg', JPEG],
      ['gif', GIF],
    ] as const) {
      const { project } = await julyWithSrc(`${FOLDER}/picture.${ext}`);
      await writeFile(path.join(project, 'issues', FOLDER, `picture.${ext}`), content);
      const r = await buildIssue('july-2025', { root: project });
      const asset = r.assets.find((a) => a.src === `${FOLDER}/picture.${ext}`)!;
      expect(await readFile(path.join(project, 'dist/july-2025/assets', asset.name))).toEqual(content);
    }
  });

  it('verifyImage: a PNG whose pixels would not fit in memory is refused before inflating; data longer than its size says is damaged', () => {
    const chunk = (type: string, body: Buffer) => {
      const typed = Buffer.concat([Buffer.from(type, 'latin1'), body]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(typed) >>> 0);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length);
      return Buffer.concat([length, typed, crc]);
    };
    const made = (width: number, height: number, pixels: Buffer) => {
      const ihdr = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 8, 6, 0, 0, 0]);
      ihdr.writeUInt32BE(width, 0);
      ihdr.writeUInt32BE(height, 4);
      return Buffer.concat([whole.subarray(0, 8), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(pixels)), chunk('IEND', Buffer.alloc(0))]);
    };
    // 40,000 x 40,000 RGBA: 6.4 GB once decoded, from a file of a few hundred bytes.
    // Refused from its header, before inflating: 6.4 GB would not fit in the test's memory.
    expect(verifyImage(made(40_000, 40_000, Buffer.alloc(1_000_000)))).toMatchObject({ ok: false, problem: 'too-large' });
    // 1 x 1 needs 5 bytes (filter + RGBA); a megabyte inflates from it.
    expect(verifyImage(made(1, 1, Buffer.alloc(1_000_000)))).toMatchObject({ ok: false, problem: 'damaged' });
    expect(verifyImage(made(1, 1, Buffer.alloc(5)))).toMatchObject({ ok: true });
    expect(verifyImage(made(1, 1, Buffer.alloc(4)))).toMatchObject({ ok: false, problem: 'damaged' });
  });

  it('verifyImage: every truncation of each real file is caught, and the whole files pass', () => {
    for (const file of [whole, png(1104, 700), JPEG, GIF]) {
      expect(verifyImage(file)).toMatchObject({ ok: true });
      for (let cut = 0; cut < file.length; cut += Math.max(1, Math.floor(file.length / 400)))
        expect(verifyImage(file.subarray(0, cut)).ok, `cut at ${cut}`).toBe(false);
    }
  });
});
