/**
 * Local images: files under issues/assets/ copied into dist/<slug>/assets/ with a
 * content hash, addressed under the config's base URL, sized from their pixels, and
 * attached inline (CID) to test sends. On the July issue and on August made from it.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { newIssue } from '../src/authoring/new-issue.js';
import { startPreview, type PreviewServer } from '../src/preview/server.js';
import { findChromium } from '../src/preview/screenshots.js';
import { lineOf, makeProject, png, rejection, replaceOnce, runCli } from './helpers.js';
import { startSink, type SmtpSink } from './smtp-sink.js';

const BASE = 'https://liia.london/newsletter/assets';
const VESS_URL = '"https://liia.london/newsletter/july-2025/images/vess-leaflet.png"';
const COVER_URL = '"https://liia.london/newsletter/july-2025/images/progressive-desistance-report-cover.png"';
const VRU_URL = '"https://liia.london/newsletter/july-2025/images/london-vru-newsletter.png"';

/**
 * The head of a JPEG as a phone writes it: an Exif orientation, then the frame's size
 * (stored landscape, shown turned a quarter when orientation is 6). Enough for the
 * build, which reads the header; no picture data.
 */
function jpeg(width: number, height: number, orientation: number): Buffer {
  const exif = Buffer.concat([
    Buffer.from('Exif\0\0', 'latin1'),
    Buffer.from([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]), // TIFF header, big-endian, first IFD at 8
    Buffer.from([0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0]), // one entry: Orientation
  ]);
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (exif.length + 2) >> 8, (exif.length + 2) & 255]), exif]);
  const sof0 = Buffer.from([0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, sof0, Buffer.from([0xff, 0xd9])]);
}

const sha8 = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 8);

