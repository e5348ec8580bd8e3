/**
 * July's email.html and email.txt, byte for byte, from the source and from the bundle the CLI
 * runs (lib/build-issue.cjs): issue 17's bundle and build changes must leave the output as it
 * is. When a change to the output is meant (a template, the July issue, a dependency's
 * rendering), update the hashes here on purpose, in the same commit, and say why.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildIssue } from '../src/index.js';
import { templateKey } from '../src/render/templates.js';
import { makeProject, ROOT } from './helpers.js';

/** sha256 of July's output, the same on Node 20.20, 22.23 and 24.22 (checked 2026-12-03). */
const JULY = {
  html: 'cac0ee8358f61a5f72eb11912ae517629f2e5a6e94fcd247a43c9e4b2eaaa875',
  text: 'fab5e905844a7726bd8c3711180dd83f3c42c225a07897da58686954698541fb',
};

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

describe("July's output, pinned", () => {
  it('from the source', async () => {
    const r = await buildIssue('july-2025', { root: ROOT, write: false });
    expect({ html: sha256(r.html), text: sha256(r.text) }).toEqual(JULY);
  });

  it('from the bundle, as the CLI writes it', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'output-pin-'));
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'build-issue.js'), 'build', 'july-2025', '--out', out], { cwd: ROOT });
    const dir = path.join(out, 'july-2025');
    expect({ html: sha256(await readFile(path.join(dir, 'email.html'))), text: sha256(await readFile(path.join(dir, 'email.txt'))) }).toEqual(JULY);
  });

  it('the bundle carries every shipped template precompiled, under the key the build looks up', async () => {
    const bundle = await readFile(path.join(ROOT, 'lib', 'build-issue.cjs'), 'utf8');
    const files = (await readdir(path.join(ROOT, 'templates'), { recursive: true })).filter((f) => f.endsWith('.hbs'));
    expect(files.length).toBeGreaterThanOrEqual(13);
    for (const f of files) expect(bundle, f).toContain(`"${templateKey(await readFile(path.join(ROOT, 'templates', f), 'utf8'))}"`);
  });

  it('an edited template is compiled from the file, not taken from the bundle', async () => {
    const project = await makeProject();
    const article = path.join(project, 'templates', 'sections', 'article.mjml.hbs');
    const edited = (await readFile(article, 'utf8')).replace('<mj-text', '<mj-text css-class="edited-article"');
    expect(edited).toContain('edited-article');
    await writeFile(article, edited);
    await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'build-issue.js'), 'build', 'july-2025'], { cwd: project });
    expect(await readFile(path.join(project, 'dist', 'july-2025', 'email.html'), 'utf8')).toContain('edited-article');
  });
});