async function addAsset(project: string, rel: string, content: Buffer): Promise<void> {
  const file = path.join(project, 'issues', rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
}

async function editIssue(project: string, slug: string, edit: (text: string) => string): Promise<string> {
  const file = path.join(project, 'issues', `${slug}.yaml`);
  const text = edit(await readFile(file, 'utf8'));
  await writeFile(file, text);
  return text;
}

/** July with the VESS leaflet and the desistance report cover as local files; assetBaseUrl set unless told otherwise. */
async function julyWithLocalImages(opts: { base?: string | null } = {}) {
  const project = await makeProject();
  const leaflet = png(1104, 700);
  const cover = png(360, 480);
  await addAsset(project, 'assets/july-2025/VESS Leaflet.png', leaflet);
  await addAsset(project, 'assets/july-2025/report-cover.png', cover);
  const yaml = await editIssue(project, 'july-2025', (t) =>
    replaceOnce(replaceOnce(t, VESS_URL, '"assets/july-2025/VESS Leaflet.png"'), COVER_URL, 'assets/july-2025/report-cover.png'),
  );
  if (opts.base !== null) await appendFile(path.join(project, 'newsletter.config.yaml'), `\nassetBaseUrl: ${opts.base ?? BASE}\n`);
  return { project, leaflet, cover, yaml };
}

describe('local images in the July issue', () => {
  it('copies each file into dist/<slug>/assets/ under a content-hashed name and writes its web address into the email', async () => {
    const { project, leaflet, cover } = await julyWithLocalImages();
    const r = await buildIssue('july-2025', { root: project });
    const leafletName = `vess-leaflet.${sha8(leaflet)}.png`;
    const coverName = `report-cover.${sha8(cover)}.png`;
    expect((await readdir(path.join(project, 'dist/july-2025/assets'))).sort()).toEqual([coverName, leafletName].sort());
    expect(await readFile(path.join(project, 'dist/july-2025/assets', leafletName))).toEqual(leaflet);
    expect(r.html).toContain(`src="${BASE}/july-2025/${leafletName}"`);
    expect(r.html).toContain(`src="${BASE}/july-2025/${coverName}"`);
    expect(r.html).not.toContain('src="assets/');
    expect(r.report.findings.filter((f) => f.rule === 'images')).toEqual([]);
    // The plain text and the message carry the same address; the tracking parameters stay off images.
    expect(r.html).not.toMatch(new RegExp(`${leafletName}\\?`));
  });

  it('sizes images from their pixels: never wider than the space or the file, height keeping the shape', async () => {
    const { project } = await julyWithLocalImages();
    const r = await buildIssue('july-2025', { root: project, write: false });
    // The 360x480 cover beside the excerpt, shown 200 px wide as the issue says: 267 high.
    const coverTag = /<img[^>]*report-cover[^>]*>/.exec(r.html)![0];
    expect(coverTag).toMatch(/ width="200"/);
    expect(coverTag).toMatch(/ height="267"/);
    // The 1104 px leaflet in a 552 px column: shown at 552 (sharp on high-density screens).
    expect(/<img[^>]*vess-leaflet[^>]*>/.exec(r.html)![0]).toMatch(/ width="552"/);

    // A width wider than the file is warned about (blurred)...
    await addAsset(project, 'assets/july-2025/report-cover.png', png(120, 90));
    const wide = await buildIssue('july-2025', { root: project, write: false });
    expect(wide.report.findings).toContainEqual(
      expect.objectContaining({ rule: 'images', severity: 'warning', message: expect.stringContaining('is 120 px wide but shown at 200 px') }),
    );
    // ...and without a width, a small file is shown at its own size, not blown up to the column's 180 px.
    await editIssue(project, 'july-2025', (t) =>
      replaceOnce(t, 'src: assets/july-2025/report-cover.png\n      alt:', 'src: assets/july-2025/report-cover.png\n      alt:').replace(
        /(report-cover\.png\n.*\n) {6}width: 200\n/,
        '$1',
      ),
    );
    const small = await buildIssue('july-2025', { root: project, write: false });
    const smallTag = /<img[^>]*report-cover[^>]*>/.exec(small.html)![0];
    expect(smallTag).toMatch(/ width="120"/);
    expect(smallTag).toMatch(/ height="90"/);
    expect(small.report.findings.filter((f) => f.rule === 'images')).toEqual([]);
  });

  it('a phone photo (JPEG turned by its Exif orientation) is sized as it shows, and keeps its .jpeg name and type', async () => {
    const { project } = await julyWithLocalImages();
    const photo = jpeg(800, 600, 6);
    await addAsset(project, 'assets/july-2025/Partner Photo.JPEG', photo);
    await editIssue(project, 'july-2025', (t) => replaceOnce(t, VRU_URL, '"assets/july-2025/Partner Photo.JPEG"'));
    const r = await buildIssue('july-2025', { root: project, write: false });
    const asset = r.assets.find((a) => a.src === 'assets/july-2025/Partner Photo.JPEG')!;
    expect(asset).toMatchObject({ name: `partner-photo.${sha8(photo)}.jpeg`, contentType: 'image/jpeg', width: 600, height: 800 });
    // The partner card gives width 200: a 600x800 portrait is 267 high there.
    const tag = /<img[^>]*partner-photo[^>]*>/.exec(r.html)![0];
    expect(tag).toMatch(/ width="200"/);
    expect(tag).toMatch(/ height="267"/);
  });

  it('a changed picture gets a new name, so no cache shows the old one', async () => {
    const { project, cover } = await julyWithLocalImages();
    const first = await buildIssue('july-2025', { root: project });
    const changed = png(360, 480, true);
    await addAsset(project, 'assets/july-2025/report-cover.png', changed);
    const second = await buildIssue('july-2025', { root: project });
    expect(first.html).toContain(`report-cover.${sha8(cover)}.png`);
    expect(second.html).toContain(`report-cover.${sha8(changed)}.png`);
    expect(second.html).not.toContain(`report-cover.${sha8(cover)}.png`);
    expect(second.hash).not.toBe(first.hash);
    // The old copy went with the old build.
    expect(existsSync(path.join(project, 'dist/july-2025/assets', `report-cover.${sha8(cover)}.png`))).toBe(false);
  });

  it('the browser version points at assets/ beside it, so it shows from disk and wherever dist/ is published', async () => {
    const { project, leaflet } = await julyWithLocalImages();
    await buildIssue('july-2025', { root: project });
    const page = await readFile(path.join(project, 'dist/july-2025/index.html'), 'utf8');
    expect(page).toContain(`src="assets/vess-leaflet.${sha8(leaflet)}.png"`);
    expect(page).not.toContain(BASE);
    expect((await stat(path.join(project, 'dist/july-2025'))).mode & 0o755).toBe(0o755);
  });

  it('without assetBaseUrl, images go under archiveBaseUrl; with neither, the check is an error naming the line', async () => {
    const { project, leaflet, yaml } = await julyWithLocalImages({ base: null });
    const none = await buildIssue('july-2025', { root: project, write: false });
    const errors = none.report.findings.filter((f) => f.rule === 'images' && f.severity === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]!.message).toContain('set assetBaseUrl in newsletter.config.yaml');
    expect(errors[0]!.where).toMatchObject({ file: 'issues/july-2025.yaml', line: lineOf(yaml, 'VESS Leaflet.png'), path: 'sections[3].image.src' });

    await appendFile(path.join(project, 'newsletter.config.yaml'), '\narchiveBaseUrl: https://liia.london/newsletter\n');
    const archived = await buildIssue('july-2025', { root: project, write: false });
    expect(archived.html).toContain(`src="https://liia.london/newsletter/july-2025/assets/vess-leaflet.${sha8(leaflet)}.png"`);
    expect(archived.report.findings.filter((f) => f.rule === 'images')).toEqual([]);
  });

  it('warns about a file over 300 KB, at its line', async () => {
    const { project, yaml } = await julyWithLocalImages();
    const big = png(400, 300, true);
    expect(big.length).toBeGreaterThan(300_000);
    await addAsset(project, 'assets/july-2025/report-cover.png', big);
    const r = await buildIssue('july-2025', { root: project, write: false });
    const warning = r.report.findings.find((f) => f.rule === 'images' && f.message.includes('over 300 KB'));
    expect(warning?.severity).toBe('warning');
    expect(warning?.message).toContain(`is ${Math.round(big.length / 1000)} KB`);
    expect(warning?.where).toMatchObject({ line: lineOf(yaml, 'report-cover.png'), path: 'sections[9].image.src' });
    expect(r.report.counts.error).toBe(0);
  });

  it('the CLI lists the assets and where to upload them', async () => {
    const { project } = await julyWithLocalImages();
    const r = await runCli(['july-2025'], project);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`dist/july-2025/assets/ {2}2 images, [\\d.]+ KB {2}\\(upload to ${BASE}/july-2025/\\)`));
    const json = JSON.parse((await runCli(['july-2025', '--json'], project)).out) as { assets: { src: string; url: string; width: number; height: number }[] };
    expect(json.assets).toContainEqual(expect.objectContaining({ src: 'assets/july-2025/report-cover.png', width: 360, height: 480 }));
  });
});

describe('bad local images: an error at the line, and the previous build kept', () => {
  it('a missing file names the line, what was looked for and the pictures that are there', async () => {
    const { project, yaml } = await julyWithLocalImages();
    await buildIssue('july-2025', { root: project });
    const before = await readFile(path.join(project, 'dist/july-2025/email.html'), 'utf8');
    await editIssue(project, 'july-2025', (t) => replaceOnce(t, 'assets/july-2025/report-cover.png', 'assets/july-2025/report-covr.png'));
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('EISSUE_INVALID');
    expect(err.problems).toHaveLength(1);
    const line = lineOf(yaml, 'report-cover.png');
    expect(err.problems[0]).toMatchObject({ where: `issues/july-2025.yaml:${line}:12`, path: 'sections[9].image.src' });
    expect(err.problems[0]!.message).toContain('does not exist (looked for issues/assets/july-2025/report-covr.png)');
    expect(err.problems[0]!.message).toContain('VESS Leaflet.png, report-cover.png');
    expect(await readFile(path.join(project, 'dist/july-2025/email.html'), 'utf8')).toBe(before);

    // Through the CLI: exit 1, file:line:col on stderr, no stack trace.
    const cli = await runCli(['july-2025'], project);
    expect(cli.code).toBe(1);
    expect(cli.err).toContain(`issues/july-2025.yaml:${line}:12 sections[9].image.src image file "assets/july-2025/report-covr.png" does not exist`);
    expect(cli.err).not.toMatch(/\n\s+at /);
  });

  it('refuses files outside issues/assets/, files that are not pictures, and formats Outlook cannot show', async () => {
    const project = await makeProject();
    await writeFile(path.join(project, 'secret.png'), png(20, 20));
    await addAsset(project, 'assets/july-2025/notes.png', Buffer.from('not a picture at all, just text\n'));
    const yaml = await editIssue(project, 'july-2025', (t) => replaceOnce(replaceOnce(t, VESS_URL, '../secret.png'), COVER_URL, 'assets/july-2025/notes.png'));
    const err = await rejection(buildIssue('july-2025', { root: project }));
    expect(err.code).toBe('EISSUE_INVALID');
    expect(err.problems.map((p) => p.where)).toEqual([
      `issues/july-2025.yaml:${lineOf(yaml, 'secret.png')}:12`,
      `issues/july-2025.yaml:${lineOf(yaml, 'notes.png')}:12`,
    ]);
    expect(err.problems[0]!.message).toContain('is not in issues/assets/: put the picture in issues/assets/july-2025/');
    expect(err.problems[1]!.message).toContain('is not a picture this build can read: save it as PNG or JPEG');

    // An SVG or WebP is refused by the schema, at load, with the formats that work.
    await editIssue(project, 'july-2025', (t) => replaceOnce(t, '../secret.png', 'assets/july-2025/leaflet.svg'));
    const svg = await rejection(buildIssue('july-2025', { root: project }));
    expect(svg.problems[0]!.message).toContain('or a PNG, JPEG or GIF file under issues/assets/');
  });
});

describe('an issue made with new --from july-2025', () => {
  it("keeps the recurring sections' local images and addresses them under the new issue", async () => {
    const project = await makeProject();
    const vru = png(300, 200);
    await addAsset(project, 'assets/july-2025/london-vru.png', vru);
    await editIssue(project, 'july-2025', (t) => replaceOnce(t, VRU_URL, 'assets/july-2025/london-vru.png'));
    await appendFile(path.join(project, 'newsletter.config.yaml'), `\nassetBaseUrl: ${BASE}\n`);
    const made = await newIssue({ root: project, slug: 'august-2025', from: 'july-2025' });
    // new makes the issue's pictures folder, ready to drop files into.
    expect(made.assets).toBe(path.join('issues', 'assets', 'august-2025'));
    expect((await stat(path.join(project, made.assets))).isDirectory()).toBe(true);
    // August's own picture, in its own folder, on its first article.
    const photo = png(800, 450);
    await addAsset(project, 'assets/august-2025/summer-event.png', photo);
    const yaml = await editIssue(project, 'august-2025', (t) => {
      expect(t).toContain('src: assets/july-2025/london-vru.png');
      return replaceOnce(
        t,
        "      TODO: the article's text for August 2025, in Markdown, with [links to the pages it is about](#).\n",
        "      TODO: the article's text for August 2025, in Markdown, with [links to the pages it is about](#).\n    image:\n      src: assets/august-2025/summer-event.png\n      alt: Young people at the summer event\n",
      );
    });
    const r = await buildIssue('august-2025', { root: project, check: true });
    expect(r.html).toContain(`src="${BASE}/august-2025/london-vru.${sha8(vru)}.png"`);
    expect(r.html).toContain(`src="${BASE}/august-2025/summer-event.${sha8(photo)}.png"`);
    expect((await readdir(path.join(project, 'dist/august-2025/assets'))).sort()).toEqual([`london-vru.${sha8(vru)}.png`, `summer-event.${sha8(photo)}.png`]);
    expect(r.report.findings.filter((f) => f.rule === 'images')).toEqual([]);
    expect(yaml).toContain('src: assets/august-2025/summer-event.png');
  });
});

describe('test sends attach local images inline', () => {
  const sinks: SmtpSink[] = [];
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
  });

  it('the editors get each picture as a CID part the HTML points at; the list send keeps the web addresses', async () => {
    // No base URL at all: the editors still see the pictures before anyone uploads them.
    const { project, leaflet, cover } = await julyWithLocalImages({ base: null });
    const sink = await startSink();
    sinks.push(sink);
    const r = await runCli(['july-2025', '--send-test', '--to', 'editor@example.org'], project, { SMTP_URL: sink.url });
    expect(r.code, r.err).toBe(0);
    expect(sink.messages).toHaveLength(1);
    const mail = await sink.parse(0);
    const images = mail.attachments.filter((a) => a.contentDisposition === 'inline');
    expect(images.map((a) => a.contentType).sort()).toEqual(['image/png', 'image/png']);
    const byName = new Map(images.map((a) => [a.filename, a]));
    const leafletPart = byName.get(`vess-leaflet.${sha8(leaflet)}.png`)!;
    const coverPart = byName.get(`report-cover.${sha8(cover)}.png`)!;
    expect(leafletPart.content).toEqual(leaflet);
    expect(coverPart.content).toEqual(cover);
    // The HTML part names them by cid:, and no longer by the unreachable relative address.
    const raw = sink.messages[0]!.raw.toString('latin1');
    expect(raw).toMatch(/Content-Type: multipart\/related/i);
    expect(raw).toContain(`Content-ID: <${leafletPart.cid}>`);
    // Parsed again keeping cid: links (mailparser turns them into data: addresses by default).
    const kept = String((await simpleParser(sink.messages[0]!.raw, { keepCidLinks: true })).html);
    expect(kept).toContain(`src="cid:${leafletPart.cid}"`);
    expect(kept).toContain(`src="cid:${coverPart.cid}"`);
    expect(kept).not.toContain('src="assets/');
    expect(mail.text).not.toContain('cid:');

    // The list send is refused while the pictures have no web address for recipients.
    await mkdir(path.join(project, 'lists'));
    await writeFile(path.join(project, 'lists/list.csv'), 'email\nreader@example.org\n');
    const refused = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes'], project, { SMTP_URL: sink.url });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/not sending july-2025: the checks found 2 errors/);
    expect(refused.err).toContain('set assetBaseUrl');
    expect(sink.messages).toHaveLength(1);
  });

  it('the list send carries the web addresses and no attachments', async () => {
    const { project, leaflet } = await julyWithLocalImages();
    const sink = await startSink();
    sinks.push(sink);
    const env = { SMTP_URL: sink.url };
    expect((await runCli(['july-2025', '--send-test', '--to', 'editor@example.org'], project, env)).code).toBe(0);
    await mkdir(path.join(project, 'lists'));
    await writeFile(path.join(project, 'lists/list.csv'), 'email\nreader-one@example.org\nreader-two@example.org\n');
    const r = await runCli(['july-2025', '--send', '--list', 'lists/list.csv', '--yes'], project, env);
    expect(r.code, r.err).toBe(0);
    expect(sink.messages).toHaveLength(3);
    for (const i of [1, 2]) {
      const mail = await sink.parse(i);
      expect(mail.attachments).toEqual([]);
      expect(String(mail.html)).toContain(`src="${BASE}/july-2025/vess-leaflet.${sha8(leaflet)}.png"`);
    }
    // The editors' copy had the same picture inline.
    expect((await sink.parse(0)).attachments.map((a) => a.filename)).toContain(`vess-leaflet.${sha8(leaflet)}.png`);
  });
});

describe('the preview serves local images', () => {
  const servers: PreviewServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('the previewed email loads them from the preview server, before they are uploaded', async () => {
    const { project, leaflet } = await julyWithLocalImages();
    const server = await startPreview({ root: project, issue: 'july-2025', port: 0 });
    servers.push(server);
    const html = await (await fetch(`${server.url}email.html`)).text();
    const name = `vess-leaflet.${sha8(leaflet)}.png`;
    expect(html).toContain(`src="/assets/${name}"`);
    expect(html).not.toContain(`${BASE}/july-2025/${name}`);
    const image = await fetch(`${server.url}assets/${name}`);
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await image.arrayBuffer())).toEqual(leaflet);
    expect((await fetch(`${server.url}assets/other.png`)).status).toBe(404);
  });
});

describe.skipIf(!findChromium())('screenshots show local images', () => {
  it('the offline screenshots load the local pictures (the remote ones stay blocked)', async () => {
    const { project, leaflet, cover } = await julyWithLocalImages();
    const r = await buildIssue('july-2025', { root: project, screenshots: true });
    // The blocked remote images are a note of the report; no image warning at all (both local ones loaded).
    expect(r.report.findings.filter((f) => f.rule === 'render' && /load/.test(f.message))).toEqual([]);
    const blocked = r.report.notes.find((n) => /not loaded/.test(n));
    // July has 8 images with the logo; 2 are local now, so 6 are blocked, and neither local one.
    expect(blocked).toMatch(/^6 of the 8 images were not loaded/);
    expect(blocked).toContain('child-first-report-cover.png');
    for (const local of [leaflet, cover]) expect(blocked).not.toContain(sha8(local));
    expect(blocked).not.toContain('data:');
    // The data: addresses are for the browser only: email.html keeps the web address.
    expect(await readFile(r.files.html, 'utf8')).not.toContain('data:image/png');
    expect(existsSync(r.screenshots!.phone)).toBe(true);
  }, 60_000);
});
